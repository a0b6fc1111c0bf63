//! Releases: `GET /repos/{owner}/{repo}/releases/tags/{tag}` and the assets it lists.

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
