//! `lambda-gitops status`: does every deployment's function run what the gitops repo
//! declares? Stages 1–3, the credential check (`aws/preflight.rs`: "no AWS credentials"
//! rather than an unreachable API), stage 4 (the packages are staged to know their
//! hashes), then per deployment the Lambda API (`aws::status`): alias `live` → published
//! version, its CodeSha256, the `version` tag. No terraform, no work dir. Exit 0 when all match, 2 when
//! any differs (as `plan --detailed-exitcode`), 1 when a function cannot be read. With the
//! backend settings, the rollout record beside each state is read too: a rollout in progress
//! of the declared version is what `live` should run (the old version, a share on the new
//! one), an aborted one is a difference, and each is shown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::aws::status::{self, DeploymentStatus, StatusError};
use crate::error::Error;
use crate::exit_code;
use crate::process::interrupts::Interrupts;
use crate::render::render;
use crate::report::format::ListFormat;
use crate::run::backend_objects::StateHome;
use crate::run::rollout::record::{RolloutState, Rollouts, Status};
use crate::settings::Settings;
use crate::terminal::progress::Progress;
use crate::terraform::backend::BackendSettings;

pub async fn run(
    settings: &Settings,
    services: Vec<String>,
    format: ListFormat,
    backend: &BackendSettings,
    progress: Arc<dyn Progress>,
    interrupts: Interrupts,
) -> Result<u8, Error> {
    let repo = super::load_repo(settings)?;
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let selected = super::select(&repo, &services)?;
    super::preflight(settings, &selected, false, &interrupts).await?;
    let report = statuses(settings, &selected, backend, progress, &interrupts).await?;
    let unreadable: Vec<&StatusError> = report
        .iter()
        .flat_map(|(_, statuses)| statuses.iter())
        .filter_map(|s| s.running.as_ref().err())
        .filter(|e| !matches!(e, StatusError::NoFunction { .. }))
        .collect();
    let differs = report
        .iter()
        .flat_map(|(_, statuses)| statuses.iter())
        .any(|s| !s.matches());
    let code = match (unreadable.first(), differs) {
        (Some(_), _) => exit_code::ERROR,
        (None, true) => exit_code::CHANGES,
        (None, false) => exit_code::SUCCESS,
    };
    print(&report, format, code)?;
    if let Some(error) = unreadable.first() {
        if let Some(hint) = error.hint() {
            tracing::error!("{error}; hint: {hint}");
        }
    }
    Ok(code)
}

/// Per service, each deployment compared with what its function runs: the packages are
/// staged to know their hashes, then the Lambda API is asked.
async fn statuses(
    settings: &Settings,
    selected: &[&crate::desired::DesiredService],
    backend: &BackendSettings,
    progress: Arc<dyn Progress>,
    interrupts: &Interrupts,
) -> Result<Vec<(String, Vec<DeploymentStatus>)>, Error> {
    let packages: BTreeSet<_> = selected
        .iter()
        .flat_map(|service| service.deployments().map(|d| d.package.clone()))
        .collect();
    let stager = crate::stage::Stager::new(settings.staging())
        .labelled(crate::stage::labels::of(selected.iter().copied()));
    let staged = interrupts
        .guard(stager.stage_all(packages, progress))
        .await?
        .map_err(|errors| Error::Stage { errors })?;
    let client = crate::aws::lambda_client(&settings.aws_region).await;
    let mut report = Vec::new();
    for service in selected {
        let mut vars = render(service, &settings.aws_region, &staged, |_| String::new());
        let rollouts = rollouts(settings, backend, &service.name).await;
        let open = hold(&mut vars, &rollouts);
        let mut statuses = interrupts
            .guard(status::check_all(&client, vars.declared()))
            .await?;
        for status in statuses.iter_mut() {
            if let Some(rollout) = open.get(&status.key.to_string()) {
                explain(status, rollout);
            }
        }
        report.push((service.name.clone(), statuses));
    }
    Ok(report)
}

/// The rollouts recorded beside `service`'s state; none when there is no record, or the
/// backend is one lambda-gitops does not read itself.
async fn rollouts(settings: &Settings, backend: &BackendSettings, service: &str) -> Rollouts {
    let work_dir = settings.work_dir.join(service);
    let home = StateHome::for_service(backend, service, &work_dir, &settings.aws_region).await;
    Rollouts::read(&home).await.unwrap_or_else(|error| {
        tracing::warn!("{service}: the rollout record could not be read: {error}");
        Rollouts::default()
    })
}

/// The rollouts of the declared versions that are in progress or aborted, by deployment;
/// for those in progress, what `live` runs meanwhile (the old version's code) becomes what
/// the deployment should run.
fn hold(vars: &mut crate::render::TfVars, rollouts: &Rollouts) -> BTreeMap<String, RolloutState> {
    let mut open = BTreeMap::new();
    for (key, deployment) in vars.deployments.iter_mut() {
        let Some(rollout) = rollouts.deployments.get(&key.to_string()) else {
            continue;
        };
        let declared = rollout.to.gitops_version == deployment.version
            && rollout.to.code_sha256 == deployment.package.source_code_hash;
        if !declared || matches!(rollout.status, Status::Completed { .. }) {
            continue;
        }
        if rollout.in_progress() {
            deployment.live_code_sha256 = Some(rollout.from.code_sha256.clone());
        }
        open.insert(key.to_string(), rollout.clone());
    }
    open
}

/// A deployment's rollout, on its status: in progress, a note; aborted, a difference.
fn explain(status: &mut DeploymentStatus, rollout: &RolloutState) {
    let line = rollout_line(rollout);
    match rollout.status {
        Status::InProgress if status.differences.is_empty() => status.rollout = Some(line),
        _ => status.differences.push(line),
    }
}

/// `canary 1.0.0 → 1.1.0: 10% on version 7, next step due 2026-12-06 14:05 UTC; alarms: a, b`.
fn rollout_line(rollout: &RolloutState) -> String {
    let alarms = match rollout.config.alarms.is_empty() {
        true => "no alarms".to_owned(),
        false => format!("alarms: {}", rollout.config.alarms.join(", ")),
    };
    let head = super::rollout::span(rollout);
    match &rollout.status {
        Status::Aborted { alarm, reason, .. } => format!(
            "{head} aborted ({}): live runs the old version until the version changes or `apply --retry-rollout`",
            match alarm {
                Some(alarm) => format!("`{alarm}` in ALARM: {reason}"),
                None => reason.clone(),
            }
        ),
        _ => format!(
            "{head} in progress: {}% on version {} (steps {}), next step due {}; {alarms}",
            rollout.weight(),
            rollout.to.version,
            rollout
                .config
                .weights()
                .iter()
                .map(|w| format!("{w}%"))
                .collect::<Vec<_>>()
                .join(" → "),
            crate::commands::rollout::utc(rollout.next_due())
        ),
    }
}

fn print(
    report: &[(String, Vec<DeploymentStatus>)],
    format: ListFormat,
    code: u8,
) -> Result<(), Error> {
    match format {
        ListFormat::Text => super::print_lines(&text(report)),
        ListFormat::Json => {
            let json = serde_json::to_string_pretty(&json(report, code)).expect("serializes");
            super::print_lines(&[json])
        }
    }
}

/// One line a deployment, in columns: service, deployment, function, version, what runs
/// (`live → N`), `ok` or `differs: …`.
fn text(report: &[(String, Vec<DeploymentStatus>)]) -> Vec<String> {
    let rows: Vec<[String; 6]> = report
        .iter()
        .flat_map(|(service, statuses)| {
            statuses.iter().map(move |status| {
                let at = match &status.running {
                    Ok(running) if running.qualifier == status::LIVE_ALIAS => {
                        format!("live → {}", running.function_version)
                    }
                    Ok(_) => "$LATEST".to_owned(),
                    Err(_) => "-".to_owned(),
                };
                let outcome = match (status.matches(), &status.rollout) {
                    (true, Some(rollout)) => format!("ok: {rollout}"),
                    (true, None) => "ok".to_owned(),
                    (false, _) => format!("differs: {}", status.differences.join("; ")),
                };
                [
                    service.clone(),
                    status.key.to_string(),
                    status.function_name.clone(),
                    status.version.clone(),
                    at,
                    outcome,
                ]
            })
        })
        .collect();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                line.push_str(&format!("{cell:width$}  "));
            }
            line.push_str(&row[5]);
            line
        })
        .collect()
}

#[derive(Serialize)]
struct StatusJson<'a> {
    format_version: &'static str,
    exit_code: u8,
    deployments: Vec<DeploymentJson<'a>>,
}

#[derive(Serialize)]
struct DeploymentJson<'a> {
    service: &'a str,
    deployment: String,
    function_name: &'a str,
    version: &'a str,
    code_sha256: &'a str,
    running: Option<RunningJson<'a>>,
    matches: bool,
    differences: &'a [String],
    /// A rollout of the declared version in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<&'a str>,
}

#[derive(Serialize)]
struct RunningJson<'a> {
    qualifier: &'a str,
    function_version: &'a str,
    version_tag: Option<&'a str>,
    code_sha256: &'a str,
}

fn json(report: &[(String, Vec<DeploymentStatus>)], code: u8) -> StatusJson<'_> {
    StatusJson {
        format_version: "1",
        exit_code: code,
        deployments: report
            .iter()
            .flat_map(|(service, statuses)| {
                statuses.iter().map(move |s| DeploymentJson {
                    service,
                    deployment: s.key.to_string(),
                    function_name: &s.function_name,
                    version: &s.version,
                    code_sha256: &s.code_sha256,
                    running: s.running.as_ref().ok().map(|r| RunningJson {
                        qualifier: &r.qualifier,
                        function_version: &r.function_version,
                        version_tag: r.version_tag.as_deref(),
                        code_sha256: &r.code_sha256,
                    }),
                    matches: s.matches(),
                    differences: &s.differences,
                    rollout: s.rollout.as_deref(),
                })
            })
            .collect(),
    }
}
