//! Progress reporting as a small trait: staging code reports through it and never prints.
//! The CLI picks bars on a terminal (indicatif) or one log line per event otherwise.

use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub trait Progress: Send + Sync {
    /// A unit of work (a download) starts; `total` is its size in bytes when known.
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Task>;
}

pub trait Task: Send + Sync {
    fn set_total(&self, total: u64);
    fn advance(&self, bytes: u64);
    fn finish(&self, outcome: &str);
}

/// Progress bars on stderr, for a terminal.
pub struct Bars {
    multi: MultiProgress,
}

impl Bars {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        })
    }
}

impl Progress for Bars {
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Task> {
        let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
        let style = ProgressStyle::with_template(
            "{spinner} {msg:40!} {bytes:>10}/{total_bytes:<10} {bar:30} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_owned());
        Box::new(BarTask {
            bar,
            label: label.to_owned(),
        })
    }
}

struct BarTask {
    bar: ProgressBar,
    label: String,
}

impl Task for BarTask {
    fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&self, outcome: &str) {
        self.bar.finish_and_clear();
        tracing::info!("{}: {outcome}", self.label);
    }
}

/// One log line when a unit of work starts and one when it ends: for CI logs.
pub struct LogLines;

impl Progress for LogLines {
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Task> {
        match total {
            Some(bytes) => tracing::debug!("{label}: starting ({bytes} bytes)"),
            None => tracing::debug!("{label}: starting"),
        }
        Box::new(LogTask {
            label: label.to_owned(),
        })
    }
}

struct LogTask {
    label: String,
}

impl Task for LogTask {
    fn set_total(&self, _total: u64) {}

    fn advance(&self, _bytes: u64) {}

    fn finish(&self, outcome: &str) {
        tracing::info!("{}: {outcome}", self.label);
    }
}
