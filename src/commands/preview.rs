//! `lambda-gitops preview set|remove|prune`: a pull request's preview, from creation to
//! removal. `set` creates `environments/preview/pr-<N>/services/<service>.values.yaml` or
//! edits it in place; `remove` deletes it, and the `pr-<N>` directory once nothing else is
//! left in it; `prune` removes, as `remove` does, every preview whose pull request GitHub
//! reports closed (`--closed`) or whose file has not changed for a while (`--older-than`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::exit_code;
use crate::github::pulls::PrState;
use crate::gitops::{layout, release, Change};
use crate::problem::excerpt;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::run::edit::{self, describe, service_arg, FileChange, Session};
use crate::settings::Settings;
use crate::settings::{PreviewSetSettings, PreviewSettings, PruneSettings};
use crate::validate::rules;

pub fn set(settings: &Settings, args: PreviewSetSettings) -> Result<u8, Error> {
    let service = service_arg(&args.preview.service)?;
    let pr = args.preview.pr;
    let release = edit::release(&args.version, args.sha.as_deref())?;
    let s3_key = args.s3_key.as_deref();
    let mut session = Session::open(settings)?;
    session.lambda_service(service)?;
    let relative = layout::preview_values(pr, service);
    let edited = session.edit(&relative, |edit| {
        release.write(edit, true)?;
        if let Some(key) = s3_key {
            edit.set_or_insert(&["lambda", "s3Key"], key)?;
        }
        Ok(())
    })?;
    let (lines, change) = match edited {
        Some(edited) => (edited.lines(), edited.change),
        None => {
            let shown = session.gitops.shown(&relative);
            let new = |key: &str, value: &str| Change {
                key: key.to_owned(),
                old: None,
                new: value.to_owned(),
            };
            let mut changes = vec![new("lambda.version", &release.version)];
            changes.extend(release.sha.iter().map(|sha| new("lambda.commitSha", sha)));
            changes.extend(s3_key.map(|key| new("lambda.s3Key", key)));
            changes.extend(release.sha.iter().map(|sha| new("gitVersion.sha", sha)));
            changes.extend(
                release
                    .short_sha()
                    .map(|short| new("gitVersion.shortSha", short)),
            );
            let mut lines = vec![format!(
                "{}: created",
                excerpt(&shown.display().to_string())
            )];
            lines.extend(describe(&shown, &changes));
            let text = release::new_preview(service, pr, &release, s3_key);
            let change = FileChange::Write {
                relative,
                bytes: text.into_bytes(),
                created: true,
            };
            (lines, Some(change))
        }
    };
    let changes: Vec<_> = change.into_iter().collect();
    session.commit(settings, &changes, false)?;
    super::print_lines(&lines)?;
    Ok(exit_code::SUCCESS)
}

pub fn remove(settings: &Settings, args: PreviewSettings) -> Result<u8, Error> {
    let service = service_arg(&args.service)?;
    let mut session = Session::open(settings)?;
    session.lambda_service(service)?;
    let relative = layout::preview_values(args.pr, service);
    let shown = excerpt(&session.gitops.shown(&relative).display().to_string());
    if session.file(&relative).is_none() && session.refusal(&relative).is_none() {
        tracing::info!("pull request #{} has no preview of `{service}`", args.pr);
        super::print_lines(&[format!("{shown}: unchanged (no such preview)")])?;
        return Ok(exit_code::SUCCESS);
    }
    session.commit(settings, &[FileChange::Remove { relative }], false)?;
    let mut lines = vec![format!("{shown}: removed")];
    lines.extend(removed_dirs(&session, &BTreeSet::from([args.pr]))?);
    super::print_lines(&lines)?;
    Ok(exit_code::SUCCESS)
}

fn removed_dirs(session: &Session, prs: &BTreeSet<u64>) -> Result<Vec<String>, Error> {
    Ok(session
        .remove_empty_preview_dirs(prs)?
        .iter()
        .map(|dir| {
            format!(
                "{}: removed (nothing else was left in it)",
                excerpt(&dir.display().to_string())
            )
        })
        .collect())
}

/// A Lambda preview file that prune may remove.
struct Candidate {
    pr: u64,
    relative: PathBuf,
    shown: String,
}

pub async fn prune(
    settings: &Settings,
    args: PruneSettings,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    for service in &args.services {
        service_arg(service)?;
    }
    let mut session = Session::open(settings)?;
    let (checked, problems) = session.validate();
    for service in &args.services {
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
            && (args.services.is_empty() || args.services.contains(service))
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
    if candidates.is_empty() {
        tracing::info!("no Lambda previews to look at");
        return Ok(exit_code::SUCCESS);
    }

    // Why each candidate goes, by index.
    let mut reasons: BTreeMap<usize, String> = BTreeMap::new();
    if args.closed {
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
    }
    if let Some(age) = args.older_than {
        let now = SystemTime::now();
        for (i, candidate) in candidates.iter().enumerate() {
            if reasons.contains_key(&i) {
                continue;
            }
            let Some((changed, how)) = last_change(&session, &candidate.relative, &env) else {
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
    if reasons.is_empty() {
        tracing::info!("no preview to prune among {}", candidates.len());
        return Ok(exit_code::SUCCESS);
    }

    let changes: Vec<FileChange> = reasons
        .keys()
        .map(|i| FileChange::Remove {
            relative: candidates[*i].relative.clone(),
        })
        .collect();
    session.commit(settings, &changes, args.dry_run)?;
    let verb = if args.dry_run {
        "would be removed"
    } else {
        "removed"
    };
    let mut lines: Vec<String> = reasons
        .iter()
        .map(|(i, reason)| format!("{}: {verb} ({reason})", candidates[*i].shown))
        .collect();
    if !args.dry_run {
        let prs: BTreeSet<u64> = reasons.keys().map(|i| candidates[*i].pr).collect();
        lines.extend(removed_dirs(&session, &prs)?);
    }
    super::print_lines(&lines)?;
    Ok(exit_code::SUCCESS)
}

/// When the file last changed: its last commit (`git log -1 --format=%ct`) in a git work
/// tree, else — untracked, or no git — its modification time.
fn last_change(
    session: &Session,
    relative: &Path,
    env: &ChildEnv,
) -> Option<(SystemTime, &'static str)> {
    let root = session.gitops.canonical();
    if let Some(committed) = last_commit(root, relative, env) {
        return Some((committed, "last committed"));
    }
    let modified = std::fs::metadata(root.join(relative))
        .ok()?
        .modified()
        .ok()?;
    Some((modified, "last modified"))
}

/// git runs with the explicit child environment (no token), stdin from null, in the
/// gitops dir, never prompting and taking no optional locks.
fn last_commit(root: &Path, relative: &Path, env: &ChildEnv) -> Option<SystemTime> {
    let output = Command::new("git")
        .env_clear()
        .envs(env.iter())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(root)
        .args(["log", "-1", "--format=%ct", "--"])
        .arg(relative)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let seconds: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

fn days(elapsed: Duration) -> String {
    let hours = elapsed.as_secs() / 3_600;
    if hours < 48 {
        format!("{hours} hours")
    } else {
        format!("{} days", hours / 24)
    }
}
