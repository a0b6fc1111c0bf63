//! Warnings: the deployments' changes → a [`Warning`] for each staging or production
//! function the plan deletes or replaces, with why, said as a reviewer reads it; the proof
//! of the artifact (`artifact.rs`) adds one when production gets a package staging does
//! not run.

use std::fmt;

use serde::Serialize;

use super::{Action, DeploymentChange};
use crate::desired::Environment;

/// A staging or production function deleted or replaced, or given a package staging
/// does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct Warning {
    pub environment: Environment,
    pub function_name: String,
    /// The function's action: `delete` or `replace`, or `update`/`create` for a package
    /// staging does not run.
    pub action: Action,
    /// Why, for a replace.
    pub reasons: Vec<String>,
    /// For a package staging does not run: the CodeSha256 staging runs instead.
    pub not_on_staging: Option<String>,
}

impl Warning {
    /// `environment`'s function `function_name` gets a package staging does not run
    /// (staging runs `staging_code_sha256`).
    pub fn not_on_staging(
        environment: Environment,
        function_name: &str,
        staging_code_sha256: &str,
    ) -> Self {
        Self {
            environment,
            function_name: function_name.to_owned(),
            action: Action::Update,
            reasons: Vec::new(),
            not_on_staging: Some(staging_code_sha256.to_owned()),
        }
    }

    /// `production gets a package staging does not run (staging runs CodeSha256 …)`, or
    /// in the past tense; `None` for a delete or replace.
    pub fn package_sentence(
        &self,
        applied: bool,
        quote: &dyn Fn(&str) -> String,
    ) -> Option<String> {
        let staging = self.not_on_staging.as_deref()?;
        Some(format!(
            "{} {} a package staging does not run (staging runs CodeSha256 {})",
            self.environment,
            if applied { "got" } else { "gets" },
            quote(staging)
        ))
    }

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
        if let Some(sentence) = self.package_sentence(false, &|s| format!("`{s}`")) {
            return f.write_str(&sentence);
        }
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
            not_on_staging: None,
        })
        .collect()
}
