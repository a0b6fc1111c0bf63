//! Questions on the terminal, as `terraform apply` asks them: only `yes` is yes. A signal
//! while the question waits ends the run at once (the read stays blocked on stdin, so the
//! runtime is shut down without waiting for it).

use crate::io_error::IoError;
use crate::process::interrupts::{Interrupt, Interrupts};

/// Why no answer came: a signal, or stdin could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("interrupted by {:?}", .0.signal())]
    Interrupted(Interrupt),
    #[error(transparent)]
    Read(#[from] IoError),
}

impl From<Interrupt> for PromptError {
    fn from(signal: Interrupt) -> Self {
        Self::Interrupted(signal)
    }
}

/// Asks `question` on stderr; whether the answer is `yes`.
pub async fn confirm(question: &str, interrupts: &Interrupts) -> Result<bool, PromptError> {
    let answer = ask(
        &format!("{question} Only 'yes' will be accepted:"),
        interrupts,
    )
    .await?;
    Ok(answer.trim() == "yes")
}

/// Asks `question` on stderr and reads one line from stdin.
pub async fn ask(question: &str, interrupts: &Interrupts) -> Result<String, PromptError> {
    eprint!("{question} ");
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    let answer = interrupts
        .guard(read)
        .await
        .inspect_err(|_| eprintln!())?
        .expect("reading stdin does not panic")
        .map_err(|e| IoError::new("read the answer from", std::path::Path::new("stdin"), e))?;
    Ok(answer)
}
