//! The child processes and the signals of a run, around a fake terraform: what reaches the
//! child's environment, timeouts, output that is not UTF-8 or never closes, and SIGINT /
//! SIGTERM at every step of the run — staging, the confirmation prompt, terraform.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, Tree};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Records each call and the environment of each subcommand, then acts like terraform as
/// `$FAKE_DIR/mode-<subcommand>` says.
const FAKE: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls"
env > "$FAKE_DIR/env-$1"
mode=$(cat "$FAKE_DIR/mode-$1" 2>/dev/null)
case "$1" in
  version)
    [ "$mode" = hang ] && exec sleep 60
    echo '{"terraform_version": "1.11.4"}' ;;
  init) : > .terraform.lock.hcl; echo "Terraform has been successfully initialized!" ;;
  plan)
    case "$mode" in
      slow)
        trap 'echo INT >> "$FAKE_DIR/signals"; sleep 0.2; exit 1' INT
        trap 'echo TERM >> "$FAKE_DIR/signals"; sleep 0.2; exit 1' TERM
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
      stubborn)
        trap 'echo ignored >> "$FAKE_DIR/signals"' INT TERM
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
      leave-behind)
        # A process that outlives terraform and keeps its output pipes open.
        sleep 20 &
        echo "planned" ;;
      not-utf8)
        printf 'Warning: \377\376 is not UTF-8\n' >&2
        printf 'Error: Error acquiring the state lock\n\nLock Info:\n  ID:        9f8e-lock\n' >&2
        exit 1 ;;
      changes) : > plan.tfplan; exit 2 ;;
    esac
    : > plan.tfplan ;;
  show)
    if [ "$(cat "$FAKE_DIR/mode-plan" 2>/dev/null)" = changes ]; then
      echo '{"format_version":"1.2","resource_changes":[{"address":"aws_lambda_function.environment[\"staging\"]","mode":"managed","type":"aws_lambda_function","name":"environment","index":"staging","change":{"actions":["update"],"before":{"function_name":"a-staging","tags":{"environment":"staging","version":"1.0.0"}},"after":{"function_name":"a-staging","tags":{"environment":"staging","version":"1.1.0"}}}}]}'
    else
      echo '{"format_version":"1.2","resource_changes":[]}'
    fi ;;
  apply) echo "Apply complete!" ;;
esac
"#;

struct Fake {
    dir: PathBuf,
    bin: PathBuf,
}

impl Fake {
    /// A fake named `name` (`terraform`, `tofu`).
    fn new(tree: &Tree, name: &str) -> Self {
        let dir = tree.temp.path().join("fake");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(name);
        std::fs::write(&bin, FAKE).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir, bin }
    }

    fn mode(&self, subcommand: &str, mode: &str) -> &Self {
        std::fs::write(self.dir.join(format!("mode-{subcommand}")), mode).unwrap();
        self
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn command(&self, tree: &Tree, args: &[&str]) -> Command {
        let mut command = tree.command(args);
        command
            .arg("--terraform-bin")
            .arg(&self.bin)
            .env("FAKE_DIR", &self.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(common::aws::around_fake_terraform(tree, "eu-west-2"))
            .stdin(Stdio::null());
        command
    }
}

/// Waits for `child` at most `limit`; a run still going then is killed and reported as
/// hung (this bounds a hang, it measures nothing).
fn finish(mut child: Child, limit: Duration) -> Run {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "lambda-gitops still ran after {limit:?}:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads `child`'s stderr until a line holds `needle`; returns the lines read so far.
fn wait_for_line(
    child: &mut Child,
    needle: &str,
) -> (Vec<String>, BufReader<std::process::ChildStderr>) {
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("stderr ended before {needle:?}:\n{}", seen.join(""));
        }
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return (seen, reader);
        }
    }
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
}

#[test]
fn the_github_token_reaches_no_terraform_command_not_even_version_under_any_name() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    // A plan with changes, so that its JSON is read too (`show`).
    fake.mode("plan", "changes");
    let token = "ghp_never_in_a_child_0123456789";
    let run = Run::from(
        fake.command(&tree, &["plan"])
            .env("GITHUB_TOKEN", token)
            .env("INPUT_GITHUB_TOKEN", token)
            .env("ACTIONS_RUNTIME_TOKEN", "runtime-token")
            .env("KEEP_ME", "kept")
            .output()
            .unwrap(),
    );
    run.success();
    for subcommand in ["version", "init", "plan", "show"] {
        let env = fake.read(&format!("env-{subcommand}"));
        assert!(env.contains("KEEP_ME=kept"), "{subcommand}: {env}");
        assert!(!env.contains(token), "{subcommand} got the token:\n{env}");
        assert!(
            !env.contains("ACTIONS_RUNTIME_TOKEN"),
            "{subcommand} got the Actions runtime token:\n{env}"
        );
    }
}

#[test]
fn a_terraform_version_that_never_answers_times_out() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("version", "hang");
    let child = spawn(fake.command(&tree, &["plan", "--terraform-timeout", "2s"]));
    let run = finish(child, Duration::from_secs(30));
    run.fails_with(&["version -json` did not answer within 2s"]);
    assert_eq!(fake.read("calls"), "version -json\n");
}

#[test]
fn a_plan_past_its_timeout_is_stopped_like_an_interrupt_and_named() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("plan", "slow");
    let child = spawn(fake.command(&tree, &["plan", "--terraform-timeout", "2s"]));
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ran past its timeout of 2s; terraform stopped"),
        "{}",
        run.stderr
    );
    assert_eq!(fake.read("signals"), "INT\n", "{}", run.stderr);
}

#[test]
fn a_process_left_behind_holding_terraforms_output_does_not_hang_the_run() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("plan", "leave-behind");
    let child = spawn(fake.command(&tree, &["plan"]));
    let run = finish(child, Duration::from_secs(15));
    run.success();
    assert!(run.stderr.contains("planned"), "{}", run.stderr);
    assert!(run.stdout.contains("a: no changes"), "{}", run.stdout);
}

#[test]
fn output_that_is_not_utf8_is_shown_and_read_to_the_end() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("plan", "not-utf8");
    let run = Run::from(fake.command(&tree, &["plan"]).output().unwrap());
    // The lock ID comes after the bad line: the reader went on.
    run.fails_with(&["is not UTF-8", "force-unlock 9f8e-lock"]);
}

#[test]
fn after_a_kill_the_run_says_the_state_may_be_locked_with_the_right_binary_name() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "tofu");
    fake.mode("plan", "stubborn");
    let mut child = spawn(fake.command(&tree, &["plan", "--grace-period", "1"]));
    let (mut seen, mut rest) = wait_for_line(&mut child, "planning slowly");
    signal(&child, Signal::SIGINT);
    let mut tail = String::new();
    rest.read_to_string(&mut tail).unwrap();
    seen.push(tail);
    let status = child.wait().unwrap();
    let stderr = seen.join("");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("stopped cleanly"), "{stderr}");
    assert!(stderr.contains("the state may still be locked"), "{stderr}");
    assert!(stderr.contains("`tofu -chdir="), "{stderr}");
    assert!(stderr.contains("force-unlock <ID>`"), "{stderr}");
}

#[test]
fn a_terraform_that_stops_by_itself_after_the_signal_stopped_cleanly() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("plan", "slow");
    let mut child = spawn(fake.command(&tree, &["plan"]));
    let (mut seen, mut rest) = wait_for_line(&mut child, "planning slowly");
    signal(&child, Signal::SIGINT);
    let mut tail = String::new();
    rest.read_to_string(&mut tail).unwrap();
    seen.push(tail);
    let status = child.wait().unwrap();
    let stderr = seen.join("");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("terraform stopped cleanly"), "{stderr}");
    assert!(!stderr.contains("force-unlock"), "{stderr}");
}

/// A package server that sends the headers and the first bytes, then never another byte.
fn stalling_server() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/pkg-{{version}}.zip",
        listener.local_addr().unwrap()
    );
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nPK\x03\x04first bytes",
            );
            let _ = stream.flush();
            held.push(stream);
            let _ = sender.send(());
        }
    });
    (url, receiver)
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(partial_files(&path));
        } else if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().contains("partial"))
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn sigterm_while_a_package_downloads_stops_the_run_at_once_and_leaves_no_partial_file() {
    let tree = Tree::new();
    let (url, request_arrived) = stalling_server();
    tree.service("a", &format!("    url: \"{url}\"\n"));
    tree.env("staging", "a", "1.0.0", "a-staging", "staging/");
    let fake = Fake::new(&tree, "terraform");
    let child = spawn(fake.command(&tree, &["plan"]));
    request_arrived
        .recv_timeout(Duration::from_secs(30))
        .expect("the download started");
    // The first bytes are in a temp file beside the cache entry by now.
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, Signal::SIGTERM);
    let run = finish(child, Duration::from_secs(10));
    assert_eq!(run.code, 143, "{}", run.stderr);
    assert!(
        run.stderr.contains("interrupted by SIGTERM"),
        "{}",
        run.stderr
    );
    assert_eq!(partial_files(&tree.cache()), Vec::<PathBuf>::new());
    assert_eq!(partial_files(&tree.work()), Vec::<PathBuf>::new());
    assert_eq!(fake.read("calls"), "", "terraform must not start");
}

/// Reads `child`'s stderr byte by byte until it holds `needle` (a prompt has no newline).
fn wait_for_text(child: &mut Child, needle: &str) -> (String, std::process::ChildStderr) {
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        if stderr.read(&mut byte).unwrap() == 0 {
            panic!(
                "stderr ended before {needle:?}:\n{}",
                String::from_utf8_lossy(&seen)
            );
        }
        seen.push(byte[0]);
    }
    (String::from_utf8_lossy(&seen).into_owned(), stderr)
}

#[test]
fn sigint_at_the_confirmation_prompt_ends_the_run_at_once_without_applying() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree, "terraform");
    fake.mode("plan", "changes");
    // `apply` asks only on a terminal: give it one.
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut command = fake.command(&tree, &["apply"]);
    command.stdin(Stdio::from(pty.slave));
    let mut child = spawn(command);
    let (mut seen, mut stderr) = wait_for_text(&mut child, "Only 'yes' will be accepted");
    signal(&child, Signal::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still waiting at the prompt after SIGINT:\n{seen}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("interrupted by SIGINT"), "{seen}");
    assert!(
        !fake.read("calls").contains("apply"),
        "{}",
        fake.read("calls")
    );
    drop(pty.master);
}
