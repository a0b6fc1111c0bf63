//! Whether `apply` may skip terraform for a service: nothing changed since its last
//! successful apply. In: the fingerprint of this run's inputs, the record of the last apply
//! ([`crate::run::applied`]) and what each function runs now (the Lambda API). Out: skip, or run
//! and why.
//!
//! A skip needs both: the record's fingerprint equals this run's (the module, variables,
//! packages, backend and terraform are those of the last apply), and every deployment's
//! function runs what the gitops repo declares — its `version` tag, the CodeSha256 behind
//! `live`, and the published version the record saw there — with no function missing or
//! extra. The record alone is never enough: a forged or stale one can only skip a run
//! whose functions already run exactly what is declared. What a skip does not look at —
//! settings, triggers, permissions, log groups changed outside terraform — is drift that
//! `plan` (or `apply --refresh`) finds.

use crate::aws::status::{self, DeploymentStatus};
use crate::render::TfVars;
use crate::run::applied::{AppliedFunction, Record};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: terraform is not started.
    Skip,
    /// Terraform runs, for this reason (logged).
    Run(String),
}

/// The decision for `vars`, whose inputs hash to `fingerprint`, given the `record` of the
/// last apply (`None`: there is none).
pub async fn decide(
    client: &aws_sdk_lambda::Client,
    fingerprint: &str,
    record: Option<&Record>,
    vars: &TfVars,
) -> Decision {
    let Some(record) = record else {
        return Decision::Run("no record of a previous apply".into());
    };
    if record.fingerprint != fingerprint {
        return Decision::Run("the inputs changed since the last apply".into());
    }
    compare(record, &status::check_all(client, vars.declared()).await)
}

/// The pure half of [`decide`]: the record against what runs.
pub fn compare(record: &Record, statuses: &[DeploymentStatus]) -> Decision {
    let declared: std::collections::BTreeSet<&str> =
        statuses.iter().map(|s| s.function_name.as_str()).collect();
    let recorded: std::collections::BTreeSet<&str> =
        record.functions.keys().map(String::as_str).collect();
    if declared != recorded {
        return Decision::Run("the functions differ from those of the last apply".into());
    }
    for status in statuses {
        if let Some(reason) = status.differences.first() {
            return Decision::Run(format!("AWS changed: {reason}"));
        }
        let Ok(running) = &status.running else {
            return Decision::Run("a function could not be read".into());
        };
        let applied = &record.functions[&status.function_name];
        if running.function_version != applied.function_version
            || running.code_sha256 != applied.code_sha256
        {
            return Decision::Run(format!(
                "AWS changed: `{}` runs version {} behind `live`, the last apply left {}",
                status.function_name, running.function_version, applied.function_version
            ));
        }
    }
    Decision::Skip
}

/// The record to keep after a successful apply: `fingerprint` and what each function runs
/// now. `None` when a function does not run what is declared (then no skip may trust it).
pub fn record(fingerprint: &str, statuses: &[DeploymentStatus]) -> Option<Record> {
    let mut functions = std::collections::BTreeMap::new();
    for status in statuses {
        let running = status.running.as_ref().ok()?;
        if !status.differences.is_empty() {
            return None;
        }
        functions.insert(
            status.function_name.clone(),
            AppliedFunction {
                function_version: running.function_version.clone(),
                code_sha256: running.code_sha256.clone(),
            },
        );
    }
    Some(Record {
        format_version: Record::FORMAT.into(),
        fingerprint: fingerprint.to_owned(),
        functions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::status::{Running, StatusError, LIVE_ALIAS};
    use crate::desired::DeploymentKey;

    fn status(function: &str, tag: &str, version: &str, sha: &str) -> DeploymentStatus {
        let running = Running {
            function_name: function.into(),
            qualifier: LIVE_ALIAS.into(),
            function_version: version.into(),
            version_tag: Some(tag.into()),
            code_sha256: sha.into(),
            since: None,
            owner: (None, None),
        };
        DeploymentStatus {
            key: DeploymentKey::Staging,
            function_name: function.into(),
            version: "1.0.0".into(),
            code_sha256: "good=".into(),
            differences: status::differences(&running, "1.0.0", "good="),
            running: Ok(running),
            rollout: None,
        }
    }

    #[test]
    fn only_a_matching_record_and_functions_that_run_what_is_declared_skip() {
        let applied = vec![status("f", "1.0.0", "3", "good=")];
        let record = record("fp", &applied).unwrap();
        assert_eq!(compare(&record, &applied), Decision::Skip);

        // Code changed behind the alias, the tag changed, the alias moved: run.
        for changed in [
            status("f", "1.0.0", "3", "other="),
            status("f", "0.9.0", "3", "good="),
            status("f", "1.0.0", "4", "good="),
        ] {
            assert!(
                matches!(compare(&record, std::slice::from_ref(&changed)), Decision::Run(ref why) if why.starts_with("AWS changed")),
                "{changed:?}"
            );
        }
        // A function the record does not know, or one gone: run.
        let two = vec![applied[0].clone(), status("g", "1.0.0", "1", "good=")];
        assert!(matches!(compare(&record, &two), Decision::Run(_)));
        let mut gone = applied[0].clone();
        gone.running = Err(StatusError::NoFunction {
            function: "f".into(),
        });
        gone.differences = vec!["the function `f` does not exist".into()];
        assert!(matches!(
            compare(&record, std::slice::from_ref(&gone)),
            Decision::Run(_)
        ));
        // Nothing to record when a function does not run what is declared.
        assert_eq!(super::record("fp", &[gone]), None);
    }

    #[test]
    fn a_forged_record_cannot_skip_an_apply_whose_functions_run_something_else() {
        // The record claims exactly what AWS runs, but the repo declares other code.
        let running = status("f", "1.0.0", "3", "old=");
        let forged = Record {
            format_version: Record::FORMAT.into(),
            fingerprint: "fp".into(),
            functions: [(
                "f".to_owned(),
                AppliedFunction {
                    function_version: "3".into(),
                    code_sha256: "old=".into(),
                },
            )]
            .into(),
        };
        assert!(matches!(compare(&forged, &[running]), Decision::Run(_)));
    }
}
