//! `matrix` as a plain value: which services it lists and how it groups them.

use crate::cli::MatrixArgs;

/// `matrix`.
#[derive(Debug, Default)]
pub struct MatrixSettings {
    /// `--changed-since`: only the services whose resolved deployments differ from this
    /// git revision's.
    pub changed_since: Option<String>,
    /// `--max-jobs`: the services grouped into at most this many jobs.
    pub max_jobs: Option<usize>,
    /// `--max-services`: refuse to list more.
    pub max_services: Option<usize>,
}

impl From<MatrixArgs> for MatrixSettings {
    fn from(args: MatrixArgs) -> Self {
        Self {
            changed_since: args.changed_since,
            max_jobs: args.max_jobs.map(usize::from),
            max_services: args.max_services,
        }
    }
}
