//! lambda-gitops: a gitops dir → Lambda functions, through Terraform.
//!
//! The pipeline, one module a stage (ARCHITECTURE.md walks it):
//! [`scan`] → [`validate`] → [`resolve`] → [`stage`] → [`render`] → [`terraform`] → [`report`].
//! Every gitops file is read through [`yaml`].

pub mod cli;
pub mod commands;
pub mod config;
pub mod desired;
pub mod env_vars;
pub mod error;
pub mod exit_code;
pub mod logging;
pub mod prepare;
pub mod problem;
pub mod progress;
pub mod render;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod secret;
pub mod settings;
pub mod stage;
pub mod terraform;
pub mod validate;
pub mod workdir;
pub mod yaml;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use cli::{Cli, Command};
use commands::deploy::Mode;
use error::Error;
use settings::Settings;

/// Runs a parsed command line; prints the error (once) on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let stderr_is_terminal = std::io::stderr().is_terminal();
    let settings = match Settings::resolve(
        &cli.global,
        |name| std::env::var(name).ok(),
        stderr_is_terminal,
    ) {
        Ok(settings) => settings,
        Err(error) => {
            logging::init(0, false);
            eprint!("{}", error::render(&error));
            return ExitCode::from(exit_code::ERROR);
        }
    };
    logging::init(settings.verbosity, settings.color);
    match dispatch(cli.command, &settings, stderr_is_terminal) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprint!("{}", error::render(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

fn dispatch(command: Command, settings: &Settings, stderr_is_terminal: bool) -> Result<u8, Error> {
    let progress: Arc<dyn progress::Progress> = if stderr_is_terminal && settings.verbosity >= 0 {
        progress::Bars::new()
    } else {
        Arc::new(progress::LogLines)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the async runtime", std::path::Path::new("."), e))?;
    match command {
        Command::Scan { format } => {
            commands::scan::run(settings, format).map(|()| exit_code::SUCCESS)
        }
        Command::Vars { service } => runtime
            .block_on(commands::vars::run(settings, service, progress))
            .map(|()| exit_code::SUCCESS),
        Command::Plan {
            terraform,
            detailed_exitcode,
        } => runtime.block_on(commands::deploy::run(
            settings,
            terraform,
            Mode::Plan { detailed_exitcode },
            progress,
        )),
        Command::Apply {
            terraform,
            auto_approve,
        } => runtime.block_on(commands::deploy::run(
            settings,
            terraform,
            Mode::Apply { auto_approve },
            progress,
        )),
    }
}
