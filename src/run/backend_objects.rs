//! Where a service's state lives, reached by lambda-gitops itself as terraform reaches it:
//! with the S3 backend the state's bucket and key, through the credentials and region its
//! settings name; with the local backend the state file. Beside terraform, lambda-gitops
//! reads the state itself (the one-step apply, `runner/one_step.rs`), takes terraform's own
//! lock file (`<key>.tflock`, written only if absent), and keeps the record of the last
//! apply (`<key>.lambda-gitops-applied.json`, [`super::applied`]).
//!
//! Settings lambda-gitops cannot apply itself (an assumed role, another endpoint, other
//! credential files) make the home [`StateHome::Unsupported`]: nothing is then read or
//! written through other credentials than terraform's.

use std::path::PathBuf;

use crate::terraform::backend::{Backend, BackendSettings};

/// Where one service's state lives.
#[derive(Debug)]
pub enum StateHome {
    /// The local backend's state file.
    Local(PathBuf),
    S3(S3Home),
    /// lambda-gitops does not reach it itself: why (a backend setting it cannot apply).
    Unsupported(String),
}

#[derive(Debug)]
pub struct S3Home {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// The state's key.
    key: String,
    encryption: Option<(aws_sdk_s3::types::ServerSideEncryption, Option<String>)>,
    /// How terraform locks this state.
    pub locking: Locking,
}

/// How terraform locks an S3 state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    /// Not at all.
    None,
    /// `use_lockfile=true`: the object `<key>.tflock`, written only if absent.
    Lockfile,
    /// `dynamodb_table`: a table lambda-gitops does not write.
    DynamoDb,
}

/// The S3 backend settings whose meaning lambda-gitops applies itself (or that do not
/// change where, or as whom, the state is written).
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

/// An object beside the state could not be read, written or removed: what was being done,
/// where, and why.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{doing} `{location}`: {reason}")]
    Failed {
        doing: &'static str,
        location: String,
        reason: String,
    },
    #[error(transparent)]
    Write(#[from] crate::io_error::IoError),
}

impl ObjectError {
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

impl StateHome {
    /// The state of `service`: `work_dir` is its terraform cwd (a relative local `path` is
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
        let workspace = std::env::var(crate::env_vars::TF_WORKSPACE).unwrap_or_default();
        if !workspace.is_empty() && workspace != "default" {
            return Self::Unsupported(format!("the terraform workspace `{workspace}`"));
        }
        match backend.backend {
            Backend::Local => {
                let state = value(&pairs, "path").unwrap_or_else(|| "terraform.tfstate".into());
                Self::Local(work_dir.join(state))
            }
            Backend::S3 => Self::s3(&pairs, region).await,
        }
    }

    /// An S3 state (`pairs`: the backend's settings), reached with the credentials and
    /// region they name; unsupported when they name one lambda-gitops cannot apply itself.
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
        let locking = match (value(pairs, "dynamodb_table"), truthy("use_lockfile")) {
            (Some(_), _) => Locking::DynamoDb,
            (None, true) => Locking::Lockfile,
            (None, false) => Locking::None,
        };
        Self::S3(S3Home {
            client,
            bucket,
            key,
            encryption,
            locking,
        })
    }

    /// Where the state's `suffix` object is (`""`: the state), for messages.
    pub fn location(&self, suffix: &str) -> String {
        match self {
            Self::Local(path) => format!("`{}{suffix}`", path.display()),
            Self::S3(home) => format!("`s3://{}/{}{suffix}`", home.bucket, home.key),
            Self::Unsupported(why) => format!("nowhere ({why})"),
        }
    }

    /// The state's `suffix` object (`""`: the state), when there is one.
    pub async fn read(&self, suffix: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        match self {
            Self::Unsupported(_) => Ok(None),
            Self::Local(path) => {
                let path = with_suffix(path, suffix);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(ObjectError::failed("reading", path.display(), e)),
                }
            }
            Self::S3(home) => home.read(suffix).await,
        }
    }

    /// Writes the state's `suffix` object (never the state itself: that is terraform's).
    pub async fn write(&self, suffix: &str, bytes: Vec<u8>) -> Result<(), ObjectError> {
        assert!(!suffix.is_empty(), "only terraform writes the state");
        match self {
            Self::Unsupported(_) => Ok(()),
            Self::Local(path) => Ok(crate::workdir::write_file(
                &with_suffix(path, suffix),
                &bytes,
            )?),
            Self::S3(home) => home.write(suffix, bytes, false).await.map(drop),
        }
    }

    /// Removes the state's `suffix` object (none there is fine).
    pub async fn remove(&self, suffix: &str) -> Result<(), ObjectError> {
        assert!(!suffix.is_empty(), "only terraform removes the state");
        match self {
            Self::Unsupported(_) => Ok(()),
            Self::Local(path) => {
                let path = with_suffix(path, suffix);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(ObjectError::failed("removing", path.display(), e)),
                }
            }
            Self::S3(home) => home.remove(suffix).await,
        }
    }
}

impl S3Home {
    /// `bucket/key`: how terraform names the state in a lock's `Path`.
    pub fn path(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    pub fn location(&self, suffix: &str) -> String {
        format!("s3://{}/{}{suffix}", self.bucket, self.key)
    }

    pub async fn read(&self, suffix: &str) -> Result<Option<Vec<u8>>, ObjectError> {
        let key = format!("{}{suffix}", self.key);
        let request = self.client.get_object().bucket(&self.bucket).key(&key);
        match request.send().await {
            Ok(object) => Ok(Some(
                object
                    .body
                    .collect()
                    .await
                    .map_err(|_| {
                        ObjectError::failed(
                            "reading",
                            self.location(suffix),
                            "the body was cut off",
                        )
                    })?
                    .into_bytes()
                    .to_vec(),
            )),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(ObjectError::failed(
                "reading",
                self.location(suffix),
                crate::aws::describe(&error),
            )),
        }
    }

    /// Puts the `suffix` object; with `only_if_absent`, only when there is none (S3's
    /// conditional write): `Ok(false)` when there was one.
    pub async fn write(
        &self,
        suffix: &str,
        bytes: Vec<u8>,
        only_if_absent: bool,
    ) -> Result<bool, ObjectError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{}{suffix}", self.key))
            .content_type("application/json")
            .body(bytes.into());
        if only_if_absent {
            put = put.if_none_match("*");
        }
        if let Some((algorithm, kms)) = &self.encryption {
            put = put
                .server_side_encryption(algorithm.clone())
                .set_ssekms_key_id(kms.clone());
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if only_if_absent
                    && error
                        .raw_response()
                        .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) =>
            {
                Ok(false)
            }
            Err(error) => Err(ObjectError::failed(
                "writing",
                self.location(suffix),
                crate::aws::describe(&error),
            )),
        }
    }

    pub async fn remove(&self, suffix: &str) -> Result<(), ObjectError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(format!("{}{suffix}", self.key))
            .send()
            .await
            .map(drop)
            .map_err(|error| {
                ObjectError::failed(
                    "removing",
                    self.location(suffix),
                    crate::aws::describe(&error),
                )
            })
    }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &std::path::Path, suffix: &str) -> PathBuf {
    let mut path = path.as_os_str().to_owned();
    path.push(suffix);
    path.into()
}
