//! The run level: what happens to one service between the pipeline's stages and terraform,
//! and how several services run at once. Commands compose these; nothing here parses flags
//! or prints the final report.
//!
//! [`artifact`] proves production's new package against what staging runs,
//! [`prepare`] stages and renders the services' inputs into their work dirs, [`runner`]
//! sequences terraform's steps for a service (with the foreign-resource guard and the
//! adoption of what an interrupted apply left), [`fingerprint`], [`applied`] and [`noop`]
//! decide when `apply` may skip terraform, [`handoff`] saves a reviewed plan and checks the
//! merge job's own plan against it, [`orphans`] finds the state of services no longer
//! declared, [`schedule`] runs several services at once, and [`edit`] checks an edit of
//! the gitops dir before it is written. For `matrix`, [`changes`] finds the services whose
//! resolved deployments changed since a git revision and [`jobs`] groups services into jobs.

pub mod applied;
pub mod artifact;
pub mod backend_objects;
pub mod changes;
pub mod deploy;
pub mod destroy;
pub mod edit;
pub mod fingerprint;
pub mod handoff;
pub mod jobs;
pub mod last_applied;
pub mod noop;
pub mod orphans;
pub mod prepare;
pub mod promote;
pub mod prune;
pub mod repo;
pub mod rollout;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod services;
pub mod setup;
pub mod state_lock;

use crate::error::Error;

/// Data on stdout (a report as each service completes); flushed at once.
pub fn print(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
