//! Questions on the terminal, as `terraform apply` asks them: only `yes` is yes. A signal
//! while the question waits ends the run at once (the read stays blocked on stdin, so the
//! runtime is shut down without waiting for it).

use crate::error::Error;
use crate::interrupts::Interrupts;

/// Asks `question` on stderr; whether the answer is `yes`.
pub async fn confirm(question: &str, interrupts: &Interrupts) -> Result<bool, Error> {
    let answer = ask(
        &format!("{question} Only 'yes' will be accepted:"),
        interrupts,
    )
    .await?;
    Ok(answer.trim() == "yes")
}

/// Asks `question` on stderr and reads one line from stdin.
pub async fn ask(question: &str, interrupts: &Interrupts) -> Result<String, Error> {
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
        .map_err(|e| Error::io("read the answer from", std::path::Path::new("stdin"), e))?;
    Ok(answer)
}
