//! `path` sources: a file in the repository (already resolved inside the package root by
//! validation). Hashed on every run; never copied into the cache.

use std::path::Path;

use crate::stage::download::is_zip;
use crate::stage::hash::hash_file;
use crate::stage::{StageError, StagedPackage};

pub async fn stage(path: &Path, max_size: u64) -> Result<StagedPackage, StageError> {
    let path = path.to_path_buf();
    let io = |source| StageError::Io {
        path: path.clone(),
        source,
    };
    let size = tokio::fs::metadata(&path).await.map_err(io)?.len();
    if size > max_size {
        return Err(StageError::TooLarge {
            path,
            size,
            limit: max_size,
        });
    }
    let checked = path.clone();
    let (zip, digest) = tokio::task::spawn_blocking(move || {
        Ok::<_, std::io::Error>((is_zip(&checked)?, hash_file(&checked)?))
    })
    .await
    .expect("hashing does not panic")
    .map_err(io)?;
    if !zip {
        return Err(StageError::NotZip { path });
    }
    Ok(StagedPackage { path, digest })
}
