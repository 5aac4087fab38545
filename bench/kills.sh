#!/bin/sh
# SIGKILL at random moments (issue: reliability): a search killed KILLS times and rerun, then
# three workers on one SQLite study killed KILLS times (each round kills one of them at a random
# moment and starts it again); each study is then finished and checked: every trial ended
# exactly once, none left running, no genotype trained twice, every learning curve's epochs
# 1, 2, … with none twice.
#   bench/kills.sh [KILLS]    (default 100; tests/faults.rs does 6 in CI)
set -eu
kills=${1:-100}
bin=${EDGENAS:-target/debug/edgenas}
[ -x "$bin" ] || cargo build --locked
bin=$(realpath "$bin")
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
pause() { python3 -c "import random, time; time.sleep(random.uniform(0.05, 0.8))"; }
common="--space mlp --board host --data digits --meter simulator --epochs 3"

check() { # STUDY WANTED WHAT
    "$bin" report --study "$1" --format json --out "$1.json" > /dev/null
    python3 - "$1.json" "$2" "$3" "$kills" <<'PY'
import json, sys
path, wanted, what, kills = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
trials = json.load(open(path))["trials"]
ended = [t for t in trials if t["state"] in ("complete", "failed", "infeasible", "pruned")]
genotypes = [t["genotype"] for t in trials]
twice = len(genotypes) - len(set(genotypes))
bad_curves = sum(1 for t in trials
                 if [p["epoch"] for p in t["curve"]] != list(range(1, len(t["curve"]) + 1)))
left = len(trials) - len(ended)
ok = len(ended) == wanted and twice == 0 and bad_curves == 0 and left == 0
print(f"| {what} | {kills} | {wanted} | {len(ended)} | {left} | {twice} | {bad_curves} | {'yes' if ok else 'NO'} |")
sys.exit(0 if ok else 1)
PY
}

echo "| what | kills | trials wanted | ended | left running | genotypes twice | curves out of order | every trial once |"
echo "|---|---|---|---|---|---|---|---|"

# A search, killed and rerun.
trials=$((kills * 3))
for _ in $(seq "$kills"); do
    # shellcheck disable=SC2086
    "$bin" search $common --trials "$trials" --out search > /dev/null 2>&1 &
    pid=$!
    pause
    kill -9 "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
done
# shellcheck disable=SC2086
"$bin" search $common --trials "$trials" --out search > /dev/null 2>&1
check search/study.db "$trials" "search"

# Three workers on one study, one of them killed at a random moment each round.
# shellcheck disable=SC2086
trials=$((kills * 6))
"$bin" search $common --trials "$trials" --study workers.db --workers 0 > /dev/null 2>&1
start() { "$bin" worker --study workers.db --name "w$1" > /dev/null 2>&1 & echo $!; }
w1=$(start 1); w2=$(start 2); w3=$(start 3)
for i in $(seq "$kills"); do
    pause
    case $((i % 3)) in
        0) kill -9 "$w1" 2> /dev/null || true; w1=$(start 1) ;;
        1) kill -9 "$w2" 2> /dev/null || true; w2=$(start 2) ;;
        *) kill -9 "$w3" 2> /dev/null || true; w3=$(start 3) ;;
    esac
done
wait "$w1" "$w2" "$w3" 2> /dev/null || true
"$bin" worker --study workers.db --name last > /dev/null 2>&1
check workers.db "$trials" "3 workers"
