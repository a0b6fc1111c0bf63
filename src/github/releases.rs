//! Releases: `GET /repos/{owner}/{repo}/releases/tags/{tag}` and the assets it lists, each
//! with GitHub's `digest` of its bytes (`sha256:<hex>`, null for assets uploaded before GitHub
//! computed them) and its `state` (`uploaded`, or `open` while the upload is under way).

use reqwest::{Response, Url};
use serde::Deserialize;

use crate::github::client::{Client, OCTET_STREAM};
use crate::github::error::GithubError;
use crate::github::policy::Refusal;
use crate::secret::redact_url;

#[derive(Debug, Deserialize)]
pub struct Release {
    #[serde(default)]
    pub assets: Vec<Asset>,
}

#[derive(Debug, Deserialize)]
pub struct Asset {
    pub name: String,
    /// The API URL of the asset (not `browser_download_url`): works for private repos,
    /// answers the bytes (through a redirect to storage) with `Accept: application/octet-stream`.
    pub url: String,
    /// `sha256:<hex>`, computed by GitHub on upload; absent or null on older assets.
    #[serde(default)]
    pub digest: Option<String>,
    /// `uploaded` once the bytes are all there; `open` while an upload is under way.
    #[serde(default)]
    pub state: Option<String>,
}

impl Release {
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.iter().find(|asset| asset.name == name)
    }

    pub fn asset_names(&self) -> Vec<String> {
        self.assets.iter().map(|asset| asset.name.clone()).collect()
    }
}

impl Asset {
    /// An error unless GitHub has all of the asset's bytes (`state` is `uploaded`; an asset
    /// without a `state` is taken as uploaded).
    pub fn check_uploaded(&self) -> Result<(), GithubError> {
        match self.state.as_deref() {
            None | Some("uploaded") => Ok(()),
            Some(state) => Err(GithubError::AssetNotUploaded {
                asset: self.name.clone(),
                state: state.to_owned(),
            }),
        }
    }

    /// The hex SHA-256 of GitHub's `digest`, when it is one (`sha256:` and 64 hex digits).
    pub fn sha256(&self) -> Option<&str> {
        let hex = self.digest.as_deref()?.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
    }

    pub fn api_url(&self) -> Result<Url, GithubError> {
        Url::parse(&self.url).map_err(|_| GithubError::UrlRefused {
            url: redact_url(&self.url),
            refusal: Refusal::NotHttp,
        })
    }
}

impl Client {
    /// The release tagged `tag` of `repository` (`owner/name`).
    pub async fn release_by_tag(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Release, GithubError> {
        let (owner, name) = repository
            .split_once('/')
            .filter(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| GithubError::Repository {
                repository: repository.to_owned(),
            })?;
        let url = self.endpoint(&["repos", owner, name, "releases", "tags", tag])?;
        self.get_json(&url).await
    }

    /// One request for an asset's bytes (the caller streams and retries the download).
    pub async fn asset(&self, asset: &Asset) -> Result<Response, GithubError> {
        self.get(&asset.api_url()?, OCTET_STREAM).await
    }

    /// A small asset (a checksum file), read into memory, retried.
    pub async fn small_asset(&self, asset: &Asset, limit: u64) -> Result<Vec<u8>, GithubError> {
        self.get_bytes(&asset.api_url()?, OCTET_STREAM, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(digest: Option<&str>, state: Option<&str>) -> Asset {
        Asset {
            name: "app.zip".into(),
            url: "https://api.github.com/repos/o/r/releases/assets/1".into(),
            digest: digest.map(str::to_owned),
            state: state.map(str::to_owned),
        }
    }

    #[test]
    fn an_asset_digest_is_read_only_when_it_is_a_sha256() {
        let hex = "ab".repeat(32);
        assert_eq!(
            asset(Some(&format!("sha256:{hex}")), None).sha256(),
            Some(hex.as_str())
        );
        assert_eq!(asset(Some(&format!("sha512:{hex}")), None).sha256(), None);
        assert_eq!(asset(Some("sha256:abc"), None).sha256(), None);
        assert_eq!(asset(None, None).sha256(), None);
    }

    #[test]
    fn only_an_uploaded_asset_may_be_downloaded() {
        assert!(asset(None, Some("uploaded")).check_uploaded().is_ok());
        assert!(asset(None, None).check_uploaded().is_ok());
        let error = asset(None, Some("open")).check_uploaded().unwrap_err();
        assert!(error
            .to_string()
            .starts_with("the release is still uploading `app.zip`"));
    }
}
