#!/usr/bin/env bash
# Builds the instruction-counting QEMU plugin with the system's C compiler (docs/firmware.md).
set -euo pipefail
cd "$(dirname "$0")"
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o libicount.so icount.c
