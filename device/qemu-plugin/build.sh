#!/usr/bin/env bash
# Builds the instruction-counting QEMU plugin with the system's C compiler (docs/firmware.md),
# after checking its instruction decoder on known encodings.
set -euo pipefail
cd "$(dirname "$0")"
flags="-O2 -Wall -Wextra -Werror"
test=$(mktemp)
trap 'rm -f "$test"' EXIT
gcc $flags -o "$test" classify_test.c
"$test" > /dev/null
gcc $flags -shared -fPIC -o libicount.so icount.c
