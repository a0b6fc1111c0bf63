//! Progress reporting as a small trait: staging code reports through it and never prints.
//! The CLI picks bars on a terminal (indicatif) or one log line per event otherwise.
//! Each unit of work is labelled by what it is for (`stage::labels`), so two bars never
//! read alike.

use std::sync::Arc;
use std::time::Duration;

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

/// Progress bars on stderr, for a terminal (the caller decides: never when stderr is not
/// one). A download of unknown size is a spinner with the bytes so far; once its size is
/// known, a bar that starts empty. The templates hold no colour or bold: the only escape
/// codes are the cursor moves that redraw the bars.
pub struct Bars {
    multi: MultiProgress,
}

/// How often a spinner turns while no bytes arrive.
const TICK: Duration = Duration::from_millis(120);

impl Bars {
    pub fn new() -> Arc<Self> {
        Self::with_target(ProgressDrawTarget::stderr())
    }

    fn with_target(target: ProgressDrawTarget) -> Arc<Self> {
        Arc::new(Self {
            multi: MultiProgress::with_draw_target(target),
        })
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Unknown size: the label, the bytes so far and the rate.
fn spinner_style() -> ProgressStyle {
    style("{spinner} {wide_msg} {bytes:>10} {binary_bytes_per_sec:>12}")
}

/// Known size: the label, the bytes of the total, a bar filling up, the time left.
fn bar_style() -> ProgressStyle {
    style("{spinner} {wide_msg} {bytes:>10}/{total_bytes:<10} {bar:30} {eta:>3}")
}

impl Progress for Bars {
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Task> {
        let bar = self.multi.add(ProgressBar::no_length());
        bar.set_style(spinner_style());
        bar.set_message(label.to_owned());
        let task = BarTask {
            bar,
            label: label.to_owned(),
        };
        if let Some(total) = total {
            task.set_total(total);
        }
        task.bar.enable_steady_tick(TICK);
        Box::new(task)
    }
}

struct BarTask {
    bar: ProgressBar,
    label: String,
}

impl Task for BarTask {
    fn set_total(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_style(bar_style());
    }

    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn finish(&self, outcome: &str) {
        self.bar.finish_and_clear();
        tracing::info!("{}: {outcome}", self.label);
    }
}

/// Another [`Progress`] whose units of work are labelled `name: label`: first what the
/// caller knows the work is for (a package's service, version and deployments), which
/// tells the bars apart, then the source.
pub struct Named<'a> {
    pub inner: &'a dyn Progress,
    pub name: &'a str,
}

impl Progress for Named<'_> {
    fn start(&self, label: &str, total: Option<u64>) -> Box<dyn Task> {
        self.inner.start(&format!("{}: {label}", self.name), total)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A terminal that keeps what is written to it (the cursor moves aside).
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, line: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(line.to_owned());
            Ok(())
        }
        fn write_str(&self, text: &str) -> std::io::Result<()> {
            self.write_line(text)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        /// The last line drawn that holds `needle`, waiting for the spinner's tick.
        fn last_with(&self, needle: &str) -> String {
            for _ in 0..100 {
                let lines = self.0.lock().unwrap().clone();
                if let Some(line) = lines.iter().rev().find(|l| l.contains(needle)) {
                    return line.clone();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("never drawn: {needle}\n{:?}", self.0.lock().unwrap());
        }
    }

    #[test]
    fn a_download_of_unknown_size_starts_as_a_spinner_and_its_bar_starts_empty() {
        let screen = Screen::default();
        let bars = Bars::with_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        let task = bars.start("svc 1.1.0 (staging): acme/svc@v1/svc.zip", None);
        let line = screen.last_with("svc 1.1.0 (staging)");
        assert!(line.contains(" 0 B "), "{line:?}");
        assert!(!line.contains("0 B/0 B"), "{line:?}");
        assert!(!line.contains('\u{2588}'), "a full bar: {line:?}");

        task.set_total(2048);
        task.advance(1);
        let line = screen.last_with("/2.00 KiB");
        assert!(line.contains("1 B/2.00 KiB"), "{line:?}");
        assert!(!line.contains('\u{2588}'), "not empty: {line:?}");
        let written = screen.0.lock().unwrap().concat();
        assert!(!written.contains('\u{1b}'), "an escape code: {written:?}");
        task.finish("downloaded");
    }
}
