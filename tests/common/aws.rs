//! The end-to-end environment: one moto server (a real AWS API protocol on loopback) per
//! test binary, a terraform CLI config pointing at the provider mirror, and the
//! environment that sends the AWS provider and SDK to the emulator — and nowhere else.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Emulator {
    pub endpoint: String,
    /// Holds the terraform CLI config for the whole test binary; removed when it exits.
    config_dir: PathBuf,
    _child: Child,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

/// Started on first use; it exits when this test binary does (it watches its parent).
pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(Emulator::start)
}

/// moto, exiting (and removing the test binary's scratch dir) once its parent is gone.
const WATCHED_SERVER: &str = r#"
import os, shutil, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    shutil.rmtree(sys.argv[2], ignore_errors=True)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"#;

impl Emulator {
    fn start() -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let config_dir =
            std::env::temp_dir().join(format!("lambda-gitops-e2e-{}", std::process::id()));
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::write(config_dir.join("terraform.rc"), cli_config()).unwrap();
        let child = Command::new("python3")
            .args([
                "-c",
                WATCHED_SERVER,
                &port.to_string(),
                &config_dir.to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with moto[server] (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            config_dir,
            _child: child,
        }
    }

    /// The variables a process needs to talk to the emulator with terraform.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            (
                "TF_CLI_CONFIG_FILE",
                &self.config_dir.join("terraform.rc").to_string_lossy(),
            ),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// Runs the boto3 probe; its JSON answer.
    pub fn probe(&self, args: &[&str]) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws_probe.py");
        let output = Command::new("python3")
            .arg(script)
            .args(args)
            .envs(self.env())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "probe {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    pub fn create_buckets(&self, buckets: &[&str]) {
        let mut args = vec!["create-buckets"];
        args.extend_from_slice(buckets);
        self.probe(&args);
    }
}

/// `provider_installation` from `$TF_PLUGIN_MIRROR`, else the mirror found on the
/// machine, else the registry.
fn cli_config() -> String {
    let mirror = std::env::var("TF_PLUGIN_MIRROR")
        .ok()
        .filter(|m| !m.is_empty())
        .or_else(find_mirror);
    match mirror {
        Some(path) => format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{path}\"\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n"
        ),
        None => String::new(),
    }
}

fn find_mirror() -> Option<String> {
    let output = Command::new("find")
        .args([
            "/",
            "-maxdepth",
            "4",
            "-type",
            "d",
            "-name",
            "registry.terraform.io",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next()?;
    Path::new(first).parent().map(|p| p.display().to_string())
}
