//! One terraform command: an explicit environment (tokens removed, `TF_IN_AUTOMATION=1`),
//! stdin from null, its own process group, stdout and stderr read concurrently and shown
//! live on our stderr (stdout is ours, for data), the tail of its output kept for the
//! error. The first SIGINT/SIGTERM is relayed to it exactly once — a second would make
//! terraform abandon its state lock — then it gets a grace period before it is killed.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::env_vars;
use crate::terraform::interrupts::{Interrupt, Interrupts};

const TAIL_LINES: usize = 20;

/// A command line to show: the binary and arguments, shell-quoted, with secrets masked.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Arguments to show as `****` (e.g. `-backend-config` values).
    pub secret_args: Vec<usize>,
    pub cwd: PathBuf,
    /// Set for the child on top of its explicit environment (e.g. `TF_DATA_DIR`).
    pub envs: Vec<(String, String)>,
}

impl Invocation {
    pub fn display(&self) -> String {
        let mut words = vec![quote(&self.program.display().to_string())];
        for (i, arg) in self.args.iter().enumerate() {
            if self.secret_args.contains(&i) {
                let key = arg.split_once('=').map(|(k, _)| k).unwrap_or("");
                let shown = match arg
                    .strip_prefix("-backend-config=")
                    .and_then(|rest| rest.split_once('='))
                {
                    Some((name, _)) => format!("-backend-config={name}=****"),
                    None => format!("{key}=****"),
                };
                words.push(quote(&shown));
            } else {
                words.push(quote(arg));
            }
        }
        words.join(" ")
    }
}

fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[derive(Debug)]
pub struct Finished {
    /// The exit code; `None` when terraform died by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// stdout, when captured.
    pub stdout: String,
    /// The last lines of its output.
    pub tail: Vec<String>,
    /// A state lock ID terraform printed ("Lock Info: ID: …"), for the force-unlock hint.
    pub lock_id: Option<String>,
    /// The signal relayed to it, when we were interrupted while it ran.
    pub interrupted: Option<Interrupt>,
}

#[derive(Debug, thiserror::Error)]
#[error("could not start `{command}`: {source}")]
pub struct StartError {
    pub command: String,
    #[source]
    pub source: std::io::Error,
}

/// Runs `invocation`; `capture_stdout` keeps stdout instead of showing it.
pub async fn run(
    invocation: &Invocation,
    capture_stdout: bool,
    interrupts: &mut Interrupts,
    grace: Duration,
) -> Result<Finished, StartError> {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .current_dir(&invocation.cwd)
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("CHECKPOINT_DISABLE", "1")
        .envs(invocation.envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    for token in env_vars::TOKENS {
        command.env_remove(token);
    }
    interrupts.mark_seen();
    let mut child = command.spawn().map_err(|source| StartError {
        command: invocation.display(),
        source,
    })?;
    let pgid = Pid::from_raw(child.id().expect("a just-spawned child has a pid") as i32);

    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let stdout_task = read_lines(stdout, !capture_stdout);
    let stderr_task = read_lines(stderr, true);

    let mut relayed: Option<Interrupt> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            received = interrupts.next() => {
                match (relayed, received) {
                    (None, Some(first)) => {
                        relayed = Some(first);
                        deadline = Some(tokio::time::Instant::now() + grace);
                        let _ = killpg(pgid, first.signal());
                        tracing::warn!(
                            "relayed {:?} to terraform once; waiting up to {}s for it to stop cleanly and release its state lock",
                            first.signal(),
                            grace.as_secs()
                        );
                    }
                    _ => tracing::warn!("terraform is already stopping; not interrupting it again (that would abandon its state lock)"),
                }
            }
            () = sleep_until(deadline) => {
                tracing::error!("terraform did not stop within {}s; killing it", grace.as_secs());
                let _ = killpg(pgid, Signal::SIGKILL);
                deadline = None;
            }
        }
    };
    let status = status.map_err(|source| StartError {
        command: invocation.display(),
        source,
    })?;
    let (stdout_text, stdout_tail) = stdout_task.await.unwrap_or_default();
    let (_, stderr_tail) = stderr_task.await.unwrap_or_default();

    let mut tail = stdout_tail;
    tail.extend(stderr_tail);
    let lock_id = find_lock_id(&tail);
    let start = tail.len().saturating_sub(TAIL_LINES);
    use std::os::unix::process::ExitStatusExt;
    Ok(Finished {
        code: status.code(),
        signal: status.signal(),
        stdout: if capture_stdout {
            stdout_text
        } else {
            String::new()
        },
        tail: tail[start..].to_vec(),
        lock_id,
        interrupted: relayed,
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Reads `stream` line by line; shows each line on stderr when `show`; returns the whole
/// text and the lines worth keeping for errors (up to a few hundred, for the lock ID).
fn read_lines<R: AsyncRead + Unpin + Send + 'static>(
    stream: R,
    show: bool,
) -> JoinHandle<(String, Vec<String>)> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        let mut text = String::new();
        let mut kept: Vec<String> = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            if show {
                eprintln!("{line}");
                kept.push(line.clone());
                if kept.len() > 400 {
                    kept.drain(..200);
                }
            } else {
                text.push_str(&line);
                text.push('\n');
            }
        }
        (text, kept)
    })
}

/// Terraform's lock error prints `Lock Info:` then `  ID: <id>`.
fn find_lock_id(lines: &[String]) -> Option<String> {
    let start = lines.iter().rposition(|line| line.trim() == "Lock Info:")?;
    lines[start..].iter().find_map(|line| {
        let rest = line.trim().strip_prefix("ID:")?;
        Some(rest.trim().to_owned()).filter(|id| !id.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_mask_backend_secrets_and_quote() {
        let invocation = Invocation {
            program: PathBuf::from("terraform"),
            args: vec![
                "init".into(),
                "-backend-config=secret_key=abc".into(),
                "a b".into(),
            ],
            secret_args: vec![1],
            cwd: PathBuf::from("."),
            envs: Vec::new(),
        };
        assert_eq!(
            invocation.display(),
            "terraform init '-backend-config=secret_key=****' 'a b'"
        );
    }

    #[test]
    fn lock_ids_are_found_in_terraforms_error() {
        let lines: Vec<String> = [
            "Error: Error acquiring the state lock",
            "Lock Info:",
            "  ID:        5a1b7f0e-8e3a-4b6c-9d2f-0c1e2d3f4a5b",
            "  Path:      tfstate/svc",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            find_lock_id(&lines).as_deref(),
            Some("5a1b7f0e-8e3a-4b6c-9d2f-0c1e2d3f4a5b")
        );
        assert_eq!(find_lock_id(&lines[..1]), None);
    }
}
