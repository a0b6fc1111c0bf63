//! Stage 5 — render: one service's desired state and staged packages → the Terraform
//! variables the bundled module takes (its `variables.tf` is the other half of this
//! contract). Pure: the caller says where each package file lives.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::desired::{Deployment, DesiredService, PackageRef};
use crate::stage::{Staged, StagedPackage};

/// `terraform.tfvars.json`. Environments that are not declared get empty strings and maps.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TfVars {
    pub service_name: String,
    pub aws_region: String,
    pub runtime: String,
    pub handler: String,
    pub memory_size: u32,
    pub timeout: u32,
    /// Empty: the module creates an execution role for the service.
    pub role_arn: String,
    pub trigger_bucket: String,
    pub package_bucket: String,
    /// Staged packages are uploaded to `<package_key_prefix><sha256-hex>.zip`.
    pub package_key_prefix: String,
    /// SHA-256 hex → local file, one per distinct package (the module's `for_each`).
    pub packages: BTreeMap<String, String>,

    pub staging_version: String,
    pub staging_commit_sha: String,
    pub staging_source_code_hash: String,
    pub staging_function_name: String,
    pub staging_trigger_prefix: String,
    pub staging_environment: BTreeMap<String, String>,
    /// Key into `packages`.
    pub staging_package: String,

    pub production_version: String,
    pub production_commit_sha: String,
    pub production_source_code_hash: String,
    pub production_function_name: String,
    pub production_trigger_prefix: String,
    pub production_environment: BTreeMap<String, String>,
    pub production_package: String,

    /// PR numbers as strings, in numeric order.
    pub preview_prs: Vec<String>,
    pub preview_versions: BTreeMap<String, String>,
    pub preview_commit_shas: BTreeMap<String, String>,
    pub preview_source_code_hashes: BTreeMap<String, String>,
    pub preview_function_names: BTreeMap<String, String>,
    pub preview_trigger_prefixes: BTreeMap<String, String>,
    pub preview_environment: BTreeMap<String, String>,
    /// PR → key into `packages`; absent for previews that name an existing `s3Key`.
    pub preview_packages: BTreeMap<String, String>,
    /// PR → an object already in the package bucket.
    pub preview_s3_keys: BTreeMap<String, String>,
}

#[derive(Default)]
struct EnvVars {
    version: String,
    commit_sha: String,
    source_code_hash: String,
    function_name: String,
    trigger_prefix: String,
    environment: BTreeMap<String, String>,
    package: String,
}

/// Renders the variables. `staged` must hold every package of `service`;
/// `local_path` says where a staged package will be read by Terraform.
pub fn render(
    service: &DesiredService,
    aws_region: &str,
    staged: &Staged,
    local_path: impl Fn(&StagedPackage) -> String,
) -> TfVars {
    let package_of = |deployment: &Deployment| -> &StagedPackage {
        staged
            .get(&deployment.package)
            .expect("every package of the service was staged")
    };
    let mut packages = BTreeMap::new();
    let mut env = |deployment: Option<&Deployment>| -> EnvVars {
        let Some(deployment) = deployment else {
            return EnvVars::default();
        };
        let package = package_of(deployment);
        packages.insert(package.digest.hex(), local_path(package));
        EnvVars {
            version: deployment.version.clone(),
            commit_sha: deployment.commit_sha.clone(),
            source_code_hash: package.digest.base64(),
            function_name: deployment.function_name.clone(),
            trigger_prefix: deployment.trigger_prefix.clone(),
            environment: deployment.environment.clone(),
            package: package.digest.hex(),
        }
    };
    let staging = env(service.staging.as_ref());
    let production = env(service.production.as_ref());

    let mut previews = PreviewMaps::default();
    for preview in &service.previews {
        let pr = match preview.key {
            crate::desired::DeploymentKey::Preview(pr) => pr.to_string(),
            other => unreachable!("{other} is not a preview"),
        };
        let package = package_of(preview);
        previews.prs.push(pr.clone());
        previews
            .versions
            .insert(pr.clone(), preview.version.clone());
        previews
            .commit_shas
            .insert(pr.clone(), preview.commit_sha.clone());
        previews.hashes.insert(pr.clone(), package.digest.base64());
        previews
            .function_names
            .insert(pr.clone(), preview.function_name.clone());
        previews
            .prefixes
            .insert(pr.clone(), preview.trigger_prefix.clone());
        match &preview.package {
            PackageRef::S3 { key, .. } => {
                previews.s3_keys.insert(pr, key.clone());
            }
            _ => {
                packages.insert(package.digest.hex(), local_path(package));
                previews.packages.insert(pr, package.digest.hex());
            }
        }
    }
    let preview_environment = service
        .previews
        .first()
        .map(|p| p.environment.clone())
        .unwrap_or_default();

    TfVars {
        service_name: service.name.clone(),
        aws_region: aws_region.to_owned(),
        runtime: service.runtime.clone(),
        handler: service.handler.clone(),
        memory_size: service.memory_size,
        timeout: service.timeout,
        role_arn: service.role_arn.clone().unwrap_or_default(),
        trigger_bucket: service.trigger_bucket.clone(),
        package_bucket: service.package_bucket.clone(),
        package_key_prefix: format!("lambda-packages/{}/", service.name),
        packages,
        staging_version: staging.version,
        staging_commit_sha: staging.commit_sha,
        staging_source_code_hash: staging.source_code_hash,
        staging_function_name: staging.function_name,
        staging_trigger_prefix: staging.trigger_prefix,
        staging_environment: staging.environment,
        staging_package: staging.package,
        production_version: production.version,
        production_commit_sha: production.commit_sha,
        production_source_code_hash: production.source_code_hash,
        production_function_name: production.function_name,
        production_trigger_prefix: production.trigger_prefix,
        production_environment: production.environment,
        production_package: production.package,
        preview_prs: previews.prs,
        preview_versions: previews.versions,
        preview_commit_shas: previews.commit_shas,
        preview_source_code_hashes: previews.hashes,
        preview_function_names: previews.function_names,
        preview_trigger_prefixes: previews.prefixes,
        preview_environment,
        preview_packages: previews.packages,
        preview_s3_keys: previews.s3_keys,
    }
}

#[derive(Default)]
struct PreviewMaps {
    prs: Vec<String>,
    versions: BTreeMap<String, String>,
    commit_shas: BTreeMap<String, String>,
    hashes: BTreeMap<String, String>,
    function_names: BTreeMap<String, String>,
    prefixes: BTreeMap<String, String>,
    packages: BTreeMap<String, String>,
    s3_keys: BTreeMap<String, String>,
}
