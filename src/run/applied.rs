//! The record of a service's last successful apply, kept beside its state so that a fresh
//! CI runner finds it: the inputs' fingerprint ([`crate::run::fingerprint`]) and what each
//! function ran afterwards (published version behind `live`, its CodeSha256). With the S3
//! backend it is the object `<key>.lambda-gitops-applied.json` in the state's bucket,
//! written with the credentials and region the backend settings name (as terraform's);
//! with the local backend the file `<state>.lambda-gitops-applied.json` beside the state.
//!
//! The record is a hint, never trusted alone: an apply is skipped only when it matches AND
//! every function runs what the gitops repo declares ([`crate::run::noop`]). It is removed before
//! terraform applies anything, so an apply that fails half-way leaves none behind.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::terraform::backend::{Backend, BackendSettings};

/// Appended to the state's key or path.
pub const SUFFIX: &str = ".lambda-gitops-applied.json";
/// The most a record may hold; anything larger is not one.
const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format_version: String,
    /// The inputs of the apply ([`crate::run::fingerprint::of`]).
    pub fingerprint: String,
    /// Function name → what it ran right after the apply.
    pub functions: BTreeMap<String, AppliedFunction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFunction {
    /// The published version behind `live`.
    pub function_version: String,
    pub code_sha256: String,
}

impl Record {
    pub const FORMAT: &'static str = "1";
}

/// Where a service's record lives.
#[derive(Debug)]
pub enum Store {
    Local(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        key: String,
        encryption: Option<(aws_sdk_s3::types::ServerSideEncryption, Option<String>)>,
    },
    /// No record is kept: why (a backend setting lambda-gitops cannot apply itself).
    Unsupported(String),
}

/// The S3 backend settings whose meaning lambda-gitops applies itself (or that do not
/// change where, or as whom, the state is written). Any other setting — an assumed role,
/// another endpoint, other credential files — means no record: the skip never reads a
/// record through other credentials than terraform's.
const S3_SETTINGS: [&str; 18] = [
    "bucket",
    "key",
    "region",
    "profile",
    "access_key",
    "secret_key",
    "token",
    "encrypt",
    "kms_key_id",
    "use_lockfile",
    "dynamodb_table",
    "use_path_style",
    "force_path_style",
    "skip_credentials_validation",
    "skip_region_validation",
    "skip_metadata_api_check",
    "skip_requesting_account_id",
    "workspace_key_prefix",
];

/// The last value of the backend setting `key` (a later `-backend-config` wins, as in
/// terraform).
fn value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

/// The AWS configuration the S3 backend settings `pairs` name: their region (else the
/// run's), profile and static credentials.
async fn s3_config(pairs: &[(String, String)], region: &str) -> aws_config::SdkConfig {
    let region = value(pairs, "region").unwrap_or_else(|| region.to_owned());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if !region.is_empty() {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(profile) = value(pairs, "profile") {
        loader = loader.profile_name(profile);
    }
    if let (Some(id), Some(secret)) = (value(pairs, "access_key"), value(pairs, "secret_key")) {
        loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
            id,
            secret,
            value(pairs, "token"),
            None,
            "backend-config",
        ));
    }
    loader.load().await
}

/// The record could not be read, written or removed: what was being done, where, and why.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{doing} `{location}`: {reason}")]
    Failed {
        doing: &'static str,
        location: String,
        reason: String,
    },
    #[error(transparent)]
    Write(#[from] crate::io_error::IoError),
}

impl RecordError {
    fn failed(
        doing: &'static str,
        location: impl std::fmt::Display,
        reason: impl std::fmt::Display,
    ) -> Self {
        Self::Failed {
            doing,
            location: location.to_string(),
            reason: reason.to_string(),
        }
    }
}

impl Store {
    /// The store of `service`: `work_dir` is its terraform cwd (a relative local `path` is
    /// relative to it), `region` the run's.
    pub async fn for_service(
        backend: &BackendSettings,
        service: &str,
        work_dir: &std::path::Path,
        region: &str,
    ) -> Self {
        let pairs: Vec<(String, String)> = backend
            .for_service(service)
            .iter()
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                Some((k.trim().to_owned(), v.to_owned()))
            })
            .collect();
        match backend.backend {
            Backend::Local => {
                let state = value(&pairs, "path").unwrap_or_else(|| "terraform.tfstate".into());
                let mut path = work_dir.join(state).into_os_string();
                path.push(SUFFIX);
                Self::Local(path.into())
            }
            Backend::S3 => Self::s3(&pairs, region).await,
        }
    }

    /// The record beside an S3 state (`pairs`: the backend's settings), reached with the
    /// credentials and region they name; unsupported when they name one lambda-gitops
    /// cannot apply itself.
    async fn s3(pairs: &[(String, String)], region: &str) -> Self {
        if let Some((key, _)) = pairs
            .iter()
            .find(|(k, _)| !S3_SETTINGS.contains(&k.as_str()))
        {
            return Self::Unsupported(format!("the S3 backend setting `{key}`"));
        }
        let (Some(bucket), Some(key)) = (value(pairs, "bucket"), value(pairs, "key")) else {
            return Self::Unsupported("an S3 backend without `bucket` and `key`".into());
        };
        let truthy = |key: &str| value(pairs, key).is_some_and(|v| v == "true");
        let config = s3_config(pairs, region).await;
        let client = crate::aws::s3_client(
            &config,
            truthy("use_path_style") || truthy("force_path_style"),
        );
        let encryption = match (value(pairs, "kms_key_id"), truthy("encrypt")) {
            (Some(kms), _) => Some((aws_sdk_s3::types::ServerSideEncryption::AwsKms, Some(kms))),
            (None, true) => Some((aws_sdk_s3::types::ServerSideEncryption::Aes256, None)),
            (None, false) => None,
        };
        Self::S3 {
            client,
            bucket,
            key: format!("{key}{SUFFIX}"),
            encryption,
        }
    }

    /// Where the record is, for messages.
    pub fn location(&self) -> String {
        match self {
            Self::Local(path) => format!("`{}`", path.display()),
            Self::S3 { bucket, key, .. } => format!("`s3://{bucket}/{key}`"),
            Self::Unsupported(why) => format!("nowhere ({why})"),
        }
    }

    /// The record, when there is a readable one.
    pub async fn read(&self) -> Result<Option<Record>, RecordError> {
        let bytes = match self {
            Self::Unsupported(_) => return Ok(None),
            Self::Local(path) => match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(RecordError::failed("reading", path.display(), e)),
            },
            Self::S3 {
                client,
                bucket,
                key,
                ..
            } => match client.get_object().bucket(bucket).key(key).send().await {
                Ok(object) => object
                    .body
                    .collect()
                    .await
                    .map_err(|_| {
                        RecordError::failed(
                            "reading",
                            format_args!("s3://{bucket}/{key}"),
                            "the body was cut off",
                        )
                    })?
                    .into_bytes()
                    .to_vec(),
                Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                    return Ok(None)
                }
                Err(error) => {
                    return Err(RecordError::failed(
                        "reading",
                        format_args!("s3://{bucket}/{key}"),
                        crate::aws::describe(&error),
                    ))
                }
            },
        };
        if bytes.len() > MAX_BYTES {
            return Ok(None);
        }
        Ok(serde_json::from_slice::<Record>(&bytes)
            .ok()
            .filter(|record| record.format_version == Record::FORMAT))
    }

    pub async fn write(&self, record: &Record) -> Result<(), RecordError> {
        let mut text = serde_json::to_string_pretty(record).expect("the record serializes");
        text.push('\n');
        match self {
            Self::Unsupported(_) => Ok(()),
            Self::Local(path) => Ok(crate::workdir::write_file(path, text.as_bytes())?),
            Self::S3 {
                client,
                bucket,
                key,
                encryption,
            } => {
                let mut put = client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("application/json")
                    .body(text.into_bytes().into());
                if let Some((algorithm, kms)) = encryption {
                    put = put
                        .server_side_encryption(algorithm.clone())
                        .set_ssekms_key_id(kms.clone());
                }
                put.send().await.map(|_| ()).map_err(|error| {
                    RecordError::failed(
                        "writing",
                        format_args!("s3://{bucket}/{key}"),
                        crate::aws::describe(&error),
                    )
                })
            }
        }
    }

    /// Removes the record (none there is fine).
    pub async fn forget(&self) -> Result<(), RecordError> {
        match self {
            Self::Unsupported(_) => Ok(()),
            Self::Local(path) => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(RecordError::failed("removing", path.display(), e)),
            },
            Self::S3 {
                client,
                bucket,
                key,
                ..
            } => client
                .delete_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| {
                    RecordError::failed(
                        "removing",
                        format_args!("s3://{bucket}/{key}"),
                        crate::aws::describe(&error),
                    )
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(backend: Backend, config: &[&str]) -> BackendSettings {
        BackendSettings {
            backend,
            config: config.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn the_record_lives_beside_the_state_and_only_where_lambda_gitops_can_write_as_terraform_does(
    ) {
        let work = std::path::Path::new("/w/svc");
        let local = Store::for_service(&settings(Backend::Local, &[]), "svc", work, "r").await;
        assert_eq!(
            local.location(),
            "`/w/svc/terraform.tfstate.lambda-gitops-applied.json`"
        );
        let local = Store::for_service(
            &settings(Backend::Local, &["path=/s/{service}.tfstate"]),
            "svc",
            work,
            "r",
        )
        .await;
        assert_eq!(
            local.location(),
            "`/s/svc.tfstate.lambda-gitops-applied.json`"
        );
        let s3 = Store::for_service(
            &settings(
                Backend::S3,
                &[
                    "bucket=b",
                    "key=lambda/{service}.tfstate",
                    "use_lockfile=true",
                ],
            ),
            "svc",
            work,
            "us-east-1",
        )
        .await;
        assert_eq!(
            s3.location(),
            "`s3://b/lambda/svc.tfstate.lambda-gitops-applied.json`"
        );
        let assumed = Store::for_service(
            &settings(
                Backend::S3,
                &["bucket=b", "key=k", "role_arn=arn:aws:iam::1:role/x"],
            ),
            "svc",
            work,
            "us-east-1",
        )
        .await;
        assert!(
            matches!(&assumed, Store::Unsupported(why) if why.contains("role_arn")),
            "{assumed:?}"
        );
        assert_eq!(assumed.read().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_local_record_round_trips_and_anything_else_there_is_no_record() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::Local(temp.path().join(format!("terraform.tfstate{SUFFIX}")));
        assert_eq!(store.read().await.unwrap(), None);
        let record = Record {
            format_version: Record::FORMAT.into(),
            fingerprint: "abc".into(),
            functions: [(
                "f".to_owned(),
                AppliedFunction {
                    function_version: "3".into(),
                    code_sha256: "x=".into(),
                },
            )]
            .into(),
        };
        store.write(&record).await.unwrap();
        assert_eq!(store.read().await.unwrap(), Some(record));
        if let Store::Local(path) = &store {
            std::fs::write(path, "{\"format_version\":\"9\"}").unwrap();
        }
        assert_eq!(store.read().await.unwrap(), None);
        store.forget().await.unwrap();
        store.forget().await.unwrap();
        assert_eq!(store.read().await.unwrap(), None);
    }
}
