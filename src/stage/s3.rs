//! `s3Key` preview sources: an object already in the package bucket, read with the AWS SDK
//! (standard credential chain; `AWS_ENDPOINT_URL` honoured). Cached by ETag: a retried
//! `HeadObject` decides whether the cached copy is current; the object's body goes through
//! the same verified, retried writer as HTTP downloads ([`download`]). SDK errors become
//! an [`S3Error`]: a status, a code, "not found", "access denied" — never a Debug dump.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use futures_util::stream;

use crate::aws::S3Error;
use crate::retry::with_retries;
use crate::stage::cache::{Cache, Validators};
use crate::stage::download::{self, Body, DownloadError, Fetched, Opened};
use crate::stage::{StageError, StagedPackage, Stager};
use crate::terminal::progress::Progress;

/// The S3 client for the standard AWS configuration (its own region chain: a package
/// bucket may be anywhere).
pub async fn client() -> aws_sdk_s3::Client {
    crate::aws::s3_client(&crate::aws::sdk_config("").await, false)
}

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    bucket: &str,
    key: &str,
) -> Result<StagedPackage, StageError> {
    let name = format!("s3://{bucket}/{key}");
    let failed = |source: DownloadError| StageError::Download {
        package: name.clone(),
        source,
    };
    let object = Object {
        client: stager.s3_client().await,
        name: &name,
        stall: stager.bounds.stall,
        bucket,
        key,
    };
    let entry = stager.cache.entry("s3", &format!("{bucket}\n{key}"), key);

    let head = with_retries(&format!("`{name}`"), || object.head())
        .await
        .map_err(failed)?;
    let size = head.content_length().unwrap_or(0).max(0) as u64;
    if size > stager.bounds.max_size {
        return Err(failed(DownloadError::TooLarge {
            url: name.clone(),
            limit: stager.bounds.max_size,
        }));
    }
    let etag = head.e_tag().map(str::to_owned);
    let cached_etag = Cache::read_validators(&entry).and_then(|v| v.etag);
    if etag.is_some() && cached_etag == etag {
        if let Some(cached) = stager.cached(&entry).await? {
            tracing::debug!("{name}: cached (ETag unchanged)");
            return Ok(cached);
        }
    }

    let open = || object.open(etag.clone());
    let task = progress.start(&name, Some(size));
    let fetched = download::fetch(&name, &entry, stager.bounds, None, task.as_ref(), open).await;
    staged(&name, entry, task.as_ref(), fetched).map_err(failed)
}

/// One object in a bucket, read within the stall timeout.
struct Object<'a> {
    client: &'a aws_sdk_s3::Client,
    /// `s3://bucket/key`, for errors and logs.
    name: &'a str,
    stall: Duration,
    bucket: &'a str,
    key: &'a str,
}

impl Object<'_> {
    /// The object's metadata (one attempt).
    async fn head(&self) -> Result<HeadObjectOutput, DownloadError> {
        download::within_stall(self.name, self.stall, async {
            self.client
                .head_object()
                .bucket(self.bucket)
                .key(self.key)
                .send()
                .await
                .map_err(|e| DownloadError::S3(S3Error::from_sdk(&e)))
        })
        .await
    }

    /// The object's body (one attempt), only while its ETag is still `etag`.
    async fn open(&self, etag: Option<String>) -> Result<Opened, DownloadError> {
        let object = download::within_stall(self.name, self.stall, async {
            self.client
                .get_object()
                .bucket(self.bucket)
                .key(self.key)
                .set_if_match(etag.clone())
                .send()
                .await
                .map_err(|e| DownloadError::S3(S3Error::from_sdk(&e)))
        })
        .await?;
        let declared = object
            .content_length()
            .and_then(|length| u64::try_from(length).ok());
        let validators = Validators {
            etag: object.e_tag().map(str::to_owned).or(etag),
            last_modified: None,
        };
        let chunks = stream::try_unfold(object.body, |mut body| async move {
            match body.try_next().await {
                Ok(Some(chunk)) => Ok(Some((chunk, body))),
                Ok(None) => Ok(None),
                Err(_) => Err(DownloadError::S3(S3Error::BodyCutOff)),
            }
        });
        Ok(Opened::Body(Body {
            declared,
            chunks: Box::pin(chunks),
            validators,
        }))
    }
}

/// The downloaded object as a staged package, its ETag recorded for the next run.
fn staged(
    name: &str,
    entry: PathBuf,
    task: &dyn crate::terminal::progress::Task,
    fetched: Result<Fetched, DownloadError>,
) -> Result<StagedPackage, DownloadError> {
    match fetched {
        Ok(Fetched::Written { digest, validators }) => {
            task.finish("downloaded");
            if let Err(error) = Cache::write_validators(&entry, &validators) {
                tracing::warn!("could not record the ETag of `{name}`: {error}");
            }
            Ok(StagedPackage {
                path: entry,
                digest,
            })
        }
        Ok(Fetched::NotModified) => unreachable!("the object request is not conditional"),
        Err(source) => {
            task.finish("failed");
            Err(source)
        }
    }
}
