//! Which previews `preview prune` removes, and why: every Lambda preview of the selected
//! services, each kept unless GitHub reports its pull request closed (`--closed`) or its
//! file has not changed for longer than `--older-than` (its last commit, else its
//! modification time). A preview whose fate cannot be told is kept, with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::github::pulls::PrState;
use crate::gitops::layout;
use crate::problem::excerpt;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::run::edit::{service_arg, Session};
use crate::settings::{PruneSettings, Settings};
use crate::validate::rules;

/// A Lambda preview file that prune may remove.
pub struct Candidate {
    pub pr: u64,
    pub relative: PathBuf,
    /// As shown in messages.
    pub shown: String,
}

/// Every Lambda preview of `services` (of every Lambda service when empty), by pull
/// request. A named service that is not a valid Lambda service is an error.
pub fn candidates(session: &Session, services: &[String]) -> Result<Vec<Candidate>, Error> {
    for service in services {
        service_arg(service)?;
    }
    let (checked, problems) = session.validate();
    for service in services {
        if !checked.services.contains_key(service) {
            session.lambda_service(service)?;
        }
    }
    if !problems.is_empty() {
        tracing::debug!(
            "the gitops dir has {} problem(s) before pruning",
            problems.len()
        );
    }
    let wanted = |service: &String| {
        checked.services.contains_key(service)
            && (services.is_empty() || services.contains(service))
    };
    let mut candidates: Vec<Candidate> = session
        .tree
        .previews
        .iter()
        .filter(|preview| wanted(&preview.service))
        .filter_map(|preview| {
            let pr = rules::preview_dir(&preview.dir).ok()?;
            let relative = layout::preview_values(pr, &preview.service);
            Some(Candidate {
                pr,
                shown: excerpt(&session.gitops.shown(&relative).display().to_string()),
                relative,
            })
        })
        .collect();
    candidates.sort_by(|a, b| (a.pr, &a.relative).cmp(&(b.pr, &b.relative)));
    Ok(candidates)
}

/// Why each candidate goes, by its index; the others are kept.
pub async fn reasons(
    settings: &Settings,
    args: &PruneSettings,
    session: &Session,
    candidates: &[Candidate],
    interrupts: &Interrupts,
    env: &ChildEnv,
) -> Result<BTreeMap<usize, String>, Error> {
    let mut reasons = BTreeMap::new();
    if args.closed {
        closed(settings, args, candidates, interrupts, &mut reasons).await?;
    }
    if let Some(age) = args.older_than {
        older_than(age, session, candidates, env, &mut reasons);
    }
    Ok(reasons)
}

/// `--closed`: the candidates whose pull request GitHub reports merged or closed.
async fn closed(
    settings: &Settings,
    args: &PruneSettings,
    candidates: &[Candidate],
    interrupts: &Interrupts,
    reasons: &mut BTreeMap<usize, String>,
) -> Result<(), Error> {
    let repository = args
        .repo
        .clone()
        .or_else(|| settings.ci.repository.clone())
        .ok_or(Error::NoRepository)?;
    rules::repository(&repository).map_err(|message| Error::Argument {
        name: "--repo",
        message: message
            .find('`')
            .map_or(message.clone(), |i| message[i..].to_owned()),
    })?;
    let numbers: BTreeSet<u64> = candidates.iter().map(|c| c.pr).collect();
    let client = crate::github::Client::new(&settings.github, settings.download_stall_timeout)
        .with_waits(settings.github_waits);
    let answer = interrupts
        .guard(client.pull_request_states(&repository, &numbers))
        .await?
        .map_err(|source| Error::Github {
            action: format!("ask GitHub which pull requests of `{repository}` are closed"),
            source,
        })?;
    tracing::info!(
        "asked GitHub about {} pull request(s) of `{repository}` in {} request(s)",
        numbers.len(),
        answer.requests
    );
    for (i, candidate) in candidates.iter().enumerate() {
        match answer.states.get(&candidate.pr) {
            Some(PrState::Closed { merged }) => {
                let how = if *merged { "merged" } else { "closed" };
                reasons.insert(i, format!("pull request #{} is {how}", candidate.pr));
            }
            Some(PrState::Missing) => tracing::warn!(
                "`{}`: GitHub found no pull request #{} in `{repository}` (HTTP 404): there is none, or the repository is private and the token may be missing access to it (reading pull requests needs `pull-requests: read`); the preview is kept",
                candidate.shown,
                candidate.pr
            ),
            Some(PrState::NotClosed) | None => {}
        }
    }
    Ok(())
}

/// `--older-than`: the candidates not yet going whose file last changed before `age` ago.
fn older_than(
    age: Duration,
    session: &Session,
    candidates: &[Candidate],
    env: &ChildEnv,
    reasons: &mut BTreeMap<usize, String>,
) {
    let now = SystemTime::now();
    for (i, candidate) in candidates.iter().enumerate() {
        if reasons.contains_key(&i) {
            continue;
        }
        let Some((changed, how)) = last_change(session, &candidate.relative, env) else {
            tracing::warn!(
                "`{}`: could not tell when it last changed; kept",
                candidate.shown
            );
            continue;
        };
        let elapsed = now.duration_since(changed).unwrap_or(Duration::ZERO);
        if elapsed > age {
            reasons.insert(i, format!("{how} {} ago", days(elapsed)));
        }
    }
}

/// When the file last changed: its last commit in a git work tree, else — untracked, or
/// no git — its modification time.
fn last_change(
    session: &Session,
    relative: &Path,
    env: &ChildEnv,
) -> Option<(SystemTime, &'static str)> {
    let root = session.gitops.canonical();
    if let Some(committed) = crate::git::last_commit_time(root, relative, env) {
        return Some((committed, "last committed"));
    }
    let modified = std::fs::metadata(root.join(relative))
        .ok()?
        .modified()
        .ok()?;
    Some((modified, "last modified"))
}

fn days(elapsed: Duration) -> String {
    let hours = elapsed.as_secs() / 3_600;
    if hours < 48 {
        format!("{hours} hours")
    } else {
        format!("{} days", hours / 24)
    }
}
