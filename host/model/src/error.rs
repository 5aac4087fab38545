//! Errors shared by the file readers (spaces, boards) and genotypes.

use std::fmt;

/// A space or board file that cannot be used: the file, the line and key where known, and what
/// was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file (a path, or `shipped:NAME`).
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// The key (`blocks[2].kernel`, `choices.depth`), where known.
    pub key: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl FileError {
    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: file.to_string(),
            line: None,
            key: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FileError {}

/// A genotype that does not belong to its space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("genotype does not belong to space `{space}`: {message}")]
pub struct GenotypeError {
    /// The space's name.
    pub space: String,
    /// What is wrong.
    pub message: String,
}
