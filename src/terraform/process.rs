//! One terraform command: an explicit environment ([`ChildEnv`]: tokens removed;
//! `TF_IN_AUTOMATION=1`), stdin from null, its own process group, stdout and stderr read
//! concurrently as bytes and shown live on our stderr (stdout is ours, for data), the tail
//! of its output kept for the error. The first SIGINT/SIGTERM is relayed to it exactly once
//! — a second would make terraform abandon its state lock — then it gets a grace period
//! before it is killed; a command that runs past its timeout is stopped the same way. Once
//! it exits, output pipes held open by a process it left behind are not waited for.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::process::child_env::ChildEnv;
use crate::process::interrupts::{Interrupt, Interrupts};

/// Lines of output kept for an error and the report.
pub const TAIL_LINES: usize = 40;
/// Lines kept while reading, for the lock ID (terraform prints it near the end).
const KEPT_LINES: usize = 400;
/// The most of stdout [`RunOptions::keep_stdout`] keeps; later lines are only shown.
pub const MAX_KEPT_STDOUT: usize = 64 << 20;
/// After terraform exits, how long its output pipes may stay open.
const DRAIN: Duration = Duration::from_secs(2);

/// A command line to show: the binary and arguments, shell-quoted, with secrets masked.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Arguments to show as `****` (e.g. `-backend-config` values).
    pub secret_args: Vec<usize>,
    pub cwd: PathBuf,
    /// Its whole environment (see [`ChildEnv`]): nothing else is inherited.
    pub env: ChildEnv,
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
    /// stdout, when captured or kept (decoded lossily: terraform's JSON is UTF-8).
    pub stdout: String,
    /// The last lines of its output, stdout and stderr in the order they arrived.
    pub tail: Vec<String>,
    /// A state lock ID terraform printed ("Lock Info: ID: …"), for the force-unlock hint.
    pub lock_id: Option<String>,
    /// The signal relayed to it, when we were interrupted while it ran.
    pub interrupted: Option<Interrupt>,
    /// It ran past its timeout and was asked to stop.
    pub timed_out: bool,
    /// It did not stop within the grace period and was killed: it may have left its state
    /// lock behind.
    pub killed: bool,
}

/// Where a command's output goes besides its kept tail.
#[derive(Debug, Clone)]
pub enum Echo {
    /// Not shown (`-q`).
    Off,
    /// Shown on stderr line by line as it comes.
    Live,
    /// Appended to a buffer that is printed whole later: several services run at once and
    /// their lines must never interleave.
    Buffer(OutputBuffer),
}

/// The output of one service's commands, printed whole once the service is done.
#[derive(Debug, Clone, Default)]
pub struct OutputBuffer(Arc<Mutex<String>>);

impl OutputBuffer {
    pub fn push_line(&self, line: &str) {
        let mut text = self.0.lock().expect("no writer panics");
        text.push_str(line);
        text.push('\n');
    }

    /// Everything written so far; the buffer is left empty.
    pub fn take(&self) -> String {
        std::mem::take(&mut *self.0.lock().expect("no writer panics"))
    }
}

/// How one command runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Keep stdout (for `show -json`) instead of showing it.
    pub capture_stdout: bool,
    /// Show its output (live, or into a buffer), or not (`-q`); the tail is kept either way.
    pub echo: Echo,
    /// Keep the whole of stdout (up to [`MAX_KEPT_STDOUT`]) as well as showing it: the
    /// plan's human-readable text, for the report.
    pub keep_stdout: bool,
    /// After a relayed signal or the timeout, how long it may take to stop before the kill.
    pub grace: Duration,
    /// How long it may run at all; past it, it is stopped as if interrupted.
    pub timeout: Option<Duration>,
    /// stdout is terraform's JSON (`-json`): kept as it comes, shown and kept in the tail
    /// as the text a person reads ([`super::events::text`]).
    pub json_events: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("could not start `{command}`: {source}")]
pub struct StartError {
    pub command: String,
    #[source]
    pub source: std::io::Error,
}

/// Runs `invocation`.
pub async fn run(
    invocation: &Invocation,
    options: RunOptions,
    interrupts: &mut Interrupts,
) -> Result<Finished, StartError> {
    let mut command = command(invocation);
    interrupts.mark_seen();
    let mut child = command.spawn().map_err(|source| StartError {
        command: invocation.display(),
        source,
    })?;
    let pgid = Pid::from_raw(child.id().expect("a just-spawned child has a pid") as i32);

    let collected = Arc::new(Mutex::new(Collected::default()));
    let started = Instant::now();
    let readers = pump_output(&mut child, &options, &collected);
    let mut supervisor = Supervisor::new(pgid, &options);
    let status = supervisor.wait(&mut child, interrupts, invocation).await;
    let status = status.map_err(|source| StartError {
        command: invocation.display(),
        source,
    })?;

    drain(readers, invocation).await;
    tracing::debug!(
        "`{}` finished in {:.2}s",
        invocation.display(),
        started.elapsed().as_secs_f64()
    );
    let collected = std::mem::take(&mut *collected.lock().expect("no reader panics"));
    Ok(supervisor.finished(status, collected))
}

/// The command for `invocation`: its whole environment, stdin from null, output piped, in a
/// process group of its own (a signal to the group reaches everything it started).
fn command(invocation: &Invocation) -> Command {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .current_dir(&invocation.cwd)
        .env_clear()
        .envs(invocation.env.iter())
        .env(crate::env_vars::TF_IN_AUTOMATION, "1")
        .env(crate::env_vars::TF_INPUT, "0")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    command
}

/// Starts reading the child's stdout and stderr, each on a task of its own.
fn pump_output(
    child: &mut tokio::process::Child,
    options: &RunOptions,
    collected: &Arc<Mutex<Collected>>,
) -> [JoinHandle<()>; 2] {
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    [
        read_lines(stdout, Stream::Stdout, options.clone(), collected.clone()),
        read_lines(stderr, Stream::Stderr, options.clone(), collected.clone()),
    ]
}

/// Waits for the readers once terraform has exited, each for at most [`DRAIN`].
async fn drain(readers: [JoinHandle<()>; 2], invocation: &Invocation) {
    // A grandchild that inherited a pipe (a provider left behind, a backgrounded helper)
    // can keep it open long after terraform exits: read what is there, then stop waiting.
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN, reader).await.is_err() {
            abort.abort();
            tracing::debug!(
                "a process left behind by `{}` still holds its output open; not waiting for it",
                invocation.display()
            );
        }
    }
}

/// Watches one running command: relays the first interrupt to its process group exactly
/// once, asks it to stop at its timeout, and kills it when the grace period after either
/// is over.
struct Supervisor {
    pgid: Pid,
    grace: Duration,
    /// How long it may run, as asked.
    limit: Option<Duration>,
    relayed: Option<Interrupt>,
    timed_out: bool,
    killed: bool,
    /// When it runs past its timeout; `None` once that has happened.
    timeout: Option<Instant>,
    /// When the grace period ends and it is killed.
    deadline: Option<Instant>,
}

impl Supervisor {
    fn new(pgid: Pid, options: &RunOptions) -> Self {
        Self {
            pgid,
            grace: options.grace,
            limit: options.timeout,
            relayed: None,
            timed_out: false,
            killed: false,
            timeout: options.timeout.map(|after| Instant::now() + after),
            deadline: None,
        }
    }

    /// Its exit status, once it has exited.
    async fn wait(
        &mut self,
        child: &mut tokio::process::Child,
        interrupts: &mut Interrupts,
        invocation: &Invocation,
    ) -> std::io::Result<std::process::ExitStatus> {
        loop {
            tokio::select! {
                status = child.wait() => return status,
                received = interrupts.next() => self.interrupted(received),
                () = sleep_until(self.timeout) => self.ran_past_timeout(invocation),
                () = sleep_until(self.deadline) => self.kill(),
            }
        }
    }

    /// The first interrupt is relayed once; a second would make terraform abandon its
    /// state lock.
    fn interrupted(&mut self, received: Option<Interrupt>) {
        match (self.relayed, received, self.timed_out) {
            (None, Some(first), false) => {
                self.relayed = Some(first);
                self.deadline = Some(Instant::now() + self.grace);
                let _ = killpg(self.pgid, first.signal());
                tracing::warn!(
                    "relayed {:?} to terraform once; waiting up to {}s for it to stop cleanly and release its state lock",
                    first.signal(),
                    self.grace.as_secs()
                );
            }
            (None, Some(first), true) => self.relayed = Some(first),
            _ => tracing::warn!("terraform is already stopping; not interrupting it again (that would abandon its state lock)"),
        }
    }

    /// Past its timeout it is asked to stop as if interrupted, unless it already was.
    fn ran_past_timeout(&mut self, invocation: &Invocation) {
        self.timeout = None;
        if self.relayed.is_none() {
            self.timed_out = true;
            self.deadline = Some(Instant::now() + self.grace);
            let _ = killpg(self.pgid, Signal::SIGINT);
            tracing::error!(
                "`{}` ran past its timeout of {}; asked it to stop (waiting up to {}s)",
                invocation.display(),
                humanize(self.limit.unwrap_or_default()),
                self.grace.as_secs()
            );
        }
    }

    fn kill(&mut self) {
        tracing::error!(
            "terraform did not stop within {}s; killing it",
            self.grace.as_secs()
        );
        let _ = killpg(self.pgid, Signal::SIGKILL);
        self.killed = true;
        self.deadline = None;
    }

    /// What came of the run, with what the readers collected.
    fn finished(self, status: std::process::ExitStatus, collected: Collected) -> Finished {
        let tail: Vec<String> = collected.lines.into_iter().collect();
        let lock_id = find_lock_id(&tail);
        let start = tail.len().saturating_sub(TAIL_LINES);
        use std::os::unix::process::ExitStatusExt;
        Finished {
            code: status.code(),
            signal: status.signal(),
            stdout: String::from_utf8_lossy(&collected.stdout).into_owned(),
            tail: tail[start..].to_vec(),
            lock_id,
            interrupted: self.relayed,
            timed_out: self.timed_out,
            killed: self.killed,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// `90s`, `5m`, `1h30m`.
pub fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// What the readers keep: captured stdout, and the last lines shown (for errors, the lock
/// ID and the report), in arrival order across both streams.
#[derive(Default)]
struct Collected {
    stdout: Vec<u8>,
    lines: VecDeque<String>,
}

/// Reads `stream` line by line as bytes (a line that is not UTF-8 is shown lossily and
/// reading goes on); shows each line on stderr when `echo`; keeps the last lines.
fn read_lines<R: AsyncRead + Unpin + Send + 'static>(
    stream: R,
    which: Stream,
    options: RunOptions,
    collected: Arc<Mutex<Collected>>,
) -> JoinHandle<()> {
    let capture = which == Stream::Stdout && options.capture_stdout;
    let keep = which == Stream::Stdout && options.keep_stdout;
    let json = which == Stream::Stdout && options.json_events;
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let mut collected = collected.lock().expect("no reader panics");
            if capture {
                collected.stdout.extend_from_slice(&buffer);
                continue;
            }
            if keep && collected.stdout.len() + buffer.len() <= MAX_KEPT_STDOUT {
                collected.stdout.extend_from_slice(&buffer);
            }
            let line = String::from_utf8_lossy(&buffer);
            let line = line.trim_end_matches(['\n', '\r']).to_owned();
            let shown = match json {
                true => super::events::text(&line),
                false => vec![line],
            };
            for line in shown {
                match &options.echo {
                    Echo::Off => {}
                    Echo::Live => eprintln!("{line}"),
                    Echo::Buffer(buffer) => buffer.push_line(&line),
                }
                collected.lines.push_back(line);
                if collected.lines.len() > KEPT_LINES {
                    collected.lines.pop_front();
                }
            }
        }
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
            env: ChildEnv::default(),
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
