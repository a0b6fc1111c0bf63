//! Format-preserving edits of the gitops repo, for application CI: set a version, create,
//! update or remove a preview, promote staging to production.
//!
//! An edit works on the source spans of the parsed YAML ([`edit`]): the bytes of the
//! changed values are replaced, keys are inserted in the file's own indentation and line
//! breaks, and nothing else is touched. Before anything is written, the whole tree as it
//! would be after the edit — the scanned tree with the new bytes in place of the old, new
//! files added and removed ones gone — goes through the same validate and resolve stages
//! as `plan` (`crate::run::edit::Session`); if it fails, nothing is written. Every file to write or
//! remove is then checked for a symlink on its path, and only when none has one are they
//! written, atomically, without following a symlink ([`fs`]).

pub mod edit;
pub mod fs;
pub mod implicit;
pub mod layout;
pub mod release;
pub mod scalar;

pub use edit::{Change, EditError, FileEdit};
pub use fs::{FsError, GitopsDir, Op};
pub use release::Release;
