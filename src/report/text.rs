//! The terminal report of one service: [`PlanFacts`] as plain text, printed on stdout as
//! each service completes — a headline, a line per deployment with what changes in Lambda
//! terms, then packages, previews, triggers, drift and warnings. "No changes" is one line.

use super::facts::{
    Action, ArtifactProof, CodeChange, DeploymentChange, PlanFacts, SettingChange, StagingPackage,
};

/// `old → new`, `→ new` (created) or `old → (deleted)`.
pub fn version_change(deployment: &DeploymentChange) -> String {
    let (before, after) = (&deployment.version_before, &deployment.version_after);
    match (deployment.action, before, after) {
        (Action::Create, _, Some(after)) => format!("→ {after}"),
        (Action::Delete, Some(before), _) => format!("{before} → (deleted)"),
        (_, Some(before), Some(after)) if before != after => format!("{before} → {after}"),
        (_, _, Some(after)) => after.clone(),
        (_, Some(before), None) => before.clone(),
        _ => String::new(),
    }
}

/// What happens to the code: a new package, the same bytes (only metadata), …
pub fn code_change(deployment: &DeploymentChange) -> Option<&'static str> {
    match (deployment.action, deployment.code) {
        (Action::NoOp | Action::Read, _) => None,
        (_, CodeChange::Changed) => Some("new package"),
        (_, CodeChange::Same) => Some("same package, metadata only"),
        (Action::Create, _) => None,
        _ => None,
    }
}

/// The proof of the artifact for production's new package: `same package staging has run
/// since 2026-12-01 14:02 UTC (CodeSha256 …)`, that staging does not run it, or why it was
/// not checked.
pub fn artifact_line(proof: &ArtifactProof, quote: &dyn Fn(&str) -> String) -> String {
    let since = |staging: &StagingPackage| match staging.since.as_deref() {
        Some(since) => format!(
            " since {}",
            utc_minute(since).unwrap_or_else(|| quote(since))
        ),
        None => String::new(),
    };
    match (proof.same_as_staging, &proof.staging) {
        (Some(true), Some(staging)) => format!(
            "same package staging has run{} (CodeSha256 {})",
            since(staging),
            quote(&staging.code_sha256)
        ),
        (Some(false), Some(staging)) => format!(
            "not the package staging runs: staging has run CodeSha256 {}{}, this is {}",
            quote(&staging.code_sha256),
            since(staging),
            quote(&proof.code_sha256)
        ),
        _ => format!(
            "package not checked against staging: {}",
            quote(proof.not_checked.as_deref().unwrap_or("no answer"))
        ),
    }
}

/// `2026-12-01T14:02:33Z` → `2026-12-01 14:02 UTC`; `None` for anything else.
pub fn utc_minute(since: &str) -> Option<String> {
    let (date, time) = (since.get(..10)?, since.get(11..16)?);
    let plain = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ':')
    };
    (since.get(10..11) == Some("T") && since.ends_with('Z') && plain(date) && plain(time))
        .then(|| format!("{date} {time} UTC"))
}

/// The settings of a new function, or what changes of an existing one, as `label value`
/// or `label old → new` pieces; environment keys added, removed and whose value changed
/// (never the values).
pub fn setting_pieces(
    deployment: &DeploymentChange,
    quote: &dyn Fn(&str) -> String,
) -> Vec<String> {
    if deployment.action == Action::Create {
        return deployment
            .settings
            .as_ref()
            .map(|settings| new_function_pieces(settings, quote))
            .unwrap_or_default();
    }
    let mut pieces = Vec::new();
    for SettingChange {
        name,
        before,
        after,
    } in &deployment.changes
    {
        let shown = |v: &Option<String>| quote(v.as_deref().unwrap_or("(none)"));
        pieces.push(format!("{name} {} → {}", shown(before), shown(after)));
    }
    pieces.extend(environment_keys_piece(&deployment.environment_keys, quote));
    if deployment.trigger_before != deployment.trigger_after && deployment.action != Action::Delete
    {
        if let (Some(before), Some(after)) = (&deployment.trigger_before, &deployment.trigger_after)
        {
            pieces.push(format!("trigger {} → {}", quote(before), quote(after)));
        }
    }
    pieces
}

/// Everything a new function runs with.
fn new_function_pieces(
    s: &super::facts::PlannedSettings,
    quote: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let unknown = || "(known after apply)".to_owned();
    let mut pieces = vec![
        format!("runtime {}", quote(s.runtime.as_deref().unwrap_or(""))),
        format!("handler {}", quote(s.handler.as_deref().unwrap_or(""))),
    ];
    if let Some(m) = s.memory_size {
        pieces.push(format!("memory {}", quote(&format!("{m} MiB"))));
    }
    if let Some(t) = s.timeout {
        pieces.push(format!("timeout {}", quote(&format!("{t} s"))));
    }
    pieces.push(format!(
        "role {}",
        quote(&s.role.clone().unwrap_or_else(unknown))
    ));
    if !s.environment_keys.is_empty() {
        pieces.push(format!(
            "environment keys {}",
            quote(&s.environment_keys.join(", "))
        ));
    }
    pieces
}

/// `environment keys added A, removed B, value changed C`, when any changes.
fn environment_keys_piece(
    keys: &super::facts::KeyChanges,
    quote: &dyn Fn(&str) -> String,
) -> Option<String> {
    let list = |keys: &[String]| keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(" ");
    let mut env = Vec::new();
    if !keys.added.is_empty() {
        env.push(format!("added {}", list(&keys.added)));
    }
    if !keys.removed.is_empty() {
        env.push(format!("removed {}", list(&keys.removed)));
    }
    if !keys.changed.is_empty() {
        env.push(format!("value changed {}", list(&keys.changed)));
    }
    (!env.is_empty()).then(|| format!("environment keys {}", env.join(", ")))
}

/// The human report of one service's plan (or, `applied`, of what its apply did).
pub fn text(facts: &PlanFacts, applied: bool) -> String {
    if facts.checked_without_terraform {
        return format!(
            "{}: no changes since the last apply (checked without terraform)\n",
            facts.service
        );
    }
    if !facts.has_changes {
        let mut out = format!("{}: no changes\n", facts.service);
        out.push_str(&drift_lines(facts));
        return out;
    }
    let mut out = headline(facts, applied);
    for warning in &facts.warnings {
        out.push_str(&warning_line(warning, applied));
    }
    out.push_str(&deployment_lines(facts, applied));
    let plain = |s: &str| s.to_owned();
    for package in &facts.packages {
        out.push_str(&format!("  {}\n", package_line(package, applied, &plain)));
    }
    for other in &facts.other {
        out.push_str(&other_line(other, applied));
    }
    let previews = preview_changes(facts);
    if !previews.is_empty() {
        out.push_str(&format!("  previews: {}\n", previews.join("  ")));
    }
    let mut triggers: Vec<String> = facts
        .triggers
        .added
        .iter()
        .map(|p| format!("+{p}"))
        .collect();
    triggers.extend(facts.triggers.removed.iter().map(|p| format!("-{p}")));
    if !triggers.is_empty() {
        out.push_str(&format!("  triggers: {}\n", triggers.join("  ")));
    }
    if !facts.upgrade.imported.is_empty() {
        out.push_str(&format!(
            "  adopted (exist already, imported): {}\n",
            facts.upgrade.imported.join(", ")
        ));
    }
    out.push_str(&drift_lines(facts));
    out
}

/// `svc: 1 to import, 2 to add, 1 to change, 0 to destroy (3 moved)`, or what was applied.
fn headline(facts: &PlanFacts, applied: bool) -> String {
    let (service, counts) = (&facts.service, facts.counts);
    let import = match counts.import {
        0 => String::new(),
        n if applied => format!("{n} imported, "),
        n => format!("{n} to import, "),
    };
    let moved = match counts.moved {
        0 => String::new(),
        n => format!(" ({n} moved)"),
    };
    if applied {
        format!(
            "{service}: applied: {import}{} added, {} changed, {} destroyed{moved}\n",
            counts.add, counts.change, counts.destroy
        )
    } else {
        format!(
            "{service}: {import}{} to add, {} to change, {} to destroy{moved}\n",
            counts.add, counts.change, counts.destroy
        )
    }
}

fn warning_line(warning: &super::facts::Warning, applied: bool) -> String {
    if let Some(sentence) = warning.package_sentence(applied, &|s| format!("`{s}`")) {
        format!("  WARNING: {sentence}\n")
    } else if applied {
        format!(
            "  WARNING: the {} function `{}` {}{}\n",
            warning.environment,
            warning.function_name,
            warning.outcome_past(),
            warning.because()
        )
    } else {
        format!("  WARNING: {warning}\n")
    }
}

/// A line per deployment in aligned columns, each followed by a line of what changes when
/// anything does.
fn deployment_lines(facts: &PlanFacts, applied: bool) -> String {
    let width =
        |f: fn(&DeploymentChange) -> usize| facts.deployments.iter().map(f).max().unwrap_or(0);
    let env_width = width(|d| d.deployment.chars().count());
    let name_width = width(|d| d.function_name.chars().count());
    let plain = |s: &str| s.to_owned();
    let mut out = String::new();
    for d in &facts.deployments {
        let action = if applied {
            d.action.past()
        } else {
            d.action.as_str()
        };
        let mut line = format!(
            "  {:env_width$}  {:7}  {:name_width$}  {}",
            d.deployment,
            action,
            d.function_name,
            version_change(d)
        );
        if let Some(code) = code_change(d) {
            line.push_str(&format!("  ({code})"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        let settings = setting_pieces(d, &plain);
        let mut details: Vec<String> = Vec::new();
        if !settings.is_empty() {
            details.push(settings.join(", "));
        }
        details.extend(d.replace_reasons.iter().map(|r| format!("replaced: {r}")));
        details.extend(d.notes.iter().cloned());
        details.extend(d.artifact.as_ref().map(|p| artifact_line(p, &plain)));
        details.extend(d.rollout.as_ref().map(|r| r.describe(&plain)));
        if !details.is_empty() {
            out.push_str(&format!(
                "  {:env_width$}  {:7}  {}\n",
                "",
                "",
                details.join("; ")
            ));
        }
    }
    out
}

/// A resource outside the deployments: its address, action, meaning and why.
fn other_line(other: &super::facts::OtherChange, applied: bool) -> String {
    let mut line = format!(
        "  {} {}",
        other.address,
        if applied {
            other.action.past()
        } else {
            other.action.as_str()
        }
    );
    if !other.meaning.is_empty() {
        line.push_str(&format!(" ({})", other.meaning));
    }
    if !other.reasons.is_empty() {
        line.push_str(&format!(": {}", other.reasons.join("; ")));
    }
    line.push('\n');
    line
}

fn drift_lines(facts: &PlanFacts) -> String {
    facts
        .drift
        .iter()
        .map(|drift| format!("  drift: {drift}\n"))
        .collect()
}

/// `+pr-9`, `-pr-7`: previews added and removed.
pub fn preview_changes(facts: &PlanFacts) -> Vec<String> {
    let added = facts.previews.added.iter().map(|pr| format!("+pr-{pr}"));
    let removed = facts.previews.removed.iter().map(|pr| format!("-pr-{pr}"));
    added.chain(removed).collect()
}

/// A package object's change, in the terms of the deployments it serves.
pub fn package_line(
    package: &super::facts::PackageChange,
    applied: bool,
    quote: &dyn Fn(&str) -> String,
) -> String {
    let short: String = package.sha256.chars().take(12).collect();
    let who = package
        .deployments
        .iter()
        .map(|d| quote(d))
        .collect::<Vec<_>>()
        .join(", ");
    match package.action {
        Action::Create if applied => format!("package {} uploaded (for {who})", quote(&short)),
        Action::Create if who.is_empty() => format!("package {} to upload", quote(&short)),
        Action::Create => format!("package {} to upload (for {who})", quote(&short)),
        Action::Delete => {
            let verb = if applied { "removed" } else { "to remove" };
            if who.is_empty() {
                format!(
                    "package {} {verb}: no deployment runs it any more",
                    quote(&short)
                )
            } else {
                format!(
                    "package {} {verb}: superseded, {who} ran it before this version change",
                    quote(&short)
                )
            }
        }
        Action::Update => format!(
            "package {} {}: the object's metadata (tags), not its bytes",
            quote(&short),
            if applied {
                "updated"
            } else {
                "updated in place"
            }
        ),
        action => format!(
            "package {} {}",
            quote(&short),
            if applied {
                action.past()
            } else {
                action.as_str()
            }
        ),
    }
}

/// One line after a service's apply succeeded, in the past tense.
pub fn applied_line(facts: &PlanFacts) -> String {
    let c = facts.counts;
    let cleanup = match &facts.version_cleanup {
        Some(cleanup) if cleanup.deleted > 0 => {
            format!("; {} old version(s) deleted", cleanup.deleted)
        }
        _ => String::new(),
    };
    format!(
        "{}: applied: {} added, {} changed, {} destroyed{cleanup}\n",
        facts.service, c.add, c.change, c.destroy
    )
}

/// One line for a service whose apply failed: how far it got.
pub fn failed_line(failure: &super::Failure) -> String {
    match &failure.applied {
        Some(progress) => format!(
            "{}: apply failed after {} of {} changes\n",
            failure.service, progress.done, progress.total
        ),
        None => format!("{}: failed\n", failure.service),
    }
}
