//! `plan` and `apply` around a fake terraform (a script written into the temp dir): what
//! reaches terraform, exit codes across services, hints. The real terraform runs in e2e.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{Run, Tree};

const FAKE_TERRAFORM: &str = r#"#!/bin/sh
# Records each call, its environment, its directory and what is in it, then acts like
# terraform enough for lambda-gitops: it runs the providers found in its data dir and in the
# implied mirror terraform.d/, and records the variables files terraform would auto-load.
echo "$*" >> "$FAKE_DIR/calls"
env > "$FAKE_DIR/env"
service=$(basename "$PWD")
echo "$PWD" > "$FAKE_DIR/pwd-$service"
data="${TF_DATA_DIR:-.terraform}"
case "$1" in
  version) echo "{\"terraform_version\": \"${FAKE_VERSION:-1.11.4}\"}" ;;
  init)
    mkdir -p "$data"
    [ -f .terraform.lock.hcl ] || : > .terraform.lock.hcl
    echo "Terraform has been successfully initialized!" ;;
  plan)
    ls -A > "$FAKE_DIR/files-$service"
    for provider in $(find "$data/providers" terraform.d -name 'terraform-provider-*' 2>/dev/null); do
      sh "$provider"
    done
    for auto in terraform.tfvars terraform.tfvars.json *.auto.tfvars *.auto.tfvars.json; do
      [ -f "$auto" ] && echo "$auto" >> "$FAKE_DIR/autoloaded-$service"
    done
    case "$(cat "$FAKE_DIR/plan-mode" 2>/dev/null)" in
      graceful)
        trap 'echo TERM >> "$FAKE_DIR/signals"; sleep 0.5; exit 1' TERM
        trap 'echo INT >> "$FAKE_DIR/signals"; sleep 0.5; exit 1' INT
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
      stubborn)
        trap 'echo ignored >> "$FAKE_DIR/signals"' TERM INT
        echo "planning slowly"
        while :; do sleep 0.1; done ;;
      together)
        # Waits until every service's plan has started: only services planned at once pass.
        echo "$service: planning, line 1"
        : > "$FAKE_DIR/started-$service"
        i=0
        while [ "$(ls "$FAKE_DIR" | grep -c '^started-')" -lt "$(cat "$FAKE_DIR/together")" ]; do
          i=$((i + 1)); [ "$i" -gt "$(cat "$FAKE_DIR/together-ticks" 2>/dev/null || echo 300)" ] && { echo "$service: planned alone" >&2; exit 1; }
          sleep 0.05
        done
        echo "$service: planning, line 2"
        echo "$service: planning, line 3" >&2 ;;
      hold)
        echo "holding the work dir"
        i=0
        while [ ! -f "$FAKE_DIR/release" ]; do
          i=$((i + 1)); [ "$i" -gt 600 ] && exit 1
          sleep 0.1
        done ;;
    esac
    code=$(cat "$FAKE_DIR/plan-exit-$service" 2>/dev/null || echo 0)
    if [ "$code" = 1 ]; then
      printf 'Error: Error acquiring the state lock\n\nLock Info:\n  ID:        1f2e3d4c-lock\n  Path:      state\n' >&2
    fi
    : > plan.tfplan
    exit "$code" ;;
  show)
    if [ -f "$FAKE_DIR/plan-json-$service" ]; then
      cat "$FAKE_DIR/plan-json-$service"
    elif [ "$(cat "$FAKE_DIR/plan-exit-$service" 2>/dev/null)" = 2 ]; then
      cat <<JSON
{"format_version":"1.2","resource_changes":[{"address":"aws_lambda_function.staging[\"staging\"]","mode":"managed","type":"aws_lambda_function","name":"staging","index":"staging",
 "change":{"actions":["update"],
  "before":{"function_name":"$service-staging","runtime":"python3.12","handler":"app.handler","memory_size":128,"timeout":3,"role":"arn:aws:iam::1:role/r","environment":[{"variables":{"MODE":"a"}}],"tags":{"service":"$service","environment":"staging","version":"1.0.0"}},
  "after":{"function_name":"$service-staging","runtime":"python3.12","handler":"app.handler","memory_size":512,"timeout":3,"role":"arn:aws:iam::1:role/r","environment":[{"variables":{"MODE":"secret-value"}}],"tags":{"service":"$service","environment":"staging","version":"1.1.0"}}}}]}
JSON
    else
      echo '{"format_version":"1.2","resource_changes":[]}'
    fi ;;
  apply) echo "Apply complete!" ;;
esac
"#;

/// A "provider" planted where terraform would find one: if it ever runs, it leaves a mark.
const PLANTED_PROVIDER: &str = "#!/bin/sh\ntouch \"$FAKE_DIR/provider-ran\"\n";
const PROVIDER_PATH: &str =
    "providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5";

/// The AWS calls lambda-gitops makes itself (version clean-up after an apply) go to a
/// closed port on loopback, with credentials that need no lookup: nothing leaves the
/// machine, and the call fails as an unreachable endpoint would. S3 is the emulator's, with
/// the tree's buckets: the checks before terraform starts find them.
fn aws_on_loopback(tree: &Tree) -> Vec<(String, String)> {
    common::aws::around_fake_terraform(tree, "eu-west-2")
}

struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(tree: &Tree) -> Self {
        let dir = tree.temp.path().join("fake");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("terraform");
        std::fs::write(&bin, FAKE_TERRAFORM).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn plan_exits(&self, service: &str, code: u8) {
        std::fs::write(
            self.dir.join(format!("plan-exit-{service}")),
            code.to_string(),
        )
        .unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The directory terraform ran in for `service`.
    fn pwd(&self, service: &str) -> PathBuf {
        PathBuf::from(self.read(&format!("pwd-{service}")).trim())
    }

    fn provider_ran(&self) -> bool {
        self.dir.join("provider-ran").exists()
    }

    /// Runs the binary as CI does: cwd = the gitops dir, no `--work-dir`, a HOME and cache
    /// of its own; `env` on top.
    fn ci(&self, tree: &Tree, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.ci_command(tree, args, env).output().unwrap())
    }

    fn ci_command(
        &self,
        tree: &Tree,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-gitops"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", tree.temp.path())
            .env("FAKE_DIR", &self.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(aws_on_loopback(tree))
            .envs(env.iter().copied())
            .current_dir(tree.gitops())
            .args(args)
            .arg("--gitops-dir")
            .arg(tree.gitops())
            .arg("--terraform-bin")
            .arg(self.dir.join("terraform"))
            .stdin(std::process::Stdio::null());
        command
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn run(&self, tree: &Tree, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = tree.command(args);
        command
            .arg("--terraform-bin")
            .arg(self.dir.join("terraform"))
            .env("FAKE_DIR", &self.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(aws_on_loopback(tree))
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null());
        Run::from(command.output().unwrap())
    }
}

#[test]
fn an_invalid_repo_never_starts_terraform() {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    tree.preview("pr-7x", "a", "1.0.0");
    let fake = Fake::new(&tree);
    fake.run(&tree, &["plan"], &[]).fails_with(&["pr-7x"]);
    fake.run(&tree, &["apply", "--auto-approve"], &[])
        .fails_with(&["pr-7x"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn terraform_runs_in_automation_mode_without_the_github_token() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    // A plan with changes: its JSON is read (one without changes has none to read).
    fake.plan_exits("a", 2);
    fake.run(
        &tree,
        &["plan"],
        &[
            ("GITHUB_TOKEN", "ghp_secret_value"),
            ("GH_TOKEN", "gh_secret_value"),
        ],
    )
    .success();
    let env = std::fs::read_to_string(fake.dir.join("env")).unwrap();
    assert!(
        !env.contains("secret_value"),
        "a token reached terraform:\n{env}"
    );
    assert!(
        env.lines().any(|line| line == "TF_IN_AUTOMATION=1"),
        "{env}"
    );
    let calls = fake.calls();
    assert_eq!(calls[0], "version -json");
    assert!(
        calls[1].starts_with("init -input=false -reconfigure -lockfile=readonly"),
        "{calls:?}"
    );
    assert!(
        calls[2].starts_with(
            "plan -input=false -var-file=lambda-gitops.tfvars.json -out=plan.tfplan -detailed-exitcode -lock-timeout=5m"
        ),
        "{calls:?}"
    );
    assert_eq!(calls[3], "show -json plan.tfplan");
    // Written by lambda-gitops into the work dir: the module, its lock file and backend, the
    // variables (under a name terraform never loads by itself) and the plan JSON.
    for file in [
        "main.tf",
        "variables.tf",
        "lambda_gitops_backend.tf",
        ".terraform.lock.hcl",
        "lambda-gitops.tfvars.json",
        "plan.json",
    ] {
        assert!(tree.work().join("a").join(file).is_file(), "{file}");
    }
    assert!(fake.read("autoloaded-a").is_empty());

    // A second plan reuses the init.
    fake.run(&tree, &["plan"], &[]).success();
    assert_eq!(
        fake.calls()
            .iter()
            .filter(|call| call.starts_with("init"))
            .count(),
        1
    );
}

#[test]
fn across_services_the_worst_outcome_wins() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    tree.standard("c", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("b", 2);

    let run = fake.run(&tree, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.contains("a: no changes"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("b: 0 to add, 1 to change, 0 to destroy"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("staging  update   b-staging  1.0.0 → 1.1.0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("memory 128 MiB → 512 MiB, environment keys value changed MODE\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("secret-value"), "{}", run.stdout);
    // Without --detailed-exitcode, changes are success.
    assert_eq!(fake.run(&tree, &["plan"], &[]).code, 0);

    // An error in one service beats changes in another; the others are still planned.
    fake.plan_exits("a", 1);
    let run = fake.run(
        &tree,
        &["plan", "--detailed-exitcode", "--format", "json"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["exitCode"], 1);
    let outcomes: Vec<(&str, &str)> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("b", "changes"), ("c", "no-changes"), ("a", "failed")]
    );
    assert!(report["services"][2]["terraformOutput"].is_array());
    assert_eq!(
        report["services"][0]["deployments"][0]["versionAfter"],
        "1.1.0"
    );
}

#[test]
fn a_lock_error_ends_with_the_force_unlock_hint() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("a", 1);
    let run = fake.run(&tree, &["plan"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("exited with code 1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("force-unlock 1f2e3d4c-lock"),
        "{}",
        run.stderr
    );
}

#[test]
fn apply_needs_auto_approve_without_a_terminal_and_applies_the_saved_plan() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.run(&tree, &["apply"], &[])
        .fails_with(&["needs `--auto-approve` when stdin is not a terminal"]);
    assert_eq!(fake.calls(), Vec::<String>::new());

    fake.plan_exits("a", 2);
    let applied = fake.run(&tree, &["apply", "--auto-approve", "--format", "json"], &[]);
    applied.success();
    let calls = fake.calls();
    assert_eq!(
        calls.last().unwrap(),
        "apply -input=false -lock-timeout=5m -no-color plan.tfplan"
    );
    // The version clean-up after it could not reach AWS: reported, and the apply, which
    // succeeded, still does.
    assert!(
        applied.stderr.contains("a: version clean-up stopped"),
        "{}",
        applied.stderr
    );
    let cleanup = &applied.json()["services"][0]["versionCleanup"];
    assert_eq!(cleanup["deleted"], 0);
    assert!(
        cleanup["error"]
            .as_str()
            .is_some_and(|e| e.contains("could not reach the AWS endpoint")),
        "{cleanup}"
    );

    // Another module may point at numbered versions: no clean-up after its apply.
    let module = tree.temp.path().join("my-module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("lambda.tf"), "# my own module\n").unwrap();
    let own = fake.run(
        &tree,
        &[
            "apply",
            "--auto-approve",
            "--format",
            "json",
            "--module-dir",
            module.to_str().unwrap(),
        ],
        &[],
    );
    own.success();
    assert_eq!(
        own.json()["services"][0]["versionCleanup"],
        serde_json::Value::Null
    );
    assert!(!own.stderr.contains("version clean-up"), "{}", own.stderr);

    // Nothing to change: nothing is applied.
    fake.plan_exits("a", 0);
    let before = fake.calls().len();
    fake.run(&tree, &["apply", "--auto-approve"], &[]).success();
    assert!(!fake.calls()[before..]
        .iter()
        .any(|call| call.starts_with("apply")));
}

#[test]
fn an_old_terraform_is_refused_before_it_runs_anything() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.run(&tree, &["plan"], &[("FAKE_VERSION", "1.4.6")])
        .fails_with(&["version `1.4.6`", "1.5 or later"]);
    assert_eq!(fake.calls(), ["version -json"]);
}

#[test]
fn a_users_module_replaces_the_bundled_one_and_the_region_reaches_the_variables() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let module = tree.temp.path().join("my-module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("lambda.tf"), "# my own module\n").unwrap();
    let fake = Fake::new(&tree);
    fake.run(
        &tree,
        &["plan", "--module-dir", module.to_str().unwrap()],
        &[],
    )
    .success();
    let work = tree.work().join("a");
    assert!(work.join("lambda.tf").is_file());
    assert!(
        !work.join("main.tf").exists(),
        "the bundled module was written too"
    );
    let vars: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("lambda-gitops.tfvars.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(vars["aws_region"], "eu-west-2");
}

#[test]
fn plan_without_a_region_stops_before_terraform() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    let mut command = tree.command(&["plan"]);
    command
        .arg("--terraform-bin")
        .arg(fake.dir.join("terraform"))
        .env("FAKE_DIR", &fake.dir);
    Run::from(command.output().unwrap()).fails_with(&["no AWS region"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
}

#[test]
fn markdown_reports_make_a_pull_request_comment() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("b", 2);
    let run = fake.run(&tree, &["plan", "--format", "markdown"], &[]);
    run.success();
    assert!(
        run.stdout
            .starts_with("## lambda-gitops plan: 0 to add, 1 to change, 0 to destroy\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\n- `a` no changes\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("| `staging` | update | `b-staging` | `1.0.0` → `1.1.0` | memory `128 MiB` → `512 MiB` · environment keys value changed `MODE` |"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("secret-value"), "{}", run.stdout);
}

/// Runs `plan` with the fake in `mode`, sends SIGTERM twice once it is planning; returns
/// the exit code, stderr and the signals the fake terraform saw.
fn terminate_twice(mode: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    use std::io::{BufRead, BufReader};
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    std::fs::write(fake.dir.join("plan-mode"), mode).unwrap();
    let mut args = vec!["plan"];
    args.extend_from_slice(extra);
    let mut command = tree.command(&args);
    command
        .arg("--terraform-bin")
        .arg(fake.dir.join("terraform"))
        .env("FAKE_DIR", &fake.dir)
        .env("AWS_REGION", "eu-west-2")
        .envs(aws_on_loopback(&tree))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let planning = line.contains("planning slowly");
        seen.push(line);
        if planning {
            break;
        }
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    seen.extend(lines.map(Result::unwrap));
    let status = child.wait().unwrap();
    let signals = std::fs::read_to_string(fake.dir.join("signals")).unwrap_or_default();
    (status.code(), seen.join("\n"), signals)
}

#[test]
fn sigterm_is_relayed_to_terraform_exactly_once_and_exits_143() {
    let (code, stderr, signals) = terminate_twice("graceful", &[]);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(
        signals, "TERM\n",
        "terraform must see one signal:\n{stderr}"
    );
    assert!(
        stderr.contains("relayed SIGTERM to terraform once"),
        "{stderr}"
    );
    assert!(stderr.contains("not interrupting it again"), "{stderr}");
}

#[test]
fn a_terraform_that_ignores_the_signal_is_killed_after_the_grace_period() {
    let (code, stderr, signals) = terminate_twice("stubborn", &["--grace-period", "1"]);
    assert_eq!(code, Some(143), "{stderr}");
    assert_eq!(signals, "ignored\n", "{stderr}");
    assert!(
        stderr.contains("did not stop within 1s; killing it"),
        "{stderr}"
    );
}

/// Issue 7 §1: a pull request commits `.lambda-gitops/<service>/…` — the old default work
/// dir — with a provider script, an auto-loaded variables file and an override. Run the way
/// CI runs it, none of it reaches terraform.
#[test]
fn planted_lambda_gitops_content_in_the_checkout_never_reaches_terraform() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.write(
        ".lambda-gitops/a/x.auto.tfvars.json",
        r#"{"memory_size": 10240, "role_arn": "arn:aws:iam::1:role/admin"}"#,
    );
    tree.write(".lambda-gitops/a/override.tf", "# an override\n");
    tree.write(
        &format!(".lambda-gitops/a/.terraform/{PROVIDER_PATH}"),
        PLANTED_PROVIDER,
    );
    tree.write(".lambda-gitops/a/.terraform/lambda-gitops-init", "stamp");
    tree.write(".lambda-gitops/a/.terraform.lock.hcl", "# planted\n");
    let fake = Fake::new(&tree);

    fake.ci(&tree, &["plan"], &[("GITHUB_ACTIONS", "true")])
        .success();
    assert!(
        !fake.provider_ran(),
        "terraform ran a provider from the checkout"
    );
    let pwd = fake.pwd("a");
    assert!(
        !pwd.starts_with(tree.temp.path().join("repo")),
        "terraform ran in the checkout: {pwd:?}"
    );
    assert_eq!(
        fake.read("autoloaded-a"),
        "",
        "terraform auto-loaded variables"
    );
    let files = fake.read("files-a");
    for planted in ["x.auto.tfvars.json", "override.tf"] {
        assert!(!files.lines().any(|f| f == planted), "{planted} in {files}");
    }
}

/// Issue 7 §1: the default work dir lies outside the gitops checkout: under `$RUNNER_TEMP`
/// on a CI runner, else in the cache dir, one per gitops dir.
#[test]
fn the_default_work_dir_is_outside_the_checkout_and_under_runner_temp_in_ci() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.ci(&tree, &["plan"], &[]).success();
    let cache_work = tree.temp.path().join(".cache/lambda-gitops/work");
    let pwd = fake.pwd("a");
    assert!(
        pwd.starts_with(cache_work.canonicalize().unwrap()),
        "{pwd:?} is not under {cache_work:?}"
    );

    let runner_temp = tree.temp.path().join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    fake.ci(
        &tree,
        &["plan"],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("RUNNER_TEMP", runner_temp.to_str().unwrap()),
        ],
    )
    .success();
    assert_eq!(
        fake.pwd("a"),
        runner_temp.canonicalize().unwrap().join("lambda-gitops/a")
    );
}

/// Issue 7 §1: `--work-dir` (or `--cache-dir`, or `--module-dir`) inside the gitops dir or
/// the git work tree holding it is refused before anything runs or is written.
#[test]
fn a_work_dir_inside_the_checkout_is_refused_before_anything_runs() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    let repo = tree.temp.path().join("repo");
    std::os::unix::fs::symlink(&repo, tree.temp.path().join("link")).unwrap();
    let module = repo.join("module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("main.tf"), "# from the checkout\n").unwrap();
    /// Flags, a `RUNNER_TEMP`, and a path the refused run must not create.
    type Case = (Vec<String>, Option<String>, PathBuf);
    let cases: Vec<Case> = vec![
        (
            vec!["--work-dir".into(), ".lambda-gitops".into()],
            None,
            tree.gitops().join(".lambda-gitops"),
        ),
        (
            vec![
                "--work-dir".into(),
                tree.gitops().join("deep/new/dir").display().to_string(),
            ],
            None,
            tree.gitops().join("deep"),
        ),
        (
            vec![
                "--work-dir".into(),
                repo.join("outside-gitops").display().to_string(),
            ],
            None,
            repo.join("outside-gitops"),
        ),
        (
            vec![
                "--work-dir".into(),
                tree.temp.path().join("link/work").display().to_string(),
            ],
            None,
            repo.join("work"),
        ),
        (
            vec![
                "--work-dir".into(),
                tree.gitops().join("x/../../w").display().to_string(),
            ],
            None,
            repo.join("w"),
        ),
        (
            vec!["--cache-dir".into(), ".cache".into()],
            None,
            tree.gitops().join(".cache"),
        ),
        (
            vec![],
            Some(repo.join("tmp").display().to_string()),
            repo.join("tmp"),
        ),
        (
            vec!["--module-dir".into(), module.display().to_string()],
            None,
            tree.gitops().join("never"),
        ),
    ];
    for (flags, runner_temp, never) in cases {
        let mut args = vec!["plan"];
        args.extend(flags.iter().map(String::as_str));
        let env: Vec<(&str, &str)> = runner_temp
            .iter()
            .map(|dir| ("RUNNER_TEMP", dir.as_str()))
            .collect();
        let run = fake.ci(&tree, &args, &env);
        run.fails_with(&["is inside the checkout", "hint:"]);
        assert!(!never.exists(), "{flags:?} created {never:?}");
        assert_eq!(fake.calls(), Vec::<String>::new(), "{flags:?}");
    }
    // Next to the checkout is fine.
    fake.ci(&tree, &["plan", "--work-dir", "../../work"], &[])
        .success();
    assert_eq!(
        fake.pwd("a"),
        tree.temp.path().canonicalize().unwrap().join("work/a")
    );
}

/// Issue 7 §1: whatever is found in the work dir itself and was not written by
/// lambda-gitops — variables files, overrides, a data dir it did not create, an implied
/// provider mirror — is removed before terraform runs.
#[test]
fn stray_files_in_the_work_dir_are_removed_before_terraform_reads_them() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    let work = tree.work().join("a");
    let plant = |relative: &str, text: &str| {
        let path = work.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    plant("x.auto.tfvars.json", r#"{"memory_size": 10240}"#);
    plant("terraform.tfvars", "memory_size = 10240\n");
    plant("terraform.tfvars.json", "{}");
    plant("override.tf", "# override\n");
    plant("b_override.tf.json", "{}");
    plant("evil.tofu", "# tofu reads these\n");
    plant(&format!(".terraform/{PROVIDER_PATH}"), PLANTED_PROVIDER);
    plant(
        &format!("terraform.d/plugins/{PROVIDER_PATH}"),
        PLANTED_PROVIDER,
    );
    plant("terraform.tfstate", "{}");

    let run = fake.run(&tree, &["plan"], &[]);
    run.success();
    assert!(!fake.provider_ran(), "a planted provider ran");
    assert_eq!(fake.read("autoloaded-a"), "");
    let files: Vec<String> = fake.read("files-a").lines().map(str::to_owned).collect();
    assert_eq!(
        files
            .iter()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        [
            ".terraform",
            ".terraform.lock.hcl",
            "lambda-gitops.tfvars.json",
            "lambda_gitops_backend.tf",
            "lambda_gitops_imports.tf",
            "lambda_gitops_moved.tf",
            "main.tf",
            "moved.tf",
            "outputs.tf",
            "packages",
            "terraform.tfstate",
            "variables.tf",
            "versions.tf",
        ]
        .into_iter()
        .collect(),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("removed `x.auto.tfvars.json`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(work.join(".terraform.lock.hcl")).unwrap(),
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/terraform/.terraform.lock.hcl"
        ))
        .unwrap(),
        "the shipped lock file"
    );
}

/// Issue 10 §1: the `moved` blocks for previews and the `import` blocks for existing log
/// groups are lambda-gitops's own files: written on every run (whatever a previous run or
/// anyone else left there), kept by the scrubber, left out of the init fingerprint (a new
/// preview does not re-init), and never given to another module.
#[test]
fn generated_moved_and_import_blocks_are_lambda_gitops_own_files() {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    let fake = Fake::new(&tree);
    let work = tree.work().join("a");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("lambda_gitops_imports.tf"),
        "import {\n  to = aws_iam_role.execution[0]\n  id = \"someone-elses\"\n}\n",
    )
    .unwrap();
    fake.run(&tree, &["plan"], &[]).success();
    let moved = std::fs::read_to_string(work.join("lambda_gitops_moved.tf")).unwrap();
    assert!(
        moved.contains("from = aws_lambda_function.preview[\"7\"]\n  to   = aws_lambda_function.this[\"pr-7\"]"),
        "{moved}"
    );
    let imports = std::fs::read_to_string(work.join("lambda_gitops_imports.tf")).unwrap();
    assert!(!imports.contains("someone-elses"), "{imports}");
    assert!(!imports.contains("import {"), "{imports}");
    let files = fake.read("files-a");
    for name in [
        "lambda_gitops_moved.tf",
        "lambda_gitops_imports.tf",
        "moved.tf",
    ] {
        assert!(files.lines().any(|line| line == name), "{name}: {files}");
    }

    // A new preview changes the generated blocks, not what init depends on.
    tree.preview("pr-9", "a", "1.1.0-pr9");
    tree.package("packages/a-1.1.0-pr9.zip", "a pr 9");
    let run = fake.run(&tree, &["plan"], &[]);
    run.success();
    let moved = std::fs::read_to_string(work.join("lambda_gitops_moved.tf")).unwrap();
    assert!(
        moved.contains("aws_lambda_function.this[\"pr-9\"]"),
        "{moved}"
    );
    let inits = fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("init"))
        .count();
    assert_eq!(inits, 1, "{:?}", fake.calls());
    assert!(
        !run.stderr.contains("removed `lambda_gitops"),
        "{}",
        run.stderr
    );

    // Another module has addresses of its own: the generated blocks are not for it.
    let module = tree.temp.path().join("my-module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("lambda.tf"), "# my own module\n").unwrap();
    fake.run(
        &tree,
        &["plan", "--module-dir", module.to_str().unwrap()],
        &[],
    )
    .success();
    for name in ["lambda_gitops_moved.tf", "lambda_gitops_imports.tf"] {
        assert!(!work.join(name).exists(), "{name}");
    }
}

/// Issue 7 §1: every terraform command gets `TF_DATA_DIR` inside the service's work dir,
/// whatever the caller's environment says.
#[test]
fn terraform_gets_its_own_data_dir_inside_the_work_dir() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("a", 2);
    fake.run(
        &tree,
        &["apply", "--auto-approve"],
        &[("TF_DATA_DIR", "/tmp/elsewhere")],
    )
    .success();
    let env = fake.read("env");
    let expected = format!(
        "TF_DATA_DIR={}",
        tree.work()
            .canonicalize()
            .unwrap()
            .join("a/.terraform")
            .display()
    );
    assert!(
        env.lines().any(|line| line == expected),
        "{expected} not in\n{env}"
    );
    assert!(fake.calls().last().unwrap().starts_with("apply"));
}

/// Issue 7 §2: `{service}` in a backend setting becomes each service's name.
#[test]
fn backend_settings_get_each_services_name() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    let fake = Fake::new(&tree);
    fake.run(
        &tree,
        &[
            "plan",
            "--backend",
            "s3",
            "--backend-config",
            "bucket=state",
            "--backend-config",
            "key=lambda/{service}.tfstate",
        ],
        &[],
    )
    .success();
    let inits: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|call| call.starts_with("init"))
        .collect();
    assert_eq!(inits.len(), 2, "{inits:?}");
    assert!(
        inits[0].ends_with("-backend-config=bucket=state -backend-config=key=lambda/a.tfstate"),
        "{inits:?}"
    );
    assert!(
        inits[1].ends_with("-backend-config=bucket=state -backend-config=key=lambda/b.tfstate"),
        "{inits:?}"
    );
}

/// Issue 7 §2: the README's old recipe — one fixed key — with several services would make
/// each service's plan destroy the others' functions: refused before terraform starts.
#[test]
fn several_services_on_one_fixed_state_key_are_refused_before_terraform_starts() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    tree.standard("b", &[]);
    let fake = Fake::new(&tree);
    let fixed = [
        "--backend",
        "s3",
        "--backend-config",
        "bucket=state",
        "--backend-config",
        "key=lambda/terraform.tfstate",
    ];
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let mut args = command.to_vec();
        args.extend(fixed);
        fake.run(&tree, &args, &[]).fails_with(&[
            "2 services would share one terraform state",
            "`key=lambda/terraform.tfstate`",
            "would destroy the functions of the services planned before it",
            "--backend-config key=lambda/{service}.tfstate",
        ]);
    }
    fake.run(
        &tree,
        &[
            "plan",
            "--backend",
            "s3",
            "--backend-config",
            "bucket=state",
        ],
        &[],
    )
    .fails_with(&["no `key` given"]);
    assert_eq!(fake.calls(), Vec::<String>::new());
    assert!(!tree.work().exists(), "nothing may be written");

    // One service at a time is its own state.
    let mut args = vec!["plan", "--service", "a"];
    args.extend(fixed);
    fake.run(&tree, &args, &[]).success();
}

/// The plan JSON of a state that belongs to service `b`, planned as `a`: b's functions,
/// their permission and notification go.
fn foreign_plan() -> String {
    let arn = "arn:aws:lambda:eu-west-2:1:function:b-staging";
    serde_json::json!({"format_version": "1.2", "resource_changes": [
        {"address": "aws_lambda_function.environment[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_function", "name": "environment", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "b-staging", "arn": arn,
            "tags": {"service": "b", "environment": "staging", "version": "1.0.0"}}, "after": null}},
        {"address": "aws_lambda_permission.s3[\"staging\"]", "mode": "managed",
         "type": "aws_lambda_permission", "name": "s3", "index": "staging",
         "change": {"actions": ["delete"], "before": {"function_name": "b-staging"}, "after": null}},
        {"address": "aws_s3_bucket_notification.triggers", "mode": "managed",
         "type": "aws_s3_bucket_notification", "name": "triggers",
         "change": {"actions": ["delete", "create"], "before": {"bucket": "b-uploads",
            "lambda_function": [{"lambda_function_arn": arn, "filter_prefix": "staging/"}]},
            "after": {"bucket": "a-uploads", "lambda_function": []}}}
    ]})
    .to_string()
}

/// Issue 7 §2, defence in depth: a plan that would destroy or replace another service's
/// resources is refused — `plan` exits 1 and `apply` applies nothing.
#[test]
fn a_plan_that_would_destroy_another_services_resources_is_refused() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    fake.plan_exits("a", 2);
    std::fs::write(fake.dir.join("plan-json-a"), foreign_plan()).unwrap();
    let backend = [
        "--backend",
        "s3",
        "--backend-config",
        "key=lambda/terraform.tfstate",
    ];
    for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let mut args = command.to_vec();
        args.extend(backend);
        let run = fake.run(&tree, &args, &[]);
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        for needle in [
            "a: the plan would delete `aws_lambda_function.environment[\"staging\"]`",
            "replace `aws_s3_bucket_notification.triggers`",
            "of `b`",
            "s3 backend key=lambda/terraform.tfstate",
            "key=lambda/{service}.tfstate",
        ] {
            assert!(
                run.stderr.contains(needle),
                "{needle:?} missing:\n{}",
                run.stderr
            );
        }
    }
    assert!(!fake.calls().iter().any(|call| call.starts_with("apply")));
}

/// Issue 8 §3: a second run on the same work dir waits for the first (saying so, with its
/// pid) or, once `--lock-timeout` is spent, fails naming the pid.
#[test]
fn a_second_run_on_the_same_work_dir_waits_for_the_lock_or_fails_naming_the_pid() {
    use std::io::{BufRead, BufReader};
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    std::fs::write(fake.dir.join("plan-mode"), "hold").unwrap();
    let spawn = |args: &[&str]| {
        let mut command = tree.command(args);
        command
            .arg("--terraform-bin")
            .arg(fake.dir.join("terraform"))
            .env("FAKE_DIR", &fake.dir)
            .env("AWS_REGION", "eu-west-2")
            .envs(aws_on_loopback(&tree))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command.spawn().unwrap()
    };
    let wait_for = |child: &mut std::process::Child, needle: &str| {
        let mut seen = Vec::new();
        for line in BufReader::new(child.stderr.as_mut().unwrap()).lines() {
            let line = line.unwrap();
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return;
            }
        }
        panic!("never saw {needle:?}:\n{}", seen.join("\n"));
    };

    let mut first = spawn(&["plan"]);
    wait_for(&mut first, "holding the work dir");
    let calls = fake.calls().len();

    let busy = fake.run(&tree, &["plan", "--lock-timeout", "0s"], &[]);
    busy.fails_with(&[&format!("is in use by pid {}", first.id())]);
    assert_eq!(
        fake.calls().len(),
        calls,
        "the second run started terraform"
    );

    let mut second = spawn(&["plan", "--lock-timeout", "5m"]);
    wait_for(
        &mut second,
        &format!("waiting for the work dir lock held by pid {}", first.id()),
    );
    std::fs::write(fake.dir.join("release"), "").unwrap();
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
}

/// Issue 8 §5: `--lock-timeout` takes terraform's duration syntax, checked before anything runs.
#[test]
fn an_invalid_lock_timeout_is_refused_before_anything_runs() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let fake = Fake::new(&tree);
    for bad in ["5", "five", "5 minutes", "-1s"] {
        fake.run(&tree, &["plan", &format!("--lock-timeout={bad}")], &[])
            .fails_with(&["not a duration such as 0s, 30s, 5m or 1h"]);
    }
    assert_eq!(fake.calls(), Vec::<String>::new());
    fake.run(&tree, &["plan", "--lock-timeout", "1h30m"], &[])
        .success();
    assert!(
        fake.calls()[2].contains("-lock-timeout=1h30m"),
        "{:?}",
        fake.calls()
    );
}

/// Issue 12 §1: a plan without changes (`-detailed-exitcode` 0) touches nothing, so its
/// JSON is not read — one terraform process fewer — and the report still lists every
/// function as it is.
#[test]
fn a_plan_without_changes_starts_no_second_terraform_to_read_it() {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    let fake = Fake::new(&tree);
    fake.plan_exits("a", 0);
    let run = fake.run(&tree, &["plan", "--detailed-exitcode"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let calls = fake.calls();
    assert!(calls.last().unwrap().starts_with("plan "), "{calls:?}");
    assert!(
        !calls.iter().any(|call| call.starts_with("show")),
        "{calls:?}"
    );
    assert_eq!(run.stdout, "a: no changes\n");
    // The JSON report still names every deployment and the version it runs.
    let run = fake.run(&tree, &["plan", "--format", "json"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let deployments: Vec<(String, String, String)> = json["services"][0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let text = |key: &str| d[key].as_str().unwrap_or_default().to_owned();
            (text("deployment"), text("action"), text("versionAfter"))
        })
        .collect();
    let expected = [
        ("staging", "no-op", "1.1.0"),
        ("production", "no-op", "1.0.0"),
        ("pr-7", "no-op", "1.1.0-pr7"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(deployments, expected);
    assert!(
        !fake.calls().iter().any(|call| call.starts_with("show")),
        "{:?}",
        fake.calls()
    );
    // With changes, the plan's JSON is read and guarded before anything is applied.
    fake.plan_exits("a", 2);
    fake.run(&tree, &["plan"], &[]).success();
    assert_eq!(fake.calls().last().unwrap(), "show -json plan.tfplan");
}

/// Issue 12 §2: services run at once (`--jobs`), each with its own terraform; each
/// service's output is printed whole when it is done, never interleaved with another's —
/// under GitHub Actions in one log group per service with workflow commands paused. With
/// `--jobs 1` they run one after another (the fake's wait for the others then fails).
#[test]
fn several_services_plan_at_once_and_each_ones_output_is_shown_whole() {
    let tree = Tree::new();
    for name in ["a", "b", "c"] {
        tree.standard(name, &[]);
    }
    let fake = Fake::new(&tree);
    std::fs::write(fake.dir.join("plan-mode"), "together").unwrap();
    std::fs::write(fake.dir.join("together"), "3").unwrap();
    let run = fake.run(
        &tree,
        &["plan", "--jobs", "3"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    for name in ["a", "b", "c"] {
        let group = lines
            .iter()
            .position(|l| *l == format!("::group::{name}: terraform"))
            .unwrap_or_else(|| panic!("no group for {name}:\n{}", run.stderr));
        let token = lines[group + 1]
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("{}", run.stderr));
        let end = group
            + lines[group..]
                .iter()
                .position(|l| *l == "::endgroup::")
                .unwrap();
        let block = &lines[group..end];
        assert_eq!(block[block.len() - 1], format!("::{token}::"), "{block:?}");
        // Everything this service's terraform printed, and nothing another one did.
        for n in 1..=3 {
            let line = format!("{name}: planning, line {n}");
            assert!(block.contains(&line.as_str()), "{line:?} not in {block:?}");
        }
        assert!(
            block
                .iter()
                .all(|l| !l.contains(": planning,") || l.starts_with(&format!("{name}: "))),
            "{block:?}"
        );
        assert!(
            block
                .iter()
                .any(|l| l.starts_with(&format!("{name}: $ ")) && l.contains(" plan ")),
            "{block:?}"
        );
    }
    for name in ["a", "b", "c"] {
        assert!(
            run.stdout.contains(&format!("{name}: no changes")),
            "{}",
            run.stdout
        );
    }

    // One at a time, the first one waits for the others in vain: it fails; the others
    // still plan, and the exit code is the worst.
    for name in ["a", "b", "c"] {
        let _ = std::fs::remove_file(fake.dir.join(format!("started-{name}")));
    }
    std::fs::write(fake.dir.join("together-ticks"), "4").unwrap();
    let alone = fake.run(&tree, &["plan", "--jobs", "1"], &[]);
    assert_eq!(alone.code, 1, "{}", alone.stderr);
    assert!(
        alone.stderr.contains("a: planned alone"),
        "{}",
        alone.stderr
    );
    assert!(alone.stdout.contains("c: no changes"), "{}", alone.stdout);
}

/// `names`, each with staging and production functions that run in the emulator what the
/// gitops repo declares (created there as terraform would), applied once through the fake
/// terraform so each service has the record of its last apply.
fn applied_services(names: &[&str]) -> (Tree, Fake) {
    let aws = common::aws::emulator();
    let tree = Tree::new();
    for name in names {
        tree.standard(name, &[]);
    }
    aws.ensure_buckets("us-east-1", &tree.buckets());
    for name in names {
        for (env, version) in [("staging", "1.1.0"), ("prod", "1.0.0")] {
            let function = format!("{name}-{env}");
            let zip = tree.gitops().join(format!("packages/{name}-{version}.zip"));
            aws.probe(&["function", &function, zip.to_str().unwrap(), version]);
            aws.probe(&["publish", &function]);
        }
    }
    let fake = Fake::new(&tree);
    fake.on_emulator(&tree, &["apply", "--auto-approve"])
        .success();
    fake.forget_calls();
    (tree, fake)
}

impl Fake {
    /// [`Fake::run`] with lambda-gitops's own AWS calls (the Lambda API included) on the
    /// emulator.
    fn on_emulator(&self, tree: &Tree, args: &[&str]) -> Run {
        let mut command = tree.command(args);
        command
            .arg("--terraform-bin")
            .arg(self.dir.join("terraform"))
            .env("FAKE_DIR", &self.dir)
            .envs(common::aws::emulator().env())
            .stdin(std::process::Stdio::null());
        Run::from(command.output().unwrap())
    }

    /// The directories terraform ran in since [`Fake::forget_calls`], by name.
    fn ran_in(&self) -> Vec<String> {
        let mut dirs: Vec<String> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                name.strip_prefix("pwd-").map(str::to_owned)
            })
            .collect();
        dirs.sort();
        dirs
    }

    /// The services terraform ran for (in their work dirs; `terraform version` runs in
    /// the current directory, which is no service's).
    fn ran_for(&self) -> Vec<String> {
        let work = |dir: &String| !dir.starts_with(".tmp");
        self.ran_in().into_iter().filter(work).collect()
    }

    fn forget_calls(&self) {
        let _ = std::fs::remove_file(self.dir.join("calls"));
        for dir in self.ran_in() {
            std::fs::remove_file(self.dir.join(format!("pwd-{dir}"))).unwrap();
        }
    }
}

/// Issue 21: a pull request bumps one of three services. `plan` starts terraform for that
/// one only; the other two are checked against their last apply (the inputs' fingerprint
/// and what their functions run) and reported so in text, JSON and the comment.
#[test]
fn a_pr_bumping_one_of_several_services_plans_only_that_one_with_terraform() {
    let (tree, fake) = applied_services(&["pn1-a", "pn1-b", "pn1-c"]);
    tree.env("staging", "pn1-b", "1.2.0", "pn1-b-staging", "staging/");
    tree.package("packages/pn1-b-1.2.0.zip", "pn1-b 1.2.0");
    fake.plan_exits("pn1-b", 2);

    let run = fake.on_emulator(&tree, &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(fake.ran_for(), ["pn1-b"], "{}", run.stderr);
    let plans = fake
        .calls()
        .iter()
        .filter(|c| c.starts_with("plan"))
        .count();
    assert_eq!(plans, 1, "{:?}", fake.calls());
    for name in ["pn1-a", "pn1-c"] {
        let line = format!("{name}: no changes since the last apply (checked without terraform)\n");
        assert!(run.stdout.contains(&line), "{}", run.stdout);
    }

    let markdown = tree.temp.path().join("comment.md");
    let run = fake.on_emulator(
        &tree,
        &[
            "plan",
            "--format",
            "json",
            "--summary-markdown",
            markdown.to_str().unwrap(),
        ],
    );
    run.success();
    let services = run.json()["services"].as_array().unwrap().clone();
    let checked: Vec<(&str, bool)> = services
        .iter()
        .map(|s| {
            let flag = s.get("checkedWithoutTerraform") == Some(&serde_json::json!(true));
            (s["service"].as_str().unwrap(), flag)
        })
        .collect();
    assert_eq!(
        checked,
        [("pn1-a", true), ("pn1-b", false), ("pn1-c", true)]
    );
    let comment = std::fs::read_to_string(&markdown).unwrap();
    assert!(
        comment.contains(
            "\n- no changes since the last apply (checked without terraform): `pn1-a`, `pn1-c`\n"
        ),
        "{comment}"
    );
    assert!(!comment.contains("`pn1-a` no changes"), "{comment}");
    assert!(!comment.contains("### `pn1-a`"), "{comment}");
}

/// Issue 21: with nothing changed, `plan --detailed-exitcode` exits 0 without starting
/// terraform; `plan --refresh` runs terraform for every service (what the scheduled drift
/// workflow needs: a hand-made change outside the functions' code shows only there).
#[test]
fn plan_refresh_runs_terraform_for_every_service_that_nothing_changed() {
    let (tree, fake) = applied_services(&["pn2-a", "pn2-b"]);
    let quick = fake.on_emulator(&tree, &["plan", "--detailed-exitcode"]);
    assert_eq!(quick.code, 0, "{}\n{}", quick.stdout, quick.stderr);
    assert_eq!(fake.calls(), Vec::<String>::new());

    let refreshed = fake.on_emulator(&tree, &["plan", "--detailed-exitcode", "--refresh"]);
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(fake.ran_for(), ["pn2-a", "pn2-b"]);
    for name in ["pn2-a", "pn2-b"] {
        assert!(
            refreshed.stdout.contains(&format!("{name}: no changes\n")),
            "{}",
            refreshed.stdout
        );
    }
    assert!(!refreshed.stdout.contains("checked without terraform"));
}

/// Issue 21: `plan --out-dir` saves the changed service's plan as before, and for the one it
/// checked without terraform a manifest saying so. `apply --plan-dir` applies nothing to
/// that one, and only while the same evidence holds: once its function was changed by hand
/// it is refused as never reviewed (exit 1, naming it), and no terraform starts.
#[test]
fn a_service_saved_as_unchanged_is_applied_nothing_and_refused_once_that_no_longer_holds() {
    let (tree, fake) = applied_services(&["pn3-a", "pn3-b"]);
    tree.env("staging", "pn3-b", "1.2.0", "pn3-b-staging", "staging/");
    tree.package("packages/pn3-b-1.2.0.zip", "pn3-b 1.2.0");
    let dir = tree.temp.path().join("reviewed");
    let dir_arg = dir.to_str().unwrap();
    fake.on_emulator(&tree, &["plan", "--out-dir", dir_arg])
        .success();
    assert_eq!(fake.ran_for(), ["pn3-b"]);
    assert!(dir.join("pn3-b/plan.tfplan").is_file());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("pn3-a/manifest.json")).unwrap()).unwrap();
    let fingerprint = saved["checkedAgainstLastApply"]["fingerprint"]
        .as_str()
        .unwrap();
    assert_eq!(fingerprint.len(), 64, "{saved}");
    assert!(!dir.join("pn3-a/plan.tfplan").exists());
    fake.forget_calls();

    let apply = [
        "apply",
        "--auto-approve",
        "--plan-dir",
        dir_arg,
        "--service",
        "pn3-a",
    ];
    let applied = fake.on_emulator(&tree, &apply);
    applied.success();
    assert!(
        applied
            .stdout
            .contains("pn3-a: no changes since the last apply (checked without terraform)"),
        "{}",
        applied.stdout
    );
    assert_eq!(fake.calls(), Vec::<String>::new());

    // Someone retags the staging function by hand: what an apply would do now was never
    // reviewed.
    common::aws::emulator().probe(&["tag", "pn3-a-staging", "version", "9.9.9"]);
    let refused = fake.on_emulator(&tree, &apply);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("pn3-a: stale plan") && refused.stderr.contains("never reviewed"),
        "{}",
        refused.stderr
    );
    assert_eq!(fake.calls(), Vec::<String>::new());
}
