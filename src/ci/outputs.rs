//! Which CI outputs a run writes, resolved from the flags and the environment before
//! anything runs — a `--github-comment` that could not be published fails at once, not
//! after a plan — and written once the report is known, even when the run failed.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ci::annotations::Annotation;
use crate::ci::comment::{CommentTarget, Scope};
use crate::ci::event;
use crate::ci::CiError;
use crate::ci::CiSettings;
use crate::github::comments::Repository;
use crate::io_error::IoError;

/// The outputs a run was asked for on its command line.
#[derive(Debug, Clone, Default)]
pub struct OutputFlags {
    /// `--summary-markdown`.
    pub summary_markdown: Option<PathBuf>,
    /// `--summary-json`.
    pub summary_json: Option<PathBuf>,
    /// `--github-comment`.
    pub github_comment: bool,
    /// `--pr`: the pull request to comment on, instead of the event's.
    pub pr: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--summary-markdown`.
    pub summary_markdown: Option<PathBuf>,
    /// `--summary-json`.
    pub summary_json: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`, under GitHub Actions: the Markdown is appended there.
    pub step_summary: Option<PathBuf>,
    /// `--github-comment`: where.
    pub comment: Option<CommentTarget>,
    /// Under GitHub Actions: annotations, and terraform's output in log groups.
    pub github_actions: bool,
    /// `GITHUB_WORKSPACE`, for annotation paths.
    pub workspace: Option<PathBuf>,
    /// The workflow run's page, for links.
    pub run_url: Option<String>,
}

impl Outputs {
    /// Checks everything `--github-comment` needs (repository, pull request, token) and
    /// reads the event payload.
    pub fn resolve(
        ci: &CiSettings,
        args: &OutputFlags,
        services: &[String],
        has_token: bool,
    ) -> Result<Self, CiError> {
        let comment = if args.github_comment {
            Some(comment_target(ci, args, services, has_token)?)
        } else {
            None
        };
        Ok(Self {
            summary_markdown: args.summary_markdown.clone(),
            summary_json: args.summary_json.clone(),
            step_summary: ci.step_summary.clone(),
            comment,
            github_actions: ci.github_actions,
            workspace: ci.workspace.clone(),
            run_url: ci.run_url.clone(),
        })
    }

    /// Where the whole report is, when a Markdown rendering had to leave something out.
    pub fn elsewhere(&self) -> String {
        match &self.run_url {
            Some(url) => format!("[the workflow run's summary and log](<{url}>)"),
            None => "the job's log".to_owned(),
        }
    }

    /// Writes the summary files and appends to the job summary; every one is tried, the
    /// first failure is returned.
    pub fn write_files(&self, markdown: &str, json: &str) -> Result<(), IoError> {
        let mut first = None;
        let mut keep = |result: Result<(), IoError>| {
            if let Err(error) = result {
                first.get_or_insert(error);
            }
        };
        if let Some(path) = &self.summary_markdown {
            keep(replace_file(path, markdown.as_bytes()));
        }
        if let Some(path) = &self.summary_json {
            keep(replace_file(path, json.as_bytes()));
        }
        if let Some(path) = &self.step_summary {
            keep(append_file(path, markdown.as_bytes()));
        }
        first.map_or(Ok(()), Err)
    }

    /// Every output of a finished run: the summary files and the job summary, the
    /// annotations, then the pull-request comment (not after an interrupt: `code` says).
    /// Every one is tried; what failed is returned, in that order.
    pub async fn publish(&self, run: &Published<'_>) -> Vec<CiError> {
        let mut errors = Vec::new();
        errors.extend(
            self.write_files(run.markdown, run.json)
                .err()
                .map(CiError::from),
        );
        self.annotate(&run.rendering.annotations);
        let (Some(target), Some(github)) = (&self.comment, run.github) else {
            return errors;
        };
        if matches!(
            run.code,
            crate::exit_code::INTERRUPTED | crate::exit_code::TERMINATED
        ) {
            tracing::warn!(
                "interrupted: the comment on #{} is left as it was",
                target.number
            );
            return errors;
        }
        let body = super::comment::body(
            run.rendering,
            &target.scope,
            &self.elsewhere(),
            &super::publish::footer(run.command, target, self.run_url.as_deref()),
        );
        match super::publish::publish(github, target, run.rendering, &body).await {
            Ok(published) => log_published(target.number, &published),
            Err(source) => errors.push(CiError::Publish {
                number: target.number,
                source,
                code: run.code,
            }),
        }
        errors
    }

    /// Under GitHub Actions, each annotation as a workflow command on stderr.
    pub fn annotate(&self, annotations: &[Annotation]) {
        if !self.github_actions {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        for annotation in annotations {
            let _ = writeln!(stderr, "{}", annotation.command(self.workspace.as_deref()));
        }
    }
}

/// A finished run, rendered, for [`Outputs::publish`].
pub struct Published<'a> {
    pub rendering: &'a super::Rendering,
    pub markdown: &'a str,
    pub json: &'a str,
    /// `plan` or `apply`, for the comment's footer.
    pub command: &'a str,
    /// The run's exit code.
    pub code: u8,
    /// The GitHub client, given when there is a comment to publish.
    pub github: Option<&'a crate::github::Client>,
}

fn log_published(number: u64, published: &super::publish::Published) {
    use super::publish::Published;
    match published {
        Published::Created { url } => {
            tracing::info!("commented on #{number}: {}", url.as_deref().unwrap_or(""))
        }
        Published::Updated { url } => {
            tracing::info!(
                "updated the comment on #{number}: {}",
                url.as_deref().unwrap_or("")
            )
        }
        Published::Skipped => {}
    }
}

fn comment_target(
    ci: &CiSettings,
    args: &OutputFlags,
    services: &[String],
    has_token: bool,
) -> Result<CommentTarget, CiError> {
    let scope = Scope::of(services).map_err(|message| CiError::Scope { message })?;
    let repository = ci.repository.as_deref().ok_or(CiError::NoRepository)?;
    let repository = Repository::parse(repository).map_err(|_| CiError::Repository {
        value: crate::problem::excerpt(repository),
    })?;
    // With `--pr`, the event only names the head commit: an unreadable one is no error.
    let payload = match (&ci.event_path, args.pr) {
        (Some(path), None) => Some(read_event(path)?),
        (Some(path), Some(_)) => read_event(path).ok(),
        (None, _) => None,
    };
    let number = match (args.pr, &payload) {
        (Some(number), _) => number,
        (None, Some(payload)) => {
            event::pull_request_number(payload).ok_or_else(|| CiError::NoPullRequest {
                event_path: ci.event_path.clone(),
            })?
        }
        (None, None) => return Err(CiError::NoPullRequest { event_path: None }),
    };
    if !has_token {
        return Err(CiError::NoToken);
    }
    // The event's head commit is named only when the event is about this pull request.
    let head_sha = payload
        .as_ref()
        .filter(|payload| event::pull_request_number(payload) == Some(number))
        .and_then(event::head_sha);
    Ok(CommentTarget {
        repository,
        number,
        scope,
        head_sha,
    })
}

fn read_event(path: &Path) -> Result<serde_json::Value, CiError> {
    let failed = |message: String| CiError::Event {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, event::MAX_EVENT_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| failed(e.to_string()))?;
    if bytes.len() as u64 > event::MAX_EVENT_BYTES {
        return Err(failed(format!(
            "larger than {} MiB",
            event::MAX_EVENT_BYTES >> 20
        )));
    }
    serde_json::from_slice(&bytes).map_err(|e| failed(e.to_string()))
}

/// Writes `bytes` through a temp file and a rename (creating the directory): a symlink at
/// `path` (one a pull request committed, say) is replaced, never written through.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| IoError::new("write", path, e))?;
    }
    crate::workdir::write_file(path, bytes)
}

/// Appends to the job summary (the runner's own file, so it is opened as given).
fn append_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| IoError::new("append to the job summary", path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.write_all(b"\n"))
        .map_err(|e| IoError::new("append to the job summary", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(event: Option<&Path>) -> CiSettings {
        CiSettings {
            github_actions: true,
            repository: Some("acme/gitops".into()),
            event_path: event.map(Path::to_path_buf),
            ..CiSettings::default()
        }
    }

    fn comment_args(pr: Option<u64>) -> OutputFlags {
        OutputFlags {
            github_comment: true,
            pr,
            ..OutputFlags::default()
        }
    }

    #[test]
    fn the_pull_request_comes_from_the_flag_else_the_event() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            r#"{"pull_request": {"number": 7, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}}"#,
        )
        .unwrap();
        let outputs = Outputs::resolve(&ci(Some(&event)), &comment_args(None), &[], true).unwrap();
        let target = outputs.comment.unwrap();
        assert_eq!(target.number, 7);
        assert_eq!(target.repository.to_string(), "acme/gitops");
        assert_eq!(target.scope, Scope::All);
        assert!(target.head_sha.is_some());
        let outputs = Outputs::resolve(
            &ci(Some(&event)),
            &comment_args(Some(9)),
            &["a".into()],
            true,
        )
        .unwrap();
        let target = outputs.comment.unwrap();
        assert_eq!(target.number, 9);
        assert_eq!(
            target.head_sha, None,
            "the event is about another pull request"
        );
        assert_eq!(target.scope.label(), "a");
    }

    #[test]
    fn a_comment_without_repository_pull_request_or_token_is_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let push = dir.path().join("push.json");
        std::fs::write(&push, r#"{"ref": "refs/heads/main"}"#).unwrap();
        let refused = |ci: &CiSettings, args: &OutputFlags, token: bool| {
            Outputs::resolve(ci, args, &[], token).unwrap_err()
        };
        assert!(matches!(
            refused(&ci(Some(&push)), &comment_args(None), true),
            CiError::NoPullRequest {
                event_path: Some(_)
            }
        ));
        assert!(matches!(
            refused(&ci(None), &comment_args(None), true),
            CiError::NoPullRequest { event_path: None }
        ));
        assert!(matches!(
            refused(&ci(None), &comment_args(Some(3)), false),
            CiError::NoToken
        ));
        let no_repo = CiSettings {
            repository: None,
            ..ci(None)
        };
        assert!(matches!(
            refused(&no_repo, &comment_args(Some(3)), true),
            CiError::NoRepository
        ));
        let bad_repo = CiSettings {
            repository: Some("acme".into()),
            ..ci(None)
        };
        assert!(matches!(
            refused(&bad_repo, &comment_args(Some(3)), true),
            CiError::Repository { .. }
        ));
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{").unwrap();
        assert!(matches!(
            refused(&ci(Some(&broken)), &comment_args(None), true),
            CiError::Event { .. }
        ));
        assert!(Outputs::resolve(&ci(Some(&broken)), &comment_args(Some(3)), &[], true).is_ok());
        // Without --github-comment nothing is needed.
        assert!(Outputs::resolve(&ci(None), &OutputFlags::default(), &[], false).is_ok());
    }

    #[test]
    fn summary_files_replace_a_planted_symlink_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let path = dir.path().join("plan.md");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        replace_file(&path, b"report").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "report");
        assert!(!std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
