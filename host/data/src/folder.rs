//! Reading a folder of class sub-folders: what the image and audio loaders share.

use std::path::{Path, PathBuf};

use crate::DataError;

/// The sorted names of `root`'s sub-folders, hidden ones and those named in `skip` left out.
pub fn class_folders(root: &str, skip: &[&str]) -> Result<Vec<String>, DataError> {
    let mut classes: Vec<String> = std::fs::read_dir(root)
        .map_err(|e| DataError::new(root, format!("cannot read the folder: {e}")))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.') && !skip.contains(&n.as_str()))
        .collect();
    classes.sort();
    Ok(classes)
}

/// The sorted paths of the files of `dir` that are not hidden.
pub fn visible_files(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::new(dir.display(), format!("cannot read: {e}")))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}
