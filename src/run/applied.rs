//! The record of a service's last successful apply, kept beside its state so that a fresh
//! CI runner finds it: the inputs' fingerprint ([`crate::run::fingerprint`]) and what each
//! function ran afterwards (published version behind `live`, its CodeSha256). With the S3
//! backend it is the object `<key>.lambda-gitops-applied.json` in the state's bucket,
//! written with the credentials and region the backend settings name (as terraform's);
//! with the local backend the file `<state>.lambda-gitops-applied.json` beside the state.
//!
//! Reached through [`StateHome`], as the state itself is.
//!
//! The record is a hint, never trusted alone: an apply is skipped only when it matches AND
//! every function runs what the gitops repo declares ([`crate::run::noop`]). It is removed before
//! terraform applies anything, so an apply that fails half-way leaves none behind.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use super::backend_objects::ObjectError as RecordError;
use super::backend_objects::StateHome;
use crate::terraform::backend::BackendSettings;

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

/// Where a service's record lives: beside its state.
#[derive(Debug)]
pub struct Store {
    pub home: StateHome,
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
        Self {
            home: StateHome::for_service(backend, service, work_dir, region).await,
        }
    }

    /// Where the record is, for messages.
    pub fn location(&self) -> String {
        self.home.location(SUFFIX)
    }

    /// The record, when there is a readable one.
    pub async fn read(&self) -> Result<Option<Record>, RecordError> {
        let Some(bytes) = self.home.read(SUFFIX).await? else {
            return Ok(None);
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
        self.home.write(SUFFIX, text.into_bytes()).await
    }

    /// Removes the record (none there is fine).
    pub async fn forget(&self) -> Result<(), RecordError> {
        self.home.remove(SUFFIX).await
    }
}

/// A rollout moved `function`'s `live` to `version` (running `code_sha256`): the record of
/// the last apply beside `home`'s state says so, if it names the function — so that an apply
/// after a completed rollout is the no-op it is.
pub async fn record_live(
    home: &StateHome,
    function: &str,
    version: &str,
    code_sha256: &str,
) -> Result<(), RecordError> {
    let Some(bytes) = home.read(SUFFIX).await? else {
        return Ok(());
    };
    let Ok(mut record) = serde_json::from_slice::<Record>(&bytes) else {
        return Ok(());
    };
    let Some(entry) = record.functions.get_mut(function) else {
        return Ok(());
    };
    entry.function_version = version.to_owned();
    entry.code_sha256 = code_sha256.to_owned();
    let mut text = serde_json::to_string_pretty(&record).expect("the record serializes");
    text.push('\n');
    home.write(SUFFIX, text.into_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terraform::backend::Backend;

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
            matches!(&assumed.home, StateHome::Unsupported(why) if why.contains("role_arn")),
            "{assumed:?}"
        );
        assert_eq!(assumed.read().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_local_record_round_trips_and_anything_else_there_is_no_record() {
        let temp = tempfile::tempdir().unwrap();
        let state = temp.path().join("terraform.tfstate");
        let store = Store {
            home: StateHome::Local(state.clone()),
        };
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
        let mut path = state.into_os_string();
        path.push(SUFFIX);
        std::fs::write(path, "{\"format_version\":\"9\"}").unwrap();
        assert_eq!(store.read().await.unwrap(), None);
        store.forget().await.unwrap();
        store.forget().await.unwrap();
        assert_eq!(store.read().await.unwrap(), None);
    }
}
