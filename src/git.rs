//! git, the one place it is spawned: always with the explicit child environment (no
//! token), stdin from null, never prompting and taking no optional locks. Every answer is
//! optional — a directory that is no git work tree, or no git at all, is no error — except
//! the files of a revision ([`files_at`]), which a caller asked for and cannot do without.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::process::child_env::ChildEnv;

/// The commit checked out in `dir` (`git rev-parse --verify HEAD`), when it is one.
pub fn head_commit(dir: &Path, env: &ChildEnv) -> Option<String> {
    let output = git(dir, env, &["rev-parse", "--verify", "HEAD"].map(OsStr::new))?;
    let commit = String::from_utf8(output).ok()?.trim().to_owned();
    (commit.len() >= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}

/// When `relative` (under `root`) was last committed (`git log -1 --format=%ct`).
pub fn last_commit_time(root: &Path, relative: &Path, env: &ChildEnv) -> Option<SystemTime> {
    let args = ["log", "-1", "--format=%ct", "--"].map(OsStr::new);
    let output = git(root, env, &[&args[..], &[relative.as_os_str()]].concat())?;
    let seconds: u64 = String::from_utf8_lossy(&output).trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// git's stdout, when it exits 0.
fn git(dir: &Path, env: &ChildEnv, args: &[&OsStr]) -> Option<Vec<u8>> {
    let output = command(dir, env, args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}

/// Why the files of a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("`{}` is not inside a git work tree, so `--changed-since {rev}` has no history to compare with", dir.display())]
    NotAWorkTree { dir: PathBuf, rev: String },

    #[error("`--changed-since {rev}`: no such commit in this clone's history, which is shallow")]
    Shallow { rev: String },

    #[error("`--changed-since {rev}`: the revision does not resolve to a commit")]
    UnknownRevision { rev: String },

    #[error("`git {command}` failed: {message}")]
    Failed { command: String, message: String },
}

impl GitError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotAWorkTree { .. } => Some(
                "run in a git clone of the gitops repo (or drop `--changed-since` to list every service)".into(),
            ),
            Self::Shallow { .. } => Some(
                "fetch more history (with actions/checkout, `fetch-depth: 0`; or `git fetch --deepen=N`)".into(),
            ),
            Self::UnknownRevision { .. } => Some(
                "name a commit, branch or tag this clone has (`git log` lists them); fetch it first if it is on the remote only".into(),
            ),
            Self::Failed { .. } => None,
        }
    }
}

/// A file of a revision's tree, below the directory it was asked from.
#[derive(Debug, Clone)]
pub struct TreeFile {
    /// Relative to that directory, `/`-separated.
    pub path: String,
    pub kind: TreeFileKind,
}

#[derive(Debug, Clone)]
pub enum TreeFileKind {
    /// A regular file's bytes, or its size when it is over the limit asked for.
    File(Result<Vec<u8>, u64>),
    /// A symlink, with its target.
    Link(String),
}

/// The commit `rev` names, as seen from `dir` (inside a work tree).
pub fn resolve_commit(dir: &Path, env: &ChildEnv, rev: &str) -> Result<String, GitError> {
    let inside = git(
        dir,
        env,
        &["rev-parse", "--is-inside-work-tree"].map(OsStr::new),
    );
    if inside.as_deref().map(<[u8]>::trim_ascii) != Some(b"true") {
        return Err(GitError::NotAWorkTree {
            dir: dir.to_path_buf(),
            rev: rev.to_owned(),
        });
    }
    let spec = format!("{rev}^{{commit}}");
    let args = [
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        &spec,
    ]
    .map(OsStr::new);
    if let Some(output) = git(dir, env, &args) {
        return Ok(String::from_utf8_lossy(&output).trim().to_owned());
    }
    let shallow = git(
        dir,
        env,
        &["rev-parse", "--is-shallow-repository"].map(OsStr::new),
    );
    let rev = rev.to_owned();
    Err(match shallow.as_deref().map(<[u8]>::trim_ascii) {
        Some(b"true") => GitError::Shallow { rev },
        _ => GitError::UnknownRevision { rev },
    })
}

/// Every file under `tops` (directories relative to `dir`) in `commit`'s tree; the bytes of
/// regular files up to `max_bytes`, symlinks' targets. Submodules are left out.
pub fn files_at(
    dir: &Path,
    env: &ChildEnv,
    commit: &str,
    tops: &[&str],
    max_bytes: u64,
) -> Result<Vec<TreeFile>, GitError> {
    let args = [
        "ls-tree",
        "-r",
        "-z",
        "-l",
        "--end-of-options",
        commit,
        "--",
    ];
    let args: Vec<&OsStr> = args.iter().chain(tops).map(OsStr::new).collect();
    let listing = run(dir, env, &args, None)?;
    let entries = parse_ls_tree(&listing);
    let wanted: Vec<&LsTreeEntry> = entries
        .iter()
        .filter(|e| e.mode == "120000" || (e.kind == "blob" && e.size <= max_bytes))
        .collect();
    let input: String = wanted.iter().map(|e| format!("{}\n", e.oid)).collect();
    let output = run(
        dir,
        env,
        &["cat-file", "--batch"].map(OsStr::new),
        Some(input),
    )?;
    let mut blobs = parse_batch(&output).into_iter();
    let mut files = Vec::new();
    for entry in &entries {
        let kind = if entry.kind != "blob" {
            continue;
        } else if entry.mode == "120000" {
            let target = blobs.next().unwrap_or_default();
            TreeFileKind::Link(String::from_utf8_lossy(&target).into_owned())
        } else if entry.size > max_bytes {
            TreeFileKind::File(Err(entry.size))
        } else {
            TreeFileKind::File(Ok(blobs.next().unwrap_or_default()))
        };
        files.push(TreeFile {
            path: entry.path.clone(),
            kind,
        });
    }
    Ok(files)
}

struct LsTreeEntry {
    mode: String,
    kind: String,
    oid: String,
    size: u64,
    path: String,
}

/// `<mode> SP <type> SP <object> SP+ <size> TAB <path>` records, NUL-terminated.
fn parse_ls_tree(listing: &[u8]) -> Vec<LsTreeEntry> {
    listing
        .split(|b| *b == 0)
        .filter(|record| !record.is_empty())
        .filter_map(|record| {
            let tab = record.iter().position(|b| *b == b'\t')?;
            let head = String::from_utf8_lossy(&record[..tab]);
            let mut fields = head.split_whitespace();
            Some(LsTreeEntry {
                mode: fields.next()?.to_owned(),
                kind: fields.next()?.to_owned(),
                oid: fields.next()?.to_owned(),
                size: fields.next()?.parse().unwrap_or(0),
                path: String::from_utf8_lossy(&record[tab + 1..]).into_owned(),
            })
        })
        .collect()
}

/// `<oid> SP <type> SP <size> LF <contents> LF` per object, in the order asked.
fn parse_batch(mut output: &[u8]) -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    while let Some(newline) = output.iter().position(|b| *b == b'\n') {
        let header = String::from_utf8_lossy(&output[..newline]).into_owned();
        let Some(size) = header
            .split(' ')
            .nth(2)
            .and_then(|s| s.parse::<usize>().ok())
        else {
            blobs.push(Vec::new());
            output = &output[newline + 1..];
            continue;
        };
        let start = newline + 1;
        let end = (start + size).min(output.len());
        blobs.push(output[start..end].to_vec());
        output = output.get(end + 1..).unwrap_or_default();
    }
    blobs
}

/// git's stdout when it exits 0, else an error with its stderr; `input` is written to its
/// stdin (from another thread, so that a large answer cannot block on a full pipe).
fn run(
    dir: &Path,
    env: &ChildEnv,
    args: &[&OsStr],
    input: Option<String>,
) -> Result<Vec<u8>, GitError> {
    let command_line = args
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let failed = |message: String| GitError::Failed {
        command: command_line.clone(),
        message,
    };
    let mut child = command(dir, env, args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| failed(format!("could not start git: {error}")))?;
    let writer = input
        .zip(child.stdin.take())
        .map(|(input, mut stdin)| std::thread::spawn(move || stdin.write_all(input.as_bytes())));
    let output = child
        .wait_with_output()
        .map_err(|error| failed(error.to_string()))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed(crate::problem::excerpt(stderr.trim())));
    }
    Ok(output.stdout)
}

/// git in `dir`, with the child environment, never prompting, taking no optional locks.
fn command(dir: &Path, env: &ChildEnv, args: &[&OsStr]) -> Command {
    let mut command = Command::new("git");
    command
        .env_clear()
        .envs(env.iter())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(dir)
        .args(args);
    command
}
