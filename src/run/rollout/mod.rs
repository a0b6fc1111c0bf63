//! Progressive delivery on the `live` alias: a deployment whose strategy is `canary` or
//! `linear` gets its new published version a share of traffic at a time
//! (`RoutingConfig.AdditionalVersionWeights`), gated by CloudWatch alarms.
//!
//! Terraform stays the engine and shows no drift: before it starts, [`plan`] decides per
//! deployment ([`decide`]) and renders the version a rollout holds `live` on into the
//! module's variables (`live_version`); the module leaves the routing weights to
//! lambda-gitops. After an apply, [`after_apply`] starts what was decided (the first weight)
//! or ends what a rollback or a change of strategy ends. The `rollout` command moves a rollout
//! in progress on by one step at a time ([`advance`], deciding with [`step`]). Every rollout
//! is recorded beside the service's state ([`record`]).

pub mod advance;
pub mod decide;
pub mod record;
pub mod step;

use std::collections::BTreeMap;

use crate::aws::alias;
use crate::aws::status::{self, StatusError};
use crate::desired::DeploymentKey;
use crate::error::Error;
use crate::run::backend_objects::{Locking, S3Home, StateHome};
use crate::run::prepare::ServicePlan;
use crate::run::state_lock::StateLock;
use crate::terraform::backend::BackendSettings;

use decide::{Decision, Declared};
use record::{RolloutState, Rollouts, Side, Status};

/// A service's rollouts for this run: where they are recorded, what the record held, and
/// what this run does with each deployment that has or may start one.
#[derive(Debug)]
pub struct Planned {
    pub home: StateHome,
    pub record: Rollouts,
    pub decisions: BTreeMap<DeploymentKey, Decision>,
}

/// Before terraform: each service's rollout record and what its gradual deployments'
/// `live` runs → a decision per deployment, and the version `live` stays on rendered into
/// the service's variables (its work dir's variables file rewritten).
pub async fn plan(
    prepared: &mut [ServicePlan<'_>],
    backend: &BackendSettings,
    region: &str,
    retry: bool,
) -> Result<(), Error> {
    use futures_util::StreamExt;
    let client = crate::aws::lambda_client(region).await;
    // One record (and, for gradual deployments, a Lambda read or two) per service, several
    // at once: every plan and apply reads them before terraform.
    let planned: Vec<Result<Option<Planned>, Error>> = futures_util::stream::iter(prepared.iter())
        .map(|plan| planned(plan, backend, region, &client, retry))
        .buffered(CONCURRENT_SERVICES)
        .collect()
        .await;
    for (plan, planned) in prepared.iter_mut().zip(planned) {
        let Some(planned) = planned? else {
            continue;
        };
        hold_live(plan, &planned)?;
        plan.rollouts = Some(planned);
    }
    Ok(())
}

/// How many services' records are read at once.
const CONCURRENT_SERVICES: usize = 16;

/// One service's record and decisions; `None` when no deployment of it has a rollout to
/// decide about.
async fn planned(
    plan: &ServicePlan<'_>,
    backend: &BackendSettings,
    region: &str,
    client: &aws_sdk_lambda::Client,
    retry: bool,
) -> Result<Option<Planned>, Error> {
    let name = &plan.service.name;
    let home = StateHome::for_service(backend, name, &plan.work_dir.path, region).await;
    let gradual = plan.service.deployments().any(|d| d.rollout.gradual());
    let record = match Rollouts::read(&home).await {
        Ok(record) => record,
        Err(e) if gradual => return Err(failure(name, "read the rollout record", &e)),
        // Nothing gradual here: a record there may be (a strategy changed since) is
        // cleared by the next apply that can read it.
        Err(e) => {
            tracing::debug!("{name}: no rollout record read: {e}");
            return Ok(None);
        }
    };
    let decisions = decisions(plan, &home, &record, client, retry).await?;
    Ok((!decisions.is_empty()).then_some(Planned {
        home,
        record,
        decisions,
    }))
}

/// The version each decision holds `live` on, rendered into the service's variables (its
/// work dir's variables file rewritten when any is).
fn hold_live(plan: &mut ServicePlan<'_>, planned: &Planned) -> Result<(), Error> {
    let mut rewrite = false;
    for (key, decision) in &planned.decisions {
        let (Some(held), Some(vars)) = (decision.holds(), plan.vars.deployments.get_mut(key))
        else {
            continue;
        };
        vars.live_version = Some(held.version.clone());
        vars.live_code_sha256 = Some(held.code_sha256.clone());
        rewrite = true;
    }
    if rewrite {
        plan.work_dir.write_vars(&plan.vars)?;
    }
    Ok(())
}

/// The decision for every deployment of `plan` that is gradual or has a rollout recorded.
async fn decisions(
    plan: &ServicePlan<'_>,
    home: &StateHome,
    record: &Rollouts,
    client: &aws_sdk_lambda::Client,
    retry: bool,
) -> Result<BTreeMap<DeploymentKey, Decision>, Error> {
    let name = &plan.service.name;
    let mut decisions = BTreeMap::new();
    for deployment in [&plan.service.staging, &plan.service.production]
        .into_iter()
        .flatten()
    {
        // A record of another function (renamed since) is not this deployment's.
        let recorded = record
            .deployments
            .get(&deployment.key.to_string())
            .filter(|r| r.function_name == deployment.function_name);
        if !deployment.rollout.gradual() && recorded.is_none() {
            continue;
        }
        refuse_unsupported(name, home)?;
        let running = live_now(name, client, &deployment.function_name).await?;
        let Some(vars) = plan.vars.deployments.get(&deployment.key) else {
            continue;
        };
        let declared = Declared {
            key: deployment.key,
            version: &deployment.version,
            code_sha256: &vars.package.source_code_hash,
            rollout: &deployment.rollout,
        };
        let decision = decide::decide(declared, running.as_ref(), recorded, retry);
        decisions.insert(deployment.key, decision);
    }
    Ok(decisions)
}

/// A rollout needs its record beside the state and a lock on it: refused where the backend
/// gives neither.
fn refuse_unsupported(service: &str, home: &StateHome) -> Result<(), Error> {
    let why = match home {
        StateHome::Unsupported(why) => {
            format!("lambda-gitops cannot reach the state itself ({why})")
        }
        StateHome::S3(s3) if s3.locking != Locking::Lockfile => {
            "a rollout step needs a lock on the state, and this S3 backend has no lock file".into()
        }
        _ => return Ok(()),
    };
    Err(Error::Aws {
        service: service.to_owned(),
        action: "record a rollout beside the state",
        message: why,
        hint: Some("use the S3 backend with `use_lockfile=true` (and settings lambda-gitops applies itself), or `strategy: allAtOnce`".into()),
    })
}

/// What `function`'s `live` runs now; `None` when there is no such function yet.
async fn live_now(
    service: &str,
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Option<crate::aws::status::Running>, Error> {
    match status::running(client, function).await {
        Ok(running) => Ok(Some(running)),
        Err(StatusError::NoFunction { .. }) => Ok(None),
        Err(error) => Err(Error::Aws {
            service: service.to_owned(),
            action: "read what `live` runs before a rollout",
            hint: error.hint(),
            message: error.to_string(),
        }),
    }
}

/// After a successful apply: a decided rollout starts (the new version gets its first
/// weight, the rollout is recorded), one in progress follows a version terraform published
/// anew for it (a settings change), and what a rollback or a change of strategy ends is
/// ended (no weights left, no record). Under the state's lock, the record read again: a
/// `rollout` step taken meanwhile (an abort) is never written over.
pub async fn after_apply(plan: &ServicePlan<'_>, region: &str) -> Result<(), Error> {
    let Some(planned) = plan.rollouts.as_ref().filter(|p| !p.decisions.is_empty()) else {
        return Ok(());
    };
    let name = &plan.service.name;
    let lock = match &planned.home {
        StateHome::S3(s3) => Some((s3, lock_for_record(s3, name).await?)),
        _ => None,
    };
    let done = record_after_apply(plan, planned, region).await;
    if let Some((s3, lock)) = lock {
        lock.release(s3)
            .await
            .map_err(|e| failure(name, "release the state lock", &e))?;
    }
    done
}

/// The state's lock, for the record: waited for a little (a `rollout` step is quick).
async fn lock_for_record(s3: &S3Home, service: &str) -> Result<StateLock, Error> {
    let version = format!("lambda-gitops {}", env!("CARGO_PKG_VERSION"));
    for _ in 0..30 {
        match StateLock::take(s3, service, &version).await {
            Ok(Some(lock)) => return Ok(lock),
            Ok(None) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            Err(e) => return Err(failure(service, "take the state lock", &e)),
        }
    }
    Err(Error::Aws {
        service: service.to_owned(),
        action: "record the rollout",
        message: "the state stayed locked for 30 s".into(),
        hint: Some(
            "`live` is as terraform left it: run `apply` again once the lock is free".into(),
        ),
    })
}

async fn record_after_apply(
    plan: &ServicePlan<'_>,
    planned: &Planned,
    region: &str,
) -> Result<(), Error> {
    let name = &plan.service.name;
    let client = crate::aws::lambda_client(region).await;
    let mut record = Rollouts::read(&planned.home)
        .await
        .map_err(|e| failure(name, "read the rollout record", &e))?;
    let before = record.clone();
    let mut outcome = Ok(());
    for (key, decision) in &planned.decisions {
        let (Some(deployment), Some(vars)) = (
            plan.service.deployment(*key),
            plan.vars.deployments.get(key),
        ) else {
            continue;
        };
        let declared = Side {
            version: String::new(),
            gitops_version: deployment.version.clone(),
            code_sha256: vars.package.source_code_hash.clone(),
        };
        let entry = record.deployments.get(&key.to_string()).cloned();
        let changed = after_one(&client, deployment, decision, declared, entry).await;
        match changed {
            Ok(Some(state)) => {
                record.deployments.insert(key.to_string(), state);
            }
            Ok(None) if matches!(decision, Decision::AllAtOnce { clears: true, .. }) => {
                record.deployments.remove(&key.to_string());
            }
            Ok(None) => {}
            Err(e) => {
                outcome = Err(Error::Aws {
                    service: name.clone(),
                    action: "move traffic on the `live` alias",
                    message: e,
                    hint: Some("`live` stays where terraform left it: run `apply` again".into()),
                });
                break;
            }
        }
    }
    // What was done before an error is recorded all the same.
    if record != before {
        record
            .write(&planned.home)
            .await
            .map_err(|e| failure(name, "write the rollout record", &e))?;
    }
    outcome
}

/// What `decision` does to one deployment's alias after terraform; its new record entry.
async fn after_one(
    client: &aws_sdk_lambda::Client,
    deployment: &crate::desired::Deployment,
    decision: &Decision,
    declared: Side,
    entry: Option<RolloutState>,
) -> Result<Option<RolloutState>, String> {
    let function = &deployment.function_name;
    match decision {
        Decision::Start { from } => start(client, deployment, from, &declared).await.map(Some),
        // A settings change publishes a new version of the same code: the rollout follows it.
        Decision::InProgress(_) => {
            let Some(mut state) = entry.filter(RolloutState::in_progress) else {
                return Ok(None);
            };
            let newest = published(client, function, &declared).await?;
            if newest.version == state.to.version {
                return Ok(None);
            }
            state.to = newest;
            route(client, &state).await?;
            Ok(Some(state))
        }
        Decision::AllAtOnce { clears: true, .. } => {
            let live = alias::live(client, function)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(live) = live.filter(|l| l.weights.values().any(|w| *w > 0.0)) {
                alias::point(client, function, &live.version, None)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// A rollout from `from` to the version terraform just published (the declared package):
/// its first weight routed, its record entry.
async fn start(
    client: &aws_sdk_lambda::Client,
    deployment: &crate::desired::Deployment,
    from: &Side,
    declared: &Side,
) -> Result<RolloutState, String> {
    let function = &deployment.function_name;
    let to = published(client, function, declared).await?;
    if to.version == from.version {
        return Err(format!(
            "`{function}` published no version beside {} to roll out to",
            from.version
        ));
    }
    let state = RolloutState {
        function_name: function.clone(),
        config: deployment.rollout.clone(),
        from: from.clone(),
        to,
        step: 0,
        started_at: record::now(),
        stepped_at: record::now(),
        status: Status::InProgress,
    };
    route(client, &state).await?;
    tracing::info!(
        "{function}: rollout started: {}% on version {} ({}), the rest on {} ({})",
        state.weight(),
        state.to.version,
        state.to.gitops_version,
        from.version,
        from.gitops_version
    );
    Ok(state)
}

/// The newest published version of `function`, which must be the declared package (the
/// one this apply published, or published before for it).
async fn published(
    client: &aws_sdk_lambda::Client,
    function: &str,
    declared: &Side,
) -> Result<Side, String> {
    let newest = alias::newest(client, function)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("`{function}` has no published version"))?;
    if newest.code_sha256 != declared.code_sha256 {
        return Err(format!(
            "the newest published version of `{function}` ({}) runs CodeSha256 {}, not the declared package's {}",
            newest.version, newest.code_sha256, declared.code_sha256
        ));
    }
    Ok(Side {
        version: newest.version,
        ..declared.clone()
    })
}

/// `live` on the rollout's old version, its current share on the new one.
async fn route(client: &aws_sdk_lambda::Client, state: &RolloutState) -> Result<(), String> {
    let share = f64::from(state.weight()) / 100.0;
    let to = Some((state.to.version.as_str(), share));
    alias::point(client, &state.function_name, &state.from.version, to)
        .await
        .map_err(|e| e.to_string())
}

/// `action` on `service`'s rollouts failed.
pub(super) fn failure(service: &str, action: &'static str, error: &dyn std::fmt::Display) -> Error {
    Error::Aws {
        service: service.to_owned(),
        action,
        message: error.to_string(),
        hint: None,
    }
}

impl Planned {
    /// Whether an apply has something to do here after terraform: a rollout to start or
    /// one to end.
    pub fn acts(&self) -> bool {
        self.decisions.values().any(|decision| {
            matches!(
                decision,
                Decision::Start { .. } | Decision::AllAtOnce { clears: true, .. }
            )
        })
    }
}

/// Each deployment's rollout decision, on its facts for the report.
pub fn annotate(facts: &mut crate::report::PlanFacts, plan: &ServicePlan<'_>) {
    use crate::report::facts::{RolloutNote, RolloutPhase};
    let Some(planned) = &plan.rollouts else {
        return;
    };
    for change in facts.deployments.iter_mut() {
        let Some(key) = change.key() else {
            continue;
        };
        let (Some(decision), Some(deployment)) =
            (planned.decisions.get(&key), plan.service.deployment(key))
        else {
            continue;
        };
        let rollout = match decision {
            Decision::InProgress(state) | Decision::Aborted(state) => &state.config,
            _ => &deployment.rollout,
        };
        let (phase, weight, reason) = match decision {
            Decision::AsUsual => continue,
            Decision::Start { .. } => (RolloutPhase::Starts, None, None),
            Decision::InProgress(state) => (RolloutPhase::InProgress, Some(state.weight()), None),
            Decision::Aborted(state) => (
                RolloutPhase::Aborted,
                Some(state.weight()),
                Some(match &state.status {
                    Status::Aborted {
                        alarm: Some(alarm),
                        reason,
                        ..
                    } => format!("`{alarm}` was in ALARM: {reason}"),
                    Status::Aborted { reason, .. } => reason.clone(),
                    _ => String::new(),
                }),
            ),
            Decision::AllAtOnce { why, .. } => (RolloutPhase::AllAtOnce, None, Some(why.clone())),
        };
        change.rollout = Some(RolloutNote {
            strategy: rollout.strategy,
            phase,
            weights: rollout.weights(),
            interval_seconds: rollout.interval_seconds,
            alarms: rollout.alarms.clone(),
            weight,
            reason,
        });
    }
}
