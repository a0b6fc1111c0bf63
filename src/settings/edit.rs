//! The commands that edit the gitops dir (`set-version`, `preview set|remove|prune`,
//! `promote`) and `destroy`, as plain values: their flags, unchecked. The edit session
//! checks the names and values with validation's own rules ([`crate::run::edit`]).

use std::time::Duration;

use crate::cli::{
    DestroyArgs, PreviewArgs, PreviewSetArgs, PromoteArgs, PruneArgs, SetVersionArgs,
};
use crate::desired::Environment;

use super::TerraformSettings;

/// `set-version`.
#[derive(Debug)]
pub struct SetVersionSettings {
    pub service: String,
    pub env: Environment,
    pub version: String,
    pub sha: Option<String>,
}

impl From<SetVersionArgs> for SetVersionSettings {
    fn from(args: SetVersionArgs) -> Self {
        Self {
            service: args.service,
            env: args.env,
            version: args.version,
            sha: args.sha,
        }
    }
}

/// `preview remove`: which preview.
#[derive(Debug)]
pub struct PreviewSettings {
    pub service: String,
    pub pr: u64,
}

impl From<PreviewArgs> for PreviewSettings {
    fn from(args: PreviewArgs) -> Self {
        Self {
            service: args.service,
            pr: args.pr,
        }
    }
}

/// `preview set`: which preview, and what it runs.
#[derive(Debug)]
pub struct PreviewSetSettings {
    pub preview: PreviewSettings,
    pub version: String,
    pub sha: Option<String>,
    pub s3_key: Option<String>,
}

impl From<PreviewSetArgs> for PreviewSetSettings {
    fn from(args: PreviewSetArgs) -> Self {
        Self {
            preview: args.preview.into(),
            version: args.version,
            sha: args.sha,
            s3_key: args.s3_key,
        }
    }
}

/// `preview prune`: which previews go.
#[derive(Debug)]
pub struct PruneSettings {
    pub closed: bool,
    pub older_than: Option<Duration>,
    pub repo: Option<String>,
    pub services: Vec<String>,
    pub dry_run: bool,
}

impl From<PruneArgs> for PruneSettings {
    fn from(args: PruneArgs) -> Self {
        Self {
            closed: args.closed,
            older_than: args.older_than,
            repo: args.repo,
            services: args.services,
            dry_run: args.dry_run,
        }
    }
}

/// `promote`.
#[derive(Debug)]
pub struct PromoteSettings {
    pub service: String,
    pub from: Environment,
    pub to: Environment,
    pub require_deployed: bool,
}

impl From<PromoteArgs> for PromoteSettings {
    fn from(args: PromoteArgs) -> Self {
        Self {
            service: args.service,
            from: args.from,
            to: args.to,
            require_deployed: args.require_deployed,
        }
    }
}

/// `destroy`.
#[derive(Debug)]
pub struct DestroySettings {
    pub service: String,
    pub auto_approve: bool,
    pub terraform: TerraformSettings,
}

impl From<DestroyArgs> for DestroySettings {
    fn from(args: DestroyArgs) -> Self {
        Self {
            terraform: TerraformSettings::from(&args.terraform),
            service: args.service,
            auto_approve: args.auto_approve,
        }
    }
}
