//! The reviewed plan → apply handoff. `plan --out-dir DIR` saves, per service, the plan
//! terraform made (`plan.tfplan`), its JSON (`plan.json`, what the review showed), what it was
//! made from (the module files, the variables) and a manifest: the SHA-256 of every input
//! that shapes the plan — the service's gitops configs, the rendered variables, the module,
//! the packages — the terraform and provider versions, and the gitops commit (for the record
//! only). Packages are recorded by hash, not copied: they are content-addressed, and `apply`
//! stages them again from their sources.
//!
//! `apply --plan-dir DIR` never applies a file from DIR. DIR is untrusted input (it comes
//! back as a CI artifact, which whoever controls a workflow run can replace): it is evidence
//! of what was reviewed, compared with what this run derives itself. The run renders the
//! inputs from the merged checkout and compares each hash (a new commit with the same inputs
//! — the merge commit — is not stale); refuses a saved plan that is not a normal, whole plan
//! of the module lambda-gitops writes, on this run's backend (a destroy or refresh-only plan,
//! `-target`, `-replace`, another configuration, lock file, backend or workspace); then makes
//! a fresh plan of its own, refuses it as stale when the state it was made against is not the
//! state the saved plan was made against (terraform's own lineage and serial check), and
//! applies that fresh plan only when what it does — every changing resource's actions and
//! values — is what the reviewed `plan.json` showed ([`compare`]). Whatever DIR holds, what is
//! applied is this run's own normal plan of the merged checkout on the current state, or
//! nothing (DIR is not signed: a forged one can let through what an honest stale one would
//! refuse, never more).
//!
//! ```text
//! DIR/<service>/manifest.json          what `apply` checks (schemaVersion 1)
//!              /plan.tfplan            the saved plan
//!              /plan.json              `terraform show -json` of it: what was reviewed
//!              /lambda-gitops.tfvars.json
//!              /module/<file>          the module as terraform read it
//! ```
//!
//! A service `plan` found unchanged since its last apply without starting terraform has no
//! plan to save: its manifest records that check instead ([`unchanged`]), and `apply
//! --plan-dir` applies nothing to it, or refuses it when that check no longer holds.

mod compare;
mod manifest;
mod plan_file;
mod provenance;
pub mod refusal;
mod save;
mod unchanged;
mod verify;

pub use compare::Difference;
pub use manifest::{config_hashes, provider_versions, Inputs, Manifest};
pub use save::{forget, gitops_commit, save, Planned};
pub use unchanged::{reviewed_fingerprint, save_unchanged};
pub use verify::{load, plan_reviewed, stale_if_state_moved_on, state_moved_on, Saved};

use crate::hash::Hasher;

pub const MANIFEST: &str = "manifest.json";
pub const PLAN_FILE: &str = "plan.tfplan";
const PLAN_JSON: &str = "plan.json";
const MODULE_DIR: &str = "module";
pub const SCHEMA_VERSION: u32 = 1;

pub use crate::settings::Handoff;

fn sha256(bytes: &[u8]) -> String {
    let mut hasher = Hasher::default();
    hasher.update(bytes);
    hasher.finish().hex()
}
