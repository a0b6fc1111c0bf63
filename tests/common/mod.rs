//! Test harness: gitops trees built in temp dirs, and the binary run on them with an
//! isolated environment (its own HOME, cache and work dir; no tokens unless a test sets one).

#![allow(dead_code)]

pub mod aws;
pub mod fake_terraform;
pub mod git;
pub mod github;
pub mod pyyaml;

use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

pub struct Tree {
    pub temp: TempDir,
}

impl Tree {
    /// An empty gitops dir at `<temp>/repo/gitops`, inside a git work tree `<temp>/repo`.
    pub fn new() -> Self {
        let temp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(temp.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(temp.path().join("repo/gitops")).unwrap();
        Self { temp }
    }

    pub fn gitops(&self) -> PathBuf {
        self.temp.path().join("repo/gitops")
    }

    pub fn work(&self) -> PathBuf {
        self.temp.path().join("work")
    }

    pub fn cache(&self) -> PathBuf {
        self.temp.path().join("cache")
    }

    pub fn write(&self, relative: &str, text: &str) -> &Self {
        let path = self.gitops().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn remove(&self, relative: &str) -> &Self {
        let path = self.gitops().join(relative);
        if path.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
        self
    }

    /// The trigger and package buckets the services' configs name (read line by line).
    pub fn buckets(&self) -> Vec<String> {
        let Ok(services) = std::fs::read_dir(self.gitops().join("services")) else {
            return Vec::new();
        };
        let mut buckets: Vec<String> = services
            .filter_map(|entry| {
                std::fs::read_to_string(entry.ok()?.path().join("config.yaml")).ok()
            })
            .flat_map(|text| {
                text.lines()
                    .filter_map(|line| {
                        let line = line.trim();
                        ["triggerBucket:", "packageBucket:"]
                            .iter()
                            .find_map(|key| line.strip_prefix(key))
                            .map(|value| value.trim().trim_matches('"').to_owned())
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|bucket| !bucket.is_empty())
            .collect();
        buckets.sort();
        buckets.dedup();
        buckets
    }

    /// A package file under the gitops dir: a whole zip.
    pub fn package(&self, relative: &str, payload: &str) -> PathBuf {
        let path = self.gitops().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, zip_bytes(payload)).unwrap();
        path
    }

    /// A Lambda service whose `lambda.package` block is `package` (YAML, indented 4).
    pub fn service(&self, name: &str, package: &str) -> &Self {
        self.service_with(name, package, "")
    }

    pub fn service_with(&self, name: &str, package: &str, extra: &str) -> &Self {
        self.write(
            &format!("services/{name}/config.yaml"),
            &format!(
                "serviceName: {name}\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: app.handler\n  triggerBucket: {name}-uploads\n  packageBucket: {name}-packages\n  package:\n{package}{extra}"
            ),
        )
    }

    /// A service whose packages are `packages/<name>-{version}.zip` in the repo.
    pub fn path_service(&self, name: &str) -> &Self {
        self.service(
            name,
            &format!("    path: \"packages/{name}-{{version}}.zip\"\n"),
        )
    }

    pub fn env(
        &self,
        env: &str,
        service: &str,
        version: &str,
        function: &str,
        prefix: &str,
    ) -> &Self {
        self.write(
            &format!("environments/{env}/{service}/config.yaml"),
            &format!(
                "serviceName: {service}\nenvName: {env}\nlambda:\n  version: \"{version}\"\n  functionName: {function}\n  s3TriggerPrefix: \"{prefix}\"\ngitVersion:\n  sha: \"abcdef1234567\"\n  shortSha: \"abcdef1\"\n"
            ),
        )
    }

    pub fn preview(&self, dir: &str, service: &str, version: &str) -> &Self {
        self.write(
            &format!("environments/preview/{dir}/services/{service}.values.yaml"),
            &format!(
                "serviceName: {service}\ndeploymentType: lambda\nlambda:\n  version: \"{version}\"\n  commitSha: \"1234567abc\"\n"
            ),
        )
    }

    /// A valid path-sourced service with staging, production and the given previews, and
    /// every package it needs.
    pub fn standard(&self, name: &str, prs: &[u64]) -> &Self {
        self.path_service(name);
        self.env(
            "staging",
            name,
            "1.1.0",
            &format!("{name}-staging"),
            "staging/",
        );
        self.package(
            &format!("packages/{name}-1.1.0.zip"),
            &format!("{name} 1.1.0"),
        );
        self.env(
            "production",
            name,
            "1.0.0",
            &format!("{name}-prod"),
            "Projects/",
        );
        self.package(
            &format!("packages/{name}-1.0.0.zip"),
            &format!("{name} 1.0.0"),
        );
        for pr in prs {
            self.preview(&format!("pr-{pr}"), name, &format!("1.1.0-pr{pr}"));
            self.package(
                &format!("packages/{name}-1.1.0-pr{pr}.zip"),
                &format!("{name} pr {pr}"),
            );
        }
        self
    }

    /// The binary with `--gitops-dir`, `--work-dir` and `--cache-dir` in this tree, and an
    /// environment holding only PATH and a HOME inside the temp dir.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        self.command_in(&self.work(), args)
    }

    /// [`Tree::command`] with another work dir (a second CI runner on the same repo).
    pub fn command_in(&self, work: &Path, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-gitops"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.temp.path())
            .current_dir(self.temp.path())
            .args(args)
            .arg("--gitops-dir")
            .arg(self.gitops())
            .arg("--work-dir")
            .arg(work)
            .arg("--cache-dir")
            .arg(self.cache());
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// The binary run from `cwd` with `--gitops-dir` spelt `gitops_dir` (`None`: the
    /// default), and the work and cache dirs of [`Tree::command`].
    pub fn run_from(&self, cwd: &Path, gitops_dir: Option<&Path>, args: &[&str]) -> Run {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-gitops"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.temp.path())
            .current_dir(cwd)
            .args(args)
            .arg("--work-dir")
            .arg(self.work())
            .arg("--cache-dir")
            .arg(self.cache());
        if let Some(dir) = gitops_dir {
            command.arg("--gitops-dir").arg(dir);
        }
        Run::from(command.output().unwrap())
    }
}

/// A whole zip holding `app.py` = `payload` (stored, fixed timestamp: the same payload
/// always gives the same bytes).
pub fn zip_bytes(payload: &str) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("app.py", options).unwrap();
    writer.write_all(payload.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

/// A finished run, with its output as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Exit 1 with nothing on stdout, and stderr holding each of `needles`.
    pub fn fails_with(&self, needles: &[&str]) -> &Self {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert_eq!(self.stdout, "", "stdout must stay empty on error");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// What `openssl dgst -sha256 -binary FILE | base64` prints for `path`.
pub fn openssl_base64_sha256(path: &Path) -> String {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("openssl dgst -sha256 -binary \"$1\" | base64")
        .arg("sh")
        .arg(path)
        .output()
        .expect("openssl runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The deployment `key` (`staging`, `production`, `pr-<N>`) of the first service in a
/// `--format json` report.
pub fn deployment_of(report: &serde_json::Value, key: &str) -> serde_json::Value {
    report["services"][0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deployment"] == key)
        .cloned()
        .unwrap_or_else(|| panic!("no {key} deployment in {report}"))
}
