#!/bin/sh
# The agent meter against the tract host meter on the same machine: an edgenas-agent on
# loopback and `edgenas measure --board host` time the same models, alternately, three rounds;
# the table gives each meter's median of the three medians and their ratio, and the agent's
# round trip (connection, facts) and peak RSS. Untrained models of four shipped spaces.
#   bench/agent.sh
set -eu
bin=${EDGENAS:-target/debug/edgenas}
agent=${EDGENAS_AGENT:-target/debug/edgenas-agent}
[ -x "$bin" ] && [ -x "$agent" ] || cargo build --locked --workspace
dir=$(mktemp -d)
"$agent" --listen 127.0.0.1:0 --quiet > "$dir/agent.out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
while ! [ -s "$dir/agent.out" ]; do sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$dir/agent.out")
sed "s/raspberrypi.local:7878/$address/" boards/raspberry-pi-4.toml > "$dir/board.toml"
for space in mlp ds-cnn resnet-tiny mobilenetv2-tiny; do
  "$bin" train --space "$space" --random --seed 1 --data digits --epochs 1 --out "$dir/$space" > /dev/null
done
python3 - "$bin" "$dir" <<'PY'
import json, statistics, subprocess, sys, time
bin, d = sys.argv[1:]
def measure(model, board):
    out = subprocess.run([bin, "measure", model, "--board", board, "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)
print("| model | tract host ms | agent ms | agent ÷ host | agent runs | agent peak RSS | edgenas measure, agent round trip |")
print("|---|---:|---:|---:|---:|---:|---:|")
for space in ["mlp", "ds-cnn", "resnet-tiny", "mobilenetv2-tiny"]:
    model = f"{d}/{space}/model.onnx"
    host, agent, trips, runs, rss = [], [], [], [], []
    for _ in range(3):
        host.append(measure(model, "host")["latency_ms"]["median"])
        t = time.perf_counter()
        m = measure(model, f"{d}/board.toml")
        trips.append((time.perf_counter() - t) * 1e3)
        assert m["backend"] == "agent", m
        agent.append(m["latency_ms"]["median"]); runs.append(m["latency_ms"]["runs"])
        rss.append(m["ram_bytes"])
    h, a = statistics.median(host), statistics.median(agent)
    print(f"| {space} | {h:.4f} | {a:.4f} | {a / h:.3f} | {statistics.median(runs):.0f} | "
          f"{statistics.median(rss) / 2**20:.1f} MiB | {statistics.median(trips):.0f} ms |")
PY
