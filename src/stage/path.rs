//! `path` sources: a file in the repository (already resolved inside the package root by
//! validation). Checked as a whole zip and hashed on every run; never copied into the cache.

use std::path::Path;

use crate::stage::{check_package, StageError, StagedPackage};

pub async fn stage(path: &Path, max_size: u64) -> Result<StagedPackage, StageError> {
    let size = tokio::fs::metadata(path)
        .await
        .map_err(|source| StageError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if size > max_size {
        return Err(StageError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: max_size,
        });
    }
    check_package(path).await
}
