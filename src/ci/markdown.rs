//! A [`Rendering`] as one Markdown document within a size budget: the summary, errors and
//! warnings whole; the details while they fit; terraform's output collapsed in
//! `<details>`, each trimmed in the middle. Whatever is left out is said, with how much,
//! and where the whole is.
//!
//! The budget is counted in bytes, which are never fewer than the characters GitHub counts
//! (a comment may hold 65,536 characters, a step summary 1 MiB), and a margin is kept.

use crate::ci::rendering::{Log, Rendering};

/// GitHub's limit for an issue or pull-request comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit for one step's job summary, in bytes.
pub const STEP_SUMMARY_LIMIT: usize = 1 << 20;
/// Kept free under a limit, for what we do not count exactly (line-ending normalisation).
const MARGIN: usize = 512;
/// Kept free for each note saying what was left out.
const NOTE_ROOM: usize = 320;
/// The longest line of terraform's output shown; longer ones are cut with `…`.
const MAX_LOG_LINE: usize = 1_000;
/// A log is shown only with at least this much room.
const MIN_LOG: usize = 600;

/// The document for `rendering` in at most `limit` bytes. `elsewhere` (Markdown) says
/// where the whole report is when something had to be left out, e.g. "the job's log".
pub fn document(rendering: &Rendering, limit: usize, elsewhere: &str) -> String {
    let budget = limit.saturating_sub(MARGIN);
    let mut out = String::new();
    push_summary(&mut out, &rendering.summary, budget);
    push_alerts(&mut out, rendering, budget, elsewhere);
    push_details(
        &mut out,
        &rendering.details,
        &rendering.logs,
        budget,
        elsewhere,
    );
    push_logs(&mut out, &rendering.logs, budget, elsewhere);
    out
}

/// The summary, in at most a quarter of the budget.
fn push_summary(out: &mut String, summary: &str, budget: usize) {
    let mut summary = summary.to_owned();
    ensure_newline(&mut summary);
    if summary.len() > budget / 4 {
        // Never happens with a report's summary; a cut one still leaves room for errors.
        summary = cut_at_line(&summary, budget / 4);
    }
    out.push_str(&summary);
}

/// Errors, then warnings: whole, in order, while they fit with room for the notes.
fn push_alerts(out: &mut String, rendering: &Rendering, budget: usize, elsewhere: &str) {
    let alert_limit = budget.saturating_sub(3 * NOTE_ROOM);
    for (blocks, what) in [
        (&rendering.errors, "error"),
        (&rendering.warnings, "warning"),
    ] {
        let shown = push_blocks(out, blocks, alert_limit, "\n");
        let left = blocks.len() - shown;
        if left > 0 {
            push_note(
                out,
                &format!(
                    "{} more {what}{} did not fit here: see {elsewhere}.",
                    thousands(left),
                    plural(left)
                ),
            );
        }
    }
}

/// Details, leaving terraform's output a share of what is left.
fn push_details(
    out: &mut String,
    details: &[String],
    logs: &[Log],
    budget: usize,
    elsewhere: &str,
) {
    let full_logs: usize = logs.iter().map(full_log_len).sum();
    let log_reserve = full_logs.min(budget / 4);
    let details_limit = budget.saturating_sub(NOTE_ROOM + log_reserve);
    if !details.is_empty() {
        out.push('\n');
    }
    let shown = push_blocks(out, details, details_limit, "");
    let left = details.len() - shown;
    if left > 0 {
        push_note(
            out,
            &format!(
                "The report is cut here to fit: {} more line{} in {elsewhere}.",
                thousands(left),
                plural(left)
            ),
        );
    }
}

/// Terraform's output: what is left, shared out; a log that cannot get a useful share is
/// counted in a note instead.
fn push_logs(out: &mut String, logs: &[Log], budget: usize, elsewhere: &str) {
    let mut missing = 0;
    let logs_limit = budget.saturating_sub(NOTE_ROOM);
    for (i, log) in logs.iter().enumerate() {
        let room = logs_limit.saturating_sub(out.len());
        let share = room / (logs.len() - i);
        match render_log(log, share) {
            Some(text) => {
                if !out.ends_with("\n\n") {
                    out.push('\n');
                }
                out.push_str(&text);
            }
            None => missing += 1,
        }
    }
    if missing > 0 {
        let what = if missing == logs.len() {
            "Terraform's output".to_owned()
        } else {
            format!(
                "Terraform's output for {} more service{}",
                thousands(missing),
                plural(missing)
            )
        };
        push_note(out, &format!("{what} did not fit here: see {elsewhere}."));
    }
}

/// Appends `blocks` in order while `out` stays within `limit`; returns how many.
fn push_blocks(out: &mut String, blocks: &[String], limit: usize, separator: &str) -> usize {
    for (shown, block) in blocks.iter().enumerate() {
        let newline = usize::from(!block.ends_with('\n'));
        if out.len() + separator.len() + block.len() + newline > limit {
            return shown;
        }
        out.push_str(separator);
        out.push_str(block);
        ensure_newline(out);
    }
    blocks.len()
}

fn push_note(out: &mut String, text: &str) {
    out.push_str("\n> [!NOTE]\n> ");
    out.push_str(text);
    out.push('\n');
}

fn ensure_newline(text: &mut String) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
}

/// The first lines of `text` that fit in `limit` bytes.
fn cut_at_line(text: &str, limit: usize) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        if out.len() + line.len() + 2 > limit {
            out.push_str("…\n");
            break;
        }
        out.push_str(line);
    }
    out
}

/// What a log would take untrimmed.
fn full_log_len(log: &Log) -> usize {
    log.text.len() + log.title.len() + 120
}

/// One log as a collapsed `<details>` of at most `budget` bytes, trimmed in the middle;
/// `None` when not even a useful part of it fits.
pub fn render_log(log: &Log, budget: usize) -> Option<String> {
    if budget < MIN_LOG {
        return None;
    }
    let clean = redact_environment_values(&sanitize(&log.text));
    let lines: Vec<String> = clean.lines().map(cap_line).collect();
    let fence = fence_for(&clean);
    let title = html_escape(&log.title);
    let total = lines.len();
    let head = |note: &str| {
        format!(
            "<details><summary>{title} ({} line{}{note})</summary>\n\n{fence}text\n",
            thousands(total),
            plural(total)
        )
    };
    let tail = format!("{fence}\n\n</details>\n");
    let worst_note = format!(", {} cut from the middle", thousands(total));
    let room = budget.checked_sub(head(&worst_note).len() + tail.len())?;
    let (body, cut) = trim_middle(&lines, room);
    let note = match cut {
        Some(cut) => format!(", {} cut from the middle", thousands(cut.lines)),
        None => String::new(),
    };
    Some(format!("{}{body}{tail}", head(&note)))
}

/// What [`trim_middle`] left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub lines: usize,
    pub bytes: usize,
}

/// `lines` (each ending in a newline when joined) in at most `budget` bytes: whole when
/// they fit, else the first and last lines with one line in the middle saying how much was
/// cut.
pub fn trim_middle(lines: &[String], budget: usize) -> (String, Option<Cut>) {
    let total: usize = lines.iter().map(|l| l.len() + 1).sum();
    if total <= budget {
        let mut out = String::with_capacity(total);
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
        return (out, None);
    }
    const MARKER_ROOM: usize = 120;
    let half = budget.saturating_sub(MARKER_ROOM) / 2;
    let mut head = 0;
    let mut head_bytes = 0;
    while head < lines.len() && head_bytes + lines[head].len() < half {
        head_bytes += lines[head].len() + 1;
        head += 1;
    }
    let mut tail = 0;
    let mut tail_bytes = 0;
    while tail < lines.len() - head && tail_bytes + lines[lines.len() - 1 - tail].len() < half {
        tail_bytes += lines[lines.len() - 1 - tail].len() + 1;
        tail += 1;
    }
    let cut = Cut {
        lines: lines.len() - head - tail,
        bytes: total - head_bytes - tail_bytes,
    };
    let mut out = String::with_capacity(head_bytes + tail_bytes + MARKER_ROOM);
    for line in &lines[..head] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(&format!(
        "[… {} line{} ({}) cut from the middle to fit; the whole output is in the job's log …]\n",
        thousands(cut.lines),
        plural(cut.lines),
        size(cut.bytes)
    ));
    for line in &lines[lines.len() - tail..] {
        out.push_str(line);
        out.push('\n');
    }
    (out, Some(cut))
}

fn cap_line(line: &str) -> String {
    if line.len() <= MAX_LOG_LINE {
        return line.to_owned();
    }
    let mut end = MAX_LOG_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// Terraform's output without colour codes or other control characters (tabs and line
/// breaks stay), and without the bidirectional controls that could make it read otherwise.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI (`ESC [ … final`) or a two-character escape.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\n' | '\t' => out.push(c),
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push('\u{fffd}')
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Terraform's plan text with the values of Lambda environment variables hidden: reports
/// show their names, never their values (they may hold credentials), and a comment on a
/// public repository is public. Inside a `variables = {` block, each `"KEY" = value` keeps
/// its key and change marker; multi-line values are dropped.
pub fn redact_environment_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The column of `variables` in the open block's first line.
    let mut open: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        let indent = content.len() - trimmed.len();
        if let Some(column) = open {
            if trimmed.starts_with('}') && indent <= column {
                open = None;
                out.push_str(line);
                continue;
            }
            if trimmed.starts_with('#') {
                out.push_str(line);
                continue;
            }
            if let Some(redacted) = redact_entry(content) {
                out.push_str(&redacted);
                out.push('\n');
            }
            continue;
        }
        let unmarked = strip_marker(trimmed);
        if let Some(rest) = unmarked.strip_prefix("variables") {
            if rest.trim_start().strip_prefix('=').map(str::trim) == Some("{") {
                open = Some(indent + (trimmed.len() - unmarked.len()));
            }
        }
        out.push_str(line);
    }
    out
}

/// `+ `, `- `, `~ `, `-/+ `, `+/- ` before an attribute.
fn strip_marker(text: &str) -> &str {
    for marker in ["-/+ ", "+/- ", "+ ", "- ", "~ "] {
        if let Some(rest) = text.strip_prefix(marker) {
            return rest.trim_start();
        }
    }
    text
}

/// `  ~ "KEY" = "a" -> "b"` → `  ~ "KEY" = (value hidden)`; `None` for a line that is not
/// an entry (the continuation of a multi-line value).
fn redact_entry(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let unmarked = strip_marker(trimmed);
    let marker = &trimmed[..trimmed.len() - unmarked.len()];
    let key_end = if let Some(quoted) = unmarked.strip_prefix('"') {
        let mut escaped = false;
        let close = quoted.char_indices().find(|&(_, c)| {
            let end = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            end
        })?;
        close.0 + 2
    } else {
        unmarked.find(|c: char| c.is_whitespace() || c == '=')?
    };
    let key = &unmarked[..key_end];
    unmarked[key_end..].trim_start().strip_prefix('=')?;
    Some(format!("{indent}{marker}{key} = (value hidden)"))
}

/// A backtick fence longer than any run of backticks in `text` (at least three).
pub fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn html_escape(text: &str) -> String {
    sanitize(text)
        .replace('\n', " ")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `12345` → `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn size(bytes: usize) -> String {
    match bytes {
        0..=9_999 => format!("{} bytes", thousands(bytes)),
        10_000..=9_999_999 => format!("{} KB", thousands(bytes.div_ceil(1000))),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    #[test]
    fn output_that_fits_is_kept_whole() {
        let (text, cut) = trim_middle(&lines(3), 1000);
        assert_eq!(text, "line 1\nline 2\nline 3\n");
        assert_eq!(cut, None);
    }

    #[test]
    fn long_output_keeps_its_first_and_last_lines_and_says_how_much_was_cut() {
        let all = lines(10_000);
        let (text, cut) = trim_middle(&all, 4_000);
        assert!(text.len() <= 4_000, "{}", text.len());
        assert!(text.starts_with("line 1\nline 2\n"), "{text}");
        assert!(text.ends_with("line 9999\nline 10000\n"), "{text}");
        let cut = cut.unwrap();
        let shown = text.lines().count() - 1;
        assert_eq!(cut.lines, 10_000 - shown);
        assert!(
            text.contains(&format!("[… {} lines (", thousands(cut.lines))),
            "{text}"
        );
    }

    #[test]
    fn logs_are_collapsed_fenced_and_trimmed_within_their_budget() {
        let log = Log {
            title: "terraform plan: <svc>".into(),
            text: (1..=5_000)
                .map(|i| format!("  # aws_lambda_function.preview[\"{i}\"] will be created\n"))
                .collect(),
        };
        let text = render_log(&log, 8_000).unwrap();
        assert!(text.len() <= 8_000, "{}", text.len());
        assert!(
            text.starts_with("<details><summary>terraform plan: &lt;svc&gt; (5,000 lines, "),
            "{text}"
        );
        assert!(
            text.contains(" cut from the middle)</summary>\n\n```text\n"),
            "{text}"
        );
        assert!(text.ends_with("```\n\n</details>\n"), "{text}");
        assert!(render_log(&log, 100).is_none());
    }

    #[test]
    fn a_fence_inside_the_output_cannot_close_the_block() {
        let log = Log {
            title: "t".into(),
            text: "```\n</details>\n# heading\n".into(),
        };
        let text = render_log(&log, 4_000).unwrap();
        assert!(
            text.contains("\n````text\n```\n</details>\n# heading\n````\n"),
            "{text}"
        );
    }

    #[test]
    fn colour_codes_and_control_characters_are_removed() {
        assert_eq!(
            sanitize("\u{1b}[1m\u{1b}[32m+\u{1b}[0m create\r\n\u{7}bell\u{202e}x"),
            "+ create\nbell\u{fffd}x"
        );
    }

    #[test]
    fn environment_values_in_terraforms_plan_text_are_hidden() {
        let plan = r#"  # aws_lambda_function.staging["staging"] will be updated in-place
  ~ resource "aws_lambda_function" "staging" {
      ~ memory_size = 128 -> 512
      ~ environment {
          ~ variables = {
              ~ "MODE" = "a" -> "secret-value"
              + "NEW"  = "amqp://user:password@host"
              + "MULTI" = <<-EOT
                    line one secret
                EOT
                # (1 unchanged element hidden)
            }
        }
      + variables_note = "kept"
    }
"#;
        let redacted = redact_environment_values(plan);
        assert_eq!(
            redacted,
            r#"  # aws_lambda_function.staging["staging"] will be updated in-place
  ~ resource "aws_lambda_function" "staging" {
      ~ memory_size = 128 -> 512
      ~ environment {
          ~ variables = {
              ~ "MODE" = (value hidden)
              + "NEW" = (value hidden)
              + "MULTI" = (value hidden)
                # (1 unchanged element hidden)
            }
        }
      + variables_note = "kept"
    }
"#
        );
        let created = "      + environment {\n          + variables = {\n              + \"K\" = \"v\"\n            }\n        }\n";
        assert!(!redact_environment_values(created).contains("\"v\""));
    }

    #[test]
    fn the_document_keeps_summary_errors_and_warnings_and_cuts_details_with_a_note() {
        let rendering = Rendering {
            has_changes: true,
            failed: false,
            summary: "## lambda-gitops plan: 300 to add\n".into(),
            errors: vec!["error one\n".into()],
            warnings: vec!["> [!WARNING]\n> production replaced\n".into()],
            details: (0..5_000).map(|i| format!("| row {i} |\n")).collect(),
            logs: vec![Log {
                title: "terraform plan: a".into(),
                text: "x\n".repeat(100_000),
            }],
            annotations: Vec::new(),
        };
        let text = document(&rendering, COMMENT_LIMIT, "the job's log");
        assert!(text.len() <= COMMENT_LIMIT, "{}", text.len());
        assert!(text.starts_with("## lambda-gitops plan: 300 to add\n\nerror one\n\n> [!WARNING]\n> production replaced\n\n| row 0 |\n"), "{text}");
        assert!(text.contains("more lines in the job's log."), "{text}");
        assert!(
            text.contains("<details><summary>terraform plan: a (100,000 lines, "),
            "{text}"
        );
    }

    #[test]
    fn errors_beyond_the_limit_are_counted_and_the_summary_is_kept() {
        let rendering = Rendering {
            failed: true,
            summary: "## lambda-gitops plan failed\n".into(),
            errors: (1..=10_000)
                .map(|i| format!(":x: `services/s{i}/config.yaml:3`: `wrong`\n"))
                .collect(),
            logs: vec![Log {
                title: "terraform plan: a".into(),
                text: "x\n".repeat(1000),
            }],
            ..Rendering::default()
        };
        let text = document(&rendering, COMMENT_LIMIT, "the job's log");
        assert!(text.len() <= COMMENT_LIMIT, "{}", text.len());
        assert!(text.starts_with("## lambda-gitops plan failed\n\n:x: `services/s1/config.yaml:3`"));
        let shown = text.matches(":x:").count();
        assert!(shown > 1000, "{shown}");
        assert!(
            text.contains(&format!(
                "> [!NOTE]\n> {} more errors did not fit here: see the job's log.\n",
                thousands(10_000 - shown)
            )),
            "{}",
            &text[text.len() - 500..]
        );
        assert!(
            text.contains("> Terraform's output did not fit here: see the job's log."),
            "{}",
            &text[text.len() - 500..]
        );
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
