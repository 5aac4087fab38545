//! Files shipped inside the binary (spaces, boards), and reading one by name or path.

use std::path::Path;

use crate::error::FileError;

/// The text of a file given as a path, or of a shipped file given by name (`mlp`, or
/// `DIR/mlp.toml` when no such file exists where the command runs). Returns the text and the
/// name to use in messages (the path, or `shipped:NAME`). `what` names the kind in errors.
pub fn read_named(
    name_or_path: &str,
    shipped: &[(&str, &str)],
    dir: &str,
    what: &str,
) -> Result<(String, String), FileError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::file(name_or_path, format!("cannot read: {e}")))?;
        return Ok((text, name_or_path.to_string()));
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name_or_path);
    let bare = !name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.starts_with(&format!("{dir}/"));
    match shipped.iter().find(|(n, _)| *n == stem) {
        Some((name, text)) if bare => Ok((text.to_string(), format!("shipped:{name}"))),
        _ => {
            let names: Vec<&str> = shipped.iter().map(|(n, _)| *n).collect();
            Err(FileError::file(
                name_or_path,
                format!(
                    "no such file, and no shipped {what} of that name (shipped: {})",
                    names.join(", ")
                ),
            ))
        }
    }
}
