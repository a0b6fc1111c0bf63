//! GitHub Actions workflow commands, written to stderr (the runner reads both streams;
//! stdout is for data): `::error file=…,line=…,title=…::message` annotations,
//! `::group::`/`::endgroup::` around terraform's output, and `::stop-commands::` so that
//! nothing terraform prints — it echoes values from the gitops repo — is taken for a
//! command. Values are escaped as GitHub's toolkit escapes them: `%`, `\r` and `\n` in
//! data; those and `:` and `,` in properties.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }
}

/// One annotation on the run (and on the file and line, when the file is in the diff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// As the report shows it (relative to the current directory, or absolute).
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub title: String,
    pub message: String,
}

impl Annotation {
    pub fn error(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            file: None,
            line: None,
            title: title.into(),
            message: message.into(),
        }
    }

    pub fn warning(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(title, message)
        }
    }

    pub fn at(mut self, file: &Path, line: Option<usize>) -> Self {
        self.file = Some(file.to_path_buf());
        self.line = line;
        self
    }

    /// The workflow command, one line. `workspace` (`GITHUB_WORKSPACE`) turns an absolute
    /// path under it into the repository-relative path GitHub matches against the diff.
    pub fn command(&self, workspace: Option<&Path>) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            let file = relative_to(file, workspace);
            properties.push(format!("file={}", escape_property(&file)));
            if let Some(line) = self.line {
                properties.push(format!("line={line}"));
            }
        }
        properties.push(format!("title={}", escape_property(&self.title)));
        format!(
            "::{} {}::{}",
            self.level.command(),
            properties.join(","),
            escape_data(&self.message)
        )
    }
}

/// `path` as GitHub wants it: relative to the workspace, without a leading `./`.
fn relative_to(path: &Path, workspace: Option<&Path>) -> String {
    let path = match workspace {
        Some(workspace) if path.is_absolute() => path.strip_prefix(workspace).unwrap_or(path),
        _ => path,
    };
    let text = path.display().to_string();
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// A command's message: `%`, `\r`, `\n` escaped.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: [`escape_data`], and `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::group::title`: the lines up to [`END_GROUP`] fold under it in the log.
pub fn group(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

pub const END_GROUP: &str = "::endgroup::";

/// `::stop-commands::TOKEN` … `::TOKEN::`: between the two, the runner takes no line for a
/// command. The token is random, so output cannot end the pause itself.
#[derive(Clone)]
pub struct StopCommands {
    token: String,
}

impl StopCommands {
    pub fn new() -> Self {
        let mut bytes = [0u8; 16];
        let random = std::fs::File::open("/dev/urandom")
            .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut bytes));
        if random.is_err() {
            // Still unpredictable enough to not be guessed from the output: time and pid.
            let seed = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
            let mut hasher = crate::hash::Hasher::default();
            hasher.update(seed.as_bytes());
            let hex = hasher.finish().hex();
            return Self {
                token: format!("lambda-gitops-{}", &hex[..32]),
            };
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            token: format!("lambda-gitops-{hex}"),
        }
    }

    pub fn pause(&self) -> String {
        format!("::stop-commands::{}", self.token)
    }

    pub fn resume(&self) -> String {
        format!("::{}::", self.token)
    }
}

impl Default for StopCommands {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for StopCommands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StopCommands(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_data_and_properties_as_the_toolkit_does() {
        let annotation =
            Annotation::error("invalid gitops config", "100% wrong\r\nsecond line: a, b")
                .at(Path::new("./envs/a:b,c.yaml"), Some(7));
        assert_eq!(
            annotation.command(None),
            "::error file=envs/a%3Ab%2Cc.yaml,line=7,title=invalid gitops config::100%25 wrong%0D%0Asecond line: a, b"
        );
        let warning = Annotation::warning("t: x", "m");
        assert_eq!(warning.command(None), "::warning title=t%3A x::m");
    }

    #[test]
    fn absolute_paths_under_the_workspace_become_relative() {
        let annotation =
            Annotation::error("t", "m").at(Path::new("/w/repo/services/a/config.yaml"), None);
        assert_eq!(
            annotation.command(Some(Path::new("/w/repo"))),
            "::error file=services/a/config.yaml,title=t::m"
        );
        assert_eq!(
            annotation.command(Some(Path::new("/elsewhere"))),
            "::error file=/w/repo/services/a/config.yaml,title=t::m"
        );
    }

    #[test]
    fn a_message_cannot_start_a_second_command() {
        let annotation = Annotation::error("t", "x\n::warning::injected");
        let line = annotation.command(None);
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(line, "::error title=t::x%0A::warning::injected");
        assert_eq!(group("a\n::endgroup::"), "::group::a%0A::endgroup::");
    }

    #[test]
    fn stop_command_tokens_differ_and_never_show() {
        let a = StopCommands::new();
        let b = StopCommands::new();
        assert_ne!(a.pause(), b.pause());
        assert_eq!(
            a.resume(),
            format!("::{}::", a.pause().trim_start_matches("::stop-commands::"))
        );
        assert_eq!(format!("{a:?}"), "StopCommands(****)");
    }
}
