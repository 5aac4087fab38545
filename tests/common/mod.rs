//! What the end-to-end tests share: running the binary, and finding the repository and
//! `../shared`. Each test module uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `edgenas` binary with `args` and returns what it did.
pub fn edgenas(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(args)
        .output()
        .expect("the edgenas binary runs")
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/RELATIVE` beside the repository, or `None` (with a line saying that `test`
/// skipped) when it is not there: `../shared` exists in CI, not on a user's machine.
pub fn shared(relative: &str, test: &str) -> Option<PathBuf> {
    let path = repo_root().join("../shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipped {test}: {} is not there", path.display());
        None
    }
}
