#!/bin/sh
# The table of docs/strategies.md: every strategy replayed against a table of measured
# architectures (default: the shared NAS-Bench-201 table), 30 seeds, at 50, 100 and 200
# queries, without and with a latency limit, and the hypervolume share at 100 queries against
# the default reference point and a stricter one (the table's median accuracy).
#   bench/strategies.sh [TABLE] [LIMIT_MS] [MEDIAN_ACCURACY]
set -eu
table=${1:-../shared/bench/nb201-cifar10-raspi4.csv}
limit=${2:-15.72}
median=${3:-90.745}
bin=${EDGENAS:-target/debug/edgenas}
[ -x "$bin" ] || cargo build --locked
echo "| strategy | limit | 50 queries | 100 queries | 200 queries | hypervolume at 100 (default reference) | hypervolume at 100 (reference at $median %) |"
echo "|---|---|---|---|---|---|---|"
for strategy in random evolution reinforce bayes nsga2; do
  for lim in none "$limit"; do
    extra=""; [ "$lim" = none ] || extra="--max-latency-ms $lim"
    # shellcheck disable=SC2086
    at200=$("$bin" replay --table "$table" --strategy "$strategy" --budget 200 --seeds 30 $extra)
    # shellcheck disable=SC2086
    hv=$("$bin" replay --table "$table" --strategy "$strategy" --budget 100 --seeds 30 $extra --json)
    # shellcheck disable=SC2086
    hv_strict=$("$bin" replay --table "$table" --strategy "$strategy" --budget 100 --seeds 30 $extra \
      --reference-accuracy "$median" --json 2>/dev/null || echo '{}')
    python3 - "$strategy" "$lim" "$at200" "$hv" "$hv_strict" <<'PY'
import json, sys
strategy, lim, text, hv, strict = sys.argv[1:]
cells = {}
for line in text.splitlines():
    f = line.split()
    if len(f) > 4 and f[0] == strategy and f[1] in ("50", "100", "200"):
        cells[f[1]] = f"{f[3]} ± {f[5]}"
def share(j):
    j = json.loads(j)
    if "mean_hypervolume_share" not in j:
        return "–"
    return f"{100 * j['mean_hypervolume_share']:.1f} ± {100 * j['std_hypervolume_share']:.1f} %"
limit = "–" if lim == "none" else f"≤ {lim} ms"
print(f"| {strategy} | {limit} | {cells['50']} | {cells['100']} | {cells['200']} | {share(hv)} | {share(strict)} |")
PY
  done
done
