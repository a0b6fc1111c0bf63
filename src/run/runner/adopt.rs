//! Adoption: what the plan would create that exists in AWS already — log groups (a function
//! that ever ran has one), and the functions and aliases of this service that an interrupted
//! apply left out of the state — is imported instead, and a function such an apply left
//! tainted is untainted (only by an approved apply), after which the plan is made again.
//! Also, from the state a saved plan was made against, whether there is anything to adopt
//! at all (an early apply must not start if there is).
//!
//! In: the plan's JSON or the plan file's prior state, the service's [`TfVars`], and the
//! AWS API. Out: the [`Adoption`] (written as `import` blocks, [`render::imports`]) and the
//! new plan's JSON; an object that exists and is not provably this service's is an error.

use std::collections::BTreeSet;
use std::path::Path;

use super::Runner;
use crate::aws::adopt::{Adoption, Candidate};
use crate::desired::DeploymentKey;
use crate::error::Error;
use crate::render::{self, TfVars};
use crate::report;
use crate::terraform::module::Generated;
use crate::workdir::WorkDir;

impl Runner {
    /// With the bundled module, adopts what the plan would create that exists already and
    /// plans again with the `import` blocks written into `generated`. The JSON of the plan
    /// to read — `plan_json` itself when there is nothing to adopt — or `None` when the new
    /// plan has no changes.
    pub(super) async fn adopt_existing(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        mut generated: Generated,
        plan_json: String,
    ) -> Result<Option<String>, Error> {
        self.adopted_log_groups.clear();
        if self.settings.module_dir.is_some() {
            return Ok(Some(plan_json));
        }
        let adopt = self.adoption(service, &plan_json).await?;
        if adopt.is_empty() {
            return Ok(Some(plan_json));
        }
        tracing::info!(
            "{service}: adopting {}, which exist(s) already; planning again",
            crate::problem::backticked(&adopt.names())
        );
        generated.imports = render::imports(&adopt);
        self.adopted_log_groups = adopt.log_groups.iter().map(|(key, _)| *key).collect();
        for (key, _) in &adopt.untainted {
            self.untaint(
                service,
                work_dir,
                &format!("aws_lambda_function.this[\"{key}\"]"),
            )
            .await?;
        }
        if !self.plan_once(service, work_dir, &generated).await? {
            return Ok(None);
        }
        self.show_json(service, work_dir).await.map(Some)
    }

    /// What the plan would create that exists already and is adopted: log groups, and the
    /// functions and aliases of this service that an interrupted apply left out of the state.
    async fn adoption(&self, service: &str, plan_json: &str) -> Result<Adoption, Error> {
        let plan = plan_json.as_bytes();
        let log_groups = report::log_groups_to_create(plan);
        let functions = report::to_create(plan, "aws_lambda_function", "function_name");
        let aliases = report::to_create(plan, "aws_lambda_alias", "function_name");
        let tainted = report::tainted(plan, "aws_lambda_function", "function_name");
        if log_groups.is_empty() && functions.is_empty() && aliases.is_empty() && tainted.is_empty()
        {
            return Ok(Default::default());
        }
        let config = crate::aws::sdk_config(&self.settings.aws_region).await;
        let existing = existing_log_groups(&config, service, &log_groups).await?;
        let lambda = aws_sdk_lambda::Client::new(&config);
        let adopt_error = |source| Error::Adopt {
            service: service.to_owned(),
            source,
        };
        let roles = report::to_create(plan, "aws_lambda_function", "role");
        let creating = candidates(functions, roles);
        let functions = crate::aws::adopt::functions(&lambda, service, &creating)
            .await
            .map_err(adopt_error)?;
        // An alias is its function's: adopted on a function in the state (not created by this
        // plan) or adopted just now.
        let created: Vec<_> = creating.iter().map(|c| c.key).collect();
        let owned =
            |key: &DeploymentKey| !created.contains(key) || functions.iter().any(|(k, _)| k == key);
        let aliases = crate::aws::adopt::aliases(&lambda, &aliases, owned)
            .await
            .map_err(adopt_error)?;
        let untainted = self.untainted(&lambda, service, plan, tainted).await?;
        Ok(Adoption {
            log_groups: log_groups
                .into_iter()
                .filter(|(_, name)| existing.contains(name))
                .collect(),
            functions,
            aliases,
            untainted,
        })
    }

    /// The functions among `tainted` (in the state, marked tainted) to untaint: those that
    /// are this service's, when an approved apply follows; otherwise none, each one warned of.
    async fn untainted(
        &self,
        lambda: &aws_sdk_lambda::Client,
        service: &str,
        plan: &[u8],
        tainted: Vec<(DeploymentKey, String)>,
    ) -> Result<Vec<(DeploymentKey, String)>, Error> {
        // Untainting writes the state: only an approved apply does it, never a plan (whose
        // role may not write the state) nor `--plan-dir` (which compares first).
        if !self.apply_early {
            for (_, function) in &tainted {
                tracing::warn!("{service}: the function `{function}` is tainted in the state (an apply stopped while creating it); `apply --auto-approve` keeps it if it is this service's");
            }
            return Ok(Vec::new());
        }
        let roles = report::tainted(plan, "aws_lambda_function", "role");
        let tainted = candidates(tainted, roles);
        crate::aws::adopt::functions(lambda, service, &tainted)
            .await
            .map_err(|source| Error::Adopt {
                service: service.to_owned(),
                source,
            })
    }

    /// Whether nothing of `vars` missing from `state` — log groups, functions — exists
    /// already (what would be adopted, and an adopted object may belong to someone else).
    /// A failed look-up counts as something that exists.
    pub(super) async fn adopts_none(&self, state: &serde_json::Value, vars: &TfVars) -> bool {
        let in_state = log_groups_in(state);
        let names: Vec<String> = vars
            .deployments
            .values()
            .map(|d| format!("/aws/lambda/{}", d.function_name))
            .filter(|name| !in_state.contains(name))
            .collect();
        let in_state = functions_in(state);
        let functions: Vec<String> = vars
            .deployments
            .values()
            .map(|d| d.function_name.clone())
            .filter(|name| !in_state.contains(name))
            .collect();
        (names.is_empty() && functions.is_empty()) || {
            let config = crate::aws::sdk_config(&self.settings.aws_region).await;
            let lambda = aws_sdk_lambda::Client::new(&config);
            crate::aws::log_groups::existing(&config, &names)
                .await
                .is_ok_and(|existing| existing.is_empty())
                && !crate::aws::adopt::any_function_exists(&lambda, &functions).await
        }
    }

    /// `terraform untaint ADDRESS`: the object an interrupted apply created is kept.
    async fn untaint(
        &mut self,
        service: &str,
        work_dir: &WorkDir,
        address: &str,
    ) -> Result<(), Error> {
        let args = vec![
            "untaint".to_owned(),
            format!("-lock-timeout={}", self.settings.lock_timeout),
            address.to_owned(),
        ];
        self.run(service, work_dir, args, &[], false, &[0])
            .await
            .map(drop)
    }
}

/// Which of the log groups the plan creates exist already.
async fn existing_log_groups(
    config: &aws_config::SdkConfig,
    service: &str,
    log_groups: &[(DeploymentKey, String)],
) -> Result<BTreeSet<String>, Error> {
    let names: Vec<String> = log_groups.iter().map(|(_, name)| name.clone()).collect();
    crate::aws::log_groups::existing(config, &names)
        .await
        .map_err(|error| Error::Aws {
            service: service.to_owned(),
            action: "look up the log groups the plan creates",
            message: error.reason,
            hint: Some("the credentials need `logs:DescribeLogGroups`: a function that ever ran has its log group already, and creating it again would fail".into()),
        })
}

/// The state a saved plan was made against: the plan file's own `tfstate` (after refresh).
/// `None` when it cannot be read.
pub(super) fn prior_state(plan_file: &Path) -> Option<serde_json::Value> {
    let file = std::fs::File::open(plan_file).ok()?;
    let mut archive = zip::ZipArchive::new(file).ok()?;
    let entry = archive.by_name("tfstate").ok()?;
    serde_json::from_reader(entry).ok()
}

/// The functions `names` with the roles `roles` gives them (by deployment).
fn candidates(
    names: Vec<(DeploymentKey, String)>,
    roles: Vec<(DeploymentKey, String)>,
) -> Vec<Candidate> {
    names
        .into_iter()
        .map(|(key, function)| Candidate {
            key,
            role: roles
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, r)| r.clone()),
            function,
        })
        .collect()
}

/// Whether a state holds an object marked tainted (an apply stopped while creating it).
pub(super) fn has_tainted(state: &serde_json::Value) -> bool {
    let resources = state.get("resources").and_then(|r| r.as_array());
    resources
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("instances").and_then(|i| i.as_array()))
        .flatten()
        .any(|i| i.get("status").and_then(|s| s.as_str()) == Some("tainted"))
}

/// The names of the log groups a state holds.
fn log_groups_in(state: &serde_json::Value) -> BTreeSet<String> {
    names_in(state, "aws_cloudwatch_log_group", "name")
}

/// The names of the functions a state holds.
fn functions_in(state: &serde_json::Value) -> BTreeSet<String> {
    names_in(state, "aws_lambda_function", "function_name")
}

/// The attribute `name` of every instance of `kind` in a state.
fn names_in(state: &serde_json::Value, kind: &str, name: &str) -> BTreeSet<String> {
    let resources = state.get("resources").and_then(|r| r.as_array());
    resources
        .into_iter()
        .flatten()
        .filter(|r| r.get("type").and_then(|t| t.as_str()) == Some(kind))
        .filter_map(|r| r.get("instances").and_then(|i| i.as_array()))
        .flatten()
        .filter_map(|i| i.get("attributes")?.get(name)?.as_str())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::PLAN_FILE;
    use super::*;

    fn plan_file(dir: &std::path::Path, state: &str) -> PathBuf {
        use std::io::Write;
        let path = dir.join(PLAN_FILE);
        let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("tfplan", options).unwrap();
        writer.write_all(b"\x0a\x00").unwrap();
        writer.start_file("tfstate", options).unwrap();
        writer.write_all(state.as_bytes()).unwrap();
        writer.finish().unwrap();
        path
    }

    #[test]
    fn the_prior_state_and_its_log_groups_are_read_from_the_plan_file() {
        let temp = tempfile::tempdir().unwrap();
        let state = r#"{"version":4,"resources":[
            {"mode":"managed","type":"aws_cloudwatch_log_group","name":"this","instances":[
                {"attributes":{"name":"/aws/lambda/a-staging"}},
                {"attributes":{"name":"/aws/lambda/a-prod"}}]},
            {"mode":"managed","type":"aws_lambda_function","name":"this","instances":[
                {"attributes":{"name":"not a log group"}}]}]}"#;
        let read = prior_state(&plan_file(temp.path(), state)).unwrap();
        assert_eq!(
            log_groups_in(&read),
            ["/aws/lambda/a-prod", "/aws/lambda/a-staging"]
                .map(str::to_owned)
                .into()
        );
        assert_eq!(prior_state(&plan_file(temp.path(), "not json")), None);
        std::fs::write(temp.path().join(PLAN_FILE), "not a zip").unwrap();
        assert_eq!(prior_state(&temp.path().join(PLAN_FILE)), None);
        assert_eq!(prior_state(&temp.path().join("missing")), None);
    }
}
