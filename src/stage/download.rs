//! An HTTP GET into a cache entry that a later run can trust: the body streams into a temp
//! file beside the entry while it is hashed and counted, the Content-Length, the size limit
//! and the zip magic are checked, and only then is the file renamed into place. Transient
//! failures (connect errors, 5xx, 429, a cut-off body) are retried with backoff.

use std::path::{Path, PathBuf};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, ETAG, LAST_MODIFIED, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use tokio::io::AsyncWriteExt;

use crate::progress::Task;
use crate::secret::redact_url;
use crate::stage::hash::{Digest, Hasher};

/// Every zip file (and so every Lambda package) starts with a local file header.
const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
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
    #[error("`{url}` is larger than the limit of {limit} bytes (see `--max-package-size`)")]
    TooLarge { url: String, limit: u64 },
    #[error("the download of `{url}` was cut off after {received} of {expected} bytes")]
    Truncated {
        url: String,
        expected: u64,
        received: u64,
    },
    #[error("`{url}` is not a zip file (it does not start with `PK\\x03\\x04`)")]
    NotZip { url: String },
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
    fn is_transient(&self) -> bool {
        match self {
            Self::Request { source, .. } => {
                source.is_connect()
                    || source.is_timeout()
                    || source.is_body()
                    || source.is_request()
            }
            Self::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Truncated { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn request(url: &str, source: reqwest::Error) -> Self {
        // reqwest's own message repeats the URL, query and all.
        Self::Request {
            url: redact_url(url),
            source: source.without_url(),
        }
    }
}

/// The backoff every request of a run shares: 4 retries, 250 ms doubling to 8 s, jittered.
pub fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(8))
        .with_max_times(4)
        .with_jitter()
}

/// Runs `attempt` until it succeeds, fails permanently, or the backoff is spent. A
/// `Retry-After` from the server replaces the computed delay (capped at a minute).
pub async fn with_retries<T, F, Fut>(url: &str, attempt: F) -> Result<T, DownloadError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DownloadError>>,
{
    attempt
        .retry(backoff())
        .sleep(tokio::time::sleep)
        .when(DownloadError::is_transient)
        .adjust(|error, delay| {
            delay.map(|delay| {
                error
                    .retry_after()
                    .map_or(delay, |after| after.min(MAX_RETRY_AFTER))
            })
        })
        .notify(|error, delay| {
            tracing::warn!("{error}; retrying `{}` in {delay:.1?}", redact_url(url));
        })
        .await
}

/// Sends a request; a non-success status becomes an error (304 passes, for revalidation).
pub async fn send(url: &str, request: RequestBuilder) -> Result<reqwest::Response, DownloadError> {
    let response = request
        .send()
        .await
        .map_err(|e| DownloadError::request(url, e))?;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Err(DownloadError::Status {
        url: redact_url(url),
        status,
        retry_after,
    })
}

/// Reads a small body (checksum files, API JSON) into memory, refusing more than `limit`.
pub async fn small_body(
    url: &str,
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, DownloadError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| DownloadError::request(url, e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > limit {
            return Err(DownloadError::TooLarge {
                url: redact_url(url),
                limit,
            });
        }
    }
    Ok(body)
}

pub struct Downloaded {
    pub digest: Digest,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

pub enum Outcome {
    Downloaded(Downloaded),
    /// The server answered 304 to a conditional request: the cache entry is current.
    NotModified,
}

pub struct Limits {
    pub max_size: u64,
    /// Verify against this digest (from the release's checksum file) before trusting the file.
    pub expected: Option<Digest>,
}

/// GETs `url` (the request built by `request`, once per attempt) into `dest`.
pub async fn download(
    url: &str,
    request: impl Fn() -> RequestBuilder,
    dest: &Path,
    limits: &Limits,
    task: &dyn Task,
) -> Result<Outcome, DownloadError> {
    with_retries(url, || attempt(url, request(), dest, limits, task)).await
}

async fn attempt(
    url: &str,
    request: RequestBuilder,
    dest: &Path,
    limits: &Limits,
    task: &dyn Task,
) -> Result<Outcome, DownloadError> {
    let mut response = send(url, request).await?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(Outcome::NotModified);
    }
    let headers = response.headers().clone();
    let declared = declared_length(&headers);
    if declared.is_some_and(|length| length > limits.max_size) {
        return Err(DownloadError::TooLarge {
            url: redact_url(url),
            limit: limits.max_size,
        });
    }
    if let Some(length) = declared {
        task.set_total(length);
    }

    let dir = dest.parent().unwrap_or(Path::new("."));
    let io_error = |source| DownloadError::Io {
        path: dest.to_path_buf(),
        source,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
    // Dropped (and so deleted) on every early return: a failed attempt leaves nothing.
    let temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(io_error)?;
    let mut file = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(io_error)?);

    let mut hasher = Hasher::default();
    let mut received: u64 = 0;
    let mut head = Vec::with_capacity(4);
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(source) if declared.is_some() => {
                tracing::debug!("body of `{}` ended early: {source}", redact_url(url));
                return Err(DownloadError::Truncated {
                    url: redact_url(url),
                    expected: declared.unwrap_or(0),
                    received,
                });
            }
            Err(source) => return Err(DownloadError::request(url, source)),
        };
        received += chunk.len() as u64;
        if received > limits.max_size {
            return Err(DownloadError::TooLarge {
                url: redact_url(url),
                limit: limits.max_size,
            });
        }
        if head.len() < 4 {
            let wanted = (4 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..wanted]);
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io_error)?;
        task.advance(chunk.len() as u64);
    }
    if let Some(expected) = declared.filter(|expected| *expected != received) {
        return Err(DownloadError::Truncated {
            url: redact_url(url),
            expected,
            received,
        });
    }
    if head != ZIP_MAGIC {
        return Err(DownloadError::NotZip {
            url: redact_url(url),
        });
    }
    let digest = hasher.finish();
    if let Some(expected) = limits.expected.filter(|expected| *expected != digest) {
        return Err(DownloadError::ChecksumMismatch {
            url: redact_url(url),
            expected: expected.hex(),
            actual: digest.hex(),
        });
    }
    file.flush().await.map_err(io_error)?;
    file.sync_all().await.map_err(io_error)?;
    drop(file);
    temp.persist(dest).map_err(|e| io_error(e.error))?;

    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Outcome::Downloaded(Downloaded {
        digest,
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
    }))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Whether a file on disk starts like a zip.
pub fn is_zip(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    match file.read_exact(&mut head) {
        Ok(()) => Ok(&head == ZIP_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}
