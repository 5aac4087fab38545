//! Token files, read alike by the agent and the host.

use std::path::Path;

/// The token in `path`: the file's content without surrounding white space (a trailing
/// newline, say). The agent and the host read token files through this one function, so that
/// both sides see the same token.
pub fn read_token_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))
}
