//! `plan` and `apply` up to the report: validation and staging finish for every selected
//! service before terraform starts at all. Before anything is staged, several services
//! sharing one state are refused, the checks before terraform run once
//! (`aws/preflight.rs`: credentials, and with the bundled module each distinct bucket) and
//! the work dir is locked for the whole run. A service with nothing changed since its last
//! apply is reported without terraform ([`super::noop`]) — by `plan` too, unless
//! `--refresh` — the others run through [`super::services`].

use std::io::IsTerminal;
use std::sync::Arc;

use crate::error::Error;
use crate::exit_code;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::report::format::Format;
use crate::report::{Failure, PlanFacts};
use crate::run::handoff;
use crate::run::last_applied::LastApplied;
use crate::run::prepare::ServicePlan;
use crate::run::runner::RunnerSettings;
use crate::run::services::{Ran, ToRun};
use crate::settings::{DeploySettings, Handoff, Mode, Settings};
use crate::terminal::progress::Progress;

/// The pipeline: everything up to the reports at the end.
pub async fn execute(
    settings: &Settings,
    args: &DeploySettings,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<Ran, Error> {
    if args.mode.asks() && !std::io::stdin().is_terminal() {
        return Err(Error::ApprovalRequired);
    }
    // No Lambda service here is the first thing to say, before any AWS setting.
    let repo = super::repo::load_repo(settings)?;
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let services = super::repo::select(&repo, &args.services)?;
    let backend = &args.terraform.backend;
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    backend.check_one_state_per_service(&names)?;
    // Another module may create its buckets itself: only the bundled one's are checked.
    let buckets = args.module_dir.is_none();
    super::setup::preflight(settings, &services, buckets, &interrupts).await?;
    // State left by services removed from the repo: a warning, never an error (orphans.rs).
    super::orphans::warn(settings, &repo, backend).await;
    if let Some(dir) = &args.module_dir {
        crate::workdir::refuse_inside_checkout("`--module-dir`", dir, &settings.checkout)?;
    }
    let root = super::setup::lock_work_root(settings, &args.terraform, &interrupts).await?;
    let mut prepared = interrupts
        .guard(super::prepare::prepare(
            settings, &root, &services, progress,
        ))
        .await??;
    // Another module knows nothing of rollouts: `live` is its own.
    if args.module_dir.is_none() {
        let region = &settings.aws_region;
        let retry = args.retry_rollout;
        super::rollout::plan(&mut prepared, backend, region, retry).await?;
    }
    run_prepared(settings, args, &prepared, interrupts, env).await
}

/// The prepared services: those with nothing to do reported at once, the others run.
async fn run_prepared(
    settings: &Settings,
    args: &DeploySettings,
    prepared: &[ServicePlan<'_>],
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<Ran, Error> {
    // A service saved as unchanged names the commit reviewed, as a saved plan does.
    let commit = match &args.handoff {
        Handoff::Save(_) => handoff::gitops_commit(&settings.gitops_dir, &env),
        _ => None,
    };
    // Providers: one plugin cache for every work dir and run, a mirror when one is given.
    let terraform_env = super::setup::terraform_env(settings, &args.terraform, env)?;
    let terraform_path = crate::terraform::binary::find(args.terraform.terraform_bin.as_deref())?;
    // Nothing changed since the last apply: no terraform at all.
    let last_applied =
        super::last_applied::for_services(settings, args, prepared, &terraform_path).await;
    let (mut ran, to_run) = skip_unchanged(args, prepared, last_applied, commit)?;
    if to_run.is_empty() {
        return Ok(ran);
    }
    let runner =
        super::setup::runner_settings(settings, &args.terraform, terraform_env, &interrupts)
            .await?;
    let runner = RunnerSettings {
        module_dir: args.module_dir.clone(),
        ..runner
    };
    let services = super::services::run(&runner, to_run, args, &interrupts, settings).await?;
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

/// Services whose last apply is what this run would do are reported as declared (with
/// `--out-dir`, saved as such); a service the review found unchanged and that no longer is
/// fails; the others are returned to run — with their last apply's record for `apply`
/// only, as `plan` leaves the record alone.
fn skip_unchanged<'p, 'a>(
    args: &DeploySettings,
    prepared: &'p [ServicePlan<'a>],
    last_applied: Vec<Option<LastApplied>>,
    commit: Option<String>,
) -> Result<(Ran, Vec<ToRun<'p, 'a>>), Error> {
    let mut ran = Ran::default();
    let mut to_run = Vec::new();
    for (plan, last) in prepared.iter().zip(last_applied) {
        let name = &plan.service.name;
        // A rollout to start or end is work for `apply`, whatever the record says.
        let acts = plan.rollouts.as_ref().is_some_and(|r| r.acts());
        match last.as_ref().map(LastApplied::skips) {
            Some(Ok(true)) if !acts => {
                let last = last.expect("a decision has its record");
                tracing::info!(
                    "{name}: no changes since the last apply ({}); terraform not started",
                    last.store.location()
                );
                if let Handoff::Save(dir) = &args.handoff {
                    let saved =
                        handoff::save_unchanged(dir, name, &last.fingerprint, commit.clone())?;
                    tracing::info!("{name}: saved as unchanged in `{}`", saved.display());
                }
                let mut facts = PlanFacts::checked_against_last_apply(name, &plan.vars);
                super::rollout::annotate(&mut facts, plan);
                if args.format == Format::Text {
                    super::print(&crate::report::text::text(&facts, false))?;
                }
                ran.summaries.push(facts);
            }
            Some(Err(reason)) => {
                ran.code = exit_code::worst(ran.code, exit_code::ERROR);
                ran.failures.push(not_reviewed(name, &reason));
            }
            _ => to_run.push((
                plan,
                last.filter(|_| matches!(args.mode, Mode::Apply { .. })),
            )),
        }
    }
    Ok((ran, to_run))
}

/// `apply --plan-dir`: the review found `service` unchanged since its last apply, and now
/// it is not (`reason`). Nothing of it is applied; the error is shown as it happens.
fn not_reviewed(service: &str, reason: &str) -> Failure {
    let error = Error::StalePlan {
        service: service.to_owned(),
        reasons: vec![format!(
            "the review found no changes since the last apply, checked without terraform, and now {reason}; what would be applied was never reviewed"
        )],
    };
    eprint!("{}", crate::error::render(&error));
    Failure {
        service: service.to_owned(),
        error: error.to_string(),
        terraform_output: Vec::new(),
        facts: None,
        applied: None,
    }
}
