//! `s3Key` preview sources: an object already in the package bucket, read with the AWS SDK
//! (standard credential chain; `AWS_ENDPOINT_URL` honoured) and hashed. Cached by ETag:
//! a `HeadObject` decides whether the cached copy is current.

use tokio::io::AsyncWriteExt;

use crate::progress::Progress;
use crate::stage::cache::{Cache, Validators};
use crate::stage::download::is_zip;
use crate::stage::hash::Hasher;
use crate::stage::{hash_entry, StageError, StagedPackage, Stager};

/// The SDK client for the standard AWS configuration. S3-compatible endpoints set through
/// `AWS_ENDPOINT_URL` rarely serve virtual-hosted buckets, so those use path-style requests.
pub async fn client() -> aws_sdk_s3::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let custom_endpoint = config.endpoint_url().is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

pub async fn stage(
    stager: &Stager,
    progress: &dyn Progress,
    bucket: &str,
    key: &str,
) -> Result<StagedPackage, StageError> {
    let s3_error = |message: String| StageError::S3 {
        bucket: bucket.into(),
        key: key.into(),
        message,
    };
    let client = stager.s3_client().await;
    let entry = stager.cache.entry("s3", &format!("{bucket}\n{key}"), key);

    let head = client
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let size = head.content_length().unwrap_or(0).max(0) as u64;
    if size > stager.max_size {
        return Err(s3_error(format!(
            "{size} bytes is larger than the limit of {} (see `--max-package-size`)",
            stager.max_size
        )));
    }
    let etag = head.e_tag().map(str::to_owned);
    let cached = Cache::read_validators(&entry).and_then(|v| v.etag);
    if entry.is_file() && etag.is_some() && cached == etag {
        tracing::debug!("s3://{bucket}/{key}: cached (ETag unchanged)");
        let digest = hash_entry(&entry).await?;
        return Ok(StagedPackage {
            path: entry,
            digest,
        });
    }

    let task = progress.start(&format!("s3://{bucket}/{key}"), Some(size));
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_if_match(etag.clone())
        .send()
        .await
        .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let io = |source| StageError::Io {
        path: entry.clone(),
        source,
    };
    let dir = entry.parent().expect("cache entries live in a directory");
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let temp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .map_err(io)?;
    let mut file = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(io)?);
    let mut body = object.body;
    let mut hasher = Hasher::default();
    let mut received = 0u64;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| s3_error(format!("reading the object failed: {e}")))?
    {
        received += chunk.len() as u64;
        if received > stager.max_size {
            return Err(s3_error(
                "the object grew past the size limit while downloading".into(),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
        task.advance(chunk.len() as u64);
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    drop(file);
    if received != size {
        return Err(s3_error(format!(
            "the download was cut off after {received} of {size} bytes"
        )));
    }
    if !is_zip(temp.path()).map_err(io)? {
        return Err(s3_error(
            "not a zip file (it does not start with `PK\\x03\\x04`)".into(),
        ));
    }
    temp.persist(&entry).map_err(|e| io(e.error))?;
    if let Err(error) = Cache::write_validators(
        &entry,
        &Validators {
            etag,
            last_modified: None,
        },
    ) {
        tracing::warn!("could not record the ETag of `s3://{bucket}/{key}`: {error}");
    }
    task.finish("downloaded");
    Ok(StagedPackage {
        path: entry,
        digest: hasher.finish(),
    })
}
