//! Stage 6 — terraform: a prepared work dir → `terraform init`, `plan`, `show -json` and
//! `apply` subprocesses for a service (several services at once, see [`crate::run::schedule`]).
//!
//! [`binary`] finds terraform (or tofu) and checks its version, [`module`] writes the
//! bundled module (or the user's) with its lock file and the backend into the work dir,
//! [`backend`] substitutes `{service}` and keeps services off each other's state, [`process`]
//! runs one command with live output and signal relay (the first signal of
//! [`crate::process::interrupts`]), [`plugins`] shares one provider cache (and an optional mirror)
//! across work dirs.
//! The run level ([`crate::run::runner`]) sequences the commands for a service.

pub mod backend;
pub mod binary;
mod error;
pub mod events;
pub mod module;
pub mod plugins;
pub mod process;

pub use error::TerraformError;
