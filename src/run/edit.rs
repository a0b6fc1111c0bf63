//! An edit session over the gitops dir, for `set-version`, `preview` and `promote`: the
//! scanned tree, each file edited in memory through [`crate::gitops`], the whole tree as it
//! would be after the edit validated and resolved as `plan` does, and only then the files
//! written. Checking the edit's arguments (a service name, a version, a commit) with
//! validation's own rules is here too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::desired::Repo;
use crate::error::Error;
use crate::gitops::release::Release;
use crate::gitops::{layout, Change, EditError, FileEdit, GitopsDir, Op};
use crate::problem::{self, Problem};
use crate::scan::{Contents, PreviewFile, SourceFile, Tree};
use crate::settings::Settings;
use crate::validate::{rules, Checked};
use crate::yaml::Document;

/// A release from the command line, its values checked by validation's own rules.
pub fn release(version: &str, sha: Option<&str>) -> Result<Release, Error> {
    rules::version(version).map_err(|message| Error::Argument {
        name: "VERSION",
        message: strip_subject(message),
    })?;
    if let Some(sha) = sha {
        rules::commit_sha(sha).map_err(|message| Error::Argument {
            name: "--sha",
            message: strip_subject(message),
        })?;
    }
    Ok(Release {
        version: version.to_owned(),
        sha: sha.map(str::to_owned),
    })
}

/// A change to one file of the layout.
#[derive(Debug, Clone)]
pub enum FileChange {
    /// New bytes for `relative`; `created` when there was no file.
    Write {
        relative: PathBuf,
        bytes: Vec<u8>,
        created: bool,
    },
    Remove {
        relative: PathBuf,
    },
}

impl FileChange {
    pub fn relative(&self) -> &Path {
        match self {
            Self::Write { relative, .. } | Self::Remove { relative } => relative,
        }
    }

    fn op(&self) -> Op {
        match self {
            Self::Write { created: false, .. } => Op::Replace,
            Self::Write { created: true, .. } => Op::Create,
            Self::Remove { .. } => Op::Remove,
        }
    }
}

/// One file edited in memory.
#[derive(Debug)]
pub struct Edited {
    /// The file as shown in messages.
    pub shown: PathBuf,
    pub changes: Vec<Change>,
    /// `None` when every value already was what it was set to: the file stays untouched.
    pub change: Option<FileChange>,
}

impl Edited {
    /// What to print: `file: key old → new` per changed value, or `file: unchanged`.
    pub fn lines(&self) -> Vec<String> {
        describe(&self.shown, &self.changes)
    }
}

/// `--service` as given, when it can name a service (and so a directory).
pub fn service_arg(name: &str) -> Result<&str, Error> {
    crate::validate::rules::service_name(name).map_err(|message| Error::Argument {
        name: "--service",
        message: message
            .find('`')
            .map_or(message.clone(), |i| message[i..].to_owned()),
    })?;
    Ok(name)
}

/// The gitops dir as scanned, to edit.
pub struct Session {
    pub gitops: GitopsDir,
    pub tree: Tree,
}

impl Session {
    pub fn open(settings: &Settings) -> Result<Self, Error> {
        let gitops = GitopsDir::new(&settings.gitops_dir)?;
        let tree = crate::scan::scan(&settings.gitops_dir);
        Ok(Self { gitops, tree })
    }

    /// The tree as it is, validated: the Lambda services that pass and every problem.
    pub fn validate(&self) -> (Checked, Vec<Problem>) {
        let mut problems = Vec::new();
        let checked = crate::validate::validate(&self.tree, &mut problems);
        (checked, problems)
    }

    /// The tree's checked configs when `service` is a Lambda service whose config passes
    /// validation; otherwise the error to report: the repo's problems if it has any, else
    /// "not a Lambda service".
    pub fn lambda_service(&self, service: &str) -> Result<Checked, Error> {
        let (checked, problems) = self.validate();
        if checked.services.contains_key(service) {
            return Ok(checked);
        }
        if !problems.is_empty() {
            return Err(Error::Invalid {
                problems: problem::sorted(problems),
            });
        }
        Err(Error::UnknownService {
            name: service.to_owned(),
            known: checked.services.keys().cloned().collect(),
        })
    }

    /// The scanned file at `relative`, when the layout has one there.
    pub fn file(&self, relative: &Path) -> Option<&SourceFile> {
        let shown = self.gitops.shown(relative);
        let tree = &self.tree;
        tree.services
            .iter()
            .map(|f| &f.file)
            .chain(tree.environments.iter().map(|f| &f.file))
            .chain(tree.previews.iter().map(|f| &f.file))
            .find(|file| file.path == shown)
    }

    /// The scan's own refusal of `relative` or of a directory on its way (a symlink, not a
    /// regular file, unreadable), when it has one.
    pub fn refusal(&self, relative: &Path) -> Option<&Problem> {
        let shown = self.gitops.shown(relative);
        self.tree
            .problems
            .iter()
            .find(|p| shown.starts_with(&p.file))
    }

    /// The document at `relative`: `None` when there is no such file; an error naming the
    /// file (and line) when it cannot be read or parsed.
    pub fn document(&self, relative: &Path) -> Result<Option<(PathBuf, Document)>, Error> {
        // Every refusal of the scan, so an edit of several files names each one refused.
        if self.refusal(relative).is_some() {
            return Err(Error::Invalid {
                problems: problem::sorted(self.tree.problems.clone()),
            });
        }
        let Some(file) = self.file(relative) else {
            return Ok(None);
        };
        let doc = crate::validate::yaml::document(file).map_err(|problem| Error::Invalid {
            problems: vec![problem],
        })?;
        Ok(Some((file.path.clone(), doc)))
    }

    /// Applies `edit` to the document at `relative`; `None` when there is no such file.
    pub fn edit(
        &self,
        relative: &Path,
        edit: impl FnOnce(&mut FileEdit<'_>) -> Result<(), EditError>,
    ) -> Result<Option<Edited>, Error> {
        let Some((shown, doc)) = self.document(relative)? else {
            return Ok(None);
        };
        let mut file_edit = FileEdit::new(&shown, &doc);
        edit(&mut file_edit)?;
        let (text, changes) = file_edit.finish();
        let change = (text != doc.text).then(|| FileChange::Write {
            relative: relative.to_path_buf(),
            bytes: text.into_bytes(),
            created: false,
        });
        Ok(Some(Edited {
            shown,
            changes,
            change,
        }))
    }

    /// Validates the tree as it would be after `changes` (in memory), then — unless
    /// `dry_run` — writes them. Nothing is written when the tree would be invalid, nor when
    /// any of the files (or a directory above one) is a symlink.
    pub fn commit(
        &mut self,
        settings: &Settings,
        changes: &[FileChange],
        dry_run: bool,
    ) -> Result<Repo, Error> {
        for change in changes {
            self.apply_in_memory(change);
        }
        let repo = self.check(settings)?;
        for change in changes {
            self.gitops.check(change.relative(), change.op())?;
        }
        if dry_run {
            return Ok(repo);
        }
        for change in changes {
            match change {
                FileChange::Write {
                    relative,
                    bytes,
                    created: false,
                } => self.gitops.replace(relative, bytes)?,
                FileChange::Write {
                    relative,
                    bytes,
                    created: true,
                } => self.gitops.create(relative, bytes)?,
                FileChange::Remove { relative } => {
                    self.gitops.remove_file(relative)?;
                }
            }
        }
        Ok(repo)
    }

    /// Removes the directories above removed preview files that are left empty:
    /// `pr-<N>/services/`, then `pr-<N>/`. Those removed, as shown.
    pub fn remove_empty_preview_dirs(&self, prs: &BTreeSet<u64>) -> Result<Vec<PathBuf>, Error> {
        let mut removed = Vec::new();
        for pr in prs {
            let dir = layout::preview_dir(*pr);
            if self.gitops.remove_dir_if_empty(&dir.join("services"))?
                && self.gitops.remove_dir_if_empty(&dir)?
            {
                removed.push(self.gitops.shown(&dir));
            }
        }
        Ok(removed)
    }

    fn apply_in_memory(&mut self, change: &FileChange) {
        let shown = self.gitops.shown(change.relative());
        let tree = &mut self.tree;
        match change {
            FileChange::Write {
                bytes, relative, ..
            } => {
                let contents = Contents::Bytes(bytes.clone());
                let existing = tree
                    .services
                    .iter_mut()
                    .map(|f| &mut f.file)
                    .chain(tree.environments.iter_mut().map(|f| &mut f.file))
                    .chain(tree.previews.iter_mut().map(|f| &mut f.file))
                    .find(|file| file.path == shown);
                match existing {
                    Some(file) => file.contents = contents,
                    None => {
                        let (dir, service) =
                            preview_parts(relative).expect("only previews are created");
                        tree.previews.push(PreviewFile {
                            dir,
                            service,
                            file: SourceFile {
                                path: shown,
                                contents,
                            },
                        });
                    }
                }
            }
            FileChange::Remove { .. } => {
                tree.problems.retain(|p| p.file != shown);
                tree.services.retain(|f| f.file.path != shown);
                tree.environments.retain(|f| f.file.path != shown);
                tree.previews.retain(|f| f.file.path != shown);
            }
        }
    }

    /// Validate and resolve, as `plan` does, on the tree in memory.
    fn check(&self, settings: &Settings) -> Result<Repo, Error> {
        let super::repo::Resolved {
            repo,
            mut problems,
            unresolved,
        } = super::repo::resolve_tree(settings, &self.tree);
        problems.extend(unresolved);
        if !problems.is_empty() {
            return Err(Error::EditInvalid {
                problems: problem::sorted(problems),
            });
        }
        Ok(repo)
    }
}

/// A rule's message reads "version `x` must be …"; after the argument's name, "`x` must be …".
fn strip_subject(message: String) -> String {
    match message.find('`') {
        Some(i) => message[i..].to_owned(),
        None => message,
    }
}

/// `environments/preview/<dir>/services/<service>.values.yaml` → (dir, service).
fn preview_parts(relative: &Path) -> Option<(String, String)> {
    let parts: Vec<&str> = relative.iter().map(|p| p.to_str()).collect::<Option<_>>()?;
    match parts.as_slice() {
        ["environments", "preview", dir, "services", file] => Some((
            (*dir).to_owned(),
            file.strip_suffix(".values.yaml")?.to_owned(),
        )),
        _ => None,
    }
}

/// The lines printed for an edited file: `file: key old → new` per changed value, or
/// `file: unchanged`.
pub fn describe(shown: &Path, changes: &[Change]) -> Vec<String> {
    let file = problem::excerpt(&shown.display().to_string());
    let lines: Vec<String> = changes
        .iter()
        .filter(|change| change.changed())
        .map(|change| {
            let old = change
                .old
                .as_deref()
                .map_or_else(|| "(none)".to_owned(), problem::excerpt);
            format!(
                "{file}: {} {old} → {}",
                change.key,
                problem::excerpt(&change.new)
            )
        })
        .collect();
    if lines.is_empty() {
        vec![format!("{file}: unchanged")]
    } else {
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_refused_before_any_file_is_read() {
        let error = release("1.0 beta", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`VERSION` `1.0 beta` must be 1–128 characters of letters, digits, `.`, `_`, `+` or `-`"
        );
        let error = release("1.0", Some("xyz")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`--sha` `xyz` must be 7–40 hexadecimal digits"
        );
    }
}
