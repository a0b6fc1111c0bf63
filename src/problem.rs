//! One thing wrong in the gitops repo: the file, the line where YAML gives one, what is
//! wrong and, where we can tell, what to do about it.
//!
//! Messages quote file contents only through [`excerpt`] (one line, at most 200 characters),
//! and a problem never prints a control character: a config cannot write escape sequences
//! or extra lines (a fake `::error::` workflow command) into a CI log.

use std::fmt;
use std::path::{Path, PathBuf};

/// The most characters of file text a message quotes.
pub const EXCERPT_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line,
            message: escape_controls(&message.into()),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(escape_controls(&hint.into()));
        self
    }

    /// `file:line` (or just `file`), as editors and CI annotations understand it.
    pub fn location(&self) -> String {
        let file = escape_controls(&self.file.display().to_string());
        match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

/// Problems in a stable order: by file, then line, then message.
pub fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    problems.dedup();
    problems
}

/// File text as a message may quote it: its first line only, control characters escaped,
/// at most [`EXCERPT_CHARS`] characters (`…` marks a cut).
pub fn excerpt(text: &str) -> String {
    let first_line = text.split(['\n', '\r']).next().unwrap_or_default();
    let cut = first_line.len() < text.len();
    let mut shown = String::new();
    for (count, c) in first_line.chars().enumerate() {
        if count == EXCERPT_CHARS {
            shown.push('…');
            return shown;
        }
        push_escaped(&mut shown, c);
    }
    if cut {
        shown.push('…');
    }
    shown
}

/// `text` with every control character written as an escape (`\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// `` `a`, `b` `` — names in a message.
pub fn backticked(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_one_short_line_without_control_characters() {
        assert_eq!(excerpt("abc"), "abc");
        assert_eq!(excerpt("first\nsecond"), "first…");
        assert_eq!(excerpt("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        let long = "é".repeat(500);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }

    #[test]
    fn a_problem_never_prints_a_line_break() {
        let problem =
            Problem::new(Path::new("a\nb.yaml"), Some(1), "x\n::error::fake").with_hint("h\r\n");
        let shown = format!("{problem} {}", problem.hint.as_deref().unwrap());
        assert!(!shown.contains(['\n', '\r']), "{shown}");
    }
}
