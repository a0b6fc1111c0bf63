//! Several services' terraform runs: up to `--jobs` at once (one at a time when `apply`
//! asks before each), each with its own runner; an interrupt starts no more of them. With
//! several at once, each service's terraform output is printed whole when it is done (under
//! GitHub Actions, one log group a service), so lines never interleave. What each gave is
//! gathered into one [`Ran`]: the worst exit code, the summaries, the failures and
//! terraform's plan text per service.

use std::io::Write;

use crate::error::{self, Error};
use crate::exit_code;
use crate::process::interrupts::Interrupts;
use crate::report::format::Format;
use crate::report::{self, ApplyProgress, Failure, PlanFacts};
use crate::run::last_applied::{self, LastApplied};
use crate::run::prepare::ServicePlan;
use crate::run::runner::{Runner, RunnerSettings};
use crate::settings::{DeploySettings, Mode, Settings};

/// What the services' plans and applies gave.
#[derive(Debug, Default)]
pub struct Ran {
    pub code: u8,
    pub summaries: Vec<PlanFacts>,
    pub failures: Vec<Failure>,
    /// Terraform's own plan text per service.
    pub plan_outputs: Vec<(String, String)>,
}

/// A service to run, with what its last apply left (for `apply`).
pub type ToRun<'p, 'a> = (&'p ServicePlan<'a>, Option<LastApplied>);

/// Runs `services` and gathers what they gave.
pub async fn run(
    runner: &RunnerSettings,
    services: Vec<ToRun<'_, '_>>,
    args: &DeploySettings,
    interrupts: &Interrupts,
    settings: &Settings,
) -> Result<Ran, Error> {
    let jobs = match args.mode.asks() {
        true => 1,
        false => args
            .jobs
            .map_or_else(crate::run::schedule::default_jobs, usize::from),
    };
    let buffered = jobs > 1 && services.len() > 1;
    let results = crate::run::schedule::run_all(
        services,
        jobs,
        || interrupts.first().is_some(),
        |(plan, last)| async move {
            let mut runner = Runner::new(runner.clone(), interrupts.clone());
            if buffered {
                runner = runner.buffered();
            }
            if let Mode::Apply {
                auto_approve: true, ..
            } = args.mode
            {
                runner = runner.applying();
            }
            let outcome = one(&mut runner, plan, last, args, interrupts, settings).await;
            show_output(&runner, &plan.service.name, &outcome, settings);
            (
                plan.service.name.clone(),
                outcome,
                Finished::take(&mut runner),
            )
        },
    )
    .await;
    gather(results, args.format)
}

/// One service, between the records of its last apply.
async fn one(
    runner: &mut Runner,
    plan: &ServicePlan<'_>,
    last: Option<LastApplied>,
    args: &DeploySettings,
    interrupts: &Interrupts,
    settings: &Settings,
) -> Result<(PlanFacts, u8), Error> {
    let name = &plan.service.name;
    last_applied::forget(name, last.as_ref()).await?;
    let outcome = super::service::run(runner, plan, args, interrupts, settings).await?;
    if let Some(last) = &last {
        last_applied::remember(name, plan, last, &settings.aws_region).await;
    }
    Ok(outcome)
}

/// A buffered service's terraform output, and an error with terraform's last lines when
/// they were not shown as they came.
fn show_output(
    runner: &Runner,
    name: &str,
    outcome: &Result<(PlanFacts, u8), Error>,
    settings: &Settings,
) {
    let github_actions = settings.ci.github_actions;
    if let Some(text) = runner.take_output() {
        eprint_output(name, &text, github_actions);
    }
    if let Err(error) = outcome {
        let terraform_output = match error {
            Error::TerraformFailed(failure) => failure.tail.as_slice(),
            _ => &[],
        };
        // Terraform's own error was not shown (`-q`) or is folded in a log group.
        if settings.verbosity < 0 || github_actions {
            eprint_tail(name, terraform_output, github_actions);
        }
        eprint!("{}", error::render(error));
    }
}

/// A service's name, what it gave (its summary and exit code) and what its runner kept.
type Outcome = (String, Result<(PlanFacts, u8), Error>, Finished);

/// Every service's outcome, in the order given, into one [`Ran`].
fn gather(results: Vec<Outcome>, format: Format) -> Result<Ran, Error> {
    let mut ran = Ran::default();
    for (name, outcome, finished) in results {
        if let Some(text) = finished.plan_output {
            ran.plan_outputs.push((name.clone(), text));
        }
        match outcome {
            Ok((summary, result)) => {
                ran.code = exit_code::worst(ran.code, result);
                ran.summaries.push(summary);
            }
            Err(error) => {
                ran.code = exit_code::worst(ran.code, error.exit_code());
                let failure = failure(name, error, finished.planned, finished.apply_output);
                // An apply that failed part way changed things: the report says how far.
                if format == Format::Text && failure.applied.is_some() {
                    super::print(&report::text::failed_line(&failure))?;
                }
                ran.failures.push(failure);
            }
        }
    }
    Ok(ran)
}

/// A failed service for the report: the error, terraform's last lines, and for an apply
/// that failed part way its plan and how far it got.
fn failure(
    service: String,
    error: Error,
    planned: Option<PlanFacts>,
    apply_output: Option<String>,
) -> Failure {
    let terraform_output = match &error {
        Error::TerraformFailed(failure) => failure.tail.clone(),
        _ => Vec::new(),
    };
    let applied = apply_output
        .zip(planned.as_ref())
        .map(|(output, facts)| ApplyProgress {
            done: report::changes_completed(&output),
            total: facts.counts.actions(),
        });
    Failure {
        service,
        error: error.to_string(),
        terraform_output,
        facts: planned,
        applied,
    }
}

/// What a service's runner kept for the report, taken once it is done.
struct Finished {
    plan_output: Option<String>,
    /// The facts of its plan, for the report of an apply that fails.
    planned: Option<PlanFacts>,
    /// What its apply printed, for how far a failed one got.
    apply_output: Option<String>,
}

impl Finished {
    fn take(runner: &mut Runner) -> Self {
        Self {
            plan_output: runner.take_plan_output(),
            planned: runner.take_planned(),
            apply_output: runner.take_apply_output(),
        }
    }
}

/// One service's terraform output, printed whole. Under GitHub Actions it is one log group
/// with workflow commands paused (terraform echoes the gitops repo's values).
fn eprint_output(service: &str, text: &str, github_actions: bool) {
    let text = match github_actions {
        true => {
            let stop = crate::ci::annotations::StopCommands::new();
            format!(
                "{}\n{}\n{text}{}\n{}\n",
                crate::ci::annotations::group(&format!("{service}: terraform")),
                stop.pause(),
                stop.resume(),
                crate::ci::annotations::END_GROUP
            )
        }
        false => text.to_owned(),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// Terraform's last lines on stderr, when they were not shown as they came. Under GitHub
/// Actions, workflow commands are paused around them (they echo the gitops repo's values).
fn eprint_tail(service: &str, tail: &[String], github_actions: bool) {
    if tail.is_empty() {
        return;
    }
    let stop = github_actions.then(crate::ci::annotations::StopCommands::new);
    let mut text = format!("{service}: terraform's last {} lines:\n", tail.len());
    if let Some(stop) = &stop {
        text = format!("{}\n{text}", stop.pause());
    }
    for line in tail {
        text.push_str(&format!("  {line}\n"));
    }
    if let Some(stop) = &stop {
        text.push_str(&stop.resume());
        text.push('\n');
    }
    eprint!("{text}");
}
