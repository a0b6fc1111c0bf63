//! lambda-gitops: a gitops dir → Lambda functions, through Terraform.
//!
//! The pipeline, one module a stage (ARCHITECTURE.md walks it):
//! [`scan`] → [`validate`] → [`resolve`] → [`stage`] → [`render`] → [`terraform`] → [`report`].
//! Every gitops file is read through [`yaml`].

// Layers, top to bottom; a module imports only from the layers below its own
// (ARCHITECTURE.md; `tests/layers.rs` keeps the rule).
pub mod cli;
pub mod commands;
pub mod run;
pub mod settings;
// The pipeline's stages, last first.
pub mod ci;
pub mod error;
pub mod render;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod stage;
pub mod validate;
// The edges: processes, AWS, GitHub, files.
pub mod aws;
pub mod github;
pub mod gitops;
pub mod process;
pub mod terminal;
pub mod terraform;
pub mod workdir;
// Plain types and utilities.
pub mod config;
pub mod desired;
pub mod env_vars;
pub mod exit_code;
pub mod hash;
pub mod io_error;
pub mod problem;
pub mod retry;
pub mod secret;
pub mod yaml;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use cli::{Cli, Command, PreviewCommand};
use error::Error;
use process::child_env::ChildEnv;
use process::interrupts::Interrupts;
use settings::Settings;
use settings::{DeploySettings, Handoff, Mode};

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
            terminal::logging::init(0, false);
            eprint!("{}", error::render(&error));
            return ExitCode::from(exit_code::ERROR);
        }
    };
    terminal::logging::init(settings.verbosity, settings.color);
    match dispatch(cli.command, &settings, stderr_is_terminal) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprint!("{}", error::render(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

fn dispatch(command: Command, settings: &Settings, stderr_is_terminal: bool) -> Result<u8, Error> {
    // Validation only: no network, no children, and the default signal handling.
    let command = match command {
        Command::Scan { format } => {
            return commands::scan::run(settings, format.into()).map(|()| exit_code::SUCCESS)
        }
        // Edits of the gitops dir without the network: the default signal handling too (a
        // killed edit leaves the old file or the new one, never half of one).
        Command::SetVersion(args) => return commands::set_version::run(settings, args.into()),
        Command::Preview {
            command: PreviewCommand::Set(args),
        } => return commands::preview::set(settings, args.into()),
        Command::Preview {
            command: PreviewCommand::Remove(args),
        } => return commands::preview::remove(settings, args.into()),
        Command::Matrix => return commands::matrix::run(settings).map(|()| exit_code::SUCCESS),
        other => other,
    };
    let progress: Arc<dyn terminal::progress::Progress> =
        if stderr_is_terminal && settings.verbosity >= 0 {
            terminal::progress::Bars::new()
        } else {
            Arc::new(terminal::progress::LogLines)
        };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the async runtime", std::path::Path::new("."), e))?;
    let result = runtime.block_on(async {
        // From here on a SIGINT or SIGTERM is ours to handle: it stops staging and prompts
        // at once and is relayed to terraform exactly once.
        let interrupts = Interrupts::listen()
            .map_err(|e| Error::io("listen for signals", std::path::Path::new("."), e))?;
        let env = ChildEnv::inherit(settings.github.token.iter());
        match command {
            Command::Scan { .. } | Command::Matrix => unreachable!("handled above"),
            Command::Vars { service } => {
                commands::vars::run(settings, service, progress, interrupts)
                    .await
                    .map(|()| exit_code::SUCCESS)
            }
            Command::Plan {
                terraform,
                detailed_exitcode,
                out_dir,
            } => {
                let handoff = out_dir.map_or(Handoff::None, Handoff::Save);
                let mode = Mode::Plan { detailed_exitcode };
                let args = DeploySettings::resolve(terraform, mode, handoff);
                commands::deploy::run(settings, args, progress, interrupts, env).await
            }
            Command::Apply {
                terraform,
                auto_approve,
                refresh,
                plan_dir,
            } => {
                let handoff = plan_dir.map_or(Handoff::None, Handoff::Apply);
                let mode = Mode::Apply {
                    auto_approve,
                    refresh,
                };
                let args = DeploySettings::resolve(terraform, mode, handoff);
                commands::deploy::run(settings, args, progress, interrupts, env).await
            }
            Command::Preview {
                command: PreviewCommand::Prune(args),
            } => commands::preview::prune(settings, args.into(), interrupts, env).await,
            Command::Status { services, format } => {
                commands::status::run(settings, services, format.into(), progress, interrupts).await
            }
            Command::Destroy(args) => {
                commands::destroy::run(settings, args.into(), interrupts, env).await
            }
            Command::Promote(args) => {
                commands::promote::run(settings, args.into(), progress, interrupts).await
            }
            Command::SetVersion(_) | Command::Preview { .. } => unreachable!("handled above"),
        }
    });
    // A prompt interrupted while it read stdin leaves a thread blocked there: do not wait
    // for it.
    runtime.shutdown_background();
    result
}
