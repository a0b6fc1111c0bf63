//! The one way bytes from the network become a cache entry a later run can trust, whatever
//! the source (GitHub, a URL, S3): each attempt opens the source, streams its chunks into a
//! uniquely named temp file beside the entry while hashing and counting them, and checks the
//! declared length, the size limit, the whole zip ([`verify`]) and the expected digest
//! before an atomic rename. The temp file is deleted on every other exit — an error, or the
//! future being dropped (an interrupt). Attempts are retried ([`crate::retry`]); a response
//! that sends nothing for the stall timeout fails, and so does a download (all attempts)
//! that outlasts its deadline.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, ETAG, LAST_MODIFIED};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::aws::S3Error;
use crate::github::GithubError;
use crate::hash::{Digest, Hasher};
use crate::retry::{with_retries, Transient};
use crate::secret::redact_url;
use crate::stage::cache::{Validators, PARTIAL_PREFIX};
use crate::stage::verify::{self, NotZip};
use crate::terminal::progress::Task;

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Github(#[from] GithubError),

    #[error("request to `{url}` failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("`{url}` answered HTTP {status}")]
    Status {
        url: String,
        status: StatusCode,
        retry_after: Option<Duration>,
    },

    #[error(transparent)]
    S3(#[from] S3Error),

    #[error("`{url}` sent nothing for {}", seconds(*after))]
    Stalled { url: String, after: Duration },

    #[error("the download of `{url}` did not finish within {} (retries included)", seconds(*limit))]
    Deadline { url: String, limit: Duration },

    #[error("`{url}` is larger than the limit of {limit} bytes (see `--max-package-size`)")]
    TooLarge { url: String, limit: u64 },

    #[error("the download of `{url}` was cut off after {received} of {expected} bytes")]
    Truncated {
        url: String,
        expected: u64,
        received: u64,
    },

    #[error("`{url}` is not a zip file: {problem}")]
    NotZip {
        url: String,
        problem: NotZip,
        /// The body had no Content-Length: a cut-off connection looks like a short file.
        close_delimited: bool,
    },

    #[error("`{url}` has SHA-256 {actual}, but the release's checksum says {expected}")]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
    },

    #[error("could not write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    /// A transport error from reqwest, without its URL (which may hold a signed query).
    pub fn request(url: &str, source: reqwest::Error) -> Self {
        Self::Request {
            url: redact_url(url),
            source: source.without_url(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Github(error) => error.hint(),
            Self::S3(error) => error.hint(),
            Self::Stalled { .. } => Some(
                "the server stopped sending; on a slow link raise `--download-stall-timeout`"
                    .into(),
            ),
            Self::Deadline { .. } => {
                Some("raise `--download-timeout` for large packages on a slow link".into())
            }
            _ => None,
        }
    }
}

impl Transient for DownloadError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Github(error) => error.is_transient(),
            Self::S3(error) => error.is_transient(),
            Self::Request { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_body()
                    || source.is_request()
            }
            Self::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Stalled { .. } | Self::Truncated { .. } => true,
            Self::NotZip {
                close_delimited, ..
            } => *close_delimited,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Github(error) => error.retry_after(),
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f32())
}

/// How far one download may go.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_size: u64,
    /// No byte for this long fails the attempt.
    pub stall: Duration,
    /// All attempts together.
    pub deadline: Duration,
}

pub type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, DownloadError>> + Send>>;

/// An opened source: its declared length, its chunks, and what to revalidate it with later.
pub struct Body {
    pub declared: Option<u64>,
    pub chunks: Chunks,
    pub validators: Validators,
}

pub enum Opened {
    /// A conditional request answered 304: the cache entry is current.
    NotModified,
    Body(Body),
}

pub enum Fetched {
    NotModified,
    Written {
        digest: Digest,
        validators: Validators,
    },
}

/// Downloads into `dest`: `open` is called once per attempt. `name` (redacted) names the
/// source in errors and logs; `expected` is the digest the file must have, if known.
pub async fn fetch<F, Fut>(
    name: &str,
    dest: &Path,
    bounds: Bounds,
    expected: Option<Digest>,
    task: &dyn Task,
    mut open: F,
) -> Result<Fetched, DownloadError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Opened, DownloadError>>,
{
    let what = format!("`{name}`");
    let attempts = with_retries(&what, || {
        let opened = open();
        async move {
            match opened.await? {
                Opened::NotModified => Ok(Fetched::NotModified),
                Opened::Body(body) => write(name, dest, body, bounds, expected, task).await,
            }
        }
    });
    tokio::time::timeout(bounds.deadline, attempts)
        .await
        .map_err(|_| DownloadError::Deadline {
            url: name.to_owned(),
            limit: bounds.deadline,
        })?
}

/// `future`, failing as [`DownloadError::Stalled`] when it takes longer than `stall`
/// (for opening a source: a request that gets no response).
pub async fn within_stall<T>(
    name: &str,
    stall: Duration,
    future: impl Future<Output = Result<T, DownloadError>>,
) -> Result<T, DownloadError> {
    tokio::time::timeout(stall, future)
        .await
        .map_err(|_| DownloadError::Stalled {
            url: name.to_owned(),
            after: stall,
        })?
}

/// A successful HTTP response as a [`Body`].
pub fn http_body(name: &str, response: reqwest::Response) -> Body {
    let headers = response.headers();
    let header = |name| {
        headers
            .get(name)
            .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    };
    let declared = declared_length(headers);
    let name = name.to_owned();
    let chunks = response
        .bytes_stream()
        .map_err(move |source| DownloadError::request(&name, source));
    Body {
        declared,
        chunks: Box::pin(chunks),
        validators,
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// One attempt's body into `dest`; nothing is left behind unless every check passed.
async fn write(
    name: &str,
    dest: &Path,
    body: Body,
    bounds: Bounds,
    expected: Option<Digest>,
    task: &dyn Task,
) -> Result<Fetched, DownloadError> {
    let attempt = Attempt {
        name,
        dest,
        bounds,
        task,
    };
    let Body {
        declared,
        chunks,
        validators,
    } = body;
    if declared.is_some_and(|length| length > bounds.max_size) {
        return Err(attempt.too_large());
    }
    if let Some(length) = declared {
        task.set_total(length);
    }
    // A unique name; deleted when dropped — on an error return, or when this future is.
    let (temp, file) = attempt.temp_file().await?;
    let digest = attempt.copy(chunks, declared, file).await?;
    attempt
        .check(temp.path(), declared, digest, expected)
        .await?;
    temp.persist(dest)
        .map_err(|error| attempt.io_error(error.error))?;
    Ok(Fetched::Written { digest, validators })
}

/// One attempt at writing a download: its source's name, its destination and its bounds.
struct Attempt<'a> {
    name: &'a str,
    dest: &'a Path,
    bounds: Bounds,
    task: &'a dyn Task,
}

impl Attempt<'_> {
    fn io_error(&self, source: std::io::Error) -> DownloadError {
        DownloadError::Io {
            path: self.dest.to_path_buf(),
            source,
        }
    }

    fn too_large(&self) -> DownloadError {
        DownloadError::TooLarge {
            url: self.name.to_owned(),
            limit: self.bounds.max_size,
        }
    }

    fn truncated(&self, expected: u64, received: u64) -> DownloadError {
        DownloadError::Truncated {
            url: self.name.to_owned(),
            expected,
            received,
        }
    }

    /// A uniquely named temp file beside the destination, and a handle to write it with.
    async fn temp_file(&self) -> Result<(tempfile::NamedTempFile, tokio::fs::File), DownloadError> {
        let dir = self.dest.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| self.io_error(source))?;
        let temp = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .tempfile_in(dir)
            .map_err(|source| self.io_error(source))?;
        let handle = temp
            .as_file()
            .try_clone()
            .map_err(|source| self.io_error(source))?;
        Ok((temp, tokio::fs::File::from_std(handle)))
    }

    /// Streams `chunks` into `file`, hashing and counting them; the body must stay within the
    /// size limit and have its declared length. The file is synced before it is closed.
    async fn copy(
        &self,
        mut chunks: Chunks,
        declared: Option<u64>,
        mut file: tokio::fs::File,
    ) -> Result<Digest, DownloadError> {
        let mut hasher = Hasher::default();
        let mut received: u64 = 0;
        while let Some(chunk) = self.next_chunk(&mut chunks, declared, received).await? {
            received += chunk.len() as u64;
            if received > self.bounds.max_size {
                return Err(self.too_large());
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|source| self.io_error(source))?;
            self.task.advance(chunk.len() as u64);
        }
        if let Some(expected) = declared.filter(|expected| *expected != received) {
            return Err(self.truncated(expected, received));
        }
        file.flush().await.map_err(|source| self.io_error(source))?;
        file.sync_all()
            .await
            .map_err(|source| self.io_error(source))?;
        Ok(hasher.finish())
    }

    /// The next chunk, or `None` at the end. A body with a declared length that fails midway
    /// was cut off.
    async fn next_chunk(
        &self,
        chunks: &mut Chunks,
        declared: Option<u64>,
        received: u64,
    ) -> Result<Option<Bytes>, DownloadError> {
        let next = tokio::time::timeout(self.bounds.stall, chunks.next())
            .await
            .map_err(|_| DownloadError::Stalled {
                url: self.name.to_owned(),
                after: self.bounds.stall,
            })?;
        match next {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(error)) => match declared {
                Some(expected) => {
                    let name = self.name;
                    tracing::debug!("body of `{name}` ended early: {error}");
                    Err(self.truncated(expected, received))
                }
                None => Err(error),
            },
        }
    }

    /// The written file must be a whole zip and, when a digest is expected, have it.
    async fn check(
        &self,
        path: &Path,
        declared: Option<u64>,
        digest: Digest,
        expected: Option<Digest>,
    ) -> Result<(), DownloadError> {
        let path = path.to_path_buf();
        let checked = tokio::task::spawn_blocking(move || verify::check_zip(&path))
            .await
            .expect("the zip check does not panic")
            .map_err(|source| self.io_error(source))?;
        if let Err(problem) = checked {
            return Err(DownloadError::NotZip {
                url: self.name.to_owned(),
                problem,
                close_delimited: declared.is_none(),
            });
        }
        if let Some(expected) = expected.filter(|expected| *expected != digest) {
            return Err(DownloadError::ChecksumMismatch {
                url: self.name.to_owned(),
                expected: expected.hex(),
                actual: digest.hex(),
            });
        }
        Ok(())
    }
}
