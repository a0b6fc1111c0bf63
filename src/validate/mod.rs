//! Stage 2 — validate: the scanned files → the [`Checked`] configs of Lambda services, and
//! a problem for everything wrong in them.
//!
//! Each file is decided on (Lambda or provably not) and parsed strictly through
//! [`crate::yaml`] ([`files`]), then its values are checked on their own ([`checks`], with
//! the single-value [`rules`], and [`rollout`]'s for `lambda.rollout`). Files off the layout that look like Lambda files are
//! problems too ([`strays`], with the path they probably meant from [`near_miss`]). Rules across files need the resolved state: they run in
//! [`crate::resolve`], the next stage, which reads this stage's output and never the other
//! way round. Nothing is fetched or written.

pub mod checked;
pub mod checks;
pub mod files;
pub mod near_miss;
pub mod rollout;
pub mod rules;
pub mod strays;
pub mod yaml;

pub use files::Checked;

use crate::problem::Problem;
use crate::scan::Tree;

/// Checks every file of `tree`; what was refused is added to `problems` (with the scan's
/// own problems), what passed is returned.
pub fn validate(tree: &Tree, problems: &mut Vec<Problem>) -> Checked {
    problems.extend(tree.problems.iter().cloned());
    files::check(tree, problems)
}
