//! Token files, read alike by the agent and the host.

use std::path::Path;

/// The token in `path`: the file's content without surrounding white space (a trailing
/// newline, say). The agent and the host read token files through this one function, so that
/// both sides see the same token.
pub fn read_token_file(path: &Path) -> Result<String, TokenFileError> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|source| TokenFileError {
            path: path.to_path_buf(),
            source,
        })
}

/// A token file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the token file {}: {source}", path.display())]
pub struct TokenFileError {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    pub source: std::io::Error,
}
