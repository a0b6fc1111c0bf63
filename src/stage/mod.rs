//! Stage 4 — stage: the desired state's packages → local files with their SHA-256.
//!
//! Every distinct [`PackageRef`] of a run is staged once, up to [`CONCURRENCY`] at a time,
//! from GitHub Releases ([`release`], through [`crate::github::Client`]), URLs ([`url`]), the
//! repository ([`path`]) or the package bucket ([`s3`]). Bytes from the network go through
//! [`download`], the one writer that checks them (size, length, whole zip, checksum) before
//! they enter the [`cache`]; every failure is collected, not just the first.

pub mod cache;
pub mod download;
pub mod github_release;
pub mod labels;
pub mod path;
pub mod s3;
pub mod url;
pub mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use tokio::sync::OnceCell;

use crate::desired::PackageRef;
use crate::github::GithubError;
use crate::hash::Digest;
use crate::terminal::progress::{Named, Progress};
use cache::Cache;
use download::{Bounds, DownloadError};
use verify::{NotZip, PackageProblem};

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
    #[error("GitHub release `{tag}` of `{repository}`: {source}")]
    Release {
        repository: String,
        tag: String,
        source: GithubError,
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
        source: Option<GithubError>,
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
    #[error("`{}` is not a zip file: {problem}", path.display())]
    NotZip { path: PathBuf, problem: NotZip },
    #[error("could not read or write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StageError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Release { source, .. } if source.is_not_found() => Some(
                "was the version promoted before its release was published? For a private repository, set `GITHUB_TOKEN`".into(),
            ),
            Self::Release { source, .. } => source.hint(),
            Self::Checksums { source: Some(source), .. } => source.hint(),
            Self::Download { source, .. } => source.hint(),
            Self::AssetNotFound { available, .. } if !available.is_empty() => {
                Some(format!("the release has: {}", crate::problem::backticked(available)))
            }
            _ => None,
        }
    }
}

/// Everything staging needs, built once per run.
pub struct Stager {
    /// For `url` sources (no token; reqwest follows their redirects).
    http: reqwest::Client,
    github: crate::github::Client,
    cache: Cache,
    bounds: Bounds,
    s3: OnceCell<aws_sdk_s3::Client>,
    /// What progress calls each package ([`labels`]); its source otherwise.
    labels: BTreeMap<PackageRef, String>,
}

/// What staging takes from the run's settings: where GitHub is, the cache, the bounds.
#[derive(Debug, Clone, Copy)]
pub struct StageSettings<'a> {
    pub github: &'a crate::github::GithubSettings,
    pub github_waits: crate::retry::RateLimitWaits,
    pub cache_dir: &'a std::path::Path,
    pub max_package_size: u64,
    pub download_timeout: std::time::Duration,
    pub download_stall_timeout: std::time::Duration,
}

impl Stager {
    pub fn new(settings: StageSettings<'_>) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(concat!("lambda-gitops/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("the TLS backend initialises");
        Self {
            http,
            github: crate::github::Client::new(settings.github, settings.download_stall_timeout)
                .with_waits(settings.github_waits),
            cache: Cache::new(settings.cache_dir.to_path_buf()),
            bounds: Bounds {
                max_size: settings.max_package_size,
                stall: settings.download_stall_timeout,
                deadline: settings.download_timeout,
            },
            s3: OnceCell::new(),
            labels: BTreeMap::new(),
        }
    }

    /// Progress names each package by these labels (from [`labels::of`]).
    pub fn labelled(self, labels: BTreeMap<PackageRef, String>) -> Self {
        Self { labels, ..self }
    }

    /// Stages each distinct package once; all failures are returned together.
    pub async fn stage_all(
        &self,
        packages: BTreeSet<PackageRef>,
        progress: Arc<dyn Progress>,
    ) -> Result<Staged, Vec<StageError>> {
        let cache = self.cache.clone();
        let removed = tokio::task::spawn_blocking(move || cache.remove_stale_partials())
            .await
            .unwrap_or(0);
        if removed > 0 {
            tracing::debug!("removed {removed} temp file(s) a killed run left in the cache");
        }
        let results: Vec<_> = stream::iter(packages)
            .map(|package| {
                let progress = progress.clone();
                async move {
                    let result = match self.labels.get(&package) {
                        Some(name) => {
                            let named = Named {
                                inner: progress.as_ref(),
                                name,
                            };
                            self.stage(&package, &named).await
                        }
                        None => self.stage(&package, progress.as_ref()).await,
                    };
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
            } => github_release::stage(self, progress, repository, tag, asset).await,
            PackageRef::Url { url } => url::stage(self, progress, url).await,
            PackageRef::Path { path } => path::stage(path, self.bounds.max_size).await,
            PackageRef::S3 { bucket, key } => s3::stage(self, progress, bucket, key).await,
        }
    }

    async fn s3_client(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(s3::client).await
    }

    /// The cache entry as a staged package, when it is there and still a whole zip; a
    /// broken one (from an older version, or a damaged disk) is removed and `None` returned.
    async fn cached(&self, entry: &Path) -> Result<Option<StagedPackage>, StageError> {
        if !entry.is_file() {
            return Ok(None);
        }
        match check_package(entry).await {
            Ok(package) => Ok(Some(package)),
            Err(StageError::NotZip { problem, .. }) => {
                tracing::warn!(
                    "the cached `{}` is not a whole zip ({problem}); downloading it again",
                    entry.display()
                );
                Cache::remove(entry);
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

/// A file on disk as a package: a whole zip, hashed (off the async threads).
pub async fn check_package(path: &Path) -> Result<StagedPackage, StageError> {
    let checked = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || verify::check_package(&checked))
        .await
        .expect("the package check does not panic");
    match result {
        Ok(digest) => Ok(StagedPackage {
            path: path.to_path_buf(),
            digest,
        }),
        Err(PackageProblem::NotZip(problem)) => Err(StageError::NotZip {
            path: path.to_path_buf(),
            problem,
        }),
        Err(PackageProblem::Io(source)) => Err(StageError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
