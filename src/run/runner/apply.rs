//! The `apply` step: `apply -input=false` of exactly the plan file the last plan saved —
//! skipped when that plan was applied already while it was read ([`super::plan`]).
//!
//! In: the service and its [`WorkDir`] holding `plan.tfplan`. Out: nothing, or the error of
//! the apply; either way terraform's text of the apply, kept for the report (how far it got).

use super::{Runner, Stdout, PLAN_FILE};
use crate::error::Error;
use crate::workdir::WorkDir;

impl Runner {
    /// Applies the saved plan of the last [`Runner::plan`] (done already when that plan
    /// could only create, see [`Runner::applying`]).
    pub async fn apply(&mut self, service: &str, work_dir: &WorkDir) -> Result<(), Error> {
        if self.applied {
            return Ok(());
        }
        self.apply_now(service, work_dir).await
    }

    /// `apply` of the saved plan, now; its stdout is kept whatever the outcome.
    pub(super) async fn apply_now(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
    ) -> Result<(), Error> {
        self.check_interrupted()?;
        let mut args = vec![
            "apply".to_owned(),
            "-input=false".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
        ];
        args.extend(self.no_color());
        args.push(PLAN_FILE.to_owned());
        self.apply_output = None;
        self.kept = None;
        let applied = self
            .run_with(service, work_dir, args, &[], Stdout::ShowAndKeep, &[0])
            .await;
        self.apply_output = self.kept.take();
        applied.map(drop)
    }
}
