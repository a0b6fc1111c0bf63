//! Stage 4 — stage: the desired state's packages → local files with their SHA-256.
//!
//! Every distinct [`PackageRef`] of a run is staged once, up to [`CONCURRENCY`] at a time,
//! from GitHub Releases ([`github`]), URLs ([`url`]), the repository ([`path`]) or the
//! package bucket ([`s3`]). Downloads go through the [`cache`] and [`download`]'s integrity
//! checks; every failure is collected, not just the first.

pub mod cache;
pub mod download;
pub mod github;
pub mod hash;
pub mod path;
pub mod s3;
pub mod url;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use tokio::sync::OnceCell;

use crate::desired::PackageRef;
use crate::progress::Progress;
use crate::settings::{GithubSettings, Settings};
use cache::Cache;
use download::DownloadError;
use hash::Digest;

/// Packages staged at once.
pub const CONCURRENCY: usize = 8;

#[derive(Debug, Clone)]
pub struct StagedPackage {
    /// The package on local disk (a cache entry, or the repository file itself).
    pub path: PathBuf,
    pub digest: Digest,
}

pub type Staged = BTreeMap<PackageRef, StagedPackage>;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("GitHub release `{tag}` of `{repository}`: {}", describe_release_error(source.as_ref()))]
    Release {
        repository: String,
        tag: String,
        status: Option<reqwest::StatusCode>,
        source: Option<DownloadError>,
    },
    #[error("GitHub release `{tag}` of `{repository}` has no asset `{asset}`")]
    AssetNotFound {
        repository: String,
        tag: String,
        asset: String,
        available: Vec<String>,
    },
    #[error("the checksum file `{file}` does not hold a valid SHA-256 for `{asset}`{}", source.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Checksums {
        file: String,
        asset: String,
        source: Option<DownloadError>,
    },
    #[error("{package}: {source}")]
    Download {
        package: String,
        #[source]
        source: DownloadError,
    },
    #[error("`{}` is {size} bytes, larger than the limit of {limit} (see `--max-package-size`)", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("`{}` is not a zip file (it does not start with `PK\\x03\\x04`)", path.display())]
    NotZip { path: PathBuf },
    #[error("`s3://{bucket}/{key}`: {message}")]
    S3 {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("could not read or write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn describe_release_error(source: Option<&DownloadError>) -> String {
    match source {
        Some(error) if github::is_not_found(error.status()) => "not found".to_owned(),
        Some(error) => error.to_string(),
        None => "invalid repository or tag".to_owned(),
    }
}

impl StageError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Release { status, .. } if github::is_not_found(*status) => Some(
                "was the version promoted before its release was published? For a private repository, set `GITHUB_TOKEN`".into(),
            ),
            Self::Release { status: Some(status), .. } if matches!(status.as_u16(), 401 | 403) => {
                Some("check that `GITHUB_TOKEN` (or `GH_TOKEN`) is set and can read the repository's releases".into())
            }
            Self::AssetNotFound { available, .. } if !available.is_empty() => {
                Some(format!("the release has: {}", crate::error::backticked(available)))
            }
            _ => None,
        }
    }
}

/// Everything staging needs, built once per run.
pub struct Stager {
    client: reqwest::Client,
    github: GithubSettings,
    cache: Cache,
    max_size: u64,
    s3: OnceCell<aws_sdk_s3::Client>,
}

impl Stager {
    pub fn new(settings: &Settings) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("lambda-gitops/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .read_timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("the TLS backend initialises");
        Self {
            client,
            github: settings.github.clone(),
            cache: Cache::new(settings.cache_dir.clone()),
            max_size: settings.max_package_size,
            s3: OnceCell::new(),
        }
    }

    /// Stages each distinct package once; all failures are returned together.
    pub async fn stage_all(
        &self,
        packages: BTreeSet<PackageRef>,
        progress: Arc<dyn Progress>,
    ) -> Result<Staged, Vec<StageError>> {
        let results: Vec<_> = stream::iter(packages)
            .map(|package| {
                let progress = progress.clone();
                async move {
                    let result = self.stage(&package, progress.as_ref()).await;
                    (package, result)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut staged = Staged::new();
        let mut errors = Vec::new();
        for (package, result) in results {
            match result {
                Ok(package_file) => {
                    staged.insert(package, package_file);
                }
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(staged)
        } else {
            errors.sort_by_key(ToString::to_string);
            Err(errors)
        }
    }

    async fn stage(
        &self,
        package: &PackageRef,
        progress: &dyn Progress,
    ) -> Result<StagedPackage, StageError> {
        match package {
            PackageRef::GithubRelease {
                repository,
                tag,
                asset,
            } => github::stage(self, progress, repository, tag, asset).await,
            PackageRef::Url { url } => url::stage(self, progress, url).await,
            PackageRef::Path { path } => path::stage(path, self.max_size).await,
            PackageRef::S3 { bucket, key } => s3::stage(self, progress, bucket, key).await,
        }
    }

    async fn s3_client(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(s3::client).await
    }
}

/// Hashes a cache entry off the async threads.
pub async fn hash_entry(entry: &Path) -> Result<Digest, StageError> {
    let path = entry.to_path_buf();
    tokio::task::spawn_blocking(move || hash::hash_file(&path))
        .await
        .expect("hashing does not panic")
        .map_err(|source| StageError::Io {
            path: entry.to_path_buf(),
            source,
        })
}
