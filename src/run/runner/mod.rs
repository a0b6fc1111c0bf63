//! The terraform commands for one service's work dir, in order: `init` (skipped when the
//! module, backend, providers and terraform are what the last init saw; one init at a time
//! fills the shared plugin cache), `plan -var-file=… -out=plan.tfplan -detailed-exitcode`,
//! `show -json plan.tfplan` (kept as `plan.json`; skipped when the plan has no changes), and
//! `apply` of exactly that saved plan. Before any of them the work dir is made to hold only
//! what lambda-gitops wrote ([`WorkDir::scrub`]); every command gets `TF_DATA_DIR`. A plan
//! that touches another service's resources is refused before anything is applied.
//!
//! With the bundled module, the work dir also gets this run's generated blocks: a `moved`
//! block per preview (state of the first module version moves, nothing is replaced), and
//! `import` blocks for log groups the plan would create but that exist already (a function
//! that ever ran has one) — found through the AWS API, after which the plan is made again.
//!
//! In: [`RunnerSettings`] and, per service, its [`WorkDir`] and
//! [`TfVars`](crate::render::TfVars). Out: the plan's [`PlanFacts`], terraform's own text of
//! the plan and the apply, and errors that say which command failed how. This file holds the
//! [`Runner`] and the one way it starts a terraform command (`run_with`: the command line
//! shown or folded, the outcome mapped to an error); one file per step decides what to run
//! and reads what came back: `init.rs`, `plan.rs` (with `show -json` and the early apply),
//! `apply.rs`, `adopt.rs` (what exists already or an interrupted apply left) and `guard.rs`
//! (other services' resources).

use std::path::PathBuf;
use std::time::Duration;

use crate::ci::annotations::{self, StopCommands};
use crate::desired::DeploymentKey;
use crate::env_vars;
use crate::error::{Error, TerraformFailure, TerraformTimeout};
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::{Interrupt, Interrupts};
use crate::report::PlanFacts;
use crate::terraform::backend::BackendSettings;
use crate::terraform::binary::Terraform;
use crate::terraform::module::ModuleFiles;
use crate::terraform::plugins::Plugins;
use crate::terraform::process::{self, Echo, Finished, Invocation, OutputBuffer, RunOptions};
use crate::workdir::WorkDir;

mod adopt;
mod apply;
mod guard;
mod init;
mod one_step;
mod plan;

pub const PLAN_FILE: &str = "plan.tfplan";
pub const PLAN_JSON: &str = "plan.json";

#[derive(Debug, Clone)]
pub struct RunnerSettings {
    pub terraform: Terraform,
    pub module_dir: Option<PathBuf>,
    /// The backend and its `-backend-config` pairs, `{service}` not yet substituted.
    pub backend: BackendSettings,
    /// For `-lock-timeout`, e.g. `5m`.
    pub lock_timeout: String,
    pub grace: Duration,
    /// Plan the destruction of everything in the state (`plan -destroy`): `lambda-gitops
    /// destroy` of a service removed from the repo.
    pub destroy: bool,
    /// How long one terraform command may run (`--terraform-timeout`).
    pub timeout: Duration,
    pub color: bool,
    /// Show terraform's output live on stderr (off with `-q`).
    pub echo: bool,
    /// Fold each command's output in a GitHub Actions log group (commands paused inside).
    pub log_groups: bool,
    /// The environment of every terraform command.
    pub env: ChildEnv,
    /// The region terraform gets, for the AWS API calls the runner makes itself.
    pub aws_region: String,
    /// The shared plugin cache (its variables are in `env` already) and its init lock.
    pub plugins: Plugins,
}

pub struct Runner {
    settings: RunnerSettings,
    interrupts: Interrupts,
    /// The human-readable text of the last `plan` (its stdout), for the report.
    plan_output: Option<String>,
    /// The facts of the last plan, for the report of an apply that fails.
    planned: Option<PlanFacts>,
    /// The stdout of the last `apply`, whatever its outcome: how far it got.
    apply_output: Option<String>,
    /// The stdout of the last command run with [`Stdout::ShowAndKeep`].
    kept: Option<String>,
    /// The module files last written into a work dir.
    module: Option<ModuleFiles>,
    /// Where terraform's output goes while other services run too; `None`: live.
    buffer: Option<OutputBuffer>,
    /// An approved `apply` follows every plan: one that can only create starts at once.
    apply_early: bool,
    /// The last plan was applied already (it could only create).
    applied: bool,
    /// The deployments whose existing log group the last plan adopts.
    adopted_log_groups: Vec<DeploymentKey>,
}

impl Runner {
    pub fn new(settings: RunnerSettings, interrupts: Interrupts) -> Self {
        Self {
            settings,
            interrupts,
            plan_output: None,
            planned: None,
            apply_output: None,
            kept: None,
            module: None,
            buffer: None,
            apply_early: false,
            applied: false,
            adopted_log_groups: Vec::new(),
        }
    }

    /// The facts of the last successful plan, once.
    pub fn take_planned(&mut self) -> Option<PlanFacts> {
        self.planned.take()
    }

    /// What the last `apply` printed on stdout (also when it failed), once.
    pub fn take_apply_output(&mut self) -> Option<String> {
        self.apply_output.take()
    }

    /// A runner whose plans are applied without a question (`apply --auto-approve`): a plan
    /// that can only create is applied while its JSON is read, not after.
    pub fn applying(mut self) -> Self {
        self.apply_early = true;
        self
    }

    /// The next plans are not applied while read, even by an [`Runner::applying`] runner:
    /// `apply --plan-dir` compares a plan with the reviewed one before anything is applied.
    pub fn hold_early_apply(&mut self) {
        self.apply_early = false;
    }

    /// A runner whose commands' output is kept (see [`Runner::take_output`]) rather than
    /// shown as it comes: several services run at once.
    pub fn buffered(mut self) -> Self {
        self.buffer = Some(OutputBuffer::default());
        self
    }

    /// The output kept so far by a [`Runner::buffered`] runner, command lines included.
    pub fn take_output(&self) -> Option<String> {
        self.buffer
            .as_ref()
            .map(OutputBuffer::take)
            .filter(|text| !text.is_empty())
    }

    /// Terraform's own text of the last successful [`Runner::plan`], once.
    pub fn take_plan_output(&mut self) -> Option<String> {
        self.plan_output.take()
    }

    /// Fails when a signal has arrived: nothing new starts after an interrupt.
    pub fn check_interrupted(&self) -> Result<(), Error> {
        match self.interrupts.first() {
            Some(signal) => Err(Error::Interrupted {
                signal,
                terraform_ran: false,
            }),
            None => Ok(()),
        }
    }

    /// The module files the last plan wrote into the work dir (for `plan --out-dir`).
    /// The deployments whose existing log group the last plan adopts (`import` blocks).
    pub fn adopted_log_groups(&self) -> &[DeploymentKey] {
        &self.adopted_log_groups
    }

    pub fn written_module(&self) -> Option<&ModuleFiles> {
        self.module.as_ref()
    }

    /// The terraform this runner runs.
    pub fn terraform(&self) -> &Terraform {
        &self.settings.terraform
    }

    /// The environment terraform gets (and git, for the plan dir's commit).
    pub fn child_env(&self) -> &ChildEnv {
        &self.settings.env
    }

    fn no_color(&self) -> Option<String> {
        (!self.settings.color).then(|| "-no-color".to_owned())
    }

    fn invocation(&self, work_dir: &WorkDir, args: Vec<String>, secrets: &[usize]) -> Invocation {
        Invocation {
            program: self.settings.terraform.path.clone(),
            args,
            secret_args: secrets.to_vec(),
            cwd: work_dir.path.clone(),
            env: {
                let mut env = self.settings.env.clone();
                env.set(env_vars::TF_DATA_DIR, work_dir.data_dir());
                env
            },
        }
    }

    /// Runs one command; an exit code outside `success_codes` is a `TerraformFailed`.
    async fn run(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        secrets: &[usize],
        capture: bool,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        let output = if capture {
            Stdout::Capture
        } else {
            Stdout::Show
        };
        self.run_with(service, work_dir, args, secrets, output, success_codes)
            .await
    }

    /// [`Runner::run`], showing stdout and keeping all of it in [`Finished::stdout`].
    async fn run_keeping_stdout(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        self.run_with(
            service,
            work_dir,
            args,
            &[],
            Stdout::ShowAndKeep,
            success_codes,
        )
        .await
    }

    /// Starts one terraform command in `work_dir` and waits for it: its output shown, kept
    /// or folded as `stdout` and the settings say; an interrupt, a timeout or an exit code
    /// outside `success_codes` is an error.
    async fn run_with(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        args: Vec<String>,
        secrets: &[usize],
        stdout: Stdout,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        self.check_interrupted()?;
        let invocation = self.invocation(work_dir, args, secrets);
        let echo = self.echo();
        let options = RunOptions {
            capture_stdout: stdout == Stdout::Capture,
            echo: echo.clone(),
            keep_stdout: matches!(stdout, Stdout::ShowAndKeep | Stdout::Events),
            json_events: stdout == Stdout::Events,
            grace: self.settings.grace,
            timeout: Some(self.settings.timeout),
        };
        let fold = self.announce(service, &invocation, &echo, stdout);
        let finished = process::run(&invocation, options, &mut self.interrupts).await;
        fold.close();
        let finished = finished.map_err(|source| {
            Error::Terraform(crate::terraform::TerraformError::Start {
                path: invocation.program.clone(),
                source: source.source,
            })
        })?;
        if matches!(stdout, Stdout::ShowAndKeep | Stdout::Events) {
            self.kept = Some(finished.stdout.clone());
        }
        self.outcome(service, work_dir, &invocation, finished, success_codes)
    }

    /// Where terraform's output goes: nowhere (`-q`), into the buffer, or live on stderr.
    fn echo(&self) -> Echo {
        match (&self.buffer, self.settings.echo) {
            (_, false) => Echo::Off,
            (Some(buffer), true) => Echo::Buffer(buffer.clone()),
            (None, true) => Echo::Live,
        }
    }

    /// Shows the command line before the command starts, opening its log group.
    fn announce(
        &self,
        service: &str,
        invocation: &Invocation,
        echo: &Echo,
        stdout: Stdout,
    ) -> Fold {
        // Under GitHub Actions the output folds under the command line, and nothing
        // terraform prints (values from the gitops repo) is taken for a workflow command.
        // (`show -json` prints nothing there: no group, commands paused all the same.)
        let command_line = format!("{service}: $ {}", invocation.display());
        // Buffered output is folded and paused as a whole, per service, when it is printed.
        if let Echo::Buffer(buffer) = echo {
            buffer.push_line(&command_line);
        }
        let paused =
            (self.settings.log_groups && matches!(echo, Echo::Live)).then(StopCommands::new);
        let grouped = paused.is_some() && stdout != Stdout::Capture;
        match &paused {
            _ if matches!(echo, Echo::Buffer(_)) => {}
            Some(stop) if grouped => {
                eprintln!("{}\n{}", annotations::group(&command_line), stop.pause())
            }
            Some(stop) => {
                tracing::info!("{command_line}");
                eprintln!("{}", stop.pause());
            }
            None => tracing::info!("{command_line}"),
        }
        Fold { paused, grouped }
    }

    /// A finished command as an error when it was interrupted, timed out or failed.
    fn outcome(
        &self,
        service: &str,
        work_dir: &WorkDir,
        invocation: &Invocation,
        finished: Finished,
        success_codes: &[i32],
    ) -> Result<Finished, Error> {
        let program = self.settings.terraform.name();
        let cwd = work_dir.path.clone();
        if let Some(signal) = finished.interrupted {
            return Err(interrupted(signal, &finished, program, cwd));
        }
        if finished.timed_out {
            return Err(Error::TerraformTimedOut(Box::new(TerraformTimeout {
                service: service.to_owned(),
                command: invocation.display(),
                after: self.settings.timeout,
                killed: finished.killed,
                program,
                cwd,
            })));
        }
        if !finished
            .code
            .is_some_and(|code| success_codes.contains(&code))
        {
            return Err(failure(service, &finished, invocation, program));
        }
        Ok(finished)
    }
}

/// The workflow commands paused (and the log group opened) around one command's output.
struct Fold {
    paused: Option<StopCommands>,
    grouped: bool,
}

impl Fold {
    /// Resumes the workflow commands and closes the log group.
    fn close(&self) {
        if let Some(stop) = &self.paused {
            eprintln!("{}", stop.resume());
            if self.grouped {
                eprintln!("{}", annotations::END_GROUP);
            }
        }
    }
}

/// What happens to a command's stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdout {
    /// Shown live (unless quiet), its last lines kept with stderr's.
    Show,
    /// Shown and kept whole (the plan's text).
    ShowAndKeep,
    /// Kept, not shown (`show -json`).
    Capture,
    /// Terraform's JSON events (`-json`): kept whole, shown as the text a person reads.
    Events,
}

/// A command stopped by a signal we relayed: killed after the grace period, holding the
/// state lock, or stopped cleanly.
fn interrupted(signal: Interrupt, finished: &Finished, program: String, cwd: PathBuf) -> Error {
    match (finished.killed, finished.lock_id.clone()) {
        (true, _) => Error::InterruptedKilled {
            signal,
            program,
            cwd,
        },
        (false, Some(lock_id)) => Error::InterruptedLocked {
            signal,
            lock_id,
            program,
            cwd,
        },
        (false, None) => Error::Interrupted {
            signal,
            terraform_ran: true,
        },
    }
}

fn failure(service: &str, finished: &Finished, invocation: &Invocation, program: String) -> Error {
    Error::TerraformFailed(Box::new(TerraformFailure {
        service: service.to_owned(),
        command: invocation.display(),
        code: finished.code,
        signal: finished.signal,
        lock_id: finished.lock_id.clone(),
        program,
        cwd: invocation.cwd.clone(),
        tail: finished.tail.clone(),
    }))
}
