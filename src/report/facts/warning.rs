//! Warnings: the deployments' changes → a [`Warning`] for each staging or production
//! function the plan deletes or replaces, with why, said as a reviewer reads it.

use std::fmt;

use serde::Serialize;

use super::{Action, DeploymentChange};
use crate::desired::Environment;

/// A delete or replace of a staging or production function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Warning {
    pub environment: Environment,
    pub function_name: String,
    pub action: Action,
    /// Why, for a replace.
    pub reasons: Vec<String>,
}

impl Warning {
    pub fn outcome(&self) -> &'static str {
        if self.action == Action::Delete {
            "DELETED"
        } else {
            "REPLACED (deleted and re-created)"
        }
    }

    /// Past tense, after an apply.
    pub fn outcome_past(&self) -> &'static str {
        if self.action == Action::Delete {
            "was DELETED"
        } else {
            "was REPLACED (deleted and re-created)"
        }
    }

    pub fn because(&self) -> String {
        if self.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", self.reasons.join("; "))
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} function `{}` will be {}{}",
            self.environment,
            self.function_name,
            self.outcome(),
            self.because()
        )
    }
}

impl From<Warning> for String {
    fn from(warning: Warning) -> Self {
        warning.to_string()
    }
}

/// The deletes and replaces of staging or production functions, in the deployments' order.
pub(super) fn warnings(deployments: &[DeploymentChange]) -> Vec<Warning> {
    deployments
        .iter()
        .filter(|d| matches!(d.action, Action::Delete | Action::Replace))
        .filter_map(|d| Some((d.environment()?, d)))
        .map(|(environment, d)| Warning {
            environment,
            function_name: d.function_name.clone(),
            action: d.action,
            reasons: d.replace_reasons.clone(),
        })
        .collect()
}
