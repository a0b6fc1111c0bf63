//! `lambda-gitops plan` and `apply`: the whole pipeline. Validation and staging finish for
//! every selected service before terraform starts at all; then each service is planned
//! (and applied) in turn, its report printed on stdout as it completes. Across services the
//! worst outcome sets the exit code: error > changes > no changes. Before anything is
//! staged, several services sharing one state are refused, the checks before terraform
//! run once (`aws/preflight.rs`: credentials, and with the bundled module each distinct
//! bucket) and the work dir is locked for the whole run.
//!
//! The CI outputs (`ci::Outputs`: summary files, the job summary, annotations, the
//! pull-request comment) are checked before anything runs and written at the end from one
//! `ci::Rendering` of the run — also when it failed before terraform started. After each
//! apply, old published versions are cleaned up (`aws::versions`). Exit code
//! precedence: interrupted (130/143) > error (1: the run's own, then a summary file or the
//! comment that could not be written, after the report was printed) > changes (2) > 0. A
//! comment that could not be published makes the run exit 1, and the error says which
//! code the run itself had; an interrupted run publishes nothing.
//!
//! With `plan --out-dir`, each service's plan is saved with its inputs; with `apply
//! --plan-dir`, each service applies the saved plan instead of a new one, or is refused as
//! stale (`handoff.rs`).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crate::applied;
use crate::aws::versions;
use crate::child_env::ChildEnv;
use crate::ci::markdown::STEP_SUMMARY_LIMIT;
use crate::ci::{CiError, Outputs};
use crate::cli::{ReportFormat, TerraformArgs};
use crate::error::{self, Error};
use crate::exit_code;
use crate::fingerprint;
use crate::handoff::{self, Handoff};
use crate::interrupts::Interrupts;
use crate::noop::{self, Decision};
use crate::prepare::ServicePlan;
use crate::progress::Progress;
use crate::prompt;
use crate::report::{self, ApplyProgress, Failure, PlanFacts, Report, VersionCleanup};
use crate::settings::Settings;
use crate::terraform::backend::BackendSettings;
use crate::terraform::module;
use crate::terraform::runner::{Runner, RunnerSettings};
use crate::workdir::WorkRoot;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Plan {
        detailed_exitcode: bool,
    },
    Apply {
        auto_approve: bool,
        /// `--refresh`: run terraform even when nothing changed since the last apply.
        refresh: bool,
    },
}

impl Mode {
    fn command(self) -> &'static str {
        match self {
            Mode::Plan { .. } => "plan",
            Mode::Apply { .. } => "apply",
        }
    }
}

pub async fn run(
    settings: &Settings,
    args: TerraformArgs,
    mode: Mode,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    let outputs = Outputs::resolve(
        &settings.ci,
        &args.ci,
        &args.services,
        settings.github.token.is_some(),
    )?;
    let ran = execute(settings, &args, mode, progress, interrupts, env, &outputs).await;
    finish(settings, &args, mode, &outputs, ran).await
}

/// What the services' plans and applies gave.
#[derive(Debug, Default)]
struct Ran {
    code: u8,
    summaries: Vec<PlanFacts>,
    failures: Vec<Failure>,
    /// Terraform's own plan text per service.
    plan_outputs: Vec<(String, String)>,
}

/// The pipeline: everything up to the reports at the end.
async fn execute(
    settings: &Settings,
    args: &TerraformArgs,
    mode: Mode,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
    outputs: &Outputs,
) -> Result<Ran, Error> {
    let interactive = std::io::stdin().is_terminal();
    if let Mode::Apply {
        auto_approve: false,
        ..
    } = mode
    {
        if !interactive {
            return Err(Error::ApprovalRequired);
        }
    }
    // No Lambda service here is the first thing to say, before any AWS setting.
    let repo = super::load_repo(settings)?;
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let services = super::select(&repo, &args.services)?;
    let backend = args.terraform.backend();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    backend.check_one_state_per_service(&names)?;
    // Another module may create its buckets itself: only the bundled one's are checked.
    let buckets = args.module_dir.is_none();
    super::preflight(settings, &services, buckets, &interrupts).await?;
    // State left by services removed from the repo: a warning, never an error (orphans.rs).
    crate::orphans::warn(settings, &repo, &backend).await;
    if let Some(dir) = &args.module_dir {
        crate::workdir::refuse_inside_checkout("`--module-dir`", dir, &settings.checkout)?;
    }
    let root = WorkRoot::lock(
        &settings.work_dir,
        &settings.checkout,
        args.terraform.lock_timeout.duration,
        || interrupts.first(),
    )
    .await?;
    let prepared = interrupts
        .guard(crate::prepare::prepare(
            settings, &root, &services, progress,
        ))
        .await??;

    // Providers: one plugin cache for every work dir and run, a mirror when one is given.
    let terraform_env = super::terraform_env(settings, &args.terraform, env)?;
    let terraform_path = crate::terraform::binary::find(args.terraform.terraform_bin.as_deref())?;

    // `apply` with nothing changed since the last apply starts no terraform at all.
    let last_applied =
        last_applied(settings, args, mode, &backend, &prepared, &terraform_path).await;
    let mut ran = Ran::default();
    let mut to_run = Vec::new();
    for (plan, last) in prepared.iter().zip(last_applied) {
        match last {
            Some(last) if last.decision == Decision::Skip => {
                let summary = PlanFacts::as_declared(&plan.service.name, &plan.vars);
                tracing::info!(
                    "{}: no changes since the last apply ({}); terraform not started",
                    plan.service.name,
                    last.store.location()
                );
                if args.format == ReportFormat::Text {
                    print(&format!(
                        "{}: no changes since the last apply\n",
                        plan.service.name
                    ))?;
                }
                ran.summaries.push(summary);
            }
            last => to_run.push((plan, last)),
        }
    }
    if to_run.is_empty() {
        return Ok(ran);
    }

    let runner =
        super::runner_settings(settings, &args.terraform, terraform_env, &interrupts).await?;
    let runner = RunnerSettings {
        module_dir: args.module_dir.clone(),
        ..runner
    };

    let services =
        run_services(&runner, to_run, mode, args, &interrupts, settings, outputs).await?;
    ran.code = exit_code::worst(ran.code, services.code);
    ran.summaries.extend(services.summaries);
    ran.failures.extend(services.failures);
    ran.plan_outputs.extend(services.plan_outputs);
    let order = |service: &str| prepared.iter().position(|p| p.service.name == service);
    ran.summaries.sort_by_key(|s| order(&s.service));
    ran.failures.sort_by_key(|f| order(&f.service));
    ran.plan_outputs.sort_by_key(|(service, _)| order(service));
    Ok(ran)
}

/// For `apply`: per service, where its last apply is recorded and whether this one can be
/// skipped. `None` for `plan`, and for `--module-dir` (another module's resources are not
/// known to be the functions checked).
async fn last_applied(
    settings: &Settings,
    args: &TerraformArgs,
    mode: Mode,
    backend: &BackendSettings,
    prepared: &[ServicePlan<'_>],
    terraform: &std::path::Path,
) -> Vec<Option<LastApplied>> {
    let Mode::Apply { refresh, .. } = mode else {
        return prepared.iter().map(|_| None).collect();
    };
    if args.module_dir.is_some() {
        return prepared.iter().map(|_| None).collect();
    }
    let config = crate::aws::sdk_config(&settings.aws_region).await;
    let client = aws_sdk_lambda::Client::new(&config);
    let client = &client;
    crate::schedule::run_all(
        prepared,
        prepared.len(),
        || false,
        |plan| async move {
            let name = &plan.service.name;
            let module = module::contents(
                None,
                backend.backend,
                module::bundled_lock_fits(terraform),
                &module::Generated {
                    moved: crate::render::preview_moves(&plan.vars),
                    imports: String::new(),
                },
            )
            .ok()?;
            let backend_config = backend.for_service(name);
            let fingerprint = fingerprint::of(&fingerprint::Inputs {
                module: &module,
                vars: &plan.vars,
                backend: backend.backend,
                backend_config: &backend_config,
                terraform,
            });
            let store = applied::Store::for_service(
                backend,
                name,
                &plan.work_dir.path,
                &settings.aws_region,
            )
            .await;
            let (decision, recorded) = match store.read().await {
                Ok(record) if refresh => (Decision::Run("`--refresh`".into()), record.is_some()),
                // The reviewed plan is applied as it is, or refused as stale.
                Ok(record) if matches!(args.handoff, Handoff::Apply(_)) => {
                    (Decision::Run("`--plan-dir`".into()), record.is_some())
                }
                Ok(record) => (
                    noop::decide(client, &fingerprint, record.as_ref(), &plan.vars).await,
                    record.is_some(),
                ),
                // Unreadable (say, the credentials may not read it): nothing to trust or remove.
                Err(error) => (
                    Decision::Run(format!("the last apply's record: {error}")),
                    false,
                ),
            };
            if let Decision::Run(reason) = &decision {
                tracing::debug!("{name}: running terraform: {reason}");
            }
            Some(LastApplied {
                store,
                fingerprint,
                decision,
                recorded,
            })
        },
    )
    .await
}

/// Where a service's last apply is recorded, this run's fingerprint, and what to do.
struct LastApplied {
    store: applied::Store,
    fingerprint: String,
    decision: Decision,
    /// A record was read: it goes before terraform runs.
    recorded: bool,
}

/// The services, up to `--jobs` at once (one at a time when `apply` asks before each),
/// each with its own runner; an interrupt starts no more of them. With several at once,
/// each service's terraform output is printed whole when it is done (under GitHub Actions,
/// one log group a service), so lines never interleave. The worst exit code, the summaries,
/// the failures and terraform's plan text per service.
async fn run_services(
    runner: &RunnerSettings,
    services: Vec<(&ServicePlan<'_>, Option<LastApplied>)>,
    mode: Mode,
    args: &TerraformArgs,
    interrupts: &Interrupts,
    settings: &Settings,
    outputs: &Outputs,
) -> Result<Ran, Error> {
    let asks = matches!(
        mode,
        Mode::Apply {
            auto_approve: false,
            ..
        }
    );
    let jobs = match asks {
        true => 1,
        false => args
            .jobs
            .map_or_else(crate::schedule::default_jobs, usize::from),
    };
    let buffered = jobs > 1 && services.len() > 1;
    let results = crate::schedule::run_all(
        services,
        jobs,
        || interrupts.first().is_some(),
        |(plan, last)| async move {
            let name = &plan.service.name;
            let mut runner = Runner::new(runner.clone(), interrupts.clone());
            if buffered {
                runner = runner.buffered();
            }
            if let Mode::Apply {
                auto_approve: true, ..
            } = mode
            {
                runner = runner.applying();
            }
            let outcome = match forget(name, last.as_ref()).await {
                Ok(()) => run_service(&mut runner, plan, mode, args, interrupts, settings).await,
                Err(error) => Err(error),
            };
            if let (Ok(_), Some(last)) = (&outcome, &last) {
                remember(name, plan, last, &settings.aws_region).await;
            }
            if let Some(text) = runner.take_output() {
                eprint_output(name, &text, outputs.github_actions);
            }
            if let Err(error) = &outcome {
                let terraform_output = match error {
                    Error::TerraformFailed(failure) => failure.tail.as_slice(),
                    _ => &[],
                };
                // Terraform's own error was not shown (`-q`) or is folded in a log group.
                if settings.verbosity < 0 || outputs.github_actions {
                    eprint_tail(name, terraform_output, outputs.github_actions);
                }
                eprint!("{}", error::render(error));
            }
            let finished = Finished {
                plan_output: runner.take_plan_output(),
                planned: runner.take_planned(),
                apply_output: runner.take_apply_output(),
            };
            (name.clone(), outcome, finished)
        },
    )
    .await;

    let mut ran = Ran::default();
    for (name, outcome, finished) in results {
        let Finished {
            plan_output,
            planned,
            apply_output,
        } = finished;
        if let Some(text) = plan_output {
            ran.plan_outputs.push((name.clone(), text));
        }
        match outcome {
            Ok((summary, result)) => {
                ran.code = exit_code::worst(ran.code, result);
                ran.summaries.push(summary);
            }
            Err(error) => {
                ran.code = exit_code::worst(ran.code, error.exit_code());
                let terraform_output = match &error {
                    Error::TerraformFailed(failure) => failure.tail.clone(),
                    _ => Vec::new(),
                };
                let applied =
                    apply_output
                        .zip(planned.as_ref())
                        .map(|(output, facts)| ApplyProgress {
                            done: report::changes_completed(&output),
                            total: facts.counts.actions(),
                        });
                let failure = Failure {
                    service: name,
                    error: error.to_string(),
                    terraform_output,
                    facts: planned,
                    applied,
                };
                // An apply that failed part way changed things: the report says how far.
                if args.format == ReportFormat::Text && failure.applied.is_some() {
                    print(&report::text::failed_line(&failure))?;
                }
                ran.failures.push(failure);
            }
        }
    }
    Ok(ran)
}

/// What a service's runner kept for the report, taken once it is done.
struct Finished {
    plan_output: Option<String>,
    /// The facts of its plan, for the report of an apply that fails.
    planned: Option<PlanFacts>,
    /// What its apply printed, for how far a failed one got.
    apply_output: Option<String>,
}

/// Before terraform may change anything: the last apply's record goes, so an apply that
/// fails half-way leaves none that a later run could trust.
async fn forget(service: &str, last: Option<&LastApplied>) -> Result<(), Error> {
    let Some(last) = last.filter(|last| last.recorded) else {
        return Ok(());
    };
    last.store.forget().await.map_err(|message| Error::Aws {
        service: service.to_owned(),
        action: "remove the record of the last apply",
        message,
        hint: Some("the credentials need to delete the record beside the state (`s3:DeleteObject` on the state bucket)".into()),
    })
}

/// After a successful apply: what each function runs now, with this run's fingerprint, is
/// the record a later run may skip on. A failure to keep it only costs that later run time.
async fn remember(service: &str, plan: &ServicePlan<'_>, last: &LastApplied, region: &str) {
    let config = crate::aws::sdk_config(region).await;
    let client = aws_sdk_lambda::Client::new(&config);
    let statuses = crate::aws::status::check_all(&client, &plan.vars).await;
    let Some(record) = noop::record(&last.fingerprint, &statuses) else {
        tracing::debug!("{service}: a function does not run what is declared; no record kept");
        return;
    };
    match last.store.write(&record).await {
        Ok(()) => tracing::debug!(
            "{service}: recorded this apply at {}",
            last.store.location()
        ),
        Err(message) => tracing::warn!(
            "{service}: could not record this apply ({message}); the next apply runs terraform"
        ),
    }
}

/// One service: plan, print the text report, and for `apply` (when there are changes and
/// they are approved) apply and clean up old versions. Its summary and exit code.
async fn run_service(
    runner: &mut Runner,
    plan: &ServicePlan<'_>,
    mode: Mode,
    args: &TerraformArgs,
    interrupts: &Interrupts,
    settings: &Settings,
) -> Result<(PlanFacts, u8), Error> {
    let name = &plan.service.name;
    if let Handoff::Save(dir) = &args.handoff {
        handoff::forget(dir, name)?;
    }
    let mut summary = match &args.handoff {
        Handoff::Apply(dir) => {
            let backend = args.terraform.backend();
            handoff::plan_reviewed(runner, dir, plan, &settings.gitops_dir, &backend).await?
        }
        _ => runner.plan(name, &plan.work_dir, &plan.vars).await?,
    };
    if let Handoff::Save(dir) = &args.handoff {
        save_plan(runner, dir, plan, settings, summary.has_changes)?;
    }
    if args.format == ReportFormat::Text {
        print(&report::text::text(&summary, false))?;
    }
    let result = match mode {
        // Drift is a change: the plan reverts it (and the report names it).
        Mode::Plan { detailed_exitcode } if detailed_exitcode && summary.has_changes => {
            exit_code::CHANGES
        }
        Mode::Plan { .. } => exit_code::SUCCESS,
        Mode::Apply { .. } if !summary.has_changes => exit_code::SUCCESS,
        Mode::Apply { auto_approve, .. } => {
            let question = format!("Apply the plan above to `{name}`?");
            if !auto_approve && !prompt::confirm(&question, interrupts).await? {
                return Err(Error::Declined {
                    service: name.clone(),
                });
            }
            runner
                .apply(name, &plan.work_dir)
                .await
                .map_err(|e| handoff::stale_if_state_moved_on(e, name))?;
            tracing::info!("{name}: applied");
            if args.format == ReportFormat::Text {
                print(&report::text::applied_line(&summary))?;
            }
            // Another module may point at numbered versions: only the bundled one is known
            // to reach its functions through the `live` alias alone.
            if args.module_dir.is_none() {
                summary.version_cleanup = Some(clean_up_versions(settings, plan).await);
            }
            exit_code::SUCCESS
        }
    };
    Ok((summary, result))
}

/// `plan --out-dir`: the plan just made, saved with its inputs for `apply --plan-dir`.
fn save_plan(
    runner: &Runner,
    dir: &std::path::Path,
    plan: &ServicePlan<'_>,
    settings: &Settings,
    has_changes: bool,
) -> Result<(), Error> {
    let Some(module) = runner.written_module() else {
        return Ok(());
    };
    let saved = handoff::save(
        dir,
        &handoff::Planned {
            service: plan.service,
            gitops_dir: &settings.gitops_dir,
            work_dir: &plan.work_dir,
            vars: &plan.vars,
            module,
            terraform_version: &runner.terraform().version,
            commit: handoff::gitops_commit(&settings.gitops_dir, runner.child_env()),
            has_changes,
        },
    )?;
    tracing::info!("{}: plan saved in `{}`", plan.service.name, saved.display());
    Ok(())
}

/// After an apply: each function keeps its aliased versions and its newest `keepVersions`.
/// A failure is reported, not fatal: the apply succeeded, and the next one tries again.
async fn clean_up_versions(settings: &Settings, plan: &ServicePlan<'_>) -> VersionCleanup {
    let name = &plan.service.name;
    let config = crate::aws::sdk_config(&settings.aws_region).await;
    let client = aws_sdk_lambda::Client::new(&config);
    let mut cleanup = VersionCleanup::default();
    for deployment in plan.service.deployments() {
        let function = &deployment.function_name;
        match versions::clean_up(&client, function, deployment.keep_versions).await {
            Ok(cleaned) => {
                if !cleaned.deleted.is_empty() {
                    tracing::debug!(
                        "{name}: deleted versions {} of `{function}`",
                        cleaned.deleted.join(", ")
                    );
                }
                cleanup.deleted += cleaned.deleted.len();
            }
            Err(message) => {
                tracing::warn!("{name}: version clean-up stopped: {message}");
                cleanup.error = Some(message);
                break;
            }
        }
    }
    tracing::info!(
        "{name}: version clean-up deleted {} old version(s)",
        cleanup.deleted
    );
    cleanup
}

/// The reports of a run that ended (well or not): stdout, the summary files, annotations,
/// then the pull-request comment. The first error among them is the run's when the run
/// itself succeeded; the others are printed.
async fn finish(
    settings: &Settings,
    args: &TerraformArgs,
    mode: Mode,
    outputs: &Outputs,
    ran: Result<Ran, Error>,
) -> Result<u8, Error> {
    let (ran, early) = match ran {
        Ok(ran) => (ran, None),
        Err(error) if is_interrupt(&error) => return Err(error),
        Err(error) => (Ran::default(), Some(error)),
    };
    let code = early.as_ref().map_or(ran.code, Error::exit_code);
    let run = Report {
        command: mode.command(),
        summaries: &ran.summaries,
        failures: &ran.failures,
        error: early.as_ref(),
        plan_outputs: &ran.plan_outputs,
        exit_code: code,
    };
    let rendering = report::rendering(&run);
    let json = report::json::json(&run);
    let markdown = crate::ci::markdown::document(&rendering, STEP_SUMMARY_LIMIT, "the job's log");

    let mut errors = Vec::new();
    let printed = match args.format {
        ReportFormat::Text => Ok(()),
        ReportFormat::Json => print(&json),
        ReportFormat::Markdown => print(&markdown),
    };
    errors.extend(printed.err());
    errors.extend(outputs.write_files(&markdown, &json).err());
    outputs.annotate(&rendering.annotations);
    if let Some(target) = &outputs.comment {
        if matches!(code, exit_code::INTERRUPTED | exit_code::TERMINATED) {
            tracing::warn!(
                "interrupted: the comment on #{} is left as it was",
                target.number
            );
        } else {
            let client =
                crate::github::Client::new(&settings.github, settings.download_stall_timeout)
                    .with_waits(settings.github_waits);
            let body = crate::ci::comment::body(
                &rendering,
                &target.scope,
                &outputs.elsewhere(),
                &crate::ci::publish::footer(mode.command(), target, outputs.run_url.as_deref()),
            );
            match crate::ci::publish::publish(&client, target, &rendering, &body).await {
                Ok(published) => log_published(target.number, &published),
                Err(source) => errors.push(Error::Ci(CiError::Publish {
                    number: target.number,
                    source,
                    code,
                })),
            }
        }
    }
    let mut errors = errors.into_iter();
    let first = match early {
        Some(error) => Some(error),
        None => errors.next(),
    };
    for error in errors {
        eprint!("{}", error::render(&error));
    }
    match first {
        Some(error) => Err(error),
        None => Ok(code),
    }
}

fn log_published(number: u64, published: &crate::ci::publish::Published) {
    use crate::ci::publish::Published;
    match published {
        Published::Created { url } => {
            tracing::info!("commented on #{number}: {}", url.as_deref().unwrap_or(""))
        }
        Published::Updated { url } => {
            tracing::info!(
                "updated the comment on #{number}: {}",
                url.as_deref().unwrap_or("")
            )
        }
        Published::Skipped => {}
    }
}

fn is_interrupt(error: &Error) -> bool {
    matches!(
        error,
        Error::Interrupted { .. }
            | Error::InterruptedLocked { .. }
            | Error::InterruptedKilled { .. }
    )
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

fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
