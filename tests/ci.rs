//! CI conventions, run as a GitHub Actions job runs the binary (a fake terraform): summary
//! files and the job summary from one run, annotations at file and line, terraform's output
//! folded in log groups with workflow commands paused, `-q`, `matrix`; and the comment body
//! and annotations as snapshots, from the library.

mod common;

use std::path::Path;

use common::fake_terraform::{
    created_function_text, function_change, plan_json, read, FakeTerraform,
};
use common::Tree;
use lambda_gitops::ci::comment::{self, Scope};
use lambda_gitops::report::{self, Failure, Report};

fn changes(terraform: &FakeTerraform, service: &str) {
    let json = plan_json(vec![
        function_change(
            service,
            "staging",
            &["update"],
            Some("1.0.0"),
            Some("1.1.0"),
        ),
        function_change(service, "pr-7", &["create"], None, Some("1.1.0-pr7")),
    ]);
    let text = format!(
        "Terraform will perform the following actions:\n\n{}::error::planted by a config\nPlan: 1 to add, 1 to change, 0 to destroy.\n",
        created_function_text("aws_lambda_function.preview[\"7\"]", &format!("{service}-pr-7")),
    );
    terraform.plans(service, &text, &json);
}

/// An environment file with an unknown key on line 7 and a preview dir that is no PR.
fn invalid(tree: &Tree) {
    tree.write(
        "environments/staging/a/config.yaml",
        "serviceName: a\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: a-staging\n  s3TriggerPrefix: staging/\n  memorySizeMb: 512\n",
    );
    tree.preview("pr-7x", "a", "1.0.0");
}

#[test]
fn summary_files_the_job_summary_and_stdout_come_from_one_run() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let terraform = FakeTerraform::new(&tree);
    changes(&terraform, "a");
    let dir = tree.temp.path();
    let (markdown, json, step) = (
        dir.join("plan.md"),
        dir.join("plan.json"),
        dir.join("step.md"),
    );
    let step_text = step.display().to_string();
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", step_text.as_str()),
    ];
    let args = [
        "plan",
        "--detailed-exitcode",
        "--summary-markdown",
        markdown.to_str().unwrap(),
        "--summary-json",
        json.to_str().unwrap(),
    ];
    let run = terraform.ci(&tree, &args, &env);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("a: 1 to add, 1 to change, 0 to destroy\n"),
        "{}",
        run.stdout
    );
    let markdown = read(&markdown);
    assert!(
        markdown.starts_with("## lambda-gitops plan: 1 to add, 1 to change, 0 to destroy\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("<details><summary>terraform plan: a ("),
        "{markdown}"
    );
    let report: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(report["exitCode"], 2);
    assert_eq!(report["services"][0]["service"], "a");
    assert_eq!(read(&step), format!("{markdown}\n"));
    // The job summary is appended to: a second step adds its own.
    terraform.ci(&tree, &args, &env);
    assert_eq!(read(&step), format!("{markdown}\n{markdown}\n"));

    // Outside GitHub Actions the variable means nothing.
    let other = dir.join("not-actions.md");
    let other_text = other.display().to_string();
    terraform.ci(
        &tree,
        &["plan"],
        &[("GITHUB_STEP_SUMMARY", other_text.as_str())],
    );
    assert!(!other.exists());
}

#[test]
fn a_failed_validation_writes_both_summary_files_with_every_error() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    invalid(&tree);
    let terraform = FakeTerraform::new(&tree);
    let dir = tree.temp.path();
    let (markdown, json) = (dir.join("plan.md"), dir.join("plan.json"));
    let run = terraform.ci(
        &tree,
        &[
            "plan",
            "--summary-markdown",
            markdown.to_str().unwrap(),
            "--summary-json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    run.fails_with(&["environments/staging/a/config.yaml:7"]);
    assert!(terraform.calls().is_empty());
    let markdown = read(&markdown);
    assert!(
        markdown.starts_with("## lambda-gitops plan failed\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            ":x: `environments/staging/a/config.yaml:7`: `` lambda: unknown field `memorySizeMb`, expected `version`"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("environments/preview/pr-7x"),
        "{markdown}"
    );
    let report: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    assert_eq!(report["exitCode"], 1);
    assert!(report["error"]
        .as_str()
        .unwrap()
        .starts_with("the gitops dir is invalid"));
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["file"] == "environments/staging/a/config.yaml" && p["line"] == 7),
        "{problems:?}"
    );

    // The stdout formats carry the failure too: a failed run never prints an empty report.
    let run = terraform.ci(&tree, &["plan", "--format", "markdown"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.starts_with("## lambda-gitops plan failed\n"),
        "{}",
        run.stdout
    );
    let run = terraform.ci(&tree, &["plan", "--format", "json"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.json()["problems"].as_array().unwrap().len(),
        problems.len()
    );
}

#[test]
fn validation_errors_are_annotated_at_their_file_and_line() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    invalid(&tree);
    let terraform = FakeTerraform::new(&tree);
    // The workspace is the repository; the gitops dir one level down.
    let workspace = tree.temp.path().join("repo");
    let workspace = workspace.to_str().unwrap();
    let gitops = tree.gitops();
    let run = terraform.ci(
        &tree,
        &["plan", "--gitops-dir", gitops.to_str().unwrap()],
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_WORKSPACE", workspace)],
    );
    assert_eq!(run.code, 1);
    let annotations: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(
        annotations,
        [
            "::error file=gitops/environments/preview/pr-7x/services/a.values.yaml,title=invalid gitops config::preview directory `pr-7x` must be named `pr-<number>` (e.g. `pr-42`); it is not skipped, because a skipped preview would be destroyed",
            "::error file=gitops/environments/staging/a/config.yaml,line=7,title=invalid gitops config::lambda: unknown field `memorySizeMb`, expected `version`, `functionName`, `s3TriggerPrefix`, `environment`, `memorySize`, `timeout`, `reservedConcurrency`, `provisionedConcurrency`, `rollout`",
            "::error title=lambda-gitops plan failed::the gitops dir is invalid: 2 problems",
        ],
        "{}",
        run.stderr
    );
    // Outside GitHub Actions: none.
    let run = terraform.ci(&tree, &["plan"], &[]);
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
}

#[test]
fn terraform_output_is_folded_in_log_groups_with_workflow_commands_paused() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let terraform = FakeTerraform::new(&tree);
    changes(&terraform, "a");
    let run = terraform.ci(&tree, &["plan"], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let group = lines
        .iter()
        .position(|l| l.starts_with("::group::a: $ ") && l.contains("terraform plan -input=false"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let token = lines[group + 1]
        .strip_prefix("::stop-commands::")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let planted = lines
        .iter()
        .position(|l| *l == "::error::planted by a config")
        .unwrap();
    let resume = lines
        .iter()
        .position(|l| *l == format!("::{token}::"))
        .unwrap();
    assert!(group < planted && planted < resume, "{}", run.stderr);
    assert_eq!(lines[resume + 1], "::endgroup::");
    // Without GitHub Actions, no workflow commands at all.
    let run = terraform.ci(&tree, &["plan"], &[]);
    assert!(
        !run.stderr.contains("::group::") && !run.stderr.contains("::stop-commands::"),
        "{}",
        run.stderr
    );
}

#[test]
fn quiet_shows_no_terraform_output_and_a_failure_keeps_terraforms_last_lines() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let terraform = FakeTerraform::new(&tree);
    changes(&terraform, "a");
    let run = terraform.ci(&tree, &["plan", "-q"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("a: 1 to add, 1 to change"),
        "{}",
        run.stdout
    );
    for shown in [
        "successfully initialized",
        "will perform",
        "Plan: 1 to add",
        "$ ",
    ] {
        assert!(
            !run.stderr.contains(shown),
            "-q showed {shown:?}:\n{}",
            run.stderr
        );
    }

    terraform.plan_fails("a", "\nError: No valid credential sources found\n\n  with provider[\"registry.terraform.io/hashicorp/aws\"],\n");
    let run = terraform.ci(&tree, &["plan", "-q"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("a: terraform's last "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  Error: No valid credential sources found\n"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("error: a: `"), "{}", run.stderr);
}

#[test]
fn the_matrix_lists_every_lambda_service_for_a_workflow_fan_out() {
    let tree = Tree::new();
    tree.standard("s3-notifier", &[7]);
    tree.standard("resizer", &[]);
    tree.write(
        "services/web/config.yaml",
        "serviceName: web\ndeploymentType: helm\n",
    );
    let run = tree.run(&["matrix"]);
    run.success();
    assert_eq!(
        run.stdout,
        "{\"include\":[{\"service\":\"resizer\"},{\"service\":\"s3-notifier\"}]}\n"
    );

    invalid(&tree);
    tree.run(&["matrix"])
        .fails_with(&["environments/preview/pr-7x"]);

    let empty = Tree::new();
    empty.run(&["matrix"]).fails_with(&["no Lambda service"]);
    let run = empty.run(&["matrix", "--allow-empty"]);
    run.success();
    assert_eq!(run.stdout, "{\"include\":[]}\n");
}

/// The facts of one run as a library caller (the report) gives them.
fn facts_plan() -> Vec<u8> {
    plan_json(vec![
        function_change("svc", "staging", &["update"], Some("1.0.0"), Some("1.1.0")),
        function_change(
            "svc",
            "production",
            &["delete", "create"],
            Some("1.0.0"),
            Some("1.1.0"),
        ),
        function_change("svc", "pr-7", &["create"], None, Some("1.1.0-pr7")),
    ])
    .to_string()
    .into_bytes()
}

#[test]
fn the_comment_body_snapshot() {
    let summary = report::summarize("svc", &facts_plan()).unwrap();
    let failures = [Failure {
        service: "other".into(),
        error: "other: `terraform plan` exited with code 1".into(),
        terraform_output: vec![
            "".into(),
            "Error: reading S3 Bucket (packages): AccessDenied".into(),
        ],
        ..Failure::default()
    }];
    let outputs = [(
        "svc".to_owned(),
        "  # aws_lambda_function.staging[\"staging\"] will be updated in-place\n      ~ environment {\n          ~ variables = {\n              ~ \"MODE\" = \"a\" -> \"b\"\n            }\n        }\nPlan: 2 to add, 1 to change, 1 to destroy.\n".to_owned(),
    )];
    let rendering = report::rendering(&Report {
        command: lambda_gitops::report::Command::Plan,
        summaries: std::slice::from_ref(&summary),
        failures: &failures,
        error: None,
        plan_outputs: &outputs,
        exit_code: 0,
    });
    assert!(rendering.has_changes && rendering.failed);
    let body = comment::body(
        &rendering,
        &Scope::of(&["svc".into(), "other".into()]).unwrap(),
        "the job's log",
        "<sub>footer</sub>",
    );
    let settings = "runtime `python3.12` · handler `app.handler` · memory `128 MiB` · timeout `3 s` · role `arn:aws:iam::1:role/r` · environment keys `MODE`";
    let expected = format!(
        r#"<!-- lambda-gitops: other,svc -->
## lambda-gitops plan: 2 to add, 1 to change, 1 to destroy (1 service failed)

- `svc` 2 to add, 1 to change, 1 to destroy: `staging` update `1.0.0` → `1.1.0` · `production` replace `1.0.0` → `1.1.0` · previews added: `pr-7`
- `other` :x: failed

:x: `other` failed: ``other: `terraform plan` exited with code 1``

```text

Error: reading S3 Bucket (packages): AccessDenied
```

> [!WARNING]
> the `production` function `svc-production` will be REPLACED (deleted and re-created): terraform cannot update it in place

### `svc`

| deployment | action | function | version | what changes |
|---|---|---|---|---|
| `staging` | update | `svc-staging` | `1.0.0` → `1.1.0` | — |
| `production` | replace | `svc-production` | `1.0.0` → `1.1.0` | **replaced:** terraform cannot update it in place |
| `pr-7` | create | `svc-pr-7` | → `1.1.0-pr7` | {settings} |

- previews: +`pr-7`

<details><summary>terraform plan: svc (7 lines)</summary>

```text
  # aws_lambda_function.staging["staging"] will be updated in-place
      ~ environment {{
          ~ variables = {{
              ~ "MODE" = (value hidden)
            }}
        }}
Plan: 2 to add, 1 to change, 1 to destroy.
```

</details>

<sub>footer</sub>
"#
    );
    assert_eq!(body, expected, "\n--- got ---\n{body}");
}

#[test]
fn the_annotations_snapshot() {
    let summary = report::summarize("svc", &facts_plan()).unwrap();
    let failures = [Failure {
        service: "other".into(),
        error: "other: `terraform plan` exited with code 1".into(),
        terraform_output: vec!["Error: 100% denied, see: docs".into()],
        ..Failure::default()
    }];
    let rendering = report::rendering(&Report {
        command: lambda_gitops::report::Command::Apply,
        summaries: std::slice::from_ref(&summary),
        failures: &failures,
        error: None,
        plan_outputs: &[],
        exit_code: 0,
    });
    let lines: Vec<String> = rendering
        .annotations
        .iter()
        .map(|a| a.command(Some(Path::new("/w"))))
        .collect();
    assert_eq!(
        lines,
        [
            "::error title=other%3A apply failed::other: `terraform plan` exited with code 1%0AError: 100%25 denied, see: docs",
            "::warning title=production replace::the production function `svc-production` will be REPLACED (deleted and re-created): terraform cannot update it in place",
        ]
    );
}

#[test]
fn the_rendering_escapes_every_string_it_did_not_write_itself() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let hostile = [
        "[link](https://evil.example)",
        "<img src=x onerror=alert(1)>",
        "</details><script>x</script>",
        "x\n## fake heading\n",
        "a | b",
        "```\nfence",
        "<!-- lambda-gitops: all -->",
    ];
    let failures: Vec<Failure> = hostile
        .iter()
        .map(|text| Failure {
            service: (*text).to_owned(),
            error: (*text).to_owned(),
            terraform_output: vec![(*text).to_owned(), "```".into()],
            ..Failure::default()
        })
        .collect();
    let outputs: Vec<(String, String)> = hostile
        .iter()
        .map(|text| ((*text).to_owned(), format!("{text}\n````\n{text}\n")))
        .collect();
    let summary = report::summarize("svc", &facts_plan()).unwrap();
    let rendering = report::rendering(&Report {
        command: lambda_gitops::report::Command::Plan,
        summaries: std::slice::from_ref(&summary),
        failures: &failures,
        error: None,
        plan_outputs: &outputs,
        exit_code: 0,
    });
    let body = comment::body(&rendering, &Scope::All, "the job's log", "");
    assert!(body.starts_with("<!-- lambda-gitops: all -->\n"));
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    let mut html = Vec::new();
    let mut in_code_block = false;
    for event in Parser::new_ext(&body, options) {
        match &event {
            Event::Html(text) | Event::InlineHtml(text) => html.push(text.to_string()),
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                panic!("a link got through: {event:?}\n{body}")
            }
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(text) if !in_code_block => assert!(
                !text.contains("evil") && !text.contains("fake heading"),
                "outside a code span or block: {text:?}\n{body}"
            ),
            _ => {}
        }
    }
    // The only HTML is ours: the marker and the collapsed logs.
    for tag in &html {
        let tag = tag.trim();
        assert!(
            tag.starts_with("<!-- lambda-gitops: all -->")
                || tag.starts_with("<details><summary>terraform plan: ")
                || tag == "</details>",
            "HTML got through: {tag:?}\n{body}"
        );
        assert!(!tag.contains("<img") && !tag.contains("<script"), "{tag:?}");
    }
    let markers = html
        .iter()
        .filter(|h| h.contains("<!-- lambda-gitops"))
        .count();
    assert_eq!(markers, 1, "only the first line is a marker:\n{body}");
    let headings = Parser::new_ext(&body, options)
        .filter(|e| matches!(e, Event::Start(Tag::Heading { .. })))
        .count();
    assert_eq!(headings, 2, "the headline and one per service:\n{body}");
}
