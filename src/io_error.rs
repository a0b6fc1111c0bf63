//! A file operation that failed: what was being done, to which path, and the system's
//! reason. The errors of every layer wrap it for their file work, so the message reads
//! the same wherever it came from.

use std::io;
use std::path::{Path, PathBuf};

/// `could not <action> `<path>`: <reason>`. The reason is part of the message, not a
/// separate source, so a rendered chain never names it twice.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} `{}`: {error}", path.display())]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    pub error: io::Error,
}

impl IoError {
    pub fn new(action: &'static str, path: &Path, error: io::Error) -> Self {
        Self {
            action,
            path: path.to_path_buf(),
            error,
        }
    }
}
