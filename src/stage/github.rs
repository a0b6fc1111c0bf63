//! `githubRelease` sources: `GET {api}/repos/{owner}/{repo}/releases/tags/{tag}`, then the
//! asset's API `url` with `Accept: application/octet-stream`, following the redirect to
//! the storage host. The token goes to the API origin only; reqwest also drops
//! `Authorization` on a redirect to another host. A release asset is immutable, so a cached
//! one is used without any request.

use reqwest::header::{ACCEPT, AUTHORIZATION};
use reqwest::{RequestBuilder, StatusCode, Url};
use serde::Deserialize;

use crate::progress::Progress;
use crate::stage::download::{self, DownloadError, Limits, Outcome};
use crate::stage::hash::Digest;
use crate::stage::{hash_entry, StageError, StagedPackage, Stager};

const CHECKSUM_LIMIT: u64 = 1 << 20;

#[derive(Debug, Deserialize)]
struct Release {
    #[serde(default)]
    assets: Vec<Asset>,
}

#[derive(Debug, Deserialize)]
struct Asset {
    name: String,
    /// The API URL of the asset (not `browser_download_url`): works for private repos.
    url: String,
}

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    repository: &str,
    tag: &str,
    asset_name: &str,
) -> Result<StagedPackage, StageError> {
    let entry = stager.cache.entry(
        "github",
        &format!("{repository}\n{tag}\n{asset_name}"),
        asset_name,
    );
    let label = format!("{repository}@{tag}/{asset_name}");
    if entry.is_file() {
        let digest = hash_entry(&entry).await?;
        tracing::debug!("{label}: cached at `{}`", entry.display());
        return Ok(StagedPackage {
            path: entry,
            digest,
        });
    }

    let release_url = stager
        .github
        .api_url
        .join(&format!("repos/{repository}/releases/tags/{tag}"))
        .map_err(|_| StageError::Release {
            repository: repository.into(),
            tag: tag.into(),
            source: None,
            status: None,
        })?;
    let release: Release =
        fetch_json(stager, &release_url)
            .await
            .map_err(|source| StageError::Release {
                repository: repository.into(),
                tag: tag.into(),
                status: source.status(),
                source: Some(source),
            })?;

    let Some(asset) = release.assets.iter().find(|asset| asset.name == asset_name) else {
        return Err(StageError::AssetNotFound {
            repository: repository.into(),
            tag: tag.into(),
            asset: asset_name.into(),
            available: release
                .assets
                .iter()
                .map(|asset| asset.name.clone())
                .collect(),
        });
    };
    let expected = expected_digest(stager, &release, asset_name).await?;
    if expected.is_none() {
        tracing::debug!(
            "{label}: the release has no SHA256SUMS or {asset_name}.sha256; not verified"
        );
    }

    let asset_url = Url::parse(&asset.url).map_err(|_| StageError::AssetNotFound {
        repository: repository.into(),
        tag: tag.into(),
        asset: asset_name.into(),
        available: Vec::new(),
    })?;
    let task = progress.start(&label, None);
    let limits = Limits {
        max_size: stager.max_size,
        expected,
    };
    let request = || asset_request(stager, &asset_url);
    let result =
        download::download(asset_url.as_str(), request, &entry, &limits, task.as_ref()).await;
    match result {
        Ok(Outcome::Downloaded(downloaded)) => {
            task.finish("downloaded");
            Ok(StagedPackage {
                path: entry,
                digest: downloaded.digest,
            })
        }
        Ok(Outcome::NotModified) => unreachable!("the asset request is not conditional"),
        Err(source) => {
            task.finish("failed");
            Err(StageError::Download {
                package: label,
                source,
            })
        }
    }
}

fn asset_request(stager: &Stager, url: &Url) -> RequestBuilder {
    authorized(
        stager,
        url,
        stager
            .client
            .get(url.clone())
            .header(ACCEPT, "application/octet-stream"),
    )
}

/// Adds the token only when `url` is on the API's origin (scheme, host and port).
fn authorized(stager: &Stager, url: &Url, request: RequestBuilder) -> RequestBuilder {
    let api = &stager.github.api_url;
    let same_origin = url.scheme() == api.scheme()
        && url.host_str() == api.host_str()
        && url.port_or_known_default() == api.port_or_known_default();
    match (&stager.github.token, same_origin) {
        (Some(token), true) => request.header(AUTHORIZATION, format!("Bearer {}", token.expose())),
        _ => request,
    }
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    stager: &Stager,
    url: &Url,
) -> Result<T, DownloadError> {
    let body = fetch_small(stager, url, "application/vnd.github+json").await?;
    serde_json::from_slice(&body).map_err(|error| DownloadError::Io {
        path: url.path().into(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unexpected JSON from the GitHub API: {error}"),
        ),
    })
}

async fn fetch_small(stager: &Stager, url: &Url, accept: &str) -> Result<Vec<u8>, DownloadError> {
    download::with_retries(url.as_str(), || async {
        let request = authorized(
            stager,
            url,
            stager
                .client
                .get(url.clone())
                .header(ACCEPT, accept)
                .header("X-GitHub-Api-Version", "2022-11-28"),
        );
        let response = download::send(url.as_str(), request).await?;
        download::small_body(url.as_str(), response, CHECKSUM_LIMIT).await
    })
    .await
}

/// The asset's SHA-256 from the release's `SHA256SUMS` or `<asset>.sha256`, when present.
async fn expected_digest(
    stager: &Stager,
    release: &Release,
    asset_name: &str,
) -> Result<Option<Digest>, StageError> {
    let sidecar = format!("{asset_name}.sha256");
    let Some(sums) = release
        .assets
        .iter()
        .find(|asset| asset.name == "SHA256SUMS")
        .or_else(|| release.assets.iter().find(|asset| asset.name == sidecar))
    else {
        return Ok(None);
    };
    let invalid = |source: Option<DownloadError>| StageError::Checksums {
        file: sums.name.clone(),
        asset: asset_name.into(),
        source,
    };
    let url = Url::parse(&sums.url).map_err(|_| invalid(None))?;
    let body = fetch_small(stager, &url, "application/octet-stream")
        .await
        .map_err(|e| invalid(Some(e)))?;
    let text = String::from_utf8_lossy(&body);
    parse_checksums(&text, asset_name, sums.name == "SHA256SUMS")
        .map(Some)
        .ok_or_else(|| invalid(None))
}

/// `sha256sum` output (`<hex>  <name>` or `<hex> *<name>`), or a lone `<hex>` when
/// `require_name` is false (an `<asset>.sha256` file).
fn parse_checksums(text: &str, asset_name: &str, require_name: bool) -> Option<Digest> {
    text.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let hex = parts.next()?;
        match parts.next().map(|name| name.trim_start_matches('*')) {
            Some(name) if name == asset_name => Digest::from_hex(hex),
            None if !require_name => Digest::from_hex(hex),
            _ => None,
        }
    })
}

/// Whether an HTTP status from the release API means "no such release".
pub fn is_not_found(status: Option<StatusCode>) -> bool {
    status == Some(StatusCode::NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files() {
        let hex = "a".repeat(64);
        let sums = format!("{}  other.zip\n{hex} *app-1.zip\n", "b".repeat(64));
        assert_eq!(
            parse_checksums(&sums, "app-1.zip", true).unwrap().hex(),
            hex
        );
        assert!(parse_checksums(&sums, "missing.zip", true).is_none());
        assert_eq!(
            parse_checksums(&format!("{hex}\n"), "app-1.zip", false)
                .unwrap()
                .hex(),
            hex
        );
        assert!(parse_checksums(&format!("{hex}\n"), "app-1.zip", true).is_none());
    }
}
