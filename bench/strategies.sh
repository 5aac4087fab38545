#!/bin/sh
# The tables of docs/strategies.md: every strategy replayed against a table of measured
# architectures (default: the shared NAS-Bench-201 table), 30 seeds, 200 queries each, without
# and with a latency limit. Prints, at 25, 50, 100 and 200 queries, the mean best accuracy
# (single-objective), the mean best accuracy under the limit with the architectures looked up
# (constrained), and the mean hypervolume share of the accuracy/latency front against the
# table's median accuracy and latency (multi-objective, ../shared/bench/README.md).
#   bench/strategies.sh [TABLE] [LIMIT_MS]
set -eu
table=${1:-../shared/bench/nb201-cifar10-raspi4.csv}
limit=${2:-15.72}
bin=${EDGENAS:-target/debug/edgenas}
[ -x "$bin" ] || cargo build --locked
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
# NAME STRATEGY [EXTRA]: `ehvi` and `ei` see every row of the table; `… drawn` see 5,000
# genotypes drawn as `edgenas search` draws its candidates by default, and the neighbours of
# their best.
while read -r name strategy extra; do
    # shellcheck disable=SC2086
    "$bin" replay --table "$table" --strategy "$strategy" --budget 200 --seeds 30 --json \
        $extra > "$runs/$name-free.json"
    # shellcheck disable=SC2086
    "$bin" replay --table "$table" --strategy "$strategy" --budget 200 --seeds 30 --json \
        $extra --max-latency-ms "$limit" > "$runs/$name-limited.json"
done <<'RUNS'
random random
evolution evolution
reinforce reinforce
bayes bayes
nsga2 nsga2
ehvi ehvi
ei ei
ehvi-drawn ehvi --candidates 5000
ei-drawn ei --candidates 5000
RUNS
python3 - "$runs" "$limit" <<'PY'
import json, sys
runs, limit = sys.argv[1:]
strategies = ["random", "evolution", "reinforce", "bayes", "nsga2", "ehvi", "ei", "ehvi-drawn",
              "ei-drawn"]
at = [25, 50, 100, 200]
def load(s, kind):
    return json.load(open(f"{runs}/{s}-{kind}.json"))
def table(title, header, row):
    print(f"\n{title}\n")
    print("| strategy | " + " | ".join(header) + " |")
    print("|---" * (len(header) + 1) + "|")
    for s in strategies:
        print(f"| {s} | " + " | ".join(row(s)) + " |")
free = {s: load(s, "free") for s in strategies}
limited = {s: load(s, "limited") for s in strategies}
print(f"optimum {free['random']['optimum']:.3f}; under {limit} ms {limited['random']['optimum']:.3f}; "
      f"reference point {free['random']['reference_point']}")
table("Single-objective: mean best accuracy (%) after N queries",
      [f"{q}" for q in at],
      lambda s: [f"{free[s]['mean_best_after'][q - 1]:.3f}" for q in at])
table(f"Constrained (latency ≤ {limit} ms): mean best accuracy (%) after N queries, and the "
      "architectures looked up by then",
      [f"{q}" for q in at] + [f"look-ups at {q}" for q in (100, 200)],
      lambda s: [f"{limited[s]['mean_best_after'][q - 1]:.3f}" for q in at]
      + [f"{limited[s]['mean_lookups_after'][q - 1]:.0f}" for q in (100, 200)])
table("Multi-objective: mean hypervolume share of the true accuracy/latency front after N queries",
      [f"{q}" for q in at],
      lambda s: [f"{free[s]['mean_hypervolume_after'][q - 1]:.3f}" for q in at])
PY
