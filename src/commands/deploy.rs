//! `lambda-gitops plan` and `apply`: the whole pipeline. Validation and staging finish for
//! every selected service before terraform starts at all; then each service is planned
//! (and applied) in turn, its report printed on stdout as it completes. Across services the
//! worst outcome sets the exit code: error > changes > no changes. Before anything is
//! staged, several services sharing one state are refused and the work dir is locked for
//! the whole run.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::child_env::ChildEnv;
use crate::cli::{ReportFormat, TerraformArgs};
use crate::error::{self, Error};
use crate::exit_code;
use crate::interrupts::Interrupts;
use crate::progress::Progress;
use crate::prompt;
use crate::report::{self, Failure, Summary};
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
    // State left by services removed from the repo: a warning, never an error (orphans.rs).
    crate::orphans::warn(settings, &repo, &backend).await;
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
        },
        interrupts.clone(),
    );

    let mut code = exit_code::SUCCESS;
    let mut summaries = Vec::new();
    let mut failures = Vec::new();
    for service in &prepared {
        let name = &service.service.name;
        let outcome = async {
            let summary = runner.plan(name, &service.work_dir).await?;
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
                    if !auto_approve && !prompt::confirm(&question, &interrupts).await? {
                        return Err(Error::Declined {
                            service: name.clone(),
                        });
                    }
                    runner.apply(name, &service.work_dir).await?;
                    tracing::info!("{name}: applied");
                    exit_code::SUCCESS
                }
            };
            Ok::<_, Error>((summary, result))
        }
        .await;
        match outcome {
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
    match args.format {
        ReportFormat::Text => {}
        ReportFormat::Json => {
            let mut json = serde_json::to_string_pretty(&ReportJson {
                format_version: "1",
                exit_code: code,
                services: &summaries,
                failures: &failures,
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
            print(&report::markdown(title, &summaries, &failures))?;
        }
    }
    Ok(code)
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
