//! [`Report`] → the JSON report (`--format json`, `--summary-json`): the same facts as the
//! comment, for machines. Its shape is documented in docs/json.md; any
//! change that removes or renames a field bumps [`SCHEMA_VERSION`].

use serde::Serialize;

use super::facts::PlanFacts;
use super::{ApplyProgress, Report};

/// The version of the JSON report's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportJson<'a> {
    schema_version: u32,
    command: super::Command,
    /// `no-changes`, `changes` (a plan), `applied`, `failed`.
    outcome: &'static str,
    exit_code: u8,
    services: Vec<ServiceJson<'a>>,
    /// The error that ended the run before its services were planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Every problem of an invalid gitops repo, with file and line.
    problems: Vec<ProblemJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceJson<'a> {
    service: &'a str,
    /// `no-changes`, `changes`, `applied`, `failed`.
    outcome: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    facts: Option<&'a PlanFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    terraform_output: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<ApplyProgress>,
}

#[derive(Serialize)]
struct ProblemJson {
    file: String,
    line: Option<usize>,
    message: String,
    hint: Option<String>,
}

impl From<&crate::problem::Problem> for ProblemJson {
    fn from(problem: &crate::problem::Problem) -> Self {
        Self {
            file: problem.file.display().to_string(),
            line: problem.line,
            message: problem.message.clone(),
            hint: problem.hint.clone(),
        }
    }
}

/// The JSON report, pretty-printed, ending in a line break.
pub fn json(run: &Report) -> String {
    let succeeded = |facts: &PlanFacts| match (facts.has_changes, run.applied()) {
        (false, _) => "no-changes",
        (true, true) => "applied",
        (true, false) => "changes",
    };
    let mut services: Vec<ServiceJson> = run
        .summaries
        .iter()
        .map(|facts| ServiceJson {
            service: &facts.service,
            outcome: succeeded(facts),
            facts: Some(facts),
            error: None,
            terraform_output: &[],
            applied: None,
        })
        .collect();
    services.extend(run.failures.iter().map(|failure| ServiceJson {
        service: &failure.service,
        outcome: "failed",
        facts: failure.facts.as_ref(),
        error: Some(&failure.error),
        terraform_output: &failure.terraform_output,
        applied: failure.applied,
    }));
    let outcome = if run.error.is_some() || !run.failures.is_empty() {
        "failed"
    } else if run.summaries.iter().any(|s| s.has_changes) {
        if run.applied() {
            "applied"
        } else {
            "changes"
        }
    } else {
        "no-changes"
    };
    let mut text = serde_json::to_string_pretty(&ReportJson {
        schema_version: SCHEMA_VERSION,
        command: run.command,
        outcome,
        exit_code: run.exit_code,
        services,
        error: run.error.map(ToString::to_string),
        problems: match run.error {
            Some(crate::error::Error::Invalid { problems }) => {
                problems.iter().map(ProblemJson::from).collect()
            }
            _ => Vec::new(),
        },
    })
    .expect("the report serializes");
    text.push('\n');
    text
}
