#!/usr/bin/env bash
# Builds the C library for a Cortex-M target with Debian's toolchain, as the firmware is built
# (docs/deploy.md): apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src
#   device/capi/build.sh [TARGET] [CPU]
# TARGET defaults to thumbv7em-none-eabihf (Cortex-M4F/M7F, hard float), CPU to cortex-m4; the
# library lands in target/capi-thumb/TARGET/release/libedgenas_capi.a. Other targets:
# thumbv7em-none-eabi (soft float), thumbv6m-none-eabi with CPU cortex-m0plus.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${1:-thumbv7em-none-eabihf} cpu=${2:-cortex-m4}
features=()
# The DSP instructions exist on the Cortex-M4 and M7 only.
[[ $target == thumbv7em-* ]] && features=(--features dsp)
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-cpu=$cpu" /usr/bin/cargo build \
    --release --locked -p edgenas-capi "${features[@]}" --target "$target" \
    -Z build-std=core -Z build-std-features=compiler-builtins-mem --target-dir target/capi-thumb
echo "target/capi-thumb/$target/release/libedgenas_capi.a"
