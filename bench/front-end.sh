#!/usr/bin/env bash
# The device front end on the emulated Cortex-M4 (qemu-mps2-an386) and M7 (qemu-mps2-an500):
# for 16 front ends (8 and 16 kHz, transforms of 128 to 1,024 points, 20–40 mel bands, 10 or
# 13 coefficients, 1 s clips) its cycles counted by the QEMU plugin against the cycles the
# search predicts for it (the `front_end` figures of each core's `CycleTable`,
# host/model/src/board/cycle_table.rs), and their error.
# Each front end goes with a one-layer network trained for one epoch on generated tones; only
# the front end's row is read. With FIT=1 it also prints the least-squares refit of the
# figures (of the relative error) to paste there after an engine change.
# Usage: bench/front-end.sh  (EDGENAS=path/to/edgenas uses that binary instead of building
#        the release one; the firmware and the plugin must be built: docs/firmware.md)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${EDGENAS:-}" ]; then
    cargo build --release --locked -q
    EDGENAS=target/release/edgenas
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Two classes of tones, three speakers, two clips each, 1 s at 16 kHz.
python3 - "$work/clips" <<'PY'
import math, os, struct, sys, wave
for c, hz in (("low", 400.0), ("high", 1800.0)):
    os.makedirs(f"{sys.argv[1]}/{c}")
    for s in ("ann", "bob", "cyd"):
        for k in range(2):
            with wave.open(f"{sys.argv[1]}/{c}/{s}_{k}.wav", "wb") as w:
                w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
                f = hz * (1 + 0.05 * k)
                w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * f * i / 16000)))
                                       for i in range(16000)))
PY
# sample rate, frame ms, stride ms, mel bands, coefficients
configs="8000 32 20 20 10
8000 40 20 40 13
8000 40 40 20 10
8000 64 20 32 13
8000 64 32 20 13
8000 32 32 40 10
8000 32 20 40 13
8000 40 32 32 10
8000 64 40 40 10
8000 40 20 20 13
8000 64 20 20 10
8000 32 40 32 13
16000 40 20 40 13
16000 64 32 32 10
8000 16 16 20 10
8000 20 10 20 13"
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
# Each emulated board's clock, to turn a predicted latency back into cycles.
declare -A clocks
while read -r board clock; do clocks[$board]=$clock; done < <("$EDGENAS" boards --json |
    python3 -c "import json, sys
for b in json.load(sys.stdin): print(b['name'], b['clock_hz'])")
printf '%-22s %-16s %12s %12s %8s\n' "front end" board cycles predicted error
while read -r rate frame stride bands coefficients; do
    cat > "$work/space.toml" <<TOML
name = "front-end"
description = "bench: one front end"
[front_end]
type = "mfcc"
sample_rate = $rate
clip_ms = 1000
frame_ms = $frame
stride_ms = $stride
mel_bands = $bands
coefficients = $coefficients
[input]
classes = 2
[[blocks]]
name = "stem"
type = "conv"
out = 8
stride = 2
[[blocks]]
name = "head"
type = "classifier"
TOML
    rm -rf "$work/model"
    "$EDGENAS" train --space "$work/space.toml" --random --epochs 1 --split-by none \
        --data "audio-folder:$work/clips" --out "$work/model" > /dev/null
    for board in qemu-mps2-an386 qemu-mps2-an500; do
        clock=${clocks[$board]}
        measured=$("$EDGENAS" measure "$work/model/model-int8.onnx" --board "$board" --json |
            json "['front_end']['cycles']")
        predicted=$("$EDGENAS" inspect --space "$work/space.toml" --random --board "$board" \
            --json | json "['front_end_latency_ms'] * $clock / 1000")
        line="$rate Hz $frame/$stride ms, $bands/$coefficients"
        printf '%-22s %-16s %12.0f %12.0f %+7.1f%%\n' "$line" "$board" "$measured" \
            "$predicted" "$(python3 -c "print(($predicted / $measured - 1) * 100)")"
        echo "$rate $frame $stride $bands $coefficients $board $measured" >> "$work/cycles"
    done
done <<< "$configs"
[ -n "${FIT:-}" ] || exit 0
# Least squares of the relative error: per frame, the transform's complex points, its
# butterflies, the mel bands and the DCT's multiply-accumulates, after the clip's peak pass
# (measured on its own: `per_sample` of each table, M4 first) is taken out.
python3 - "$work/cycles" host/model/src/board/cycle_table.rs <<'PY'
import math, re, sys
rows = [l.split() for l in open(sys.argv[1])]
per_sample = dict(zip(("qemu-mps2-an386", "qemu-mps2-an500"),
                      map(float, re.findall(r"per_sample: ([0-9.]+)", open(sys.argv[2]).read()))))
def terms(rate, f, s, b, c):
    frame, stride = f * rate // 1000, s * rate // 1000
    n = 1 << (frame - 1).bit_length()
    frames, h = 1 + (rate - frame) // stride, n // 2
    return [frames * h, frames * h / 2 * math.log2(h), frames * b, frames * b * c]
def solve(a, y):
    k = len(a[0])
    m = [[sum(r[p] * r[q] for r in a) for q in range(k)] + [sum(r[p] * v for r, v in zip(a, y))] for p in range(k)]
    for p in range(k):
        for r in range(k):
            if r != p:
                f = m[r][p] / m[p][p]
                m[r] = [x - f * z for x, z in zip(m[r], m[p])]
    return [m[p][k] / m[p][p] for p in range(k)]
for board in ("qemu-mps2-an386", "qemu-mps2-an500"):
    data = [(terms(*map(int, r[:5])), float(r[6]) - per_sample[board] * int(r[0]))
            for r in rows if r[5] == board]
    coef = solve([[v / y for v in t] for t, y in data], [1.0] * len(data))
    worst = max(abs(sum(c * v for c, v in zip(coef, t)) / y - 1) for t, y in data)
    names = ("per_point", "per_butterfly", "per_band", "per_dct_mac")
    print(board, ", ".join(f"{n}: {c:.2f}" for n, c in zip(names, coef)), f"(worst {worst:.1%})")
PY
