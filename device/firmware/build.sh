#!/usr/bin/env bash
# Builds the Cortex-M firmware with Debian's toolchain (docs/firmware.md):
#   apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src lld-22
# The memory map comes from the board file EDGENAS_BOARD names (default qemu-mps2-an386, whose
# ELF serves both emulated boards): device/firmware/target/thumbv7em-none-eabihf/release/
# edgenas-firmware. Another board's ELF lands in target/boards/NAME/… (docs/boards.md).
set -euo pipefail
cd "$(dirname "$0")"
args=()
if [[ -n "${EDGENAS_BOARD:-}" && "$EDGENAS_BOARD" != qemu-mps2-* ]]; then
    args=(--target-dir "target/boards/$(basename "$EDGENAS_BOARD" .toml)")
fi
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release --locked "${args[@]}" "$@"
