//! Rules of ARCHITECTURE.md that no crate edge enforces, checked on the source as
//! rust-analyzer's tidy tests check theirs.

use std::path::{Path, PathBuf};

use crate::common::repo_root;

/// Crates under `host/` and `device/` that are not libraries: the CLI (whose clap value
/// parsers must return `String`) and the firmware (a binary outside the workspace).
const NOT_LIBRARIES: [&str; 2] = ["host/cli", "device/firmware"];

/// The `src` folders of the library crates: every crate under `host/` and `device/` (a folder
/// with a `Cargo.toml`) but [`NOT_LIBRARIES`], so that a new crate is checked without a line
/// here.
fn library_sources() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for side in ["host", "device"] {
        for entry in std::fs::read_dir(repo_root().join(side)).unwrap() {
            let dir = entry.unwrap().path();
            let name = format!("{side}/{}", dir.file_name().unwrap().to_string_lossy());
            if dir.join("Cargo.toml").is_file() && !NOT_LIBRARIES.contains(&name.as_str()) {
                found.push(dir.join("src"));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The signatures of the public functions in `text` (from `pub fn` to the body's `{` or the
/// `;` of a declaration), and `type Err = …;` lines: what a caller outside the crate sees.
fn public_signatures(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("pub fn ") {
        let rest = &text[at..];
        let end = rest.find(['{', ';']).unwrap_or(rest.len());
        found.push(&rest[..end]);
    }
    for (at, _) in text.match_indices("type Err =") {
        let rest = &text[at..];
        found.push(&rest[..rest.find(';').unwrap_or(rest.len())]);
    }
    found
}

/// Whether `signature` gives its errors as a bare `String`.
fn errs_in_words(signature: &str) -> bool {
    let flat: String = signature.split_whitespace().collect();
    flat.contains(",String>") || flat == "typeErr=String"
}

#[test]
fn no_public_library_function_returns_its_error_as_a_string() {
    // The rule's own detector, on what it must and must not catch.
    let caught = "pub fn check(\n    v: &Value,\n) -> Result<(), String> {";
    assert!(public_signatures(caught).into_iter().any(errs_in_words));
    assert!(
        public_signatures("impl F for P {\n    type Err = String;\n}")
            .into_iter()
            .any(errs_in_words)
    );
    let typed = "pub fn name(&self) -> Result<String, NameError> { x }\nfn private() -> Result<(), String> {}";
    assert!(!public_signatures(typed).into_iter().any(errs_in_words));

    let sources = library_sources();
    // host's data, measure, model, onnx, search, study and train; device's agent, capi,
    // engine and wire.
    assert!(sources.len() >= 11, "{sources:?}");
    let mut files = Vec::new();
    for src in &sources {
        rust_files(src, &mut files);
    }
    assert!(files.len() > 100, "{} files", files.len());
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            public_signatures(&text)
                .into_iter()
                .filter(|s| errs_in_words(s))
                .map(|s| {
                    format!(
                        "{}: {}",
                        file.display(),
                        s.split_whitespace().collect::<Vec<_>>().join(" ")
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "public functions of library crates return typed errors (thiserror), not String:\n{}",
        offenders.join("\n")
    );
}
