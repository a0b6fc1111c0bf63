//! The one value CI outputs are made from: what the report wants said, already in
//! Markdown, sorted by how much it matters. The report fills it (`report::rendering`);
//! the pull-request comment, the step summary, the `--summary-markdown` file and
//! `--format markdown` render it under a size budget ([`super::markdown`]), and the job log
//! gets its annotations. Nothing here knows terraform or the report's types, so what the
//! report says can change without touching its renderers.
//!
//! Markdown in it is trusted: whoever fills it escapes every outside string (see
//! `report::code`). Log text is raw: the renderer sanitises and fences it.

use crate::ci::annotations::Annotation;

#[derive(Debug, Clone, Default)]
pub struct Rendering {
    /// The run would change (plan) or changed (apply) something. With `failed`, it decides
    /// whether a pull request with no earlier comment gets one.
    pub has_changes: bool,
    /// The run failed (invalid repo, staging, terraform): it is always published.
    pub failed: bool,
    /// Shown first and always whole: the headline and one line per service. Keep it short;
    /// it is what a reviewer reads at a glance.
    pub summary: String,
    /// Shown whole after the summary (one block each: validation problems with file:line,
    /// failed services with terraform's last lines). Cut only when they alone would not
    /// fit, with a note saying how many were left out.
    pub errors: Vec<String>,
    /// Shown whole after the errors (deletes and replaces of staging or production, …).
    pub warnings: Vec<String>,
    /// Shown in order while they fit; the rest is counted in a note. Each block is cut
    /// whole, never inside: a table row, a heading, a paragraph.
    pub details: Vec<String>,
    /// Terraform's own output, one collapsed `<details>` each, trimmed in the middle.
    pub logs: Vec<Log>,
    /// For the job log under GitHub Actions (validation errors at their file and line).
    pub annotations: Vec<Annotation>,
}

/// A command's output as it printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Plain text (escaped by the renderer), e.g. `terraform plan: s3-notifier`.
    pub title: String,
    /// Raw output; control characters and colour codes are removed when rendered.
    pub text: String,
}
