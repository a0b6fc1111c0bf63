//! Logs go to stderr through `tracing`: `-v`/`-q` pick the level, `LAMBDA_GITOPS_LOG`
//! overrides it with a full filter.

use tracing_subscriber::EnvFilter;

use crate::env_vars;

pub fn init(verbosity: i8, color: bool) {
    let level = match verbosity {
        i8::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = std::env::var(env_vars::LAMBDA_GITOPS_LOG)
        .ok()
        .and_then(|text| EnvFilter::try_new(text).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("warn,lambda_gitops={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .without_time()
        .with_target(verbosity > 1)
        .try_init();
}
