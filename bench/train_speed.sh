#!/usr/bin/env bash
# Training speed of edgenas (burn, flex backend) against PyTorch on the CPU, side by side.
# Usage: bench/train_speed.sh [RUNS]   (default 3 runs per framework and model; medians)
# Needs python3 with venv; installs torch and numpy from PyPI into .venv-bench (about 5 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
if [ ! -x .venv-bench/bin/python ]; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q torch numpy
fi
.venv-bench/bin/python bench/train_speed.py --edgenas target/release/edgenas --runs "${1:-3}"
