//! One service's terraform run: plan (or, with `apply --plan-dir`, a plan checked against
//! the reviewed one), the text report, and for `apply` — when there are changes and they
//! are approved — the apply and the clean-up of old published versions. A plan that gives
//! production a new package carries the proof of the artifact ([`super::artifact`]).

use crate::aws::versions;
use crate::error::Error;
use crate::exit_code;
use crate::process::interrupts::Interrupts;
use crate::report::format::Format;
use crate::report::{self, PlanFacts, VersionCleanup};
use crate::run::prepare::ServicePlan;
use crate::run::runner::Runner;
use crate::run::{artifact, handoff};
use crate::settings::{DeploySettings, Handoff, Mode, Settings};
use crate::terminal::prompt;

/// The service's summary and exit code.
pub async fn run(
    runner: &mut Runner,
    plan: &ServicePlan<'_>,
    args: &DeploySettings,
    interrupts: &Interrupts,
    settings: &Settings,
) -> Result<(PlanFacts, u8), Error> {
    let mut summary = self::plan(runner, plan, args, interrupts, settings).await?;
    if args.format == Format::Text {
        super::print(&report::text::text(&summary, false))?;
    }
    let result = match args.mode {
        // Drift is a change: the plan reverts it (and the report names it).
        Mode::Plan {
            detailed_exitcode, ..
        } if detailed_exitcode && summary.has_changes => exit_code::CHANGES,
        Mode::Plan { .. } => exit_code::SUCCESS,
        Mode::Apply { .. } if !summary.has_changes => {
            // Nothing for terraform; a rollout may still start (a retry) or end.
            super::rollout::after_apply(plan, &settings.aws_region).await?;
            exit_code::SUCCESS
        }
        Mode::Apply { auto_approve, .. } => {
            apply(
                runner,
                plan,
                args,
                auto_approve,
                interrupts,
                settings,
                &mut summary,
            )
            .await?;
            exit_code::SUCCESS
        }
    };
    Ok((summary, result))
}

/// This run's plan of the service, or with `--plan-dir` one checked against the reviewed
/// plan, with the proof of production's new package; with `--out-dir` it is saved.
async fn plan(
    runner: &mut Runner,
    plan: &ServicePlan<'_>,
    args: &DeploySettings,
    interrupts: &Interrupts,
    settings: &Settings,
) -> Result<PlanFacts, Error> {
    let name = &plan.service.name;
    if let Handoff::Save(dir) = &args.handoff {
        handoff::forget(dir, name)?;
    }
    let applies_early = matches!(
        args.mode,
        Mode::Apply {
            auto_approve: true,
            ..
        }
    );
    let early = artifact::read_before_apply(settings, &plan.vars, applies_early, interrupts).await;
    let mut summary = match &args.handoff {
        Handoff::Apply(dir) => {
            let backend = &args.terraform.backend;
            handoff::plan_reviewed(runner, dir, plan, &settings.gitops_dir, backend).await?
        }
        _ => runner.plan(name, &plan.work_dir, &plan.vars).await?,
    };
    artifact::attach(&mut summary, settings, &plan.vars, early, interrupts).await;
    super::rollout::annotate(&mut summary, plan);
    if let Handoff::Save(dir) = &args.handoff {
        save_plan(runner, dir, plan, settings, summary.has_changes)?;
    }
    Ok(summary)
}

/// The approved apply of a plan with changes, then the clean-up of old versions.
async fn apply(
    runner: &mut Runner,
    plan: &ServicePlan<'_>,
    args: &DeploySettings,
    auto_approve: bool,
    interrupts: &Interrupts,
    settings: &Settings,
    summary: &mut PlanFacts,
) -> Result<(), Error> {
    let name = &plan.service.name;
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
    // Before the clean-up: the versions a rollout routes to are then aliased.
    super::rollout::after_apply(plan, &settings.aws_region).await?;
    if args.format == Format::Text {
        super::print(&report::text::applied_line(summary))?;
    }
    // Another module may point at numbered versions: only the bundled one is known to
    // reach its functions through the `live` alias alone.
    if args.module_dir.is_none() {
        summary.version_cleanup = Some(clean_up_versions(settings, plan).await);
    }
    Ok(())
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
            adopted_log_groups: runner.adopted_log_groups(),
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
    let client = crate::aws::lambda_client(&settings.aws_region).await;
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
            Err(error) => {
                tracing::warn!("{name}: version clean-up stopped: {error}");
                cleanup.error = Some(error.to_string());
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
