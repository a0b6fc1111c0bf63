//! Where a service's rollouts live: beside its state (same backend, same credentials, same
//! guarantees as the state itself, [`StateHome`]), never in the gitops checkout — the
//! object `<key>.lambda-gitops-rollout.json` (or that file beside a local state), one entry
//! per deployment: the rollout's settings as it started, the version `live` shifts from and
//! to, the step it reached and when, and how it ended (completed, or aborted: which alarm,
//! why and when).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::desired::Rollout;
use crate::run::backend_objects::{ObjectError, StateHome};

/// Appended to the state's key or path.
pub const SUFFIX: &str = ".lambda-gitops-rollout.json";
/// The most a record may hold; anything larger is not one.
const MAX_BYTES: usize = 1 << 20;

/// A service's rollouts, by deployment key (`staging`, `production`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollouts {
    pub format_version: String,
    pub deployments: BTreeMap<String, RolloutState>,
}

/// One deployment's rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    pub function_name: String,
    /// The rollout's settings when it started.
    pub config: Rollout,
    /// What `live` ran before: the version traffic shifts from (and goes back to on abort).
    pub from: Side,
    /// The new published version traffic shifts to.
    pub to: Side,
    /// Index into `config.weights()`: the step reached.
    pub step: usize,
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds: when the current step was taken.
    pub stepped_at: u64,
    pub status: Status,
}

/// One side of a rollout: a published version, the gitops version it was deployed as and
/// its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    /// The published version number.
    pub version: String,
    /// The version the gitops repo named (the function's `version` tag).
    pub gitops_version: String,
    /// Base64 SHA-256 of the code, Lambda's `CodeSha256`.
    pub code_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Status {
    InProgress,
    Completed {
        at: u64,
        /// `rollout --complete`: finished before its steps were through.
        forced: bool,
    },
    Aborted {
        at: u64,
        /// The alarm that fired; `None` for `rollout --abort`.
        alarm: Option<String>,
        reason: String,
    },
}

impl RolloutState {
    /// The new version's share of traffic now, in percent.
    pub fn weight(&self) -> u8 {
        let weights = self.config.weights();
        weights[self.step.min(weights.len() - 1)]
    }

    /// When the current step's interval is over (unix seconds).
    pub fn next_due(&self) -> u64 {
        self.stepped_at.saturating_add(self.config.interval_seconds)
    }

    pub fn in_progress(&self) -> bool {
        self.status == Status::InProgress
    }
}

impl Rollouts {
    pub const FORMAT: &'static str = "1";

    /// The rollouts recorded beside `home`'s state; none when there is no record. A record
    /// that cannot be read is an error, never taken for none: a rollout in progress would
    /// be forgotten (and its weights left on the alias).
    pub async fn read(home: &StateHome) -> Result<Self, ObjectError> {
        let Some(bytes) = home.read(SUFFIX).await? else {
            return Ok(Self::default());
        };
        let unreadable = |reason: String| ObjectError::Failed {
            doing: "reading",
            location: home.location(SUFFIX),
            reason,
        };
        if bytes.len() > MAX_BYTES {
            return Err(unreadable(format!("larger than {MAX_BYTES} bytes")));
        }
        let record: Self = serde_json::from_slice(&bytes)
            .map_err(|e| unreadable(format!("not a rollout record: {e}")))?;
        if record.format_version != Self::FORMAT {
            return Err(unreadable(format!(
                "format {} (this lambda-gitops reads {})",
                record.format_version,
                Self::FORMAT
            )));
        }
        Ok(record)
    }

    /// Writes them beside `home`'s state; with none left, the record goes.
    pub async fn write(&self, home: &StateHome) -> Result<(), ObjectError> {
        if self.deployments.is_empty() {
            return home.remove(SUFFIX).await;
        }
        let record = Self {
            format_version: Self::FORMAT.to_owned(),
            deployments: self.deployments.clone(),
        };
        let mut text = serde_json::to_string_pretty(&record).expect("the record serializes");
        text.push('\n');
        home.write(SUFFIX, text.into_bytes()).await
    }
}

/// Now, in unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::Strategy;

    #[tokio::test]
    async fn rollouts_round_trip_beside_a_local_state_and_go_when_none_is_left() {
        let temp = tempfile::tempdir().unwrap();
        let home = StateHome::Local(temp.path().join("terraform.tfstate"));
        assert_eq!(Rollouts::read(&home).await.unwrap(), Rollouts::default());
        let side = |version: &str| Side {
            version: version.into(),
            gitops_version: format!("1.{version}.0"),
            code_sha256: format!("sha{version}="),
        };
        let mut rollouts = Rollouts::default();
        rollouts.deployments.insert(
            "production".into(),
            RolloutState {
                function_name: "f".into(),
                config: Rollout {
                    strategy: Strategy::Linear,
                    percent: 40,
                    ..Rollout::default()
                },
                from: side("3"),
                to: side("4"),
                step: 1,
                started_at: 100,
                stepped_at: 400,
                status: Status::Aborted {
                    at: 500,
                    alarm: Some("errors".into()),
                    reason: "Threshold Crossed".into(),
                },
            },
        );
        rollouts.write(&home).await.unwrap();
        let read = Rollouts::read(&home).await.unwrap();
        assert_eq!(read.deployments, rollouts.deployments);
        let state = &read.deployments["production"];
        assert_eq!((state.weight(), state.next_due()), (80, 700));
        Rollouts::default().write(&home).await.unwrap();
        assert!(!temp
            .path()
            .join(format!("terraform.tfstate{SUFFIX}"))
            .exists());
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_read_is_an_error_never_taken_for_none() {
        let temp = tempfile::tempdir().unwrap();
        let home = StateHome::Local(temp.path().join("terraform.tfstate"));
        let path = temp.path().join(format!("terraform.tfstate{SUFFIX}"));
        for (text, says) in [
            ("{not json", "not a rollout record"),
            (r#"{"formatVersion":"9","deployments":{}}"#, "format 9"),
        ] {
            std::fs::write(&path, text).unwrap();
            let error = Rollouts::read(&home).await.unwrap_err().to_string();
            assert!(
                error.contains(says) && error.contains("rollout.json"),
                "{error}"
            );
        }
    }
}
