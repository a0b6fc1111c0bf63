//! `lambda-gitops rollout`: the rollouts recorded beside each selected service's state,
//! moved on by at most one step each (or aborted or completed now, as asked) —
//! [`crate::run::rollout::advance`] — and reported: a line per rollout on stdout (or one
//! JSON document with `schemaVersion`), a GitHub annotation for an abort. With `--wait` it
//! goes on until none is in progress, sleeping until the next step is due. Exit 3 when an
//! alarm rolled a rollout back. No terraform.

use serde::Serialize;

use crate::ci::annotations::Annotation;
use crate::error::Error;
use crate::exit_code;
use crate::process::interrupts::Interrupts;
use crate::report::format::ListFormat;
use crate::run::backend_objects::StateHome;
use crate::run::rollout::advance::{self, Action, Moved};
use crate::run::rollout::record::RolloutState;
use crate::settings::{RolloutSettings, Settings};

/// How long `--wait` sleeps at most between passes (an alarm is read again each pass).
const MAX_SLEEP: u64 = 60;

pub async fn run(
    settings: &Settings,
    args: RolloutSettings,
    interrupts: Interrupts,
) -> Result<u8, Error> {
    let repo = super::load_repo(settings)?;
    if settings.aws_region.is_empty() {
        return Err(Error::NoRegion);
    }
    let selected = super::select(&repo, &args.services)?;
    let names: Vec<&str> = selected.iter().map(|s| s.name.as_str()).collect();
    args.terraform.backend.check_one_state_per_service(&names)?;
    let root = crate::run::setup::lock_work_root(settings, &args.terraform, &interrupts).await?;
    let mut code = exit_code::SUCCESS;
    let mut report = Vec::new();
    loop {
        let (moved, worst) = pass(settings, &args, &root, &names).await?;
        code = exit_code::worst(code, worst);
        let waiting = wake_in(&moved);
        report.extend(moved);
        let Some(seconds) = waiting.filter(|_| args.wait) else {
            break;
        };
        tracing::info!("the next rollout step is due in {seconds}s: waiting");
        let sleep = tokio::time::sleep(std::time::Duration::from_secs(seconds));
        if let Err(signal) = interrupts.guard(sleep).await {
            return Err(Error::Interrupted {
                signal,
                terraform_ran: false,
            });
        }
    }
    publish(settings, &args, &report, code)?;
    Ok(code)
}

/// One pass over the services: each rollout in progress moved on, shown as it moves; one
/// service's failure stops neither the others nor the report. The moves and the worst code.
async fn pass(
    settings: &Settings,
    args: &RolloutSettings,
    root: &crate::workdir::WorkRoot,
    services: &[&str],
) -> Result<(Vec<Moved>, u8), Error> {
    let version = format!("lambda-gitops {}", env!("CARGO_PKG_VERSION"));
    let (region, backend) = (&settings.aws_region, &args.terraform.backend);
    let (mut moved, mut code) = (Vec::new(), exit_code::SUCCESS);
    for service in services {
        let work = root.service(service)?;
        let home = StateHome::for_service(backend, service, &work.path, region).await;
        let (request, env) = (args.request, args.environment);
        match advance::service(service, &home, region, &version, request, env).await {
            Ok(done) => moved.extend(done),
            Err(error) => {
                eprint!("{}", crate::error::render(&error));
                code = exit_code::worst(code, error.exit_code());
            }
        }
    }
    for one in &moved {
        if one.rolled_back() {
            code = exit_code::worst(code, exit_code::ROLLED_BACK);
            if settings.ci.github_actions {
                eprintln!("{}", abort_annotation(one).command(None));
            }
        }
        if args.format == ListFormat::Text {
            crate::run::print(&format!("{}\n", line(one)))?;
        }
    }
    Ok((moved, code))
}

/// The JSON on stdout (`--format json`), the summary files and the job summary.
fn publish(
    settings: &Settings,
    args: &RolloutSettings,
    report: &[Moved],
    code: u8,
) -> Result<(), Error> {
    if report.is_empty() {
        tracing::info!("no rollout in progress");
    }
    let json = serde_json::to_string_pretty(&Json {
        schema_version: 1,
        command: "rollout",
        exit_code: code,
        rollouts: report,
    })
    .expect("the report serializes")
        + "\n";
    if args.format == ListFormat::Json {
        crate::run::print(&json)?;
    }
    let outputs = crate::ci::Outputs::resolve(&settings.ci, &args.outputs, &[], false)?;
    outputs.write_files(&markdown(report), &json)?;
    Ok(())
}

/// The job summary: one row per rollout.
fn markdown(report: &[Moved]) -> String {
    use crate::report::cell;
    let mut text = String::from("## lambda-gitops rollout\n\n");
    if report.is_empty() {
        text.push_str("No rollout in progress.\n");
        return text;
    }
    text.push_str("| service | deployment | rollout | now |\n|---|---|---|---|\n");
    for moved in report {
        text.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&moved.service),
            cell(&moved.deployment),
            cell(&span(&moved.rollout)),
            cell(&now(moved))
        ));
    }
    text
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Json<'a> {
    schema_version: u32,
    command: &'static str,
    exit_code: u8,
    rollouts: &'a [Moved],
}

/// Seconds until a rollout still in progress can take its next step; `None`: none is.
fn wake_in(moved: &[Moved]) -> Option<u64> {
    let now = crate::run::rollout::record::now();
    moved
        .iter()
        .filter(|m| m.in_progress())
        .map(|m| match m.action {
            Action::Waited { due } => due.saturating_sub(now),
            // Held by an alarm without data, or another run's lock: no sooner than a minute.
            Action::Held { .. } | Action::Locked => MAX_SLEEP,
            _ => m.rollout.next_due().saturating_sub(now),
        })
        .min()
        .map(|seconds| seconds.clamp(1, MAX_SLEEP))
}

/// One rollout after this run, for a person.
pub fn line(moved: &Moved) -> String {
    format!(
        "{} {}: {}: {}",
        moved.service,
        moved.deployment,
        span(&moved.rollout),
        now(moved)
    )
}

/// `canary 1.0.0 → 1.1.0`: the strategy and the versions it shifts between.
pub fn span(rollout: &RolloutState) -> String {
    format!(
        "{} {} → {}",
        rollout.config.strategy.name(),
        rollout.from.gitops_version,
        rollout.to.gitops_version
    )
}

/// Where a rollout stands after this run: the traffic split, a step taken, why it holds.
fn now(moved: &Moved) -> String {
    let rollout = &moved.rollout;
    let (from, to) = (&rollout.from, &rollout.to);
    let split = format!(
        "{}% on version {} ({}), the rest on {} ({})",
        rollout.weight(),
        to.version,
        to.gitops_version,
        from.version,
        from.gitops_version
    );
    match &moved.action {
        Action::Waited { due } => format!("{split}; next step due {}", utc(*due)),
        Action::Held { alarms } => format!("held at {split}: {}", alarms.join(", ")),
        Action::Advanced { .. } => {
            format!("now {split}; next step due {}", utc(rollout.next_due()))
        }
        Action::Completed { forced } => format!(
            "completed: all traffic on version {} ({}){}",
            to.version,
            to.gitops_version,
            if *forced {
                ", finished early by `rollout --complete`"
            } else {
                ""
            }
        ),
        Action::Aborted { alarm, reason } => format!(
            "rolled back: {}; all traffic on version {} ({}) again",
            match alarm {
                Some(alarm) => format!("`{alarm}` is in ALARM ({reason})"),
                None => reason.clone(),
            },
            from.version,
            from.gitops_version
        ),
        Action::Locked => "another run holds the state's lock; left to it".into(),
    }
}

fn abort_annotation(moved: &Moved) -> Annotation {
    Annotation::error(
        format!(
            "{} {}: rollout rolled back",
            moved.service, moved.deployment
        ),
        line(moved),
    )
}

/// Unix seconds as `2026-12-06 14:05 UTC`, as the report writes a time.
pub fn utc(seconds: u64) -> String {
    use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
    let text = DateTime::from_secs(seconds as i64)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    crate::report::text::utc_minute(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Rollout, Strategy};
    use crate::run::rollout::record::{Side, Status};

    #[test]
    fn the_job_summary_says_what_a_rollout_did_and_a_time_reads_as_the_report_writes_it() {
        let side = |version: &str, gitops: &str| Side {
            version: version.into(),
            gitops_version: gitops.into(),
            code_sha256: "x=".into(),
        };
        let completed = Moved {
            service: "svc".into(),
            deployment: "production".into(),
            action: Action::Completed { forced: false },
            rollout: RolloutState {
                function_name: "svc-prod".into(),
                config: Rollout {
                    strategy: Strategy::Canary,
                    ..Rollout::default()
                },
                from: side("3", "0.1.6"),
                to: side("4", "0.1.7"),
                step: 1,
                started_at: 0,
                stepped_at: 0,
                status: Status::Completed {
                    at: 0,
                    forced: false,
                },
            },
        };
        let summary = markdown(&[completed]);
        assert!(
            summary.contains(
                "| `canary 0.1.6 → 0.1.7` | `completed: all traffic on version 4 (0.1.7)` |"
            ),
            "{summary}"
        );
        assert_eq!(utc(1_796_565_900), "2026-12-06 14:05 UTC");
    }
}
