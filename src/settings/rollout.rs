//! `rollout`: which rollouts, what to do with them, and where their states are.

use crate::cli::RolloutArgs;
use crate::desired::Environment;
use crate::report::format::ListFormat;

use super::TerraformSettings;

/// What to do with the rollouts in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// At most one step each, as their alarms and intervals decide.
    Step,
    /// Back to the old version now (break-glass).
    Abort,
    /// All traffic to the new version now (break-glass).
    Complete,
}

#[derive(Debug)]
pub struct RolloutSettings {
    pub services: Vec<String>,
    pub environment: Option<Environment>,
    pub request: Request,
    /// Repeat until no rollout is in progress.
    pub wait: bool,
    pub format: ListFormat,
    /// `--summary-markdown` and `--summary-json` (no comment: a rollout has no pull request).
    pub outputs: crate::ci::outputs::OutputFlags,
    pub terraform: TerraformSettings,
}

impl From<RolloutArgs> for RolloutSettings {
    fn from(args: RolloutArgs) -> Self {
        Self {
            terraform: TerraformSettings::from(&args.terraform),
            services: crate::settings::deploy::split_services(&args.services),
            environment: args.environment,
            request: match (args.abort, args.complete) {
                (true, _) => Request::Abort,
                (_, true) => Request::Complete,
                _ => Request::Step,
            },
            wait: args.wait,
            format: args.format.into(),
            outputs: crate::ci::outputs::OutputFlags {
                summary_markdown: args.summary_markdown,
                summary_json: args.summary_json,
                ..Default::default()
            },
        }
    }
}
