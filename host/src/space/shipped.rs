//! The search spaces shipped inside the binary, and loading a space by name or path.

use std::path::Path;

use super::{FileError, SearchSpace, parse_space};

/// The shipped spaces: name and the text of `search-spaces/NAME.toml`.
pub const SHIPPED_SPACES: &[(&str, &str)] = &[
    (
        "mobilenetv2-tiny",
        include_str!("../../../search-spaces/mobilenetv2-tiny.toml"),
    ),
    ("ds-cnn", include_str!("../../../search-spaces/ds-cnn.toml")),
    (
        "resnet-tiny",
        include_str!("../../../search-spaces/resnet-tiny.toml"),
    ),
    ("mlp", include_str!("../../../search-spaces/mlp.toml")),
    ("nb201", include_str!("../../../search-spaces/nb201.toml")),
];

/// Loads a space from a file path, or by the name of a shipped space (`mlp`, or
/// `search-spaces/mlp.toml` when no such file exists where the command runs).
pub fn load_space(name_or_path: &str) -> Result<SearchSpace, FileError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::file(name_or_path, format!("cannot read: {e}")))?;
        return parse_space(&text, name_or_path);
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name_or_path);
    let bare = !name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.starts_with("search-spaces/");
    match SHIPPED_SPACES.iter().find(|(n, _)| *n == stem) {
        Some((name, text)) if bare => parse_space(text, &format!("shipped:{name}")),
        _ => {
            let names: Vec<&str> = SHIPPED_SPACES.iter().map(|(n, _)| *n).collect();
            Err(FileError::file(
                name_or_path,
                format!(
                    "no such file, and no shipped space of that name (shipped: {})",
                    names.join(", ")
                ),
            ))
        }
    }
}
