//! `lambda-gitops`: parse the command line, run it, print the error once, exit.

use std::process::ExitCode;

use clap::Parser;
use lambda_gitops::exit_code;

fn main() -> ExitCode {
    match lambda_gitops::cli::Cli::try_parse() {
        Ok(cli) => lambda_gitops::run(cli),
        // Usage errors exit 1, not clap's 2: 2 means "the plan has changes".
        Err(error) => {
            let _ = error.print();
            ExitCode::from(if error.use_stderr() {
                exit_code::ERROR
            } else {
                exit_code::SUCCESS
            })
        }
    }
}
