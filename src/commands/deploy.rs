//! `lambda-gitops plan` and `apply`: the CI outputs checked before anything runs, the run
//! ([`crate::run::deploy`]), then the reports at the end — also when the run failed before
//! terraform started. Across services the worst outcome sets the exit code: interrupted
//! (130/143) > error (1: the run's own, then a summary file or the comment that could not
//! be written, after the report was printed) > changes (2) > 0. A comment that could not be
//! published makes the run exit 1, and the error says which code the run itself had; an
//! interrupted run publishes nothing.

use std::sync::Arc;

use crate::ci::markdown::STEP_SUMMARY_LIMIT;
use crate::ci::outputs::Published;
use crate::ci::Outputs;
use crate::error::{self, Error};
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::report::format::Format;
use crate::report::{self, Report};
use crate::run::services::Ran;
use crate::settings::{DeploySettings, Settings};
use crate::terminal::progress::Progress;

pub async fn run(
    settings: &Settings,
    args: DeploySettings,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    let outputs = Outputs::resolve(
        &settings.ci,
        &args.outputs,
        &args.services,
        settings.github.token.is_some(),
    )?;
    let ran = crate::run::deploy::execute(settings, &args, progress, interrupts, env).await;
    finish(settings, &args, &outputs, ran).await
}

/// The reports of a run that ended (well or not): stdout, then every CI output. The first
/// error among them is the run's when the run itself succeeded; the others are printed.
async fn finish(
    settings: &Settings,
    args: &DeploySettings,
    outputs: &Outputs,
    ran: Result<Ran, Error>,
) -> Result<u8, Error> {
    let (ran, early) = match ran {
        Ok(ran) => (ran, None),
        Err(error) if error.is_interrupt() => return Err(error),
        Err(error) => (Ran::default(), Some(error)),
    };
    let code = early.as_ref().map_or(ran.code, Error::exit_code);
    let run = Report {
        command: args.mode.command(),
        summaries: &ran.summaries,
        failures: &ran.failures,
        error: early.as_ref(),
        plan_outputs: &ran.plan_outputs,
        exit_code: code,
    };
    let rendering = report::rendering(&run);
    let json = report::json::json(&run);
    let markdown = crate::ci::markdown::document(&rendering, STEP_SUMMARY_LIMIT, "the job's log");
    let printed = match args.format {
        Format::Text => Ok(()),
        Format::Json => crate::run::print(&json),
        Format::Markdown => crate::run::print(&markdown),
    };
    // A client only for a comment: most runs never talk to GitHub here.
    let github = outputs.comment.as_ref().map(|_| {
        crate::github::Client::new(&settings.github, settings.download_stall_timeout)
            .with_waits(settings.github_waits)
    });
    let published = Published {
        rendering: &rendering,
        markdown: &markdown,
        json: &json,
        command: args.mode.command().as_str(),
        code,
        github: github.as_ref(),
    };
    let mut errors = printed.err().into_iter().chain(
        outputs
            .publish(&published)
            .await
            .into_iter()
            .map(Error::from),
    );
    let first = early.or_else(|| errors.next());
    for error in errors {
        eprint!("{}", error::render(&error));
    }
    first.map_or(Ok(code), Err)
}
