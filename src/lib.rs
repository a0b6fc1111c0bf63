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
pub mod git;
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
use settings::DeploySettings;
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
    let command = match offline(command, settings) {
        Ok(code) => return code,
        Err(command) => *command,
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
        online(command, settings, progress, interrupts, env).await
    });
    // A prompt interrupted while it read stdin leaves a thread blocked there: do not wait
    // for it.
    runtime.shutdown_background();
    result
}

/// The commands that need no network and keep the default signal handling: validation,
/// and edits of the gitops dir (a killed edit leaves the old file or the new one, never
/// half of one). Any other command is given back, to run [`online`].
fn offline(command: Command, settings: &Settings) -> Result<Result<u8, Error>, Box<Command>> {
    let done = |result: Result<(), Error>| result.map(|()| exit_code::SUCCESS);
    Ok(match command {
        Command::Scan { format } => done(commands::scan::run(settings, format.into())),
        Command::Matrix(args) => done(commands::matrix::run(settings, args.into())),
        Command::SetVersion(args) => commands::set_version::run(settings, args.into()),
        Command::Preview {
            command: PreviewCommand::Set(args),
        } => commands::preview::set(settings, args.into()),
        Command::Preview {
            command: PreviewCommand::Remove(args),
        } => commands::preview::remove(settings, args.into()),
        other => return Err(Box::new(other)),
    })
}

/// The commands that reach AWS, GitHub or terraform, on the async runtime.
async fn online(
    command: Command,
    settings: &Settings,
    progress: Arc<dyn terminal::progress::Progress>,
    interrupts: Interrupts,
    env: ChildEnv,
) -> Result<u8, Error> {
    match command {
        Command::Vars { service } => commands::vars::run(settings, service, progress, interrupts)
            .await
            .map(|()| exit_code::SUCCESS),
        Command::Plan {
            terraform,
            detailed_exitcode,
            refresh,
            out_dir,
        } => {
            let args = DeploySettings::plan(terraform, detailed_exitcode, refresh, out_dir);
            commands::deploy::run(settings, args, progress, interrupts, env).await
        }
        Command::Apply {
            terraform,
            auto_approve,
            refresh,
            plan_dir,
            retry_rollout,
        } => {
            let args =
                DeploySettings::apply(terraform, auto_approve, refresh, plan_dir, retry_rollout);
            commands::deploy::run(settings, args, progress, interrupts, env).await
        }
        Command::Preview {
            command: PreviewCommand::Prune(args),
        } => commands::preview::prune(settings, args.into(), interrupts, env).await,
        Command::Status {
            services,
            format,
            backend,
            backend_config,
        } => {
            let backend = crate::terraform::backend::BackendSettings {
                backend,
                config: backend_config,
            };
            let format = format.into();
            commands::status::run(settings, services, format, &backend, progress, interrupts).await
        }
        Command::Destroy(args) => {
            commands::destroy::run(settings, args.into(), interrupts, env).await
        }
        Command::Promote(args) => {
            commands::promote::run(settings, args.into(), progress, interrupts).await
        }
        Command::Rollout(args) => commands::rollout::run(settings, args.into(), interrupts).await,
        Command::Scan { .. }
        | Command::Matrix(_)
        | Command::SetVersion(_)
        | Command::Preview { .. } => {
            unreachable!("run by `offline`")
        }
    }
}
