#!/usr/bin/env bash
# Cheaper trials against full training, side by side: the same space, strategy, number of
# trials and seeds, with --fidelity full, median, asha and hyperband, and full training of
# trials pre-screened by a zero-cost proxy (--prescreen PROXY:8). Prints, per mode and
# seed, the best validation accuracy, the epochs trained in all (and their share of full
# training's), the time-to-accuracy curve (the best accuracy so far once 10, 25, 50 and
# 100 % of full training's epochs are spent), the epochs spent until the best came within
# 0.5 points of full training's final best, and the wall time; then medians over seeds.
# Usage: bench/fidelity.sh [SEEDS] [TRIALS] [EPOCHS] [DATA]
#        (default 3 seeds, 12 trials of 9 epochs, DS-CNN on the bundled digits; DATA may be
#        'audio-folder:../shared/data/fsdd' with SPACE=kws)
# EDGENAS=path/to/edgenas uses that binary instead of building the release one;
# MODES="full asha ..." runs only those (full must be among them); PROXY=synflow (or
# grad-norm) pre-screens with that proxy instead of NASWOT.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3} trials=${2:-12} epochs=${3:-9} data=${4:-digits} space=${SPACE:-ds-cnn}
modes=${MODES:-full median asha hyperband prescreen} proxy=${PROXY:-naswot}
if [ -z "${EDGENAS:-}" ]; then
    cargo build --release --locked -q
    EDGENAS=target/release/edgenas
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for seed in $(seq 1 "$seeds"); do
    for mode in $modes; do
        dir="$out/$mode-$seed"
        case $mode in
            prescreen) how=(--fidelity full --prescreen "$proxy:8") ;;
            *) how=(--fidelity "$mode") ;;
        esac
        start=$(date +%s.%N)
        "$EDGENAS" search --space "$space" --board host --meter simulator --data "$data" \
            --strategy bayes \
            --trials "$trials" --epochs "$epochs" "${how[@]}" --seed "$seed" \
            --finalists 0 --out "$dir" --json > "$dir.json" 2> "$dir.log"
        end=$(date +%s.%N)
        "$EDGENAS" report --study "$dir/study.db" --format json > "$dir.report.json"
        echo "$mode $seed $start $end" >> "$out/times"
    done
done
python3 - "$out" "$seeds" "$modes" <<'PY'
import json, statistics, sys
out, seeds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
times = {}
for line in open(f"{out}/times"):
    mode, seed, start, end = line.split()
    times[(mode, int(seed))] = float(end) - float(start)

def run(mode, seed):
    r = json.load(open(f"{out}/{mode}-{seed}.report.json"))
    trials = sorted((t for t in r["trials"] if t["curve"]), key=lambda t: t["finished"] or 0)
    spent, best, curve = 0, None, []
    for t in trials:
        spent += len(t["curve"])
        if t["state"] == "complete":
            best = max(best or 0.0, t["valid_accuracy"])
        curve.append((spent, best))
    return {"best": best, "epochs": r["epochs_trained"], "curve": curve,
            "seconds": times[(mode, seed)]}

rows = {m: [run(m, s) for s in range(1, seeds + 1)] for m in modes}
def to_within(r, target):
    return next((e for e, b in r["curve"] if b is not None and b >= target), None)

def best_after(r, spent):
    return max((b for e, b in r["curve"] if e <= spent and b is not None), default=None)

shares = (0.10, 0.25, 0.50, 1.00)
shown = lambda v: f"{v:.1f}" if v is not None else "-"
print(f"{'mode':<9} {'seed':>4} {'best valid %':>12} {'epochs':>7} {'share':>6} "
      + " ".join(f"{'@' + format(s, '.0%'):>6}" for s in shares)
      + f" {'epochs to full-0.5':>18} {'wall s':>7}")
for i in range(seeds):
    full = rows["full"][i]
    target = full["best"] - 0.5
    for m in modes:
        r = rows[m][i]
        share = r["epochs"] / full["epochs"]
        reach = to_within(r, target)
        curve = " ".join(f"{shown(best_after(r, s * full['epochs'])):>6}" for s in shares)
        print(f"{m:<9} {i + 1:>4} {r['best']:>12.2f} {r['epochs']:>7} {share:>6.0%} {curve} "
              f"{reach if reach is not None else '-':>18} {r['seconds']:>7.1f}")
print("(@N %: the best validation accuracy so far once N % of full training's epochs are spent)")
for m in modes:
    rs = rows[m]
    med = lambda k: statistics.median(r[k] for r in rs)
    share = statistics.median(r["epochs"] / f["epochs"] for r, f in zip(rs, rows["full"]))
    print(f"median {m:<9} best {med('best'):.2f} %, {med('epochs'):.0f} epochs ({share:.0%}), "
          f"{med('seconds'):.1f} s")
for m in modes:
    if m == "full":
        continue
    gap = statistics.median(f["best"] - r["best"] for f, r in zip(rows["full"], rows[m]))
    print(f"{m}'s best is {gap:.2f} points below full training's (median over seeds)")
PY
