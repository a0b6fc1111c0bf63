//! The `plan` step: the work dir made ready ([`super::init`]), `plan -out=plan.tfplan
//! -detailed-exitcode`, then `show -json plan.tfplan` kept as `plan.json` and read into the
//! plan's facts. With the bundled module, what the plan would create that exists already is
//! adopted and the plan made again ([`super::adopt`]); an auto-approved apply whose plan can
//! change no other service's resources and adopt nothing starts while the JSON is read.
//!
//! In: the service, its [`WorkDir`] and [`TfVars`]. Out: the plan's [`PlanFacts`] (also
//! kept for the report of an apply that fails), terraform's text of the plan, and whether the
//! plan was applied already; a plan touching another service's resources is an error.

use super::adopt::{has_tainted, prior_state};
use super::{Runner, RunnerSettings, PLAN_FILE, PLAN_JSON};
use crate::error::Error;
use crate::render::{self, TfVars};
use crate::report::{self, PlanFacts};
use crate::terraform::module::Generated;
use crate::workdir::{WorkDir, VARS_FILE};

impl Runner {
    /// Writes the module, clears out what lambda-gitops did not write, inits when needed,
    /// plans (again, when existing log groups must be adopted) and summarises.
    pub async fn plan(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        vars: &TfVars,
    ) -> Result<PlanFacts, Error> {
        self.planned = None;
        self.applied = false;
        let generated = Generated {
            moved: render::preview_moves(vars),
            imports: render::log_group_imports(&[]),
        };
        if let Some(facts) = self
            .apply_in_one_step(service, work_dir, vars, &generated)
            .await?
        {
            return Ok(facts);
        }
        // The two steps, auto-approved: a rollout step since this run read `live` is not
        // undone (terraform takes the lock itself here, so this narrows the window only).
        if self.apply_early {
            self.refuse_moved_live(service, vars).await?;
        }
        // A plan without changes touches nothing, foreign or not: `show -json` (a second
        // start of the provider) is skipped, and the report says so from the variables.
        if !self.plan_once(service, work_dir, &generated).await? {
            return Ok(PlanFacts::as_declared(service, vars));
        }
        let plan_json = if self.applies_unread(service, work_dir, vars).await {
            self.apply_while_reading(service, work_dir).await?
        } else {
            let plan_json = self.show_json(service, work_dir).await?;
            match self
                .adopt_existing(service, work_dir, generated, plan_json)
                .await?
            {
                Some(plan_json) => plan_json,
                None => return Ok(PlanFacts::as_declared(service, vars)),
            }
        };
        let plan_path = work_dir.path.join(PLAN_JSON);
        let summary = PlanFacts::from_plan_json(service, plan_json.as_bytes()).map_err(|e| {
            Error::PlanJson {
                path: plan_path,
                message: e.to_string(),
            }
        })?;
        self.refuse_foreign(service, &summary)?;
        self.planned = Some(summary.clone());
        Ok(summary)
    }

    /// Whether the saved plan may be applied while its JSON is read: an auto-approved
    /// `apply` of the bundled module without `import` blocks, whose plan was made against a
    /// state (the prior state saved in the plan file itself, so no other run's apply in
    /// between can make it wrong) holding no resource of another service — then the plan
    /// can change none, and the foreign-resource guard has nothing to guard — and none of
    /// whose log groups missing from that state exist already (those would be adopted, and
    /// an adopted object may belong to someone else).
    async fn applies_unread(&self, service: &str, work_dir: &WorkDir, vars: &TfVars) -> bool {
        if !self.apply_early || self.settings.module_dir.is_some() {
            return false;
        }
        let Some(state) = prior_state(&work_dir.path.join(PLAN_FILE)) else {
            return false;
        };
        if !report::guard::other_owners_in_state(service, &state).is_some_and(|o| o.is_empty()) {
            return false;
        }
        if has_tainted(&state) {
            return false;
        }
        let adopts_none = self.adopts_none(&state, vars).await;
        if adopts_none {
            tracing::info!(
                "{service}: the plan changes nothing of another service: applying it while it is read"
            );
        }
        adopts_none
    }

    /// `apply` of the saved plan and `show -json` of it side by side; the plan's JSON.
    async fn apply_while_reading(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
    ) -> Result<String, Error> {
        // The reader shows nothing: no log group, no paused commands around the apply's.
        let mut reader = Runner::new(
            RunnerSettings {
                log_groups: false,
                ..self.settings.clone()
            },
            self.interrupts.clone(),
        );
        reader.buffer = self.buffer.clone();
        let show = reader.show_json(service, work_dir);
        let apply = self.apply_now(service, work_dir);
        let (shown, applied) = tokio::join!(show, apply);
        if applied.is_err() {
            // An apply that failed part way is reported against the plan's facts.
            self.planned = shown
                .as_ref()
                .ok()
                .and_then(|json| PlanFacts::from_plan_json(service, json.as_bytes()).ok());
        }
        applied?;
        self.applied = true;
        shown
    }

    /// One pass: the work dir [`Runner::ready`], `plan`; whether the plan has changes.
    pub(super) async fn plan_once(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        generated: &Generated,
    ) -> Result<bool, Error> {
        self.ready(service, work_dir, generated).await?;

        let mut args = vec![
            "plan".to_owned(),
            "-input=false".to_owned(),
            format!("-var-file={VARS_FILE}"),
            format!("-out={PLAN_FILE}"),
            "-detailed-exitcode".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        if self.settings.destroy {
            args.push("-destroy".to_owned());
        }
        args.extend(self.no_color());
        // -detailed-exitcode: 0 no changes, 2 changes.
        self.plan_output = None;
        let planned = self
            .run_keeping_stdout(service, work_dir, args, &[0, 2])
            .await?;
        self.plan_output = Some(planned.stdout);
        Ok(planned.code == Some(2))
    }

    /// `show -json` of the saved plan, kept as `plan.json`; the JSON.
    pub(super) async fn show_json(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
    ) -> Result<String, Error> {
        let show = vec!["show".to_owned(), "-json".to_owned(), PLAN_FILE.to_owned()];
        let finished = self.run(service, work_dir, show, &[], true, &[0]).await?;
        let plan_json = work_dir.path.join(PLAN_JSON);
        std::fs::write(&plan_json, &finished.stdout)
            .map_err(|e| Error::io("write", &plan_json, e))?;
        Ok(finished.stdout)
    }
}
