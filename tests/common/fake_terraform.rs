//! A fake terraform for the CI-output tests: `plan` prints the text a test gave it (or
//! "No changes.") on stdout and an error on stderr when told to fail; `show -json` prints
//! the plan JSON a test gave it. And a run of the binary as GitHub Actions runs it: cwd =
//! the gitops dir, default flags, the Actions environment variables set.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Run, Tree};

const SCRIPT: &str = r#"#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls"
service=$(basename "$PWD")
case "$1" in
  version) echo '{"terraform_version": "1.11.4"}' ;;
  init)
    mkdir -p "${TF_DATA_DIR:-.terraform}"
    [ -f .terraform.lock.hcl ] || : > .terraform.lock.hcl
    echo "Terraform has been successfully initialized!" ;;
  plan)
    if [ -f "$FAKE_DIR/plan-text-$service" ]; then
      cat "$FAKE_DIR/plan-text-$service"
    else
      echo "No changes. Your infrastructure matches the configuration."
    fi
    if [ -f "$FAKE_DIR/plan-error-$service" ]; then
      cat "$FAKE_DIR/plan-error-$service" >&2
      exit 1
    fi
    : > plan.tfplan
    [ -f "$FAKE_DIR/plan-json-$service" ] && exit 2
    exit 0 ;;
  show)
    if [ -f "$FAKE_DIR/plan-json-$service" ]; then
      cat "$FAKE_DIR/plan-json-$service"
    else
      echo '{"format_version":"1.2","resource_changes":[]}'
    fi ;;
  apply)
    if [ -f "$FAKE_DIR/apply-fails-$service" ]; then
      cat "$FAKE_DIR/apply-fails-$service"
      echo "Error: creating Lambda Function: InvalidParameterValueException" >&2
      exit 1
    fi
    echo "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." ;;
esac
"#;

pub struct FakeTerraform {
    pub dir: PathBuf,
}

impl FakeTerraform {
    pub fn new(tree: &Tree) -> Self {
        let dir = tree.temp.path().join("fake-terraform");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("terraform");
        std::fs::write(&bin, SCRIPT).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.join("terraform")
    }

    /// `service`'s plan has changes: this text on stdout, this JSON from `show -json`.
    pub fn plans(&self, service: &str, text: &str, json: &serde_json::Value) {
        std::fs::write(self.dir.join(format!("plan-text-{service}")), text).unwrap();
        std::fs::write(
            self.dir.join(format!("plan-json-{service}")),
            json.to_string(),
        )
        .unwrap();
    }

    /// `service`'s plan has no changes again.
    pub fn no_changes(&self, service: &str) {
        for name in [
            format!("plan-text-{service}"),
            format!("plan-json-{service}"),
        ] {
            let _ = std::fs::remove_file(self.dir.join(name));
        }
    }

    /// `service`'s apply prints `stdout` (its progress), then fails.
    pub fn apply_fails(&self, service: &str, stdout: &str) {
        std::fs::write(self.dir.join(format!("apply-fails-{service}")), stdout).unwrap();
    }

    /// `service`'s plan fails with `stderr`.
    pub fn plan_fails(&self, service: &str, stderr: &str) {
        std::fs::write(self.dir.join(format!("plan-error-{service}")), stderr).unwrap();
    }

    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The binary as a GitHub Actions job runs it: cwd = the gitops dir, default work and
    /// cache dirs (under `RUNNER_TEMP` and `HOME` in the temp dir), an AWS region and AWS on
    /// loopback (`aws::around_fake_terraform`), this terraform; `env` on top.
    pub fn ci(&self, tree: &Tree, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.ci_command(tree, args, env).output().unwrap())
    }

    pub fn ci_command(
        &self,
        tree: &Tree,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Command {
        let runner_temp = tree.temp.path().join("runner-temp");
        std::fs::create_dir_all(&runner_temp).unwrap();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-gitops"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", tree.temp.path())
            .env("RUNNER_TEMP", &runner_temp)
            .env("FAKE_DIR", &self.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(super::aws::around_fake_terraform(tree, "eu-west-2"))
            .envs(env.iter().copied())
            .current_dir(tree.gitops())
            .args(args)
            .arg("--terraform-bin")
            .arg(self.bin())
            .stdin(std::process::Stdio::null());
        command
    }
}

/// A `pull_request` event payload for pull request `number`, written under the temp dir.
pub fn pull_request_event(tree: &Tree, number: u64) -> PathBuf {
    let path = tree.temp.path().join(format!("event-pr-{number}.json"));
    let payload = serde_json::json!({
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": "0123456789abcdef0123456789abcdef01234567", "ref": "bump"},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": "acme/gitops"},
    });
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// An event payload as given, written under the temp dir.
pub fn event(tree: &Tree, name: &str, payload: serde_json::Value) -> PathBuf {
    let path = tree.temp.path().join(format!("event-{name}.json"));
    std::fs::write(&path, payload.to_string()).unwrap();
    path
}

/// A Lambda function's change in `show -json`'s shape, tagged as the bundled module tags.
pub fn function_change(
    service: &str,
    environment: &str,
    actions: &[&str],
    before: Option<&str>,
    after: Option<&str>,
) -> serde_json::Value {
    let (name, index) = match environment.strip_prefix("pr-") {
        Some(pr) => ("preview", pr.to_owned()),
        None => (environment, environment.to_owned()),
    };
    let state = |version: Option<&str>| {
        version.map(|version| {
            serde_json::json!({
                "function_name": format!("{service}-{environment}"),
                "runtime": "python3.12", "handler": "app.handler", "memory_size": 128, "timeout": 3,
                "role": "arn:aws:iam::1:role/r",
                "environment": [{"variables": {"MODE": "secret-value"}}],
                "tags": {"service": service, "environment": environment, "version": version},
            })
        })
    };
    serde_json::json!({
        "address": format!("aws_lambda_function.{name}[\"{index}\"]"),
        "mode": "managed", "type": "aws_lambda_function", "name": name, "index": index,
        "change": {"actions": actions, "before": state(before), "after": state(after)},
    })
}

/// A plan JSON of these resource changes.
pub fn plan_json(changes: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"format_version": "1.2", "resource_changes": changes})
}

/// Terraform's human text for creating function `name`, about 40 lines, with an
/// environment value the report must never show.
pub fn created_function_text(address: &str, name: &str) -> String {
    let mut text = format!(
        "  # {address} will be created\n  + resource \"aws_lambda_function\" \"preview\" {{\n"
    );
    for (key, value) in [
        ("architectures", "(known after apply)"),
        ("arn", "(known after apply)"),
        ("function_name", &format!("\"{name}\"")),
        ("handler", "\"app.handler\""),
        ("id", "(known after apply)"),
        ("invoke_arn", "(known after apply)"),
        ("last_modified", "(known after apply)"),
        ("memory_size", "128"),
        ("package_type", "\"Zip\""),
        ("publish", "true"),
        ("qualified_arn", "(known after apply)"),
        ("role", "\"arn:aws:iam::1:role/r\""),
        ("runtime", "\"python3.12\""),
        ("s3_bucket", "\"packages\""),
        ("source_code_hash", "\"abc=\""),
        ("timeout", "3"),
        ("version", "(known after apply)"),
    ] {
        text.push_str(&format!("      + {key:<30} = {value}\n"));
    }
    text.push_str(
        "      + environment {\n          + variables = {\n              + \"MODE\" = \"secret-value\"\n            }\n        }\n",
    );
    for _ in 0..12 {
        text.push_str("      + logging_config (known after apply)\n");
    }
    text.push_str("    }\n\n");
    text
}

/// `path`'s text, or empty.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
