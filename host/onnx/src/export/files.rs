//! Files written whole or not at all.

use std::path::Path;

use super::ExportError;

/// Writes `name` in `dir` through a temporary file and a rename: no half-written file is left
/// behind.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
    write_path(&dir.join(name), bytes)
}

/// Writes the file `path` through a temporary file beside it and a rename; on failure the
/// temporary file is removed, so neither a partial file nor a stray temporary is left.
pub fn write_path(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let name = path
        .file_name()
        .ok_or_else(|| ExportError::Io(format!("{}: not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            ExportError::Io(format!("{}: {e}", path.display()))
        })
}
