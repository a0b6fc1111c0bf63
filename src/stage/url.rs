//! `url` sources: a plain HTTP(S) download (no token), cached and revalidated on every run
//! with `If-None-Match` / `If-Modified-Since` (the content behind a URL may change).

use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
use reqwest::StatusCode;

use crate::retry;
use crate::secret::redact_url;
use crate::stage::cache::Cache;
use crate::stage::download::{self, DownloadError, Fetched, Opened};
use crate::stage::{StageError, StagedPackage, Stager};
use crate::terminal::progress::Progress;

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    url: &str,
) -> Result<StagedPackage, StageError> {
    let entry = stager.cache.entry("url", url, file_name(url));
    let cached = stager.cached(&entry).await?;
    let validators = cached
        .as_ref()
        .and_then(|_| Cache::read_validators(&entry))
        .unwrap_or_default();

    let label = redact_url(url);
    let revalidating = cached.is_some();
    let open = || open_once(stager, url, &label, &validators, revalidating);
    let task = progress.start(&label, None);
    let fetched = download::fetch(&label, &entry, stager.bounds, None, task.as_ref(), open).await;
    match fetched {
        Ok(Fetched::NotModified) => {
            task.finish("not modified, cached");
            Ok(cached.expect("only a cached entry is revalidated"))
        }
        Ok(Fetched::Written { digest, validators }) => {
            task.finish("downloaded");
            if let Err(error) = Cache::write_validators(&entry, &validators) {
                tracing::warn!("could not record the cache validators of `{label}`: {error}");
            }
            Ok(StagedPackage {
                path: entry,
                digest,
            })
        }
        Err(source) => {
            task.finish("failed");
            Err(StageError::Download {
                package: label,
                source,
            })
        }
    }
}

/// The cache entry's file name: the URL's last path segment.
fn file_name(url: &str) -> &str {
    url.split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .unwrap_or("package.zip")
}

/// One attempt at the URL, conditional on the cached copy's `validators` when `revalidating`.
async fn open_once(
    stager: &Stager,
    url: &str,
    label: &str,
    validators: &crate::stage::cache::Validators,
    revalidating: bool,
) -> Result<Opened, DownloadError> {
    let mut request = stager.http.get(url);
    if let Some(etag) = &validators.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(modified) = &validators.last_modified {
        request = request.header(IF_MODIFIED_SINCE, modified);
    }
    let response = download::within_stall(label, stager.bounds.stall, async {
        request
            .send()
            .await
            .map_err(|source| DownloadError::request(url, source))
    })
    .await?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED && revalidating {
        return Ok(Opened::NotModified);
    }
    if !status.is_success() {
        return Err(DownloadError::Status {
            url: label.to_owned(),
            status,
            retry_after: retry::retry_after(response.headers()),
        });
    }
    Ok(Opened::Body(download::http_body(label, response)))
}
