//! `lambda-gitops`: parse the command line, run it, print the error once, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = lambda_gitops::cli::Cli::parse();
    lambda_gitops::run(cli)
}
