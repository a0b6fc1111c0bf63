//! `url` sources: a plain HTTP(S) download, cached and revalidated on every run with
//! `If-None-Match` / `If-Modified-Since` (the content behind a URL may change).

use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};

use crate::progress::Progress;
use crate::secret::redact_url;
use crate::stage::cache::{Cache, Validators};
use crate::stage::download::{self, Limits, Outcome};
use crate::stage::{hash_entry, StageError, StagedPackage, Stager};

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    url: &str,
) -> Result<StagedPackage, StageError> {
    let file_name = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .unwrap_or("package.zip");
    let entry = stager.cache.entry("url", url, file_name);
    let validators = entry
        .is_file()
        .then(|| Cache::read_validators(&entry))
        .flatten()
        .unwrap_or_default();

    let request = || {
        let mut request = stager.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        request
    };
    let label = redact_url(url);
    let task = progress.start(&label, None);
    let limits = Limits {
        max_size: stager.max_size,
        expected: None,
    };
    match download::download(url, request, &entry, &limits, task.as_ref()).await {
        Ok(Outcome::NotModified) => {
            task.finish("not modified, cached");
            let digest = hash_entry(&entry).await?;
            Ok(StagedPackage {
                path: entry,
                digest,
            })
        }
        Ok(Outcome::Downloaded(downloaded)) => {
            task.finish("downloaded");
            let validators = Validators {
                etag: downloaded.etag,
                last_modified: downloaded.last_modified,
            };
            if let Err(error) = Cache::write_validators(&entry, &validators) {
                tracing::warn!("could not record the cache validators of `{label}`: {error}");
            }
            Ok(StagedPackage {
                path: entry,
                digest: downloaded.digest,
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
