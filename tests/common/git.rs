//! git in the tests: repositories made and committed to with a fixed identity (whatever
//! the machine's git config says), and a `git` that records the environment it was given
//! before it runs the real one.

use std::path::{Path, PathBuf};

/// `git ARGS` in `repo` with `env` set; its stdout. Fails the test when git fails.
pub fn git_with(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = std::process::Command::new("git")
        .current_dir(repo)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `git ARGS` in `repo`; its stdout.
pub fn git(repo: &Path, args: &[&str]) -> String {
    git_with(repo, args, &[])
}

/// A `git` under `dir/bin` that appends its environment to `dir/git-env`, then runs the
/// real one: `(PATH with it first, the log)`.
pub fn recording_git(dir: &Path) -> (String, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap()
        .stdout;
    let log = dir.join("git-env");
    let script = format!(
        "#!/bin/sh\nenv >> \"{}\"\nexec {} \"$@\"\n",
        log.display(),
        String::from_utf8(real).unwrap().trim()
    );
    std::fs::write(bin.join("git"), script).unwrap();
    std::fs::set_permissions(bin.join("git"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    (path, log)
}
