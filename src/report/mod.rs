//! Stage 7 — report. In: each service's plan JSON (`terraform show -json`), read once into
//! [`PlanFacts`] (`facts.rs`: the plan in Lambda terms), and what the run did with it — a
//! [`Report`]: the command, each service's facts or its [`Failure`] (terraform's last
//! lines, how far an apply got), the error that ended the run early (every validation
//! problem with file and line), terraform's plan text. Out: pure renderings of it — text
//! per service as it completes (`text.rs`), the JSON document (`json.rs`, `schemaVersion`)
//! and the [`crate::ci::Rendering`] every CI output is made from (`for_ci.rs`: the pull
//! request comment, the job summary, `--format markdown`, annotations).

mod action;
pub mod drift;
pub mod facts;
pub mod for_ci;
pub mod format;
pub mod guard;
pub mod json;
mod plan_json;
pub mod text;

use serde::Serialize;

pub use facts::{
    log_groups_to_create, tainted, to_create, Action, ArtifactProof, CodeChange, DeploymentChange,
    Drift, KeyChanges, PlanFacts, PlannedSettings, StagingPackage, VersionCleanup, Warning,
};
pub use for_ci::rendering;

/// The plan facts of one service's plan JSON; any bytes give facts or an error.
pub fn summarize(service: &str, plan_json: &[u8]) -> Result<PlanFacts, serde_json::Error> {
    PlanFacts::from_plan_json(service, plan_json)
}

/// The command a report is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Plan,
    Apply,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Apply => "apply",
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Command {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What a `plan` or `apply` run produced: the one value every report is rendered from.
pub struct Report<'a> {
    pub command: Command,
    /// The services that were planned (and, for `apply`, applied when they had changes).
    pub summaries: &'a [PlanFacts],
    pub failures: &'a [Failure],
    /// The error that ended the run before its services were planned (an invalid repo, a
    /// package that could not be staged, …).
    pub error: Option<&'a crate::error::Error>,
    /// Terraform's own plan text, per service: `(service, text)`.
    pub plan_outputs: &'a [(String, String)],
    /// The run's exit code.
    pub exit_code: u8,
}

impl Report<'_> {
    pub fn applied(&self) -> bool {
        self.command == Command::Apply
    }
}

/// A service whose plan or apply failed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failure {
    pub service: String,
    pub error: String,
    /// Terraform's last lines when a terraform command failed (its own error message).
    pub terraform_output: Vec<String>,
    /// The plan, when the failure came after it (an apply that failed).
    pub facts: Option<PlanFacts>,
    /// How far a failed apply got.
    pub applied: Option<ApplyProgress>,
}

/// How many of a plan's resource changes an apply completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ApplyProgress {
    pub done: usize,
    pub total: usize,
}

/// The resource changes an apply completed, counted from terraform's own output: the
/// "Creation complete", "Modifications complete" and "Destruction complete" lines.
pub fn changes_completed(apply_output: &str) -> usize {
    apply_output
        .lines()
        .map(strip_colour)
        .filter(|line| {
            [
                ": Creation complete after ",
                ": Modifications complete after ",
                ": Destruction complete after ",
            ]
            .iter()
            .any(|marker| line.contains(marker))
        })
        .count()
}

/// A line without its ANSI colour sequences.
fn strip_colour(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from outside as an inline code span, inside which Markdown and HTML mean nothing.
/// Line breaks and other control characters, and the bidirectional controls that could
/// make it read differently, become U+FFFD; the fence is one backtick longer than any run
/// inside.
pub fn code(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if clean.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in clean.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let all_spaces = clean.chars().all(|c| c == ' ');
    let pad = clean.starts_with('`')
        || clean.ends_with('`')
        || (!all_spaces && clean.starts_with(' ') && clean.ends_with(' '));
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{clean}{space}{fence}")
}

/// [`code`] for a table cell: GitHub splits cells on `|` even inside code spans, unless
/// escaped.
pub fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

#[cfg(test)]
mod artifact_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn code_spans_hold_any_text_verbatim() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code(" padded "), "`  padded  `");
        assert_eq!(code("line\nbreak"), "`line\u{fffd}break`");
        assert_eq!(code(""), "");
        assert_eq!(cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn completed_changes_are_counted_from_terraforms_apply_output_in_colour_or_not() {
        let output = "aws_s3_object.package[\"ab\"]: Creating...\n\
            aws_s3_object.package[\"ab\"]: Creation complete after 0s [id=x]\n\
            \u{1b}[0m\u{1b}[1maws_lambda_function.this[\"staging\"]: Modifications complete after 2s [id=f]\u{1b}[0m\n\
            aws_s3_object.package[\"cd\"]: Destruction complete after 0s\n\
            aws_lambda_function.this[\"pr-7\"]: Still creating... [10s elapsed]\n\
            Error: creating Lambda Function (f-pr-7): InvalidParameterValueException\n";
        assert_eq!(changes_completed(output), 3);
        assert_eq!(changes_completed(""), 0);
    }
}
