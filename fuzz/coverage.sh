#!/usr/bin/env bash
# Coverage-guided fuzzing of edgenas's parsers under libFuzzer, on stable Rust.
#
#   fuzz/coverage.sh TARGET|all [RUNS] [-- LIBFUZZER_FLAGS…]
#
# Builds `edgenas-fuzz-libfuzzer` with SanitizerCoverage (8-bit edge counters, comparison
# tracing: `-C passes=sancov-module`, stable flags) into target/fuzz-coverage, seeds the corpus
# fuzz/corpus/TARGET from edgenas's own producers (`edgenas-fuzz --seeds`), and runs RUNS
# executions (default 1,000,000) per target. A panic, an execution over 1 s or an allocation
# over 1 GiB is a crash: libFuzzer writes it to fuzz/findings/TARGET/ and this script exits 1.
# The corpus grows between runs (inputs that reached new edges); it is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
    sed -n '4p' "$0" | sed 's/^# *//' >&2
    exit 2
fi
name=$1
runs=${2:-1000000}
shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
case $runs in '' | *[!0-9]*) echo "RUNS is a whole number: $runs" >&2; exit 2 ;; esac

# The plain fuzzer (the workspace's own build) lists the targets and writes seeds and tokens.
# EDGENAS_FUZZ_PLAIN names one already built: CI passes the one `cargo test --workspace` built,
# since `cargo build -p edgenas-fuzz` resolves other features and rebuilds a third of its tree.
plain=${EDGENAS_FUZZ_PLAIN:-}
if [ -z "$plain" ]; then
    cargo build --locked -q -p edgenas-fuzz --bin edgenas-fuzz
    plain=target/debug/edgenas-fuzz
elif [ ! -x "$plain" ]; then
    echo "EDGENAS_FUZZ_PLAIN=$plain is not an executable" >&2
    exit 2
fi
names=$("$plain" --list | cut -d' ' -f1)
if [ "$name" = all ]; then
    targets=$names
elif grep -qx "$name" <<< "$names"; then
    targets=$name
else
    echo "no target $name: fuzz/coverage.sh takes one of: all" $names >&2
    exit 2
fi

host=$(rustc -vV | sed -n 's/^host: //p')
# Instrument only what runs on the target triple (build scripts and proc macros stay plain:
# naming --target keeps RUSTFLAGS off them).
export RUSTFLAGS="-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 \
-C llvm-args=-sanitizer-coverage-inline-8bit-counters -C llvm-args=-sanitizer-coverage-pc-table \
-C llvm-args=-sanitizer-coverage-trace-compares -C debug-assertions -C overflow-checks --cfg fuzzing"
export CARGO_TARGET_DIR=target/fuzz-coverage
cargo build --locked --release -q -p edgenas-fuzz --features libfuzzer --target "$host" \
    --bin edgenas-fuzz-libfuzzer
fuzzer=$CARGO_TARGET_DIR/$host/release/edgenas-fuzz-libfuzzer

dict=$CARGO_TARGET_DIR/tokens.dict
"$plain" --dict > "$dict"
status=0
for t in $targets; do
    corpus=fuzz/corpus/$t
    findings=fuzz/findings/$t
    mkdir -p "$corpus" "$findings"
    "$plain" --seeds "$t" "$corpus"
    log=$CARGO_TARGET_DIR/$t.log
    started=$(date +%s)
    if ! EDGENAS_FUZZ_TARGET=$t "$fuzzer" "$corpus" -runs="$runs" \
        -timeout=1 -rss_limit_mb=4096 -dict="$dict" -print_final_stats=1 \
        -artifact_prefix="$findings/" "$@" > "$log" 2>&1; then
        status=1
        echo "$t: a finding (see $findings/ and $log):"
        grep -aE "^(==|SUMMARY|artifact_prefix|Test unit|thread '|edgenas-fuzz)" "$log" | head -8
        continue
    fi
    stat() { sed -n "s/^stat::$1: *//p" "$log"; }
    echo "$t: $(stat number_of_executed_units) executions in $(( $(date +%s) - started )) s," \
        "0 crashes, 0 timeouts over 1 s, $(grep -aEo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)," \
        "corpus $(find "$corpus" -type f | wc -l) inputs, peak RSS $(stat peak_rss_mb) MB"
done
exit $status
