//! `githubRelease` sources: the release by tag, its checksum file if it has one, then the
//! asset's bytes — all through [`crate::github::Client`], so the token policy is the
//! client's. The bytes are verified against GitHub's `digest` of the asset and the release's
//! `SHA256SUMS` (or `<asset>.sha256`), whichever it has (both must agree); with neither, a
//! warning says the package is unverified. An asset still uploading (`state` not
//! `uploaded`) is refused. A release asset is immutable, so a cached one (keyed by the API
//! origin too: github.com and an Enterprise host never share an entry) is used without any
//! request.

use crate::github::releases::Release;
use crate::github::{Client, GithubError};
use crate::hash::Digest;
use crate::secret::redact_url;
use crate::stage::download::{self, Fetched, Opened};
use crate::stage::{StageError, StagedPackage, Stager};
use crate::terminal::progress::Progress;

/// The largest checksum file read.
const CHECKSUM_LIMIT: u64 = 1 << 20;

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    repository: &str,
    tag: &str,
    asset_name: &str,
) -> Result<StagedPackage, StageError> {
    let client = &stager.github;
    let entry = stager.cache.entry(
        "github",
        &format!("{}\n{repository}\n{tag}\n{asset_name}", client.api()),
        asset_name,
    );
    let label = format!("{repository}@{tag}/{asset_name}");
    if let Some(cached) = stager.cached(&entry).await? {
        tracing::debug!("{label}: cached at `{}`", entry.display());
        return Ok(cached);
    }

    let refused = |source: GithubError| StageError::Release {
        repository: repository.into(),
        tag: tag.into(),
        source,
    };
    let release = client
        .release_by_tag(repository, tag)
        .await
        .map_err(refused)?;
    let Some(asset) = release.asset(asset_name) else {
        return Err(StageError::AssetNotFound {
            repository: repository.into(),
            tag: tag.into(),
            asset: asset_name.into(),
            available: release.asset_names(),
        });
    };
    asset.check_uploaded().map_err(refused)?;
    let expected = expected(client, &release, asset, asset_name, refused).await?;
    if expected.is_none() {
        tracing::warn!(
            "{label}: the release has no `SHA256SUMS` or `{asset_name}.sha256`; the package is not verified against a checksum (GitHub gives no `digest` of it either)"
        );
    }
    download(stager, progress, label, entry, asset, expected).await
}

/// The SHA-256 the asset must have: the release's checksum file's (GitHub's `digest` of the
/// asset must agree with it), else GitHub's `digest`, else none.
async fn expected(
    client: &Client,
    release: &Release,
    asset: &crate::github::releases::Asset,
    asset_name: &str,
    refused: impl Fn(GithubError) -> StageError,
) -> Result<Option<Digest>, StageError> {
    Ok(expected_digest(client, release, asset_name)
        .await?
        .map_or(Ok(None), |(file, sums)| agree(asset, &file, sums).map(Some))
        .map_err(refused)?
        .or_else(|| asset.sha256().and_then(Digest::from_hex)))
}

/// The asset's bytes into the cache `entry`, checked against `expected`.
async fn download(
    stager: &Stager,
    progress: &dyn Progress,
    label: String,
    entry: std::path::PathBuf,
    asset: &crate::github::releases::Asset,
    expected: Option<Digest>,
) -> Result<StagedPackage, StageError> {
    let client = &stager.github;
    let name = redact_url(&asset.url);
    let task = progress.start(&label, None);
    let open = || async {
        let response = client.asset(asset).await?;
        Ok(Opened::Body(download::http_body(&name, response)))
    };
    match download::fetch(&name, &entry, stager.bounds, expected, task.as_ref(), open).await {
        Ok(Fetched::Written { digest, .. }) => {
            task.finish("downloaded");
            Ok(StagedPackage {
                path: entry,
                digest,
            })
        }
        Ok(Fetched::NotModified) => unreachable!("the asset request is not conditional"),
        Err(source) => {
            task.finish("failed");
            Err(StageError::Download {
                package: label,
                source,
            })
        }
    }
}

/// The checksum file's SHA-256 when GitHub's digest of the asset agrees with it (or the
/// asset has none).
fn agree(
    asset: &crate::github::releases::Asset,
    file: &str,
    sums: Digest,
) -> Result<Digest, GithubError> {
    match asset.sha256() {
        Some(digest) if !digest.eq_ignore_ascii_case(&sums.hex()) => {
            Err(GithubError::DigestDisagrees {
                asset: asset.name.clone(),
                digest: digest.to_owned(),
                file: file.to_owned(),
                checksum: sums.hex(),
            })
        }
        _ => Ok(sums),
    }
}

/// The asset's SHA-256 from the release's `SHA256SUMS` or `<asset>.sha256`, when present,
/// with the file's name.
async fn expected_digest(
    client: &Client,
    release: &Release,
    asset_name: &str,
) -> Result<Option<(String, Digest)>, StageError> {
    let sidecar = format!("{asset_name}.sha256");
    let Some(sums) = release
        .asset("SHA256SUMS")
        .or_else(|| release.asset(&sidecar))
    else {
        return Ok(None);
    };
    let invalid = |source: Option<GithubError>| StageError::Checksums {
        file: sums.name.clone(),
        asset: asset_name.into(),
        source,
    };
    sums.check_uploaded().map_err(|e| invalid(Some(e)))?;
    let body = client
        .small_asset(sums, CHECKSUM_LIMIT)
        .await
        .map_err(|e| invalid(Some(e)))?;
    let text = String::from_utf8_lossy(&body);
    parse_checksums(&text, asset_name, sums.name == "SHA256SUMS")
        .map(|digest| Some((sums.name.clone(), digest)))
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
        assert_eq!(
            parse_checksums(&sums, "other.zip", true).unwrap().hex(),
            "b".repeat(64)
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
