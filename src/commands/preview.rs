//! `lambda-gitops preview set|remove|prune`: a pull request's preview, from creation to
//! removal. `set` creates `environments/preview/pr-<N>/services/<service>.values.yaml` or
//! edits it in place; `remove` deletes it, and the `pr-<N>` directory once nothing else is
//! left in it; `prune` removes, as `remove` does, every preview whose pull request GitHub
//! reports closed (`--closed`) or whose file has not changed for a while (`--older-than`).

use std::collections::BTreeSet;

use crate::error::Error;
use crate::exit_code;
use crate::gitops::{layout, release, Change};
use crate::problem::excerpt;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;
use crate::run::edit::{self, describe, service_arg, FileChange, Session};
use crate::run::prune;
use crate::settings::Settings;
use crate::settings::{PreviewSetSettings, PreviewSettings, PruneSettings};

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

pub async fn prune(
    settings: &Settings,
    args: PruneSettings,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    let mut session = Session::open(settings)?;
    let candidates = prune::candidates(&session, &args.services)?;
    if candidates.is_empty() {
        tracing::info!("no Lambda previews to look at");
        return Ok(exit_code::SUCCESS);
    }
    let reasons = prune::reasons(settings, &args, &session, &candidates, &interrupts, &env).await?;
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
