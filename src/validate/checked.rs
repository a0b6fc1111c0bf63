//! What validation hands on: each file that was read as a Lambda one ([`Source`]: its path
//! and document, for line lookups), the checked configs of the services, environments and
//! previews that passed ([`Checked`]), and what a service's config says it is
//! ([`ServiceKind`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::{EnvConfig, PreviewValues, ServiceConfig};
use crate::desired::Environment;
use crate::problem::Problem;
use crate::yaml::Document;

/// A file that was read as a Lambda one: its path and parsed document, for line lookups.
pub struct Source {
    pub path: PathBuf,
    pub doc: Document,
}

impl Source {
    /// A problem at the key `path` of this file.
    pub fn at(&self, path: &[&str], message: impl Into<String>) -> Problem {
        Problem::new(&self.path, self.doc.line_of(path), message)
    }

    /// `file:line` of the key `path` (just the file when it is not there), as messages name
    /// another place.
    pub fn location(&self, path: &[&str]) -> String {
        self.at(path, "").location()
    }

    /// A problem at item `index` of the sequence at `path` (at the key when the item
    /// cannot be found).
    pub fn at_item(&self, path: &[&str], index: usize, message: impl Into<String>) -> Problem {
        let line = match self.doc.root.get(path).map(|node| &node.kind) {
            Some(crate::yaml::Kind::Sequence(items)) => items.get(index).map(|item| item.line()),
            _ => None,
        };
        Problem::new(&self.path, line.or_else(|| self.doc.line_of(path)), message)
    }
}

pub struct CheckedService {
    pub source: Source,
    pub config: ServiceConfig,
}

pub struct CheckedEnv {
    pub env: Environment,
    pub source: Source,
    pub config: EnvConfig,
}

pub struct CheckedPreview {
    pub pr: u64,
    pub source: Source,
    pub config: PreviewValues,
}

/// The files that passed, ready to resolve.
#[derive(Default)]
pub struct Checked {
    /// By service name.
    pub services: BTreeMap<String, CheckedService>,
    pub environments: Vec<CheckedEnv>,
    pub previews: Vec<CheckedPreview>,
    /// Every environment file of a Lambda service, valid or not: an invalid production
    /// config has its own problem and must not also read as a missing one.
    pub env_files: BTreeSet<(String, Environment)>,
}

/// What `services/<dir>/config.yaml` says the service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Lambda,
    /// Another `deploymentType` (or none): its files are not ours.
    Other,
    /// The config could not be read, so nobody can tell.
    Unreadable,
}
