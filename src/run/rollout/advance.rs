//! `lambda-gitops rollout`: every rollout in progress of a service moved on by at most one
//! step — or, asked, aborted or completed now. Each service's step is taken under its
//! state's lock (terraform's own lock file with the S3 backend; the work root's lock with a
//! local state): the record is read, the alarms and the time decide ([`super::step`]), one
//! `UpdateAlias` moves the traffic and the record is written before the lock goes. A run
//! that finds the lock held leaves that service to the next run: a step is taken at most
//! once, however many runs start at the same time.

use serde::Serialize;

use crate::aws::{alarms, alias};
use crate::desired::Environment;
use crate::error::Error;
use crate::run::backend_objects::{Locking, StateHome};
use crate::run::state_lock::StateLock;
pub use crate::settings::rollout::Request;

use super::record::{self, RolloutState, Rollouts, Status};
use super::step::{self, Step};

/// What happened to one deployment's rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum Action {
    /// Its step's interval is not over.
    Waited {
        due: u64,
    },
    /// An alarm without data (or missing) holds the step.
    Held {
        alarms: Vec<String>,
    },
    Advanced {
        weight: u8,
    },
    Completed {
        forced: bool,
    },
    Aborted {
        alarm: Option<String>,
        reason: String,
    },
    /// Another run holds the state's lock: this run left it alone.
    Locked,
}

/// One deployment's rollout after this run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub service: String,
    pub deployment: String,
    #[serde(flatten)]
    pub action: Action,
    pub rollout: RolloutState,
}

impl Moved {
    /// An alarm aborted it (not a `--abort`): the run exits 3.
    pub fn rolled_back(&self) -> bool {
        matches!(self.action, Action::Aborted { alarm: Some(_), .. })
    }

    pub fn in_progress(&self) -> bool {
        self.rollout.in_progress()
    }
}

/// Moves the rollouts of `service` (its state at `home`) on, as `request` asks; only
/// `environment`'s when given.
pub async fn service(
    service: &str,
    home: &StateHome,
    region: &str,
    terraform_version: &str,
    request: Request,
    environment: Option<Environment>,
) -> Result<Vec<Moved>, Error> {
    let failed =
        |action: &'static str, e: &dyn std::fmt::Display| super::failure(service, action, e);
    let peek = Rollouts::read(home)
        .await
        .map_err(|e| failed("read the rollout record", &e))?;
    let wanted = |key: &String| environment.is_none_or(|env| key.as_str() == env.as_str());
    if !peek
        .deployments
        .iter()
        .any(|(k, r)| wanted(k) && r.in_progress())
    {
        return Ok(Vec::new());
    }
    let lock = match home {
        StateHome::S3(s3) if s3.locking == Locking::Lockfile => {
            match StateLock::take(s3, service, terraform_version).await {
                Ok(Some(lock)) => Some(lock),
                Ok(None) => return Ok(locked(service, &peek, wanted)),
                Err(e) => return Err(failed("take the state lock", &e)),
            }
        }
        // The work root's lock, held by the command, keeps other runs out.
        StateHome::Local(_) => None,
        _ => {
            return Err(failed(
                "step a rollout",
                &"a rollout step needs a lock on the state: the S3 backend with `use_lockfile=true`, or the local backend",
            ))
        }
    };
    let moved = under_lock(service, home, region, request, wanted).await;
    if let (Some(lock), StateHome::S3(s3)) = (lock, home) {
        lock.release(s3)
            .await
            .map_err(|e| failed("release the state lock", &e))?;
    }
    moved
}

/// Every rollout of the record in progress, each left to the run that holds the lock.
fn locked(service: &str, record: &Rollouts, wanted: impl Fn(&String) -> bool) -> Vec<Moved> {
    record
        .deployments
        .iter()
        .filter(|(key, rollout)| wanted(key) && rollout.in_progress())
        .map(|(key, rollout)| Moved {
            service: service.to_owned(),
            deployment: key.clone(),
            action: Action::Locked,
            rollout: rollout.clone(),
        })
        .collect()
}

/// The record read again under the lock, each rollout in progress moved on, the record
/// written.
async fn under_lock(
    service: &str,
    home: &StateHome,
    region: &str,
    request: Request,
    wanted: impl Fn(&String) -> bool,
) -> Result<Vec<Moved>, Error> {
    let failed =
        |action: &'static str, e: &dyn std::fmt::Display| super::failure(service, action, e);
    let mut record = Rollouts::read(home)
        .await
        .map_err(|e| failed("read the rollout record", &e))?;
    let config = crate::aws::sdk_config(region).await;
    let client = aws_sdk_lambda::Client::new(&config);
    let mut moved = Vec::new();
    let mut failure = None;
    for (key, rollout) in record.deployments.iter_mut() {
        if !wanted(key) || !rollout.in_progress() {
            continue;
        }
        let action = decide(request, &config, rollout).await;
        let taken = take(&client, rollout, action, request == Request::Complete).await;
        if let Ok(Action::Completed { .. }) = &taken {
            remember_completion(service, home, rollout).await;
        }
        match taken {
            Ok(action) => moved.push(Moved {
                service: service.to_owned(),
                deployment: key.clone(),
                action,
                rollout: rollout.clone(),
            }),
            Err(e) => {
                failure = Some(failed("move traffic on the `live` alias", &e));
                break;
            }
        }
    }
    // What moved before an error is recorded all the same: a step is never taken twice.
    record
        .write(home)
        .await
        .map_err(|e| failed("write the rollout record", &e))?;
    match failure {
        Some(error) => Err(error),
        None => Ok(moved),
    }
}

/// The step `request` asks of `rollout`: the one its alarms and interval decide, or an
/// abort or completion now.
async fn decide(request: Request, config: &aws_config::SdkConfig, rollout: &RolloutState) -> Step {
    match request {
        Request::Abort => Step::Abort {
            alarm: String::new(),
            reason: "aborted by hand (`rollout --abort`)".into(),
        },
        Request::Complete => Step::Complete,
        Request::Step => match alarms::read(config, &rollout.config.alarms).await {
            Ok(alarms) => step::next(rollout, &alarms, record::now()),
            // Unread alarms are no pass: the step holds.
            Err(e) => Step::Hold {
                alarms: vec![format!("the alarms could not be read: {e}")],
            },
        },
    }
}

/// A completed rollout's new version behind `live`, in the record of the last apply: the
/// next apply is then the no-op it is.
async fn remember_completion(service: &str, home: &StateHome, rollout: &RolloutState) {
    let (function, to) = (&rollout.function_name, &rollout.to);
    let recorded = crate::run::applied::record_live(home, function, &to.version, &to.code_sha256);
    if let Err(error) = recorded.await {
        tracing::warn!(
            "{service}: the record of the last apply still names the old version: {error}"
        );
    }
}

/// Takes `step` on the alias and in `rollout`; what was done.
async fn take(
    client: &aws_sdk_lambda::Client,
    rollout: &mut RolloutState,
    step: Step,
    forced: bool,
) -> Result<Action, crate::aws::AwsError> {
    let function = rollout.function_name.clone();
    let now = record::now();
    Ok(match step {
        Step::Wait { due } => Action::Waited { due },
        Step::Hold { alarms } => Action::Held {
            alarms: alarms
                .iter()
                .map(|a| crate::problem::escape_controls(a))
                .collect(),
        },
        Step::Advance { weight } => {
            let share = f64::from(weight) / 100.0;
            let to = Some((rollout.to.version.as_str(), share));
            alias::point(client, &function, &rollout.from.version, to).await?;
            rollout.step += 1;
            rollout.stepped_at = now;
            Action::Advanced { weight }
        }
        Step::Complete => {
            alias::point(client, &function, &rollout.to.version, None).await?;
            rollout.step = rollout.config.weights().len() - 1;
            rollout.stepped_at = now;
            rollout.status = Status::Completed { at: now, forced };
            Action::Completed { forced }
        }
        Step::Abort { alarm, reason } => {
            let reason = crate::problem::escape_controls(&reason);
            alias::point(client, &function, &rollout.from.version, None).await?;
            let alarm = Some(alarm).filter(|a| !a.is_empty());
            rollout.status = Status::Aborted {
                at: now,
                alarm: alarm.clone(),
                reason: reason.clone(),
            };
            Action::Aborted { alarm, reason }
        }
    })
}
