//! SIGINT and SIGTERM for the whole run, from its first step. Once tokio handles a signal
//! its default action is gone for the process, so one listener records every signal from
//! the start: staging and the confirmation prompt stop at the first one
//! ([`Interrupts::guard`]), [`crate::terraform::process`] relays it to terraform exactly
//! once, and nothing new starts after it.

use std::future::Future;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::exit_code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    Int,
    Term,
}

impl Interrupt {
    pub fn signal(self) -> nix::sys::signal::Signal {
        match self {
            Self::Int => nix::sys::signal::Signal::SIGINT,
            Self::Term => nix::sys::signal::Signal::SIGTERM,
        }
    }

    /// 128 + the signal number, as a shell reports a death by that signal.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Int => exit_code::INTERRUPTED,
            Self::Term => exit_code::TERMINATED,
        }
    }
}

#[derive(Clone)]
pub struct Interrupts {
    /// The first signal received; every later one notifies again.
    receiver: watch::Receiver<Option<Interrupt>>,
}

impl Interrupts {
    /// Starts listening; must be called inside the tokio runtime.
    pub fn listen() -> std::io::Result<Self> {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let which = tokio::select! {
                    Some(()) = interrupt.recv() => Interrupt::Int,
                    Some(()) = terminate.recv() => Interrupt::Term,
                    else => break,
                };
                sender.send_modify(|first| {
                    first.get_or_insert(which);
                });
            }
        });
        Ok(Self { receiver })
    }

    pub fn first(&self) -> Option<Interrupt> {
        *self.receiver.borrow()
    }

    /// Waits for the next signal after those already seen.
    pub async fn next(&mut self) -> Option<Interrupt> {
        if self.receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.receiver.borrow_and_update()
    }

    /// Marks every signal so far as seen.
    pub fn mark_seen(&mut self) {
        self.receiver.borrow_and_update();
    }

    /// Runs `work` until it finishes or the first signal arrives (one that arrived before
    /// counts too). On a signal `work` is dropped at once: its temp files go with it.
    pub async fn guard<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupt> {
        let mut receiver = self.receiver.clone();
        let signalled = async move {
            loop {
                if let Some(first) = *receiver.borrow_and_update() {
                    return first;
                }
                if receiver.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            biased;
            first = signalled => Err(first),
            done = work => Ok(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn guard_stops_work_at_a_signal_that_came_before_it() {
        let (sender, receiver) = watch::channel(None);
        let interrupts = Interrupts { receiver };
        assert_eq!(interrupts.guard(async { 7 }).await, Ok(7));
        sender.send_replace(Some(Interrupt::Term));
        let never = std::future::pending::<()>();
        assert_eq!(interrupts.guard(never).await, Err(Interrupt::Term));
    }
}
