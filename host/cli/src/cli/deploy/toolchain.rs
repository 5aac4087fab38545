//! What `deploy` builds device code with: edgenas's source tree and Debian's Rust, which has
//! the Cortex-M targets' sources (rustup here has none; docs/firmware.md).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use edgenas::board::Board;
use edgenas::measure::mcu::artefact;

/// Debian's cargo.
pub const CARGO: &str = "/usr/bin/cargo";
/// Debian's rustc.
pub const RUSTC: &str = "/usr/bin/rustc";

/// Checks that Debian's Rust is installed, saying how to install it otherwise.
pub fn check_debian_rust() -> Result<()> {
    for tool in [CARGO, RUSTC] {
        if !Path::new(tool).exists() {
            bail!(
                "device code builds with Debian's Rust, and {tool} is missing: apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src lld-22 (docs/firmware.md)"
            );
        }
    }
    Ok(())
}

/// edgenas's source tree (a checkout of the repository): `EDGENAS_SOURCE`, else `source` in
/// the data folder, else the tree this binary was built from.
pub fn source_tree() -> Result<PathBuf> {
    let dir = artefact("EDGENAS_SOURCE", "source", ".");
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    match dir.join("device/firmware/Cargo.toml").exists() {
        true => Ok(dir),
        false => bail!(
            "edgenas's source tree is not at {}: building device code needs it; set EDGENAS_SOURCE to a checkout of the edgenas repository",
            dir.display()
        ),
    }
}

/// The Rust target and `-C target-cpu` of `board`'s core, and the `arm-none-eabi-gcc` flags
/// that match them; `None` for a core the engine does not build for.
pub fn cortex_m(board: &Board) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match board.core.as_str() {
        "cortex-m4f" => (
            "thumbv7em-none-eabihf",
            "cortex-m4",
            "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16",
        ),
        "cortex-m4" => ("thumbv7em-none-eabi", "cortex-m4", "-mcpu=cortex-m4"),
        "cortex-m7" => (
            "thumbv7em-none-eabihf",
            "cortex-m7",
            "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-sp-d16",
        ),
        "cortex-m0+" => ("thumbv6m-none-eabi", "cortex-m0plus", "-mcpu=cortex-m0plus"),
        _ => return None,
    })
}
