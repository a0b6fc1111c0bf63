//! The subcommands. Each reads [`Settings`], runs the pipeline stages it needs, and writes
//! data to stdout; logs go to stderr through `tracing`.

pub mod deploy;
pub mod destroy;
pub mod matrix;
pub mod preview;
pub mod promote;
pub mod rollout;
pub mod scan;
pub mod set_version;
pub mod status;
pub mod vars;

use crate::error::Error;

pub use crate::run::repo::{known, load_repo, select};
pub use crate::run::setup::{preflight, runner_settings, terraform_env};

/// Lines of data on stdout (what an edit changed).
pub fn print_lines(lines: &[String]) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    lines
        .iter()
        .try_for_each(|line| writeln!(stdout, "{line}"))
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
