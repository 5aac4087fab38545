#!/usr/bin/env bash
# Keyword spotting on every unseen voice: trains one genotype of the `kws` space with seeds
# 1, 2, … (the seed picks which speakers are held out for test and validation) until every
# speaker has been the test speaker at least once, and prints every run's validation and test
# accuracy, each held-out voice's mean, the mean over runs and the worst voice — a fairer
# figure than one split, since with few training voices the held-out one decides much.
# Usage: bench/kws-speakers.sh GENOTYPE [EPOCHS] [DATA]
#        (default 30 epochs, early-stopped; DATA 'audio-folder:../shared/data/fsdd#augment=3')
# EDGENAS=path/to/edgenas uses that binary instead of building the release one; FIRST_SEED=N
# starts at seed N instead of 1 (another draw of splits, augmentations and initial weights).
set -euo pipefail
cd "$(dirname "$0")/.."
genotype=${1:?a genotype of the kws space, as a finalist genotype_text}
epochs=${2:-30} data=${3:-audio-folder:../shared/data/fsdd#augment=3}
if [ -z "${EDGENAS:-}" ]; then
    cargo build --release --locked -q
    EDGENAS=target/release/edgenas
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
first=${FIRST_SEED:-1}
for seed in $(seq "$first" $((first + 39))); do
    "$EDGENAS" train --space kws --genotype "$genotype" --seed "$seed" --epochs "$epochs" \
        --data "$data" --out "$work/model" --json > "$work/$seed.json"
    # Stop once every speaker has been the test speaker.
    python3 - "$work" <<'PY' || break
import glob, json, re, sys
tested, speakers = set(), set()
for path in glob.glob(f"{sys.argv[1]}/*.json"):
    split = json.load(open(path))["data"]["split"]
    m = re.match(r"by speaker: test (\S+); valid (\S+); train (.*?)(;|$)", split)
    tested.add(m.group(1))
    speakers |= {m.group(1), m.group(2), *m.group(3).split(", ")}
sys.exit(1 if tested == speakers else 0)
PY
done
# Every run, then each held-out voice's mean.
python3 - "$work" <<'PY'
import glob, json, re, sys
runs = []
for path in glob.glob(f"{sys.argv[1]}/*.json"):
    d = json.load(open(path))
    m = re.match(r"by speaker: test (\S+); valid (\S+);", d["data"]["split"])
    seed = int(path.rsplit("/", 1)[1][:-5])
    runs.append((m.group(1), seed, m.group(2), d["valid_accuracy"], d["test_accuracy"]))
print(f"{'test speaker':14} {'seed':>4} {'valid speaker':14} {'valid':>7} {'test':>7}")
for test, seed, valid, va, ta in sorted(runs):
    print(f"{test:14} {seed:4} {valid:14} {va * 100:6.1f}% {ta * 100:6.1f}%")
voices = {}
for test, _, _, _, ta in runs:
    voices.setdefault(test, []).append(ta)
means = {v: sum(t) / len(t) for v, t in voices.items()}
print("per held-out voice: " + ", ".join(f"{v} {m * 100:.1f} %" for v, m in sorted(means.items())))
print(f"mean over {len(runs)} runs {sum(r[4] for r in runs) / len(runs) * 100:.1f} %, "
      f"worst voice {min(means.values()) * 100:.1f} %")
PY
