//! What the end-to-end tests share: running the binary, and finding the repository and
//! `../shared`. Each test module uses part of it.
#![allow(dead_code)]

mod fault;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `edgenas` binary with `args` and returns what it did.
pub fn edgenas(args: &[&str]) -> Output {
    fault::name_the_test_on_a_fault();
    Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(args)
        .output()
        .expect("the edgenas binary runs")
}

/// Checks that the command of `out` succeeded (failing with what it printed otherwise).
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `out`, once [`assert_ok`] passed.
pub fn ok(out: Output) -> Output {
    assert_ok(&out);
    out
}

/// The JSON a successful run printed (failing with its standard error otherwise).
pub fn stdout_json(out: &Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `edgenas search --data digits --meter simulator --out OUT ARGS [--json]`: a search on the
/// bundled digits with simulated latency.
pub fn search_args<'a>(out: &'a Path, args: &[&'a str], json: bool) -> Vec<&'a str> {
    fault::name_the_test_on_a_fault();
    let mut v = vec![
        "search",
        "--data",
        "digits",
        "--meter",
        "simulator",
        "--out",
        out.to_str().unwrap(),
    ];
    v.extend_from_slice(args);
    if json {
        v.push("--json");
    }
    v
}

/// The trials of `study` (a SQLite file or a PostgreSQL URL), read through the library.
pub fn study_trials(study: &str) -> Vec<edgenas::study::Trial> {
    edgenas::study::open(study, false)
        .unwrap()
        .trials()
        .unwrap()
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    fault::name_the_test_on_a_fault();
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

/// A MobileNetV3-style space with hard-swish activations, an op no shipped space uses yet:
/// the export, engine and emulated-board checks run it with the shipped spaces.
pub const HARD_SWISH_SPACE: &str = r#"
name = "hard-swish"
description = "test: hard-swish after a stem and in an inverted residual"

[input]
channels = 3
height = 12
width = 12
classes = 4

[[blocks]]
name = "stem"
type = "conv"
out = { values = [8, 16] }
stride = 2
act = "hard_swish"

[[blocks]]
name = "ir"
type = "inverted_residual"
out = { values = [8, 16] }
expansion = { values = [2, 3] }
kernel = 3
act = "hard_swish"

[[blocks]]
name = "head"
type = "classifier"
"#;

/// Every shipped space, then [`HARD_SWISH_SPACE`].
pub fn spaces() -> Vec<edgenas::space::SearchSpace> {
    fault::name_the_test_on_a_fault();
    let mut spaces: Vec<_> = edgenas::space::SHIPPED_SPACES
        .iter()
        .map(|(name, _)| edgenas::space::load_space(name).unwrap())
        .collect();
    spaces.push(edgenas::space::parse_space(HARD_SWISH_SPACE, "hard-swish.toml").unwrap());
    spaces
}

/// Trains a random DS-CNN for one epoch on the digits and exports it into `dir`; returns its
/// int8 blob.
pub fn exported(dir: &Path) -> Vec<u8> {
    let out = edgenas(&[
        "train",
        "--space",
        "ds-cnn",
        "--random",
        "--seed",
        "3",
        "--data",
        "digits",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_ok(&out);
    std::fs::read(dir.join("model-int8.blob")).unwrap()
}

/// Whether every one of `tools` runs here (in CI they must); says what is missing otherwise.
pub fn have(tools: &[&str], half: &str) -> bool {
    fault::name_the_test_on_a_fault();
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| Command::new(t).arg("--version").output().is_err())
        .collect();
    assert!(
        missing.is_empty() || std::env::var_os("CI").is_none(),
        "CI must run {half}: missing {missing:?}"
    );
    if !missing.is_empty() {
        eprintln!("skipped {half}: missing {missing:?}");
    }
    missing.is_empty()
}
