//! The checks before terraform starts: no Lambda service here, no AWS credentials, a
//! bucket that does not exist — each a clear error naming the cause, exit 1, and the
//! recording fake terraform never called (not even for its version). The buckets live in
//! the AWS API emulator on loopback; without credentials nothing is sent anywhere.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::aws::emulator;
use common::fake_terraform::FakeTerraform;
use common::{Run, Tree};

/// A run without credentials: no variables, no files under HOME, no instance metadata,
/// and every endpoint a closed port on loopback should anything try to send.
const NO_CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_REGION", "eu-west-2"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
];

/// The binary on `tree` with the recording fake terraform and `env`.
fn command(tree: &Tree, fake: &FakeTerraform, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = tree.command(args);
    if args[0] != "status" {
        command.arg("--terraform-bin").arg(fake.bin());
    }
    command
        .env("FAKE_DIR", &fake.dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for the run; one still going after a minute is killed and reported as hung (this
/// bounds a hang, it measures nothing).
fn finish(mut child: Child) -> Run {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "lambda-gitops still ran after a minute:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

fn run(tree: &Tree, fake: &FakeTerraform, args: &[&str], env: &[(&str, &str)]) -> Run {
    finish(command(tree, fake, args, env).spawn().unwrap())
}

#[test]
fn without_aws_credentials_plan_exits_1_naming_credentials_and_terraform_never_starts() {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    let fake = FakeTerraform::new(&tree);
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["destroy", "--service", "gone", "--auto-approve"],
    ] {
        let run = run(&tree, &fake, args, &NO_CREDENTIALS);
        run.fails_with(&[
            "error: no AWS credentials",
            // The SDK's own account of its chain.
            "no credentials found in chain",
            "hint: set `AWS_PROFILE`",
        ]);
        assert!(!run.stderr.contains("region"), "{}", run.stderr);
    }
    assert_eq!(fake.calls(), Vec::<String>::new(), "terraform started");
    assert!(!tree.work().join("a").exists(), "a work dir was prepared");
}

#[test]
fn an_instance_metadata_service_that_never_answers_ends_in_no_credentials_not_a_hang() {
    // A listener on loopback that accepts and never says a word: what the metadata address
    // is off EC2 when it does not refuse at once.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = FakeTerraform::new(&tree);
    let env = [
        ("AWS_REGION", "eu-west-2"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str()),
    ];
    let run = run(&tree, &fake, &["plan"], &env);
    run.fails_with(&["error: no AWS credentials", "Ec2InstanceMetadata"]);
    assert_eq!(fake.calls(), Vec::<String>::new(), "terraform started");
}

#[test]
fn status_without_credentials_names_credentials() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = FakeTerraform::new(&tree);
    let run = run(&tree, &fake, &["status"], &NO_CREDENTIALS);
    run.fails_with(&["error: no AWS credentials", "no credentials found in chain"]);
    assert!(
        !run.stderr.contains("could not reach the Lambda API"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("AWS_ENDPOINT_URL"), "{}", run.stderr);
}

#[test]
fn status_v_shows_the_sdk_error_chain_when_the_lambda_api_cannot_be_reached() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = FakeTerraform::new(&tree);
    let env = [
        ("AWS_REGION", "eu-west-2"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let quiet = run(&tree, &fake, &["status"], &env);
    assert_eq!(quiet.code, 1, "{}", quiet.stderr);
    assert!(
        quiet.stderr.contains("could not reach the Lambda API"),
        "{}",
        quiet.stderr
    );
    let verbose = run(&tree, &fake, &["status", "-v"], &env);
    assert_eq!(verbose.code, 1, "{}", verbose.stderr);
    // Every cause under the SDK's error, down to the refused connection.
    let chain = verbose
        .stderr
        .lines()
        .find(|line| line.contains("reading `a-staging`: dispatch failure"))
        .unwrap_or_else(|| panic!("{}", verbose.stderr));
    assert!(chain.contains("Connection refused"), "{chain}");
}

#[test]
fn a_missing_trigger_bucket_is_named_before_terraform_starts() {
    let aws = emulator();
    let tree = Tree::new();
    tree.standard("missing-trigger", &[]);
    aws.ensure_buckets("eu-west-2", &["missing-trigger-packages".to_owned()]);
    let fake = FakeTerraform::new(&tree);
    let env = [
        ("AWS_REGION", "eu-west-2"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let config = tree.gitops().join("services/missing-trigger/config.yaml");
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = run(&tree, &fake, args, &env);
        run.fails_with(&[
            &format!(
                "error: the bucket `missing-trigger-uploads` (`triggerBucket` in `{}`) does not exist",
                config.display()
            ),
            "hint: create it in `eu-west-2`",
            "error: 1 bucket cannot be used in `eu-west-2`; terraform not started",
        ]);
        assert!(
            !run.stderr.contains("missing-trigger-packages"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(fake.calls(), Vec::<String>::new(), "terraform started");
    // Nothing created or uploaded.
    assert_eq!(
        aws.probe(&["functions", "missing-trigger"]),
        serde_json::json!({})
    );
    assert_eq!(
        aws.probe(&["objects", "missing-trigger-packages"]),
        serde_json::json!([])
    );

    // Once the bucket is there, terraform runs.
    aws.ensure_buckets("eu-west-2", &["missing-trigger-uploads".to_owned()]);
    run(&tree, &fake, &["plan"], &env).success();
    assert!(fake.calls().iter().any(|call| call.starts_with("plan")));
}

#[test]
fn a_bucket_in_another_region_is_named_with_its_region() {
    let aws = emulator();
    let tree = Tree::new();
    tree.standard("elsewhere", &[]);
    aws.ensure_buckets(
        "eu-west-2",
        &[
            "elsewhere-uploads".to_owned(),
            "elsewhere-packages".to_owned(),
        ],
    );
    let fake = FakeTerraform::new(&tree);
    let env = [
        ("AWS_REGION", "eu-central-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", aws.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let run = run(&tree, &fake, &["plan"], &env);
    run.fails_with(&[
        "error: the bucket `elsewhere-uploads` (`triggerBucket` in",
        "error: the bucket `elsewhere-packages` (`packageBucket` in",
        ") is in `eu-west-2`",
        "error: 2 buckets cannot be used in `eu-central-1`",
    ]);
    assert_eq!(fake.calls(), Vec::<String>::new(), "terraform started");
}

#[test]
fn in_a_directory_without_lambda_services_plan_says_so_before_any_region_error() {
    let tree = Tree::new();
    let fake = FakeTerraform::new(&tree);
    let env = [("AWS_EC2_METADATA_DISABLED", "true")];
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["status"],
        &["destroy", "--service", "gone", "--auto-approve"],
    ] {
        let run = run(&tree, &fake, args, &env);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        let no_region = run.stderr.find("no AWS region");
        match args[0] {
            // Destroying the last service leaves none: the region is the next thing missing.
            "destroy" => assert!(no_region.is_some(), "{}", run.stderr),
            _ => {
                assert!(
                    run.stderr
                        .contains("error: no Lambda service in the gitops dir"),
                    "{args:?}: {}",
                    run.stderr
                );
                assert_eq!(no_region, None, "{args:?}: {}", run.stderr);
            }
        }
    }
    assert_eq!(fake.calls(), Vec::<String>::new(), "terraform started");
}
