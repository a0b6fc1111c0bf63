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

use crate::github::GithubError;
use crate::hash::{Digest, Hasher};
use crate::retry::{with_retries, Transient};
use crate::secret::redact_url;
use crate::stage::cache::{Validators, PARTIAL_PREFIX};
use crate::stage::s3::S3Error;
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
    let Body {
        declared,
        mut chunks,
        validators,
    } = body;
    let too_large = || DownloadError::TooLarge {
        url: name.to_owned(),
        limit: bounds.max_size,
    };
    if declared.is_some_and(|length| length > bounds.max_size) {
        return Err(too_large());
    }
    if let Some(length) = declared {
        task.set_total(length);
    }

    let io_error = |source| DownloadError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let dir = dest.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
    // A unique name; deleted when dropped — on an error return, or when this future is.
    let temp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .map_err(io_error)?;
    let mut file = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(io_error)?);

    let mut hasher = Hasher::default();
    let mut received: u64 = 0;
    loop {
        let next = tokio::time::timeout(bounds.stall, chunks.next())
            .await
            .map_err(|_| DownloadError::Stalled {
                url: name.to_owned(),
                after: bounds.stall,
            })?;
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => match declared {
                Some(expected) => {
                    tracing::debug!("body of `{name}` ended early: {error}");
                    return Err(DownloadError::Truncated {
                        url: name.to_owned(),
                        expected,
                        received,
                    });
                }
                None => return Err(error),
            },
        };
        received += chunk.len() as u64;
        if received > bounds.max_size {
            return Err(too_large());
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_error)?;
        task.advance(chunk.len() as u64);
    }
    if let Some(expected) = declared.filter(|expected| *expected != received) {
        return Err(DownloadError::Truncated {
            url: name.to_owned(),
            expected,
            received,
        });
    }
    file.flush().await.map_err(io_error)?;
    file.sync_all().await.map_err(io_error)?;
    drop(file);

    let path = temp.path().to_path_buf();
    let checked = tokio::task::spawn_blocking(move || verify::check_zip(&path))
        .await
        .expect("the zip check does not panic")
        .map_err(io_error)?;
    if let Err(problem) = checked {
        return Err(DownloadError::NotZip {
            url: name.to_owned(),
            problem,
            close_delimited: declared.is_none(),
        });
    }
    let digest = hasher.finish();
    if let Some(expected) = expected.filter(|expected| *expected != digest) {
        return Err(DownloadError::ChecksumMismatch {
            url: name.to_owned(),
            expected: expected.hex(),
            actual: digest.hex(),
        });
    }
    temp.persist(dest).map_err(|e| io_error(e.error))?;
    Ok(Fetched::Written { digest, validators })
}
