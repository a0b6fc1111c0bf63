//! The release archive and the action agree: `scripts/release` packs this build's binary the
//! way a GitHub release carries it (`lambda-gitops-<target>.tar.gz` and `SHA256SUMS`), a
//! real HTTP server on 127.0.0.1 serves it under the release download path, and the
//! install step of `action.yml` — its own `run:` script, read from the file, run by bash
//! with the environment GitHub gives that step — downloads, verifies, unpacks and runs it.
//! A tampered archive is refused before it is unpacked, and nothing goes on `PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use lambda_gitops::yaml::{self, Kind, Node};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const REPOSITORY: &str = "your-org/lambda-gitops";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The runner's `runner.os` / `runner.arch` for this machine.
fn runner() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        other => panic!("no lambda-gitops release for {other}"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        other => panic!("no lambda-gitops release for {other}"),
    };
    (os, arch)
}

/// The install step of action.yml: its script and its `env:` as written.
fn install_step() -> (String, BTreeMap<String, String>) {
    let bytes = std::fs::read(root().join("action.yml")).unwrap();
    let action = yaml::parse(&bytes).unwrap();
    let Some(Kind::Sequence(steps)) = action.root.get(&["runs", "steps"]).map(|n| &n.kind) else {
        panic!("action.yml has no steps");
    };
    let step = steps
        .iter()
        .find(|step| scalar(step.get(&["name"])) == Some("Install lambda-gitops"))
        .expect("an `Install lambda-gitops` step");
    assert_eq!(scalar(step.get(&["shell"])), Some("bash"));
    let script = scalar(step.get(&["run"])).expect("a run script").to_owned();
    let env = step
        .get(&["env"])
        .and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let value = e.value.as_scalar().unwrap().value.clone();
            (e.key.as_scalar().unwrap().value.clone(), value)
        })
        .collect();
    (script, env)
}

fn scalar(node: Option<&Node>) -> Option<&str> {
    node.and_then(Node::as_scalar).map(|s| s.value.as_str())
}

/// What GitHub evaluates each `${{ }}` of the step's env to, for `uses:
/// your-org/lambda-gitops@v<VERSION>` without inputs. An expression not listed fails the
/// test: a new one must be given its value here.
fn evaluate(value: &str, server_url: &str) -> String {
    let (os, arch) = runner();
    let tag = format!("v{VERSION}");
    let known = [
        ("${{ inputs.version }}", ""),
        ("${{ github.action_ref }}", tag.as_str()),
        ("${{ github.action_repository }}", REPOSITORY),
        ("${{ github.server_url }}", server_url),
        ("${{ runner.os }}", os),
        ("${{ runner.arch }}", arch),
    ];
    known
        .iter()
        .find(|(expression, _)| *expression == value)
        .map(|(_, v)| (*v).to_owned())
        .unwrap_or_else(|| {
            panic!("the install step's env has an expression this test does not know: {value}")
        })
}

/// Files served under `/<owner>/<repo>/releases/download/<tag>/<file>`, and every path asked.
#[derive(Clone, Default)]
struct Release {
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn download(
    State(release): State<Release>,
    UrlPath((owner, repo, tag, file)): UrlPath<(String, String, String, String)>,
) -> Result<Vec<u8>, StatusCode> {
    let path = format!("/{owner}/{repo}/releases/download/{tag}/{file}");
    release.requests.lock().unwrap().push(path.clone());
    if format!("{owner}/{repo}") != REPOSITORY || tag != format!("v{VERSION}") {
        return Err(StatusCode::NOT_FOUND);
    }
    let files = release.files.lock().unwrap();
    files.get(&file).cloned().ok_or(StatusCode::NOT_FOUND)
}

/// A release server on 127.0.0.1 holding `dir`'s files; returns its base URL.
fn serve(dir: &Path) -> (String, Release) {
    let release = Release::default();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).unwrap();
        release.files.lock().unwrap().insert(name, bytes);
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route(
            "/{owner}/{repo}/releases/download/{tag}/{file}",
            get(download),
        )
        .with_state(release.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, release)
}

/// `scripts/release` packing the binary cargo built for these tests (once), copied into
/// `out`; returns the archive's name.
fn pack(out: &Path) -> String {
    static PACKED: OnceLock<(PathBuf, String)> = OnceLock::new();
    let (dist, archive) = PACKED.get_or_init(|| {
        let dist = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-dist");
        let _ = std::fs::remove_dir_all(&dist);
        let status = Command::new(root().join("scripts/release"))
            .args(["--binary", env!("CARGO_BIN_EXE_lambda-gitops"), "--out"])
            .arg(&dist)
            .status()
            .unwrap();
        assert!(status.success(), "scripts/release failed");
        let archives: Vec<String> = std::fs::read_dir(&dist)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tar.gz"))
            .collect();
        assert_eq!(archives.len(), 1, "{archives:?}");
        (dist, archives[0].clone())
    });
    for name in [archive.as_str(), "SHA256SUMS"] {
        std::fs::copy(dist.join(name), out.join(name)).unwrap();
    }
    archive.clone()
}

struct Runner {
    temp: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let temp = tempfile::tempdir().unwrap();
        std::fs::create_dir(temp.path().join("runner-temp")).unwrap();
        std::fs::write(temp.path().join("github-path"), "").unwrap();
        Runner { temp }
    }

    fn runner_temp(&self) -> PathBuf {
        self.temp.path().join("runner-temp")
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.temp.path().join("github-path")).unwrap()
    }

    /// The install step as GitHub runs a `shell: bash` step: the script in a file, run by
    /// `bash --noprofile --norc -eo pipefail`, in the workspace, with the step's env.
    fn install(&self, server_url: &str) -> Output {
        let (script, env) = install_step();
        let file = self.temp.path().join("install.sh");
        std::fs::write(&file, script).unwrap();
        let workspace = self.temp.path().join("workspace");
        std::fs::create_dir_all(&workspace).unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(&workspace)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("HOME", self.temp.path())
            .env("RUNNER_TEMP", self.runner_temp())
            .env("GITHUB_PATH", self.temp.path().join("github-path"))
            .env("GITHUB_REPOSITORY", "your-org/gitops")
            .env("GITHUB_ACTIONS", "true");
        for (name, value) in env {
            command.env(name, evaluate(&value, server_url));
        }
        command.output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_local_release_archive_installs_through_the_actions_own_install_step() {
    let dist = tempfile::tempdir().unwrap();
    let archive = pack(dist.path());
    let (os, arch) = runner();
    let (url, release) = serve(dist.path());
    let runner = Runner::new();

    let output = runner.install(&url);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "the install step failed: {stderr}");

    // The archive the action asks for is the one scripts/release packed, under the release's path.
    let base = format!("/{REPOSITORY}/releases/download/v{VERSION}");
    assert_eq!(
        *release.requests.lock().unwrap(),
        [format!("{base}/SHA256SUMS"), format!("{base}/{archive}")],
        "{os}/{arch}"
    );
    // The binary is on PATH for the next steps, and it runs.
    let dir = runner.runner_temp().join("lambda-gitops-bin").join(VERSION);
    assert_eq!(runner.github_path(), format!("{}\n", dir.display()));
    assert!(text(&output.stdout).contains(&format!("lambda-gitops {VERSION}")));
    let installed = Command::new(dir.join("lambda-gitops"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(installed.status.success());
    assert_eq!(
        text(&installed.stdout).trim(),
        format!("lambda-gitops {VERSION}")
    );
    // Only the binary stays: the archive and the checksums are gone.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["lambda-gitops"]);
}

#[test]
fn a_tampered_archive_is_refused_by_the_install_step_and_never_unpacked() {
    let dist = tempfile::tempdir().unwrap();
    let archive = pack(dist.path());
    // Another archive under the same name, same layout: a script standing in for the binary.
    let evil = tempfile::tempdir().unwrap();
    let planted = evil.path().join("lambda-gitops");
    std::fs::write(&planted, "#!/bin/sh\ntouch \"$HOME/pwned\"\n").unwrap();
    let packed = Command::new("tar")
        .arg("-czf")
        .arg(dist.path().join(&archive))
        .arg("-C")
        .arg(evil.path())
        .arg("lambda-gitops")
        .status()
        .unwrap();
    assert!(packed.success());
    let (url, _release) = serve(dist.path());
    let runner = Runner::new();

    let output = runner.install(&url);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "a tampered archive installed");
    assert!(
        stderr.contains(&format!("{archive} does not match SHA256SUMS")),
        "{stderr}"
    );
    assert_eq!(runner.github_path(), "", "something went on PATH");
    let dir = runner.runner_temp().join("lambda-gitops-bin").join(VERSION);
    assert!(
        !dir.join("lambda-gitops").exists(),
        "the archive was unpacked"
    );
    assert!(
        !dir.join(&archive).exists(),
        "the tampered archive was kept"
    );
    assert!(!runner.temp.path().join("pwned").exists());
}

#[test]
fn the_install_step_downloads_over_plain_http_from_loopback_only() {
    let dist = tempfile::tempdir().unwrap();
    pack(dist.path());
    let (url, release) = serve(dist.path());
    let port = url.rsplit(':').next().unwrap();
    for refused in [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}@example.com"),
        "http://example.com".to_owned(),
        "ftp://127.0.0.1".to_owned(),
    ] {
        let runner = Runner::new();
        let output = runner.install(&refused);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{refused} was accepted");
        assert!(stderr.contains("over https only"), "{refused}: {stderr}");
        assert_eq!(runner.github_path(), "");
    }
    assert!(release.requests.lock().unwrap().is_empty());
}
