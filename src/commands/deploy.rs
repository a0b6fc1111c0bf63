//! `lambda-gitops plan` and `apply`: the whole pipeline. Validation and staging finish for
//! every selected service before terraform starts at all; then each service is planned
//! (and applied) in turn, its report printed on stdout as it completes. Across services the
//! worst outcome sets the exit code: error > changes > no changes. Before anything is
//! staged, several services sharing one state are refused and the work dir is locked for
//! the whole run. After each apply, old published versions are cleaned up (`aws::versions`).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::aws::versions;
use crate::child_env::ChildEnv;
use crate::cli::{ReportFormat, TerraformArgs};
use crate::error::{self, Error};
use crate::exit_code;
use crate::interrupts::Interrupts;
use crate::prepare::ServicePlan;
use crate::progress::Progress;
use crate::prompt;
use crate::report::{self, Failure, Summary, VersionCleanup};
use crate::settings::Settings;
use crate::terraform::backend::BackendSettings;
use crate::terraform::binary::Terraform;
use crate::terraform::runner::{Runner, RunnerSettings};
use crate::workdir::WorkRoot;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Plan { detailed_exitcode: bool },
    Apply { auto_approve: bool },
}

pub async fn run(
    settings: &Settings,
    args: TerraformArgs,
    mode: Mode,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    let interactive = std::io::stdin().is_terminal();
    if let Mode::Apply {
        auto_approve: false,
    } = mode
    {
        if !interactive {
            return Err(Error::ApprovalRequired);
        }
    }
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let repo = super::load_repo(settings)?;
    let services = super::select(&repo, &args.services)?;
    let backend = BackendSettings {
        backend: args.backend,
        config: args.backend_config.clone(),
    };
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    backend.check_one_state_per_service(&names)?;
    if let Some(dir) = &args.module_dir {
        crate::workdir::refuse_inside_checkout("`--module-dir`", dir, &settings.checkout)?;
    }
    let root = WorkRoot::lock(
        &settings.work_dir,
        &settings.checkout,
        args.lock_timeout.duration,
        || interrupts.first(),
    )
    .await?;
    let prepared = interrupts
        .guard(crate::prepare::prepare(
            settings, &root, &services, progress,
        ))
        .await??;

    let timeout = args.terraform_timeout;
    let terraform = interrupts
        .guard(Terraform::locate(
            args.terraform_bin.as_deref(),
            &env,
            timeout,
        ))
        .await??;
    let mut runner = Runner::new(
        RunnerSettings {
            terraform,
            module_dir: args.module_dir.clone(),
            backend,
            lock_timeout: args.lock_timeout.text.clone(),
            grace: std::time::Duration::from_secs(args.grace_period),
            timeout,
            color: settings.color,
            echo: true,
            env,
            aws_region: settings.aws_region.clone(),
        },
        interrupts.clone(),
    );

    let (code, summaries, failures) =
        run_services(&mut runner, &prepared, mode, &args, &interrupts, settings).await;
    print_report(args.format, mode, code, &summaries, &failures)?;
    Ok(code)
}

/// Every service in turn; an interrupt stops the rest. The worst exit code, the summaries
/// and the failures.
async fn run_services(
    runner: &mut Runner,
    prepared: &[ServicePlan<'_>],
    mode: Mode,
    args: &TerraformArgs,
    interrupts: &Interrupts,
    settings: &Settings,
) -> (u8, Vec<Summary>, Vec<Failure>) {
    let mut code = exit_code::SUCCESS;
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    for plan in prepared {
        let name = &plan.service.name;
        match run_service(runner, plan, mode, args, interrupts, settings).await {
            Ok((summary, result)) => {
                code = exit_code::worst(code, result);
                summaries.push(summary);
            }
            Err(error) => {
                let stop = matches!(
                    error,
                    Error::Interrupted { .. }
                        | Error::InterruptedLocked { .. }
                        | Error::InterruptedKilled { .. }
                );
                code = exit_code::worst(code, error.exit_code());
                eprint!("{}", error::render(&error));
                failures.push(Failure {
                    service: name.clone(),
                    error: error.to_string(),
                });
                if stop {
                    break;
                }
            }
        }
    }
    (code, summaries, failures)
}

/// The report of the whole run on stdout, for the formats printed at the end (text is
/// printed per service as it completes).
fn print_report(
    format: ReportFormat,
    mode: Mode,
    code: u8,
    summaries: &[Summary],
    failures: &[Failure],
) -> Result<(), Error> {
    match format {
        ReportFormat::Text => {}
        ReportFormat::Json => {
            let mut json = serde_json::to_string_pretty(&ReportJson {
                format_version: "1",
                exit_code: code,
                services: summaries,
                failures,
            })
            .expect("the report serializes");
            json.push('\n');
            print(&json)?;
        }
        ReportFormat::Markdown => {
            let title = match mode {
                Mode::Plan { .. } => "plan",
                Mode::Apply { .. } => "apply",
            };
            print(&report::markdown(title, summaries, failures))?;
        }
    }
    Ok(())
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
) -> Result<(Summary, u8), Error> {
    let name = &plan.service.name;
    let mut summary = runner.plan(name, &plan.work_dir, &plan.vars).await?;
    if args.format == ReportFormat::Text {
        print(&report::text(&summary))?;
    }
    let result = match mode {
        Mode::Plan { detailed_exitcode } if detailed_exitcode && summary.has_changes => {
            exit_code::CHANGES
        }
        Mode::Plan { .. } => exit_code::SUCCESS,
        Mode::Apply { .. } if !summary.has_changes => exit_code::SUCCESS,
        Mode::Apply { auto_approve } => {
            let question = format!("Apply the plan above to `{name}`?");
            if !auto_approve && !prompt::confirm(&question, interrupts).await? {
                return Err(Error::Declined {
                    service: name.clone(),
                });
            }
            runner.apply(name, &plan.work_dir).await?;
            tracing::info!("{name}: applied");
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

#[derive(Serialize)]
struct ReportJson<'a> {
    format_version: &'static str,
    exit_code: u8,
    services: &'a [Summary],
    failures: &'a [Failure],
}

fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
