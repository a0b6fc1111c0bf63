//! git, the one place it is spawned: always with the explicit child environment (no
//! token), stdin from null, never prompting and taking no optional locks. Every answer is
//! optional — a directory that is no git work tree, or no git at all, is no error.

use std::ffi::OsStr;
use std::path::Path;
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
    let output = Command::new("git")
        .env_clear()
        .envs(env.iter())
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output.status.success().then_some(output.stdout)
}
