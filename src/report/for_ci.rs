//! [`Report`] → [`crate::ci::Rendering`]: the pull-request comment, the job summary,
//! `--format markdown` and the annotations all say what this decides. The headline and a
//! line per service in Lambda terms first; then errors (validation problems with file and
//! line, terraform's own last lines), warnings (staging or production deleted or replaced,
//! with why; production given a package staging does not run), a table per service (deployment, version before → after, the package, what
//! else changes), packages, previews, triggers, drift, and terraform's plan text. After an
//! `apply` it speaks in the past tense and says how far a failed apply got.
//!
//! Every string from outside (the gitops repo, the plan, an error) goes through
//! [`code`] or [`cell`]: it cannot add links, images, headings, HTML, table cells or lines.

use super::facts::{Action, PlanFacts};
use super::text::{artifact_line, code_change, package_line, setting_pieces, version_change};
use super::{cell, code, Report};
use crate::ci::annotations::Annotation;

/// How many previews a service's summary line names before it only counts them.
const PREVIEWS_NAMED: usize = 10;
/// How many services the line of those checked without terraform names before it counts.
const SERVICES_NAMED: usize = 10;

/// The run for CI renderers.
pub fn rendering(run: &Report) -> crate::ci::Rendering {
    let failed = run.error.is_some() || !run.failures.is_empty();
    let has_changes = run.summaries.iter().any(|s| s.has_changes);
    let mut errors = Vec::new();
    let mut annotations = Vec::new();
    if let Some(error) = run.error {
        early_error(run.command, error, &mut errors, &mut annotations);
    }
    for failure in run.failures {
        failure_block(run, failure, &mut errors, &mut annotations);
    }
    let mut warnings = Vec::new();
    for facts in run.summaries {
        warning_blocks(run, facts, &mut warnings, &mut annotations);
    }
    let mut details = Vec::new();
    for facts in run.summaries {
        service_details(run, facts, &mut details);
    }
    // Terraform's own text, for the services a reviewer has to look at: those with changes
    // or that failed. A service with nothing to do is the one line above.
    let shown = |service: &str| {
        run.summaries
            .iter()
            .any(|s| s.service == service && s.has_changes)
            || run.failures.iter().any(|f| f.service == service)
    };
    let logs = run
        .plan_outputs
        .iter()
        .filter(|(service, _)| shown(service))
        .map(|(service, text)| (service, without_refresh_lines(text)))
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(service, text)| crate::ci::Log {
            title: format!("terraform plan: {service}"),
            text,
        })
        .collect();
    crate::ci::Rendering {
        has_changes,
        failed,
        summary: summary(run),
        errors,
        warnings,
        details,
        logs,
        annotations,
    }
}

/// Terraform's plan text without the lines that only say what it read (`Refreshing
/// state...`, `Reading...`, `Read complete`): one per resource, they bury the plan.
fn without_refresh_lines(text: &str) -> String {
    let noise = |line: &str| {
        let line = line.trim_end();
        line.contains(": Refreshing state...")
            || line.ends_with(": Reading...")
            || line.contains(": Read complete after ")
    };
    let kept: Vec<&str> = text.lines().filter(|line| !noise(line)).collect();
    let start = kept.iter().position(|line| !line.trim().is_empty());
    start.map_or_else(String::new, |start| kept[start..].join("\n") + "\n")
}

/// The headline, then one line per service.
fn summary(run: &Report) -> String {
    let failed = run.error.is_some() || !run.failures.is_empty();
    let has_changes = run.summaries.iter().any(|s| s.has_changes);
    let (add, change, destroy) = run.summaries.iter().fold((0, 0, 0), |(a, c, d), s| {
        (a + s.counts.add, c + s.counts.change, d + s.counts.destroy)
    });
    let command = run.command;
    let failed_services = match run.failures.len() {
        0 => String::new(),
        1 => " (1 service failed)".to_owned(),
        n => format!(" ({n} services failed)"),
    };
    let mut out = if run.error.is_some() || (run.summaries.is_empty() && failed) {
        format!("## lambda-gitops {command} failed\n")
    } else if has_changes && run.applied() {
        format!("## lambda-gitops apply: applied — {add} added, {change} changed, {destroy} destroyed{failed_services}\n")
    } else if has_changes {
        format!("## lambda-gitops {command}: {add} to add, {change} to change, {destroy} to destroy{failed_services}\n")
    } else {
        format!("## lambda-gitops {command}: no changes{failed_services}\n")
    };
    // "No changes" is one line: services are listed only when one of them says more.
    let quiet = !has_changes && !failed && run.summaries.iter().all(|s| s.drift.is_empty());
    let mut lines: Vec<String> = run
        .summaries
        .iter()
        .filter(|facts| !quiet && !facts.checked_without_terraform)
        .map(|facts| service_line(run, facts))
        .collect();
    lines.extend(checked_line(run));
    lines.extend(run.failures.iter().map(|f| match &f.applied {
        Some(progress) => format!(
            "{} :x: failed after {} of {} changes",
            code(&f.service),
            progress.done,
            progress.total
        ),
        None => format!("{} :x: failed", code(&f.service)),
    }));
    if !lines.is_empty() {
        out.push('\n');
        for line in lines {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out
}

/// One line for every service checked against its last apply without terraform, naming
/// the first few: a hundred unchanged services are one line, not a hundred.
fn checked_line(run: &Report) -> Option<String> {
    let checked: Vec<&str> = run
        .summaries
        .iter()
        .filter(|facts| facts.checked_without_terraform)
        .map(|facts| facts.service.as_str())
        .collect();
    if checked.is_empty() {
        return None;
    }
    let mut named: Vec<String> = checked
        .iter()
        .take(SERVICES_NAMED)
        .map(|s| code(s))
        .collect();
    if checked.len() > SERVICES_NAMED {
        named.push(format!("{} more", checked.len() - SERVICES_NAMED));
    }
    Some(format!(
        "no changes since the last apply (checked without terraform): {}",
        named.join(", ")
    ))
}

/// `svc` — staging `1.0.0` → `1.1.0` (new package) · previews added `pr-7`.
fn service_line(run: &Report, facts: &PlanFacts) -> String {
    let service = code(&facts.service);
    if !facts.has_changes {
        return match facts.drift.len() {
            0 => format!("{service} no changes"),
            n => format!("{service} no changes, {n} drifted attribute(s) not reverted"),
        };
    }
    let mut parts = environment_parts(run, facts);
    parts.extend(preview_parts(facts));
    if !facts.drift.is_empty() {
        parts.push(format!("{} drifted attribute(s)", facts.drift.len()));
    }
    let c = facts.counts;
    let counts = if run.applied() {
        format!(
            "{} added, {} changed, {} destroyed",
            c.add, c.change, c.destroy
        )
    } else {
        format!(
            "{} to add, {} to change, {} to destroy",
            c.add, c.change, c.destroy
        )
    };
    if parts.is_empty() {
        format!("{service} {counts}")
    } else {
        format!("{service} {counts}: {}", parts.join(" · "))
    }
}

/// `staging` update `1.0.0` → `1.1.0` (new package), for staging and production.
fn environment_parts(run: &Report, facts: &PlanFacts) -> Vec<String> {
    let mut parts = Vec::new();
    for d in facts.changed().filter(|d| d.environment().is_some()) {
        let action = if run.applied() {
            d.action.past()
        } else {
            d.action.as_str()
        };
        let mut part = format!("{} {action}", code(&d.deployment));
        let versions = version_change(d);
        if !versions.is_empty() {
            part.push_str(&format!(" {}", versions_md(d)));
        }
        if let Some(what) = code_change(d) {
            part.push_str(&format!(" ({what})"));
        }
        parts.push(part);
    }
    parts
}

/// Previews added and removed, named up to [`PREVIEWS_NAMED`], and how many are updated.
fn preview_parts(facts: &PlanFacts) -> Vec<String> {
    let named = |prs: &[u64]| {
        let mut names: Vec<String> = prs
            .iter()
            .take(PREVIEWS_NAMED)
            .map(|pr| code(&format!("pr-{pr}")))
            .collect();
        if prs.len() > PREVIEWS_NAMED {
            names.push(format!("and {} more", prs.len() - PREVIEWS_NAMED));
        }
        names.join(", ")
    };
    let mut parts = Vec::new();
    let (added, removed) = (&facts.previews.added, &facts.previews.removed);
    if !added.is_empty() {
        parts.push(format!("previews added: {}", named(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("previews removed: {}", named(removed)));
    }
    let updated_previews = facts
        .changed()
        .filter(|d| d.pr().is_some() && !matches!(d.action, Action::Create | Action::Delete))
        .count();
    if updated_previews > 0 {
        parts.push(format!("{updated_previews} preview(s) updated"));
    }
    parts
}

/// `1.0.0` → `1.1.0` with each version in a code span.
fn versions_md(d: &super::facts::DeploymentChange) -> String {
    let (before, after) = (&d.version_before, &d.version_after);
    match (d.action, before, after) {
        (Action::Create, _, Some(after)) => format!("→ {}", cell(after)),
        (Action::Delete, Some(before), _) => format!("{} → (deleted)", cell(before)),
        (_, Some(before), Some(after)) if before != after => {
            format!("{} → {}", cell(before), cell(after))
        }
        (_, _, Some(after)) => cell(after),
        (_, Some(before), None) => cell(before),
        _ => String::new(),
    }
}

fn early_error(
    command: super::Command,
    error: &crate::error::Error,
    errors: &mut Vec<String>,
    annotations: &mut Vec<Annotation>,
) {
    match error {
        crate::error::Error::Invalid { problems } => {
            for problem in problems {
                let mut block = format!(
                    ":x: {}: {}\n",
                    code(&problem.location()),
                    code(&problem.message)
                );
                if let Some(hint) = &problem.hint {
                    block.push_str(&format!("hint: {}\n", code(hint)));
                }
                errors.push(block);
                annotations.push(
                    Annotation::error("invalid gitops config", problem.message.clone())
                        .at(&problem.file, problem.line),
                );
            }
        }
        crate::error::Error::Stage { errors: staging } => {
            for stage_error in staging {
                let text = stage_error.to_string();
                errors.push(format!(":x: {}\n", code(&text)));
                annotations.push(Annotation::error("package not staged", text));
            }
        }
        _ => {}
    }
    let text = full_message(error);
    let mut block = format!(":x: {}\n", code(&text));
    if let Some(hint) = error.hint() {
        block.push_str(&format!("hint: {}\n", code(&hint)));
    }
    errors.push(block);
    annotations.push(Annotation::error(
        format!("lambda-gitops {command} failed"),
        text,
    ));
}

fn failure_block(
    run: &Report,
    failure: &super::Failure,
    errors: &mut Vec<String>,
    annotations: &mut Vec<Annotation>,
) {
    let mut block = match &failure.applied {
        Some(progress) => format!(
            ":x: {} failed after {} of {} changes: {}\n",
            code(&failure.service),
            progress.done,
            progress.total,
            code(&failure.error)
        ),
        None => format!(
            ":x: {} failed: {}\n",
            code(&failure.service),
            code(&failure.error)
        ),
    };
    if !failure.terraform_output.is_empty() {
        let text = crate::ci::markdown::redact_environment_values(&crate::ci::markdown::sanitize(
            &failure.terraform_output.join("\n"),
        ));
        let fence = crate::ci::markdown::fence_for(&text);
        block.push_str(&format!("\n{fence}text\n{text}\n{fence}\n"));
    }
    errors.push(block);
    annotations.push(Annotation::error(
        format!("{}: {} failed", failure.service, run.command),
        format!("{}\n{}", failure.error, failure.terraform_output.join("\n")),
    ));
}

fn warning_blocks(
    run: &Report,
    facts: &PlanFacts,
    warnings: &mut Vec<String>,
    annotations: &mut Vec<Annotation>,
) {
    for warning in &facts.warnings {
        if let Some(sentence) = warning.package_sentence(run.applied(), &code) {
            warnings.push(format!("> [!WARNING]\n> {sentence}\n"));
            annotations.push(Annotation::warning(
                format!("{}: package not on staging", warning.environment),
                warning
                    .package_sentence(run.applied(), &|s| format!("`{s}`"))
                    .unwrap_or_default(),
            ));
            continue;
        }
        let outcome = if run.applied() {
            warning.outcome_past()
        } else {
            warning.outcome()
        };
        let verb = if run.applied() { "" } else { "will be " };
        warnings.push(format!(
            "> [!WARNING]\n> the {} function {} {verb}{outcome}{}\n",
            code(warning.environment.as_str()),
            code(&warning.function_name),
            warning.because()
        ));
        annotations.push(Annotation::warning(
            format!("{} {}", warning.environment, warning.action.as_str()),
            warning.to_string(),
        ));
    }
    for drift in &facts.drift {
        annotations.push(Annotation::warning(
            format!("{}: drift", facts.service),
            drift.to_string(),
        ));
    }
}

/// A heading and a table per service, then its packages, previews, triggers, adopted
/// objects, other resources and drift.
fn service_details(run: &Report, facts: &PlanFacts, details: &mut Vec<String>) {
    if !facts.has_changes && facts.drift.is_empty() {
        // The summary line says it all.
        return;
    }
    let status = match (facts.has_changes, run.applied()) {
        (false, _) => " — no changes",
        (true, true) => " — applied",
        (true, false) => "",
    };
    // A blank line between services; none after the last.
    let gap = if details.is_empty() { "" } else { "\n" };
    details.push(format!("{gap}### {}{status}\n\n", code(&facts.service)));
    let rows: Vec<_> = facts
        .deployments
        .iter()
        .filter(|d| facts.has_changes || d.action.changes())
        .collect();
    if !rows.is_empty() {
        details.push(
            "| deployment | action | function | version | what changes |\n|---|---|---|---|---|\n"
                .to_owned(),
        );
    }
    details.extend(rows.into_iter().map(|d| deployment_row(run, d)));
    let after = after_table(run, facts);
    if !after.is_empty() {
        details.push(format!("\n{}", after.join("")));
    }
    if !facts.drift.is_empty() {
        details.push(drift_block(facts));
    }
}

/// One row of a service's table: its deployment, action, function, version and what
/// changes.
fn deployment_row(run: &Report, d: &super::facts::DeploymentChange) -> String {
    let action = if run.applied() {
        d.action.past()
    } else {
        d.action.as_str()
    };
    let mut what: Vec<String> = code_change(d).map(str::to_owned).into_iter().collect();
    what.extend(setting_pieces(d, &cell));
    what.extend(
        d.replace_reasons
            .iter()
            .map(|r| format!("**replaced:** {r}")),
    );
    what.extend(d.notes.iter().cloned());
    what.extend(d.artifact.as_ref().map(|p| artifact_line(p, &cell)));
    what.extend(d.rollout.as_ref().map(|r| r.describe(&cell)));
    if what.is_empty() {
        what.push("—".to_owned());
    }
    format!(
        "| {} | {action} | {} | {} | {} |\n",
        cell(&d.deployment),
        cell(&d.function_name),
        versions_md(d),
        what.join(" · ")
    )
}

/// The list under a service's table: packages, previews, triggers, the upgrade's moves
/// and imports, other resources.
fn after_table(run: &Report, facts: &PlanFacts) -> Vec<String> {
    let mut after: Vec<String> = facts
        .packages
        .iter()
        .map(|package| format!("- {}\n", package_line(package, run.applied(), &code)))
        .collect();
    let pr = |sign: &str, pr: &u64| format!("{sign}{}", code(&format!("pr-{pr}")));
    let previews = &facts.previews;
    let previews: Vec<String> = (previews.added.iter().map(|n| pr("+", n)))
        .chain(previews.removed.iter().map(|n| pr("-", n)))
        .collect();
    if !previews.is_empty() {
        after.push(format!("- previews: {}\n", previews.join(" ")));
    }
    let triggers = &facts.triggers;
    let triggers: Vec<String> = (triggers.added.iter().map(|p| format!("+{}", code(p))))
        .chain(triggers.removed.iter().map(|p| format!("-{}", code(p))))
        .collect();
    if !triggers.is_empty() {
        after.push(format!("- triggers: {}\n", triggers.join(" ")));
    }
    if facts.upgrade.moved > 0 {
        after.push(format!(
            "- upgrade: {} resource(s) move to the module's new addresses, nothing is re-created for it\n",
            facts.upgrade.moved
        ));
    }
    if !facts.upgrade.imported.is_empty() {
        let names: Vec<String> = facts.upgrade.imported.iter().map(|n| code(n)).collect();
        after.push(format!(
            "- exist already, adopted into the state (imported): {}\n",
            names.join(", ")
        ));
    }
    after.extend(facts.other.iter().map(|other| other_item(run, other)));
    after
}

/// `- address replace — what it is: why`.
fn other_item(run: &Report, other: &super::facts::OtherChange) -> String {
    let verb = if run.applied() {
        other.action.past()
    } else {
        other.action.as_str()
    };
    let why = if other.reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", other.reasons.join("; "))
    };
    let meaning = if other.meaning.is_empty() {
        String::new()
    } else {
        format!(" — {}", other.meaning)
    };
    format!("- {} {verb}{meaning}{why}\n", code(&other.address))
}

/// What changed outside the gitops repo, a line per attribute.
fn drift_block(facts: &PlanFacts) -> String {
    let mut block = String::from("\n**Changed outside the gitops repo:**\n\n");
    for drift in &facts.drift {
        let what = match &drift.deployment {
            Some(d) => code(d),
            None => code(&drift.address),
        };
        let outcome = if drift.reverted {
            "this plan reverts it"
        } else {
            "this plan does not change it back"
        };
        match &drift.attribute {
            Some(attribute) => block.push_str(&format!(
                "- {what} {}: {} → {}, {outcome}\n",
                code(attribute),
                code(drift.before.as_deref().unwrap_or("(none)")),
                code(drift.after.as_deref().unwrap_or("(none)"))
            )),
            None => block.push_str(&format!(
                "- {what} {}: deleted outside the gitops repo, {}\n",
                code(&drift.address),
                if drift.reverted {
                    "this plan re-creates it"
                } else {
                    outcome
                }
            )),
        }
    }
    block
}

/// An error and its causes on one line, as `error::render` shows them.
fn full_message(error: &crate::error::Error) -> String {
    let mut text = error.to_string();
    if matches!(
        error,
        crate::error::Error::Io(_) | crate::error::Error::Stdout(_)
    ) {
        return text;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_text_a_reviewer_reads_starts_at_the_plan_not_at_what_terraform_read() {
        let text = concat!(
            "data.aws_partition.current: Reading...\n",
            "aws_iam_role.execution[0]: Refreshing state... [id=svc-lambda-execution]\n",
            "data.aws_partition.current: Read complete after 0s [id=aws]\n",
            "\n",
            "Terraform will perform the following actions:\n",
            "\n",
            "  # aws_lambda_function.this[\"pr-7\"] will be created\n",
        );
        assert_eq!(
            without_refresh_lines(text),
            "Terraform will perform the following actions:\n\n  # aws_lambda_function.this[\"pr-7\"] will be created\n"
        );
        assert_eq!(without_refresh_lines("x: Refreshing state... [id=y]\n"), "");
    }

    #[test]
    fn only_services_with_changes_or_failures_carry_their_plan_text() {
        let changed = super::super::summarize(
            "changed",
            br#"{"format_version":"1.2","resource_changes":[{"address":"aws_s3_object.package[\"a\"]","mode":"managed","type":"aws_s3_object","name":"package","index":"a","change":{"actions":["create"],"before":null,"after":{"key":"k"}}}]}"#,
        )
        .unwrap();
        let quiet = super::super::summarize(
            "quiet",
            br#"{"format_version":"1.2","resource_changes":[]}"#,
        )
        .unwrap();
        let outputs = vec![
            ("changed".to_owned(), "Plan: 1 to add\n".to_owned()),
            ("quiet".to_owned(), "No changes.\n".to_owned()),
        ];
        let summaries = [changed, quiet];
        let report = Report {
            command: super::super::Command::Plan,
            summaries: &summaries,
            failures: &[],
            error: None,
            plan_outputs: &outputs,
            exit_code: 2,
        };
        let titles: Vec<String> = rendering(&report)
            .logs
            .into_iter()
            .map(|l| l.title)
            .collect();
        assert_eq!(titles, ["terraform plan: changed"]);
    }
}
