#!/usr/bin/env bash
# Builds the Cortex-M firmware with Debian's toolchain (docs/firmware.md):
#   apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src lld-22
# The ELF lands in device/firmware/target/thumbv7em-none-eabihf/release/edgenas-firmware.
set -euo pipefail
cd "$(dirname "$0")"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release --locked "$@"
