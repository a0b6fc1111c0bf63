//! The one-step apply: `apply --auto-approve` of the bundled module runs as bare terraform
//! does — one `terraform apply -json` that plans and applies with one provider start —
//! instead of `plan -out`, then `apply` of that plan. Every check still comes first:
//! lambda-gitops takes the state's lock itself (terraform's own lock file, see
//! [`crate::run::state_lock`]), reads the state through the backend settings and checks it
//! as it would check a saved plan's prior state — no resource of another service (the
//! plan can then change none), nothing tainted, no existing object to adopt — and only
//! then starts terraform, with `-lock=false` under that lock: the state terraform plans
//! against is the state that was checked. The report's facts are built from the state
//! before, the state after and terraform's events ([`PlanFacts::from_apply`]).
//!
//! A local state in the work dir needs no lock of its own: the work root's lock keeps every
//! other lambda-gitops run out. Whenever a step cannot be taken — another backend or
//! locking (`dynamodb_table`, none), settings lambda-gitops does not apply itself, the lock
//! held by someone else, a state it cannot read, a check that does not pass — nothing has
//! been started, and the apply takes the two-step path.
//!
//! In: the service, its [`WorkDir`] (module written, init done) and [`TfVars`]. Out: the
//! apply's facts, or `None` (take the two-step path).

use serde_json::Value;

use super::adopt::has_tainted;
use super::Runner;
use super::Stdout;
use crate::error::Error;
use crate::render::TfVars;
use crate::report::{self, PlanFacts};
use crate::run::backend_objects::{Locking, S3Home, StateHome};
use crate::run::state_lock::StateLock;
use crate::terraform::events::{self, Event};
use crate::terraform::module::Generated;
use crate::workdir::{WorkDir, VARS_FILE};

impl Runner {
    /// Plans and applies `service` in one terraform process when every check can be made
    /// first; `Ok(None)`: it cannot, and terraform was not started.
    pub(super) async fn apply_in_one_step(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        vars: &TfVars,
        generated: &Generated,
    ) -> Result<Option<PlanFacts>, Error> {
        if !self.apply_early || self.settings.module_dir.is_some() || self.settings.destroy {
            return Ok(None);
        }
        self.ready(service, work_dir, generated).await?;
        let home = StateHome::for_service(
            &self.settings.backend,
            service,
            &work_dir.path,
            &self.settings.aws_region,
        )
        .await;
        let lock = match self.lock(service, work_dir, &home).await {
            Ok(lock) => lock,
            Err(why) => return Ok(self.two_steps(service, &why)),
        };
        let applied = self.apply_checked(service, work_dir, vars, &home).await;
        // A terraform killed mid-apply leaves its lock, as in the two-step path: the state may
        // lack what it created, and the next run must not plan against it unawares.
        let killed = matches!(&applied, Err(Error::InterruptedKilled { .. }))
            || matches!(&applied, Err(Error::TerraformTimedOut(t)) if t.killed);
        match (lock, &home) {
            (Some(lock), _) if killed => {
                tracing::error!(
                    "{service}: terraform was killed: the state lock {} stays",
                    lock.id
                );
                applied
            }
            (Some(lock), StateHome::S3(s3)) => release(service, lock, s3, applied).await,
            _ => applied,
        }
    }

    /// The state's lock for a one-step apply: none needed for a local state in the work dir
    /// (the work root's lock), terraform's lock file for an S3 state; why not, otherwise.
    async fn lock(
        &self,
        service: &str,
        work_dir: &WorkDir,
        home: &StateHome,
    ) -> Result<Option<StateLock>, String> {
        match home {
            StateHome::Local(state) if state.starts_with(&work_dir.path) => Ok(None),
            StateHome::S3(s3) if s3.locking == Locking::Lockfile => {
                let version = &self.settings.terraform.version;
                match StateLock::take(s3, service, version).await {
                    Ok(Some(lock)) => Ok(Some(lock)),
                    Ok(None) => Err("the state is locked".into()),
                    Err(error) => Err(error.to_string()),
                }
            }
            _ => Err("the state's backend settings".into()),
        }
    }

    /// Under the lock: the state read and checked, then one `apply`; `Ok(None)` when a
    /// check does not pass (nothing started).
    async fn apply_checked(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        vars: &TfVars,
        home: &StateHome,
    ) -> Result<Option<PlanFacts>, Error> {
        let before = match self.checked_state(service, vars, home).await? {
            Ok(before) => before,
            Err(why) => return Ok(self.two_steps(service, &why)),
        };
        tracing::info!(
            "{service}: the state holds nothing of another service: planning and applying in one step"
        );
        let mut args = vec![
            "apply".to_owned(),
            "-input=false".to_owned(),
            "-auto-approve".to_owned(),
            "-json".to_owned(),
            format!("-var-file={VARS_FILE}"),
        ];
        match home {
            StateHome::Local(_) => {
                args.push(format!("-lock-timeout={}", self.settings.lock_timeout))
            }
            // Under the lock lambda-gitops holds for it.
            _ => args.push("-lock=false".to_owned()),
        }
        self.apply_output = None;
        self.kept = None;
        let ran = self
            .run_with(service, work_dir, args, &[], Stdout::Events, &[0])
            .await;
        let output = self.kept.take().unwrap_or_default();
        let after = match home.read("").await {
            Ok(Some(bytes)) => serde_json::from_slice::<Value>(&bytes).ok(),
            _ => None,
        };
        let events = events::parse_all(&output);
        let facts = PlanFacts::from_apply(service, before.as_ref(), after.as_ref(), &events);
        self.plan_output = Some(plan_text(&output));
        self.apply_output = Some(events::text_of(&output));
        self.planned = Some(facts.clone());
        ran?;
        self.applied = true;
        self.refuse_foreign(service, &facts)?;
        Ok(Some(facts))
    }

    /// The state as it is under the lock, checked: `Ok(Ok(state))` (`None`: no state yet)
    /// when nothing stands in the one-step apply's way, `Ok(Err(why))` when something does
    /// (the two steps then), `Err` when a rollout step moved `live` since this run read it.
    async fn checked_state(
        &self,
        service: &str,
        vars: &TfVars,
        home: &StateHome,
    ) -> Result<Result<Option<Value>, String>, Error> {
        let before = match home.read("").await {
            Ok(None) => None,
            Ok(Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(state) => Some(state),
                Err(_) => return Ok(Err("the state is not JSON".into())),
            },
            Err(error) => return Ok(Err(error.to_string())),
        };
        let checked = before
            .clone()
            .unwrap_or(serde_json::json!({"resources": []}));
        if !report::guard::other_owners_in_state(service, &checked).is_some_and(|o| o.is_empty()) {
            return Ok(Err("the state holds resources of another service".into()));
        }
        if has_tainted(&checked) {
            return Ok(Err("the state holds a tainted object".into()));
        }
        if !self.adopts_none(&checked, vars).await {
            return Ok(Err("an existing object is to be adopted".into()));
        }
        // What a rollout holds `live` on was read before the lock: a `rollout` step since
        // (a completion) must not be undone by this apply.
        self.refuse_moved_live(service, vars).await?;
        Ok(Ok(before))
    }

    /// A `live` alias no longer on the version the variables hold it on, said; `None` when
    /// every one is where this run read it.
    /// Refuses an apply whose variables hold a `live` alias where it no longer is (a
    /// `rollout` step since this run read it): applying them would undo that step.
    pub(super) async fn refuse_moved_live(
        &self,
        service: &str,
        vars: &TfVars,
    ) -> Result<(), Error> {
        match self.live_moved(vars).await {
            None => Ok(()),
            Some(moved) => Err(Error::Aws {
                service: service.to_owned(),
                action: "apply while a rollout holds `live`",
                message: moved,
                hint: Some("a `rollout` step moved it meanwhile: run `apply` again".into()),
            }),
        }
    }

    async fn live_moved(&self, vars: &TfVars) -> Option<String> {
        let held: Vec<_> = vars
            .deployments
            .values()
            .filter_map(|d| Some((&d.function_name, d.live_version.as_ref()?)))
            .collect();
        if held.is_empty() {
            return None;
        }
        let client = crate::aws::lambda_client(&self.settings.aws_region).await;
        for (function, version) in held {
            match crate::aws::alias::live(&client, function).await {
                Ok(Some(live)) if &live.version == version => {}
                Ok(live) => {
                    return Some(format!(
                    "`{function}`'s `live` is on version {} now, not {version} as this run read it",
                    live.map_or_else(|| "none".into(), |l| l.version)
                ))
                }
                Err(error) => return Some(error.to_string()),
            }
        }
        None
    }

    /// Says why the two-step path is taken; `None`, for the caller to return.
    fn two_steps(&self, service: &str, why: &str) -> Option<PlanFacts> {
        tracing::info!("{service}: plan, then apply of that plan ({why})");
        None
    }
}

/// Releases the lock after the apply; a lock that could not be released is an error of its
/// own only when the apply succeeded (its error says more otherwise).
async fn release(
    service: &str,
    lock: StateLock,
    s3: &S3Home,
    applied: Result<Option<PlanFacts>, Error>,
) -> Result<Option<PlanFacts>, Error> {
    let id = lock.id.clone();
    let Err(error) = lock.release(s3).await else {
        return applied;
    };
    tracing::error!("{service}: could not release the state lock {id}: {error}");
    applied?;
    Err(Error::Aws {
        service: service.to_owned(),
        action: "release the state lock",
        message: format!("{error} (lock ID {id})"),
        hint: Some(format!(
            "once no other run holds it, release it with `terraform force-unlock {id}` in the service's work dir"
        )),
    })
}

/// Terraform's text of the plan part of a one-step apply: what it planned, and its count.
fn plan_text(output: &str) -> String {
    let mut text = String::new();
    for line in output.lines() {
        let planned = match events::parse(line) {
            Some(Event::Planned(_) | Event::Drift(_)) => true,
            Some(Event::Summary { operation, .. }) => operation == "plan",
            _ => false,
        };
        if planned {
            for shown in events::text(line) {
                text.push_str(&shown);
                text.push('\n');
            }
        }
    }
    text
}
