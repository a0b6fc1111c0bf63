//! Stage 5 — render: one service's desired state and staged packages → the Terraform
//! variables the bundled module takes (its `variables.tf` is the other half of this
//! contract), and the generated `moved` and `import` blocks that carry state across module
//! versions. Pure: the caller says where each package file lives.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::desired::{Deployment, DeploymentKey, DesiredService, FunctionSettings, PackageRef};
use crate::stage::{Staged, StagedPackage};

/// The version every resource is tagged with.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `lambda-gitops.tfvars.json`: the service, its packages and one entry per deployment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TfVars {
    pub service_name: String,
    pub aws_region: String,
    /// lambda-gitops's version, tagged on every resource.
    pub tool_version: String,
    /// Empty: the module creates an execution role for the service.
    pub role_arn: String,
    pub trigger_bucket: String,
    pub package_bucket: String,
    /// Staged packages are uploaded to `<package_key_prefix><sha256-hex>.zip`.
    pub package_key_prefix: String,
    /// SHA-256 hex → local file, one per distinct package (the module's `for_each`).
    pub packages: BTreeMap<String, String>,
    /// `staging`, `production`, `pr-<N>` → everything that function needs.
    pub deployments: BTreeMap<DeploymentKey, DeploymentVars>,
}

/// One entry of the module's `deployments` map.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeploymentVars {
    /// The version the gitops repo names (tagged; published versions are Lambda's).
    pub version: String,
    pub commit_sha: String,
    pub function_name: String,
    pub trigger_prefix: String,
    pub package: PackageVars,
    #[serde(flatten)]
    pub settings: FunctionSettings,
    /// While a rollout holds `live` on an older published version (it shifts traffic
    /// itself): that version, so terraform never moves `live`; absent, `live` follows the
    /// function's newest published version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_version: Option<String>,
    /// What `live` runs meanwhile: that version's CodeSha256 (lambda-gitops's own, never
    /// written for terraform).
    #[serde(skip)]
    pub live_code_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PackageVars {
    /// Key into `packages` when the module uploads it; `None` for an object already in
    /// the bucket (a preview's `s3Key`).
    pub upload: Option<String>,
    /// The object the function runs, in the package bucket.
    pub s3_key: String,
    /// Base64 SHA-256 of the zip (`filebase64sha256`), Lambda's `CodeSha256`.
    pub source_code_hash: String,
}

/// What a removed service's state is planned against for `destroy`: the service and region,
/// no package, no deployment. The buckets are placeholders: a destroy plan reads every
/// resource it removes from the state, never from these.
pub fn nothing(service: &str, aws_region: &str) -> TfVars {
    TfVars {
        service_name: service.to_owned(),
        aws_region: aws_region.to_owned(),
        tool_version: TOOL_VERSION.to_owned(),
        role_arn: String::new(),
        trigger_bucket: DESTROY_PLACEHOLDER.to_owned(),
        package_bucket: DESTROY_PLACEHOLDER.to_owned(),
        package_key_prefix: format!("lambda-packages/{service}/"),
        packages: BTreeMap::new(),
        deployments: BTreeMap::new(),
    }
}

/// The bucket names of [`nothing`]: `_` makes it an invalid bucket name, so it can never
/// name a real one.
const DESTROY_PLACEHOLDER: &str = "unused_by_a_destroy_plan";

/// Renders the variables. `staged` must hold every package of `service`;
/// `local_path` says where a staged package will be read by Terraform.
pub fn render(
    service: &DesiredService,
    aws_region: &str,
    staged: &Staged,
    local_path: impl Fn(&StagedPackage) -> String,
) -> TfVars {
    let package_key_prefix = format!("lambda-packages/{}/", service.name);
    let mut packages = BTreeMap::new();
    let mut deployments = BTreeMap::new();
    for deployment in service.deployments() {
        let staged = staged
            .get(&deployment.package)
            .expect("every package of the service was staged");
        let package = match &deployment.package {
            PackageRef::S3 { key, .. } => PackageVars {
                upload: None,
                s3_key: key.clone(),
                source_code_hash: staged.digest.base64(),
            },
            _ => {
                let hex = staged.digest.hex();
                packages.insert(hex.clone(), local_path(staged));
                PackageVars {
                    upload: Some(hex.clone()),
                    s3_key: format!("{package_key_prefix}{hex}.zip"),
                    source_code_hash: staged.digest.base64(),
                }
            }
        };
        deployments.insert(deployment.key, deployment_vars(deployment, package));
    }
    TfVars {
        service_name: service.name.clone(),
        aws_region: aws_region.to_owned(),
        tool_version: TOOL_VERSION.to_owned(),
        role_arn: service.role_arn.clone().unwrap_or_default(),
        trigger_bucket: service.trigger_bucket.clone(),
        package_bucket: service.package_bucket.clone(),
        package_key_prefix,
        packages,
        deployments,
    }
}

fn deployment_vars(deployment: &Deployment, package: PackageVars) -> DeploymentVars {
    DeploymentVars {
        version: deployment.version.clone(),
        commit_sha: deployment.commit_sha.clone(),
        function_name: deployment.function_name.clone(),
        trigger_prefix: deployment.trigger_prefix.clone(),
        package,
        settings: deployment.settings.clone(),
        live_version: None,
        live_code_sha256: None,
    }
}

/// The design's vocabulary, derived from the deployments: what `lambda-gitops vars` prints
/// beside the variables and the module outputs under the same names.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Derived {
    /// PR numbers as strings, in numeric order.
    pub preview_prs: Vec<String>,
    /// Deployment key → the version it runs.
    pub versions: BTreeMap<String, String>,
    /// Deployment key → base64 SHA-256 of its package.
    pub source_code_hashes: BTreeMap<String, String>,
}

impl TfVars {
    /// The staged packages these variables refer to, for the work dir.
    pub fn used_packages<'a>(&self, staged: &'a Staged) -> Vec<&'a StagedPackage> {
        staged
            .values()
            .filter(|package| self.packages.contains_key(&package.digest.hex()))
            .collect()
    }

    /// What each deployment declares its function runs, for the Lambda API to check.
    pub fn declared(&self) -> impl Iterator<Item = crate::aws::status::Declared<'_>> {
        self.deployments
            .iter()
            .map(|(key, deployment)| crate::aws::status::Declared {
                key: *key,
                function_name: &deployment.function_name,
                version: &deployment.version,
                // During a rollout, `live` runs the version it holds.
                code_sha256: deployment
                    .live_code_sha256
                    .as_deref()
                    .unwrap_or(&deployment.package.source_code_hash),
            })
    }

    pub fn derived(&self) -> Derived {
        Derived {
            preview_prs: self
                .deployments
                .keys()
                .filter_map(|key| key.pr())
                .map(|pr| pr.to_string())
                .collect(),
            versions: self
                .deployments
                .iter()
                .map(|(key, d)| (key.to_string(), d.version.clone()))
                .collect(),
            source_code_hashes: self
                .deployments
                .iter()
                .map(|(key, d)| (key.to_string(), d.package.source_code_hash.clone()))
                .collect(),
        }
    }
}

/// `moved` blocks from the first module's preview addresses (`preview["7"]`) to this
/// one's (`this["pr-7"]`), one per preview the gitops repo declares: `moved` cannot loop.
/// Staging and production have static blocks in the module itself.
pub fn preview_moves(vars: &TfVars) -> String {
    let mut text = String::from(
        "# Generated by lambda-gitops: each preview's function, kept under the address the\n# first module version gave it (`preview[\"<N>\"]`), moves to `this[\"pr-<N>\"]`.\n",
    );
    for pr in vars.deployments.keys().filter_map(|key| key.pr()) {
        text.push_str(&format!(
            "\nmoved {{\n  from = aws_lambda_function.preview[\"{pr}\"]\n  to   = aws_lambda_function.this[\"pr-{pr}\"]\n}}\n"
        ));
    }
    text
}

/// `import` blocks for log groups that exist in AWS but not in the state (a function that
/// ever ran has its `/aws/lambda/<name>` already): `(key, log group name)` each.
pub fn log_group_imports(groups: &[(DeploymentKey, String)]) -> String {
    let mut text = String::from(
        "# Generated by lambda-gitops: log groups that already exist are adopted, not created.\n",
    );
    for (key, name) in groups {
        text.push_str(&format!(
            "\nimport {{\n  to = aws_cloudwatch_log_group.this[\"{key}\"]\n  id = {}\n}}\n",
            serde_json::to_string(name).expect("a string serializes")
        ));
    }
    text
}

/// The generated `import` blocks of everything adopted: log groups, and the functions and
/// `live` aliases an interrupted first apply left out of the state.
pub fn imports(adoption: &crate::aws::adopt::Adoption) -> String {
    let mut text = log_group_imports(&adoption.log_groups);
    let quoted = |name: &str| serde_json::to_string(name).expect("a string serializes");
    for (key, function) in &adoption.functions {
        text.push_str(&format!(
            "\nimport {{\n  to = aws_lambda_function.this[\"{key}\"]\n  id = {}\n}}\n",
            quoted(function)
        ));
    }
    for (key, function) in &adoption.aliases {
        text.push_str(&format!(
            "\nimport {{\n  to = aws_lambda_alias.live[\"{key}\"]\n  id = {}\n}}\n",
            quoted(&format!("{function}/live"))
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Architecture, Tracing, Vpc};
    use crate::hash::Hasher;
    use std::path::PathBuf;

    fn settings() -> FunctionSettings {
        FunctionSettings {
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            architecture: Architecture::Arm64,
            layers: vec!["arn:aws:lambda:us-east-1:123456789012:layer:deps:3".into()],
            ephemeral_storage: 1024,
            memory_size: 512,
            timeout: 30,
            environment: [("MODE".to_owned(), "fast".to_owned())].into(),
            reserved_concurrency: Some(20),
            provisioned_concurrency: 3,
            tracing: Tracing::Active,
            vpc: Some(Vpc {
                subnet_ids: vec!["subnet-0123abcd".into()],
                security_group_ids: vec!["sg-0123abcd".into()],
            }),
            log_retention_days: 14,
            description: "d".into(),
            tags: [("team".to_owned(), "data".to_owned())].into(),
        }
    }

    fn deployment(
        key: DeploymentKey,
        package: PackageRef,
        settings: FunctionSettings,
    ) -> Deployment {
        Deployment {
            key,
            file: PathBuf::from("f.yaml"),
            version: format!("1.0.0-{key}"),
            commit_sha: "abcdef1".into(),
            function_name: format!("svc-{key}"),
            trigger_prefix: format!("{key}/"),
            package,
            settings,
            keep_versions: 5,
            rollout: crate::desired::Rollout::default(),
        }
    }

    fn staged(refs: &[&PackageRef]) -> Staged {
        refs.iter()
            .map(|r| {
                let mut hasher = Hasher::default();
                hasher.update(format!("{r:?}").as_bytes());
                let package = StagedPackage {
                    path: PathBuf::from("/cache/x.zip"),
                    digest: hasher.finish(),
                };
                ((*r).clone(), package)
            })
            .collect()
    }

    fn service() -> DesiredService {
        let path = PackageRef::Path {
            path: PathBuf::from("/repo/a.zip"),
        };
        let s3 = PackageRef::S3 {
            bucket: "pkgs".into(),
            key: "manual/pr-42.zip".into(),
        };
        let preview = FunctionSettings {
            provisioned_concurrency: 0,
            ..settings()
        };
        DesiredService {
            name: "svc".into(),
            file: PathBuf::from("services/svc/config.yaml"),
            defaults: settings(),
            role_arn: None,
            trigger_bucket: "up".into(),
            package_bucket: "pkgs".into(),
            staging: None,
            production: Some(deployment(
                DeploymentKey::Production,
                path.clone(),
                settings(),
            )),
            previews: vec![
                deployment(DeploymentKey::Preview(7), path, preview.clone()),
                deployment(DeploymentKey::Preview(42), s3, preview),
            ],
        }
    }

    fn rendered() -> TfVars {
        let service = service();
        let refs: Vec<&PackageRef> = service.deployments().map(|d| &d.package).collect();
        let staged = staged(&refs);
        render(&service, "eu-west-2", &staged, |p| {
            format!("packages/{}.zip", p.digest.hex())
        })
    }

    #[test]
    fn every_setting_reaches_the_deployments_map_with_the_modules_names() {
        let json = serde_json::to_value(rendered()).unwrap();
        let production = &json["deployments"]["production"];
        assert_eq!(production["architecture"], "arm64");
        assert_eq!(
            production["layers"][0],
            "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
        );
        assert_eq!(production["ephemeral_storage"], 1024);
        assert_eq!(production["memory_size"], 512);
        assert_eq!(production["timeout"], 30);
        assert_eq!(production["environment"]["MODE"], "fast");
        assert_eq!(production["reserved_concurrency"], 20);
        assert_eq!(production["provisioned_concurrency"], 3);
        assert_eq!(production["tracing"], "Active");
        assert_eq!(production["vpc"]["subnet_ids"][0], "subnet-0123abcd");
        assert_eq!(production["vpc"]["security_group_ids"][0], "sg-0123abcd");
        assert_eq!(production["log_retention_days"], 14);
        assert_eq!(production["description"], "d");
        assert_eq!(production["tags"]["team"], "data");
        assert_eq!(production["version"], "1.0.0-production");
        let hex = production["package"]["upload"].as_str().unwrap();
        assert_eq!(
            production["package"]["s3_key"],
            format!("lambda-packages/svc/{hex}.zip")
        );
        assert!(json["packages"][hex].is_string());
        // Previews do not inherit provisioned concurrency.
        assert_eq!(json["deployments"]["pr-7"]["provisioned_concurrency"], 0);
        // A preview on an existing object uploads nothing.
        assert_eq!(
            json["deployments"]["pr-42"]["package"]["upload"],
            serde_json::Value::Null
        );
        assert_eq!(
            json["deployments"]["pr-42"]["package"]["s3_key"],
            "manual/pr-42.zip"
        );
        assert_eq!(json["tool_version"], TOOL_VERSION);
        for flat in [
            "staging_version",
            "preview_prs",
            "preview_versions",
            "runtime",
            "memory_size",
        ] {
            assert!(json.get(flat).is_none(), "{flat} is a flat variable again");
        }
    }

    #[test]
    fn the_vocabulary_is_derived_from_the_deployments_in_pr_order() {
        let vars = rendered();
        let derived = vars.derived();
        assert_eq!(derived.preview_prs, ["7", "42"]);
        assert_eq!(derived.versions["pr-42"], "1.0.0-pr-42");
        assert_eq!(
            derived.source_code_hashes["production"],
            vars.deployments[&DeploymentKey::Production]
                .package
                .source_code_hash
        );
        assert!(!derived.versions.contains_key("staging"));
    }

    #[test]
    fn previews_get_one_moved_block_each_and_log_groups_their_imports() {
        let moves = preview_moves(&rendered());
        assert!(moves.contains("from = aws_lambda_function.preview[\"7\"]\n  to   = aws_lambda_function.this[\"pr-7\"]"), "{moves}");
        assert!(
            moves.contains("aws_lambda_function.this[\"pr-42\"]"),
            "{moves}"
        );
        assert_eq!(moves.matches("moved {").count(), 2);
        let imports = log_group_imports(&[(DeploymentKey::Staging, "/aws/lambda/a\"b".into())]);
        assert!(
            imports.contains(
                "to = aws_cloudwatch_log_group.this[\"staging\"]\n  id = \"/aws/lambda/a\\\"b\""
            ),
            "{imports}"
        );
    }
}
