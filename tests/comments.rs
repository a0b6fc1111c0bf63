//! `plan --github-comment` and `apply --github-comment` against the local GitHub
//! (`common/github.rs`: paginated listing, create, edit, 422 past 65,536 characters) and a
//! fake terraform, run as a GitHub Actions job runs them: one comment per pull request and
//! scope, found again and edited in place, never duplicated, never created with nothing to
//! say, never under the limit's cut for what matters, and the token on API requests only.

mod common;

use common::fake_terraform::{
    created_function_text, event, function_change, plan_json, pull_request_event, FakeTerraform,
};
use common::github::{Comment, FakeGithub, WriteBehaviour, COMMENT_LIMIT};
use common::{Run, Tree};

const TOKEN: &str = "ghs_workflow_token_never_shown_0123456789";
const REPO: &str = "acme/gitops";
const MARKER: &str = "<!-- lambda-gitops: all -->";

struct Ci {
    tree: Tree,
    terraform: FakeTerraform,
    github: FakeGithub,
    event: std::path::PathBuf,
}

impl Ci {
    /// Services `a` (and `b`), a pull_request event for #7, the local GitHub.
    fn new(services: &[&str]) -> Self {
        let tree = Tree::new();
        for service in services {
            tree.standard(service, &[]);
        }
        let terraform = FakeTerraform::new(&tree);
        let github = FakeGithub::start();
        let event = pull_request_event(&tree, 7);
        Self {
            tree,
            terraform,
            github,
            event,
        }
    }

    fn env(&self) -> Vec<(&str, String)> {
        vec![
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_REPOSITORY", REPO.to_owned()),
            ("GITHUB_EVENT_PATH", self.event.display().to_string()),
            ("GITHUB_API_URL", self.github.api_url.clone()),
            ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
            ("GITHUB_RUN_ID", "4242".to_owned()),
            ("GITHUB_TOKEN", TOKEN.to_owned()),
        ]
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let env = self.env();
        let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        self.terraform.ci(&self.tree, args, &all)
    }

    fn comments(&self) -> Vec<Comment> {
        self.github.comments(REPO, 7)
    }

    fn ours(&self) -> Vec<Comment> {
        self.comments()
            .into_iter()
            .filter(|c| c.body.starts_with("<!-- lambda-gitops"))
            .collect()
    }

    fn writes(&self) -> Vec<(String, String)> {
        self.github
            .requests_with_methods()
            .into_iter()
            .filter(|(method, ..)| method != "GET")
            .map(|(method, _, path, _)| (method, path))
            .collect()
    }

    /// `a`'s staging moves 1.0.0 → 1.1.0 and preview pr-7 is created.
    fn a_changes(&self, staging_after: &str) {
        let json = plan_json(vec![
            function_change(
                "a",
                "staging",
                &["update"],
                Some("1.0.0"),
                Some(staging_after),
            ),
            function_change("a", "pr-7", &["create"], None, Some("1.1.0-pr7")),
        ]);
        let text = format!(
            "Terraform will perform the following actions:\n\n{}{}Plan: 1 to add, 1 to change, 0 to destroy.\n",
            created_function_text("aws_lambda_function.preview[\"7\"]", "a-pr-7"),
            "  # aws_lambda_function.staging[\"staging\"] will be updated in-place\n",
        );
        self.terraform.plans("a", &text, &json);
    }
}

fn assert_token_only_on_the_api(github: &FakeGithub) {
    let requests = github.requests_with_methods();
    assert!(!requests.is_empty());
    for (method, server, path, authorization) in &requests {
        assert_eq!(server, "api", "{method} {path}");
        assert_eq!(
            authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{method} {path}"
        );
    }
}

#[test]
fn a_plan_comments_once_and_a_second_run_edits_that_comment_in_place() {
    let ci = Ci::new(&["a"]);
    // 150 earlier comments: the listing takes two pages.
    ci.github.add_comments(REPO, 7, 150);
    ci.a_changes("1.1.0");
    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1, "{:?}", ci.writes());
    let first = &ours[0];
    assert_eq!(first.login, "github-actions[bot]");
    assert!(
        first.body.starts_with(&format!(
            "{MARKER}\n## lambda-gitops plan: 1 to add, 1 to change, 0 to destroy\n"
        )),
        "{}",
        first.body
    );
    assert!(
        first
            .body
            .contains("| `staging` | update | `a-staging` | `1.0.0` → `1.1.0` |"),
        "{}",
        first.body
    );
    // Both at a glance, in the summary: the staging bump and the new preview.
    assert!(
        first.body.contains(
            "\n- `a` 1 to add, 1 to change, 0 to destroy: `staging` update `1.0.0` → `1.1.0` · previews added: `pr-7`\n"
        ),
        "{}",
        first.body
    );
    assert!(
        first.body.contains("<details><summary>terraform plan: a ("),
        "{}",
        first.body
    );
    assert!(
        first.body.contains("commit `0123456789ab`"),
        "{}",
        first.body
    );
    assert!(
        first
            .body
            .contains("[workflow run](<https://github.com/acme/gitops/actions/runs/4242>)"),
        "{}",
        first.body
    );
    assert!(
        !first.body.contains("secret-value"),
        "an environment value reached the comment:\n{}",
        first.body
    );
    let listed = ci
        .github
        .requests_with_methods()
        .iter()
        .filter(|(method, _, path, _)| method == "GET" && path.contains("/issues/7/comments"))
        .count();
    assert_eq!(listed, 2, "both pages are read");
    assert_eq!(ci.writes().len(), 1);
    assert_eq!(ci.writes()[0].0, "POST");

    // A second push: the same comment, edited.
    ci.a_changes("1.2.0");
    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1, "{:?}", ci.writes());
    assert_eq!(ours[0].id, first.id);
    assert!(
        ours[0].body.contains("`1.0.0` → `1.2.0`"),
        "{}",
        ours[0].body
    );
    let writes = ci.writes();
    assert_eq!(
        writes[1],
        (
            "PATCH".to_owned(),
            format!("/repos/acme/gitops/issues/comments/{}", first.id)
        )
    );
    assert_eq!(ci.comments().len(), 151);
    assert_token_only_on_the_api(&ci.github);
}

#[test]
fn a_comment_on_the_second_page_is_found_and_edited() {
    let ci = Ci::new(&["a"]);
    ci.github.add_comments(REPO, 7, 120);
    let id = ci.github.add_comment(
        REPO,
        7,
        &format!("{MARKER}\n## lambda-gitops plan: old"),
        "github-actions[bot]",
        "Bot",
    );
    ci.github.add_comments(REPO, 8, 3);
    ci.a_changes("1.1.0");
    ci.run(&["plan", "--github-comment"]).success();
    assert_eq!(
        ci.writes(),
        [(
            "PATCH".to_owned(),
            format!("/repos/acme/gitops/issues/comments/{id}")
        )]
    );
    let ours = ci.ours();
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0].body.contains("1 to add, 1 to change"),
        "{}",
        ours[0].body
    );
}

#[test]
fn no_comment_is_created_without_changes_but_an_earlier_one_is_updated_to_say_so() {
    let ci = Ci::new(&["a"]);
    let run = ci.run(&["plan", "--github-comment", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(ci.comments().is_empty());
    assert!(ci.writes().is_empty());

    // Changes were commented; the next push reverts them: the comment must not go stale.
    ci.a_changes("1.1.0");
    assert_eq!(
        ci.run(&["plan", "--github-comment", "--detailed-exitcode"])
            .code,
        2
    );
    ci.terraform.no_changes("a");
    let run = ci.run(&["plan", "--github-comment", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0]
            .body
            .starts_with(&format!("{MARKER}\n## lambda-gitops plan: no changes\n")),
        "{}",
        ours[0].body
    );
    assert_eq!(
        ci.writes()
            .iter()
            .map(|(m, _)| m.as_str())
            .collect::<Vec<_>>(),
        ["POST", "PATCH"]
    );
}

#[test]
fn with_two_marked_comments_the_newest_is_edited_and_the_run_says_so() {
    let ci = Ci::new(&["a"]);
    let older = ci.github.add_comment(
        REPO,
        7,
        &format!("{MARKER}\nolder"),
        "github-actions[bot]",
        "Bot",
    );
    let newer = ci.github.add_comment(
        REPO,
        7,
        &format!("{MARKER}\nnewer"),
        "github-actions[bot]",
        "Bot",
    );
    ci.a_changes("1.1.0");
    let run = ci.run(&["plan", "--github-comment"]);
    run.success();
    assert_eq!(
        ci.writes(),
        [(
            "PATCH".to_owned(),
            format!("/repos/acme/gitops/issues/comments/{newer}")
        )]
    );
    assert!(
        run.stderr.contains(&format!(
            "#7 has 2 comments marked {MARKER}; editing the newest ({newer})"
        )),
        "{}",
        run.stderr
    );
    let older_body = ci
        .comments()
        .into_iter()
        .find(|c| c.id == older)
        .unwrap()
        .body;
    assert_eq!(older_body, format!("{MARKER}\nolder"));
}

#[test]
fn a_marker_planted_in_someone_elses_comment_is_never_edited() {
    let ci = Ci::new(&["a"]);
    let planted = format!("{MARKER}\n## lambda-gitops plan: no changes (trust me)");
    let id = ci.github.add_comment(REPO, 7, &planted, "mallory", "User");
    ci.a_changes("1.1.0");
    let run = ci.run(&["plan", "--github-comment"]);
    run.success();
    assert!(
        run.stderr.contains("ignoring comment") && run.stderr.contains("`mallory`"),
        "{}",
        run.stderr
    );
    let comments = ci.comments();
    assert_eq!(comments.iter().find(|c| c.id == id).unwrap().body, planted);
    let ours: Vec<_> = comments
        .iter()
        .filter(|c| c.login == "github-actions[bot]")
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.contains("1 to add"), "{}", ours[0].body);
    // `GET /user` was asked (a person's comment carried the marker) and refused the app token.
    assert!(ci
        .github
        .requests()
        .iter()
        .any(|(_, path, _)| path == "/user"));

    // With a person's token, that person's marked comments are theirs to edit.
    let ci = Ci::new(&["a"]);
    let id = ci.github.add_comment(REPO, 7, &planted, "deployer", "User");
    ci.github.token_user(TOKEN, "deployer");
    ci.a_changes("1.1.0");
    ci.run(&["plan", "--github-comment"]).success();
    assert_eq!(
        ci.writes(),
        [(
            "PATCH".to_owned(),
            format!("/repos/acme/gitops/issues/comments/{id}")
        )]
    );
}

#[test]
fn each_service_scope_keeps_its_own_comment() {
    let ci = Ci::new(&["a", "b"]);
    ci.a_changes("1.1.0");
    ci.terraform.plans(
        "b",
        "b's plan\n",
        &plan_json(vec![function_change(
            "b",
            "staging",
            &["update"],
            Some("1.0.0"),
            Some("1.1.0"),
        )]),
    );
    ci.run(&["plan", "--github-comment"]).success();
    ci.run(&["plan", "--github-comment", "--service", "a"])
        .success();
    ci.run(&[
        "plan",
        "--github-comment",
        "--service",
        "b",
        "--service",
        "a",
    ])
    .success();
    ci.run(&[
        "plan",
        "--github-comment",
        "--service",
        "a",
        "--service",
        "b",
    ])
    .success();
    let markers: Vec<String> = ci
        .ours()
        .iter()
        .map(|c| c.body.lines().next().unwrap().to_owned())
        .collect();
    assert_eq!(
        markers,
        [
            MARKER,
            "<!-- lambda-gitops: a -->",
            "<!-- lambda-gitops: a,b -->"
        ]
    );
    let methods: Vec<String> = ci.writes().into_iter().map(|(m, _)| m).collect();
    assert_eq!(methods, ["POST", "POST", "POST", "PATCH"]);
}

#[test]
fn an_invalid_repo_still_publishes_every_error_with_its_file_and_line() {
    let ci = Ci::new(&["a"]);
    ci.tree.write(
        "environments/staging/a/config.yaml",
        "serviceName: a\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: a-staging\n  s3TriggerPrefix: staging/\n  memorySizeMb: 512\n",
    );
    ci.tree.preview("pr-7x", "a", "1.0.0");
    let summary = ci.tree.temp.path().join("summary.md");
    let run = ci.run(&[
        "plan",
        "--github-comment",
        "--summary-markdown",
        summary.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        ci.terraform.calls().is_empty(),
        "terraform ran on an invalid repo"
    );
    let ours = ci.ours();
    assert_eq!(ours.len(), 1, "a failed run is published");
    let body = &ours[0].body;
    assert!(
        body.starts_with(&format!("{MARKER}\n## lambda-gitops plan failed\n")),
        "{body}"
    );
    assert!(
        body.contains(":x: `environments/staging/a/config.yaml:7`: "),
        "{body}"
    );
    assert!(
        body.contains("`environments/preview/pr-7x/services/a.values.yaml"),
        "{body}"
    );
    assert!(
        body.contains(":x: `the gitops dir is invalid: 2 problems`"),
        "{body}"
    );
    let markdown = std::fs::read_to_string(&summary).unwrap();
    assert!(
        markdown.contains("environments/staging/a/config.yaml:7"),
        "{markdown}"
    );
    // The errors are on stderr as well, once each, and annotate their files.
    assert!(
        run.stderr.contains(
            "::error file=environments/staging/a/config.yaml,line=7,title=invalid gitops config::"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_terraform_failure_shows_terraforms_own_error_in_the_comment() {
    let ci = Ci::new(&["a"]);
    ci.terraform.plan_fails(
        "a",
        "\nError: creating Lambda Function (a-pr-7): operation error Lambda: CreateFunction, https response error StatusCode: 400, InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.\n",
    );
    let run = ci.run(&["plan", "--github-comment", "--detailed-exitcode"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(
        body.starts_with(&format!(
            "{MARKER}\n## lambda-gitops plan failed\n\n- `a` :x: failed\n"
        )),
        "{body}"
    );
    assert!(body.contains(":x: `a` failed: ``a: `"), "{body}");
    assert!(
        body.contains("-detailed-exitcode -lock-timeout=5m -no-color` exited with code 1``"),
        "{body}"
    );
    // Terraform's last lines, stdout and stderr as they arrived, in a code block.
    let block = &body[body.find("```text\n").expect("a code block")..];
    assert!(
        block.contains("\nError: creating Lambda Function (a-pr-7): operation error Lambda: CreateFunction, https response error StatusCode: 400, InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.\n"),
        "{body}"
    );
    assert!(block.contains("No changes. Your infrastructure matches the configuration."));
}

#[test]
fn a_300_preview_plan_stays_under_the_limit_with_its_summary_intact() {
    let ci = Ci::new(&["a"]);
    let mut changes = vec![function_change(
        "a",
        "staging",
        &["update"],
        Some("1.0.0"),
        Some("1.1.0"),
    )];
    let mut text = String::from("Terraform will perform the following actions:\n\n");
    for pr in 1..=300 {
        let environment = format!("pr-{pr}");
        changes.push(function_change(
            "a",
            &environment,
            &["create"],
            None,
            Some(&format!("1.1.0-pr{pr}")),
        ));
        text.push_str(&created_function_text(
            &format!("aws_lambda_function.preview[\"{pr}\"]"),
            &format!("a-pr-{pr}"),
        ));
    }
    text.push_str("Plan: 300 to add, 1 to change, 0 to destroy.\n");
    changes.push(function_change(
        "a",
        "production",
        &["delete"],
        Some("1.0.0"),
        None,
    ));
    ci.terraform.plans("a", &text, &plan_json(changes));
    assert!(
        text.len() > 4 * COMMENT_LIMIT,
        "the plan text alone is {} bytes",
        text.len()
    );

    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1, "{}", run.stderr);
    let body = &ours[0].body;
    assert!(
        body.chars().count() <= COMMENT_LIMIT,
        "{} characters",
        body.chars().count()
    );
    // The summary and the warning survive whole, first.
    assert!(body.starts_with(&format!(
        "{MARKER}\n## lambda-gitops plan: 300 to add, 1 to change, 1 to destroy\n\n- `a` 300 to add, 1 to change, 1 to destroy: `staging` update `1.0.0` → `1.1.0` · `production` delete `1.0.0` → (deleted) · previews added: `pr-1`, `pr-2`, `pr-3`, `pr-4`, `pr-5`, `pr-6`, `pr-7`, `pr-8`, `pr-9`, `pr-10`, and 290 more\n\n> [!WARNING]\n> the `production` function `a-production` will be DELETED\n"
    )), "{}", &body[..600.min(body.len())]);
    // The table is cut between rows, with a note saying how much is left out.
    assert!(
        body.contains("| `pr-1` | create | `a-pr-1` |"),
        "the first rows are shown"
    );
    assert!(
        !body.contains("| `pr-300` | create |"),
        "the table was not cut"
    );
    assert!(
        body.contains("> [!NOTE]\n> The report is cut here to fit: "),
        "no note for the cut"
    );
    // The plan text is collapsed and trimmed in the middle, saying how much.
    assert!(
        body.contains("<details><summary>terraform plan: a (11,403 lines, "),
        "{}",
        &body[body.len() - 2000..]
    );
    assert!(body.contains(" cut from the middle)</summary>"));
    assert!(body.contains("cut from the middle to fit; the whole output is in the job's log …]"));
    assert!(
        body.contains("Plan: 300 to add, 1 to change, 0 to destroy."),
        "the plan's last lines are kept"
    );
    assert!(!body.contains("secret-value"));
}

#[test]
fn a_pull_request_changing_120_services_gets_one_comment_under_the_limit_in_a_few_github_calls() {
    let names: Vec<String> = (0..120).map(|i| format!("s{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let ci = Ci::new(&refs);
    for name in &names {
        let json = plan_json(vec![function_change(
            name,
            "staging",
            &["update"],
            Some("1.0.0"),
            Some("1.1.0"),
        )]);
        let text = format!(
            "Terraform will perform the following actions:\n\n  # aws_lambda_function.this[\"staging\"] will be updated in-place\n{}Plan: 0 to add, 1 to change, 0 to destroy.\n",
            "      ~ description = \"old\" -> \"new\"\n".repeat(40)
        );
        ci.terraform.plans(name, &text, &json);
    }

    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ours = ci.ours();
    assert_eq!(ours.len(), 1, "one sticky comment for the run");
    let body = &ours[0].body;
    assert!(
        body.chars().count() <= COMMENT_LIMIT,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.contains("## lambda-gitops plan: 0 to add, 120 to change, 0 to destroy"),
        "the summary counts every service: {}",
        &body[..400.min(body.len())]
    );
    // Listing the comments and writing one: a bounded number of calls, none per service.
    let calls = ci.github.api_requests();
    assert!(calls <= 4, "{calls} GitHub API calls for 120 services");
    assert_eq!(ci.writes().len(), 1, "{:?}", ci.writes());
}

#[test]
fn a_comment_that_cannot_be_published_fails_the_run_after_the_report_and_says_what_the_plan_was() {
    let ci = Ci::new(&["a"]);
    ci.github.read_only(TOKEN);
    ci.a_changes("1.1.0");
    let run = ci.run(&[
        "plan",
        "--github-comment",
        "--detailed-exitcode",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The report was printed in full first, with the plan's own outcome.
    let report = run.json();
    assert_eq!(report["exitCode"], 2);
    assert_eq!(report["services"][0]["counts"]["add"], 1);
    assert!(
        run.stderr
            .contains("error: could not publish the pull-request comment on #7: "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("pull-requests: write"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the plan itself succeeded with changes (exit 2)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN));
}

#[test]
fn a_create_that_failed_after_it_went_through_is_not_repeated() {
    let ci = Ci::new(&["a"]);
    ci.github
        .write_behave(&[WriteBehaviour::StatusAfterWriting(502)]);
    ci.a_changes("1.1.0");
    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ci.ours().len(), 1, "{:?}", ci.writes());
    let methods: Vec<String> = ci.writes().into_iter().map(|(m, _)| m).collect();
    assert_eq!(
        methods,
        ["POST", "PATCH"],
        "the retry edits what the failed create made"
    );
}

#[test]
fn a_comment_without_a_pull_request_fails_before_terraform_or_github_is_asked() {
    let ci = Ci::new(&["a"]);
    let push = event(
        &ci.tree,
        "push",
        serde_json::json!({"ref": "refs/heads/main", "after": "0123456"}),
    );
    let push = push.display().to_string();
    let run = ci.run_with(
        &["plan", "--github-comment"],
        &[("GITHUB_EVENT_PATH", &push)],
    );
    run.fails_with(&[
        "`--github-comment` needs a pull request",
        "is not about a pull request",
        "hint: pass `--pr N`",
    ]);
    assert!(ci.terraform.calls().is_empty());
    assert!(ci.github.requests().is_empty());
    // Without a token, the same: refused first.
    let run = ci.run_with(&["plan", "--github-comment"], &[("GITHUB_TOKEN", "")]);
    run.fails_with(&["`--github-comment` needs a token"]);
    // `--pr` names the pull request on any event.
    ci.a_changes("1.1.0");
    ci.run_with(
        &["plan", "--github-comment", "--pr", "9"],
        &[("GITHUB_EVENT_PATH", &push)],
    )
    .success();
    assert_eq!(ci.github.comments(REPO, 9).len(), 1);
}

#[test]
fn an_issue_comment_on_a_pull_request_names_it() {
    let ci = Ci::new(&["a"]);
    let comment = event(
        &ci.tree,
        "issue-comment",
        serde_json::json!({"action": "created", "issue": {"number": 7, "pull_request": {"url": "x"}}, "comment": {"body": "/plan"}}),
    );
    ci.a_changes("1.1.0");
    ci.run_with(
        &["plan", "--github-comment"],
        &[("GITHUB_EVENT_PATH", comment.to_str().unwrap())],
    )
    .success();
    assert_eq!(ci.ours().len(), 1);
}

#[test]
fn apply_edits_the_same_comment_and_says_it_applied() {
    let ci = Ci::new(&["a"]);
    ci.a_changes("1.1.0");
    ci.run(&["plan", "--github-comment"]).success();
    ci.run(&["apply", "--auto-approve", "--github-comment"])
        .success();
    let ours = ci.ours();
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0].body.starts_with(&format!(
            "{MARKER}\n## lambda-gitops apply: applied — 1 added, 1 changed, 0 destroyed\n\n- `a` 1 added, 1 changed, 0 destroyed: `staging` updated `1.0.0` → `1.1.0` · previews added: `pr-7`\n"
        )),
        "{}",
        ours[0].body
    );
    // The past tense throughout: the table says what was done.
    assert!(
        ours[0]
            .body
            .contains("| `pr-7` | created | `a-pr-7` | → `1.1.0-pr7` |"),
        "{}",
        ours[0].body
    );
    assert!(
        ours[0].body.contains("<sub>lambda-gitops apply"),
        "{}",
        ours[0].body
    );
}

#[test]
fn a_next_page_on_another_origin_fails_the_comment_and_never_gets_the_token() {
    let ci = Ci::new(&["a"]);
    ci.github.add_comments(REPO, 7, 150);
    ci.github.send_next_pages_elsewhere();
    ci.a_changes("1.1.0");
    let run = ci.run(&["plan", "--github-comment"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not on the GitHub API's origin"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("a: 1 to add, 1 to change"),
        "the report was printed first:\n{}",
        run.stdout
    );
    assert_eq!(ci.github.downloads(), 0, "the other origin was asked");
    assert!(ci.writes().is_empty());
    assert_token_only_on_the_api(&ci.github);
}

#[tokio::test]
async fn github_refuses_a_body_over_65536_characters_and_the_client_says_why() {
    use lambda_gitops::github::comments::Repository;
    use lambda_gitops::github::policy::api_base;
    use lambda_gitops::github::{Client, GithubError};
    use lambda_gitops::secret::Secret;
    use lambda_gitops::settings::GithubSettings;

    let github = FakeGithub::start();
    let client = Client::new(
        &GithubSettings {
            api_url: api_base(&github.api_url, false).unwrap(),
            token: Some(Secret::new(TOKEN.to_owned())),
            allow_insecure: false,
        },
        std::time::Duration::from_secs(30),
    );
    let repository = Repository::parse(REPO).unwrap();
    let error = client
        .create_issue_comment(&repository, 7, &"é".repeat(COMMENT_LIMIT + 1))
        .await
        .unwrap_err();
    assert!(matches!(error, GithubError::Rejected { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .ends_with("refused the request: Validation Failed: body is too long (maximum is 65536 characters)"),
        "{error}"
    );
    // At the limit exactly (in characters, not bytes), it is accepted; then edited.
    let created = client
        .create_issue_comment(&repository, 7, &"é".repeat(COMMENT_LIMIT))
        .await
        .unwrap();
    let edited = client
        .update_issue_comment(&repository, created.id, "shorter")
        .await
        .unwrap();
    assert_eq!(edited.id, created.id);
    assert_eq!(github.comments(REPO, 7)[0].body, "shorter");
}

/// Issue 9 §1: after `apply`, the outcome — an apply that fails part way says how far it
/// got (counted from terraform's own output), with terraform's error, in the comment, the
/// text report and the JSON.
#[test]
fn an_apply_that_fails_part_way_says_how_far_it_got() {
    let ci = Ci::new(&["a"]);
    ci.a_changes("1.1.0");
    ci.terraform.apply_fails(
        "a",
        "aws_lambda_function.staging[\"staging\"]: Modifying... [id=a-staging]\naws_lambda_function.staging[\"staging\"]: Modifications complete after 1s [id=a-staging]\naws_lambda_function.preview[\"7\"]: Creating...\n",
    );
    let run = ci.run(&["apply", "--auto-approve", "--github-comment"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("a: apply failed after 1 of 2 changes\n"),
        "{}",
        run.stdout
    );
    let ours = ci.ours();
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(
        body.starts_with(&format!(
            "{MARKER}\n## lambda-gitops apply failed\n\n- `a` :x: failed after 1 of 2 changes\n"
        )),
        "{body}"
    );
    assert!(
        body.contains("Error: creating Lambda Function: InvalidParameterValueException"),
        "{body}"
    );
    let json = ci
        .run(&["apply", "--auto-approve", "--format", "json"])
        .json();
    assert_eq!(json["outcome"], "failed");
    assert_eq!(
        json["services"][0]["applied"],
        serde_json::json!({"done": 1, "total": 2})
    );
    assert_eq!(
        json["services"][0]["deployments"][0]["versionAfter"],
        "1.1.0"
    );
}

/// A client for `github` with the test token; rate-limit waits from `waits`.
fn library_client(
    github: &FakeGithub,
    waits: lambda_gitops::retry::RateLimitWaits,
) -> lambda_gitops::github::Client {
    use lambda_gitops::github::policy::api_base;
    use lambda_gitops::secret::Secret;
    use lambda_gitops::settings::GithubSettings;
    lambda_gitops::github::Client::new(
        &GithubSettings {
            api_url: api_base(&github.api_url, false).unwrap(),
            token: Some(Secret::new(TOKEN.to_owned())),
            allow_insecure: false,
        },
        std::time::Duration::from_secs(30),
    )
    .with_waits(waits)
}

/// Issue 23 §3: GitHub answers a PATCH on a renamed repository's old name with a 307 to
/// `/repositories/{id}/…`; the client re-sends the PATCH, body and token included (the
/// repository is private: without the token the new location answers 404).
#[tokio::test]
async fn a_comment_patch_on_a_renamed_repository_follows_the_307() {
    use lambda_gitops::github::comments::Repository;
    let github = FakeGithub::start();
    github.add_comment(REPO, 7, "old body", "github-actions[bot]", "Bot");
    let id = github.comments(REPO, 7)[0].id;
    github.make_private(REPO, TOKEN);
    github.rename(REPO);
    let client = library_client(&github, Default::default());
    let repository = Repository::parse(REPO).unwrap();
    let edited = client
        .update_issue_comment(&repository, id, "new body")
        .await
        .unwrap();
    assert_eq!(edited.id, id);
    assert_eq!(github.comments(REPO, 7)[0].body, "new body");
    let writes: Vec<(String, String, Option<String>)> = github
        .requests_with_methods()
        .into_iter()
        .map(|(method, _, path, authorization)| (method, path, authorization))
        .collect();
    let bearer = Some(format!("Bearer {TOKEN}"));
    assert_eq!(
        writes,
        [
            (
                "PATCH".to_owned(),
                format!("/repos/{REPO}/issues/comments/{id}"),
                bearer.clone()
            ),
            (
                "PATCH".to_owned(),
                format!("/repositories/1/issues/comments/{id}"),
                bearer
            ),
        ]
    );
}

/// Issue 23 §5: a 422 shows every `errors[]` entry — objects with and without a message,
/// plain strings — and names the call that failed.
#[tokio::test]
async fn a_422_shows_every_error_github_gave() {
    use lambda_gitops::github::comments::Repository;
    use lambda_gitops::github::GithubError;
    let github = FakeGithub::start();
    github.write_behave(&[WriteBehaviour::Invalid]);
    let client = library_client(&github, Default::default());
    let error = client
        .create_issue_comment(&Repository::parse(REPO).unwrap(), 7, "hello")
        .await
        .unwrap_err();
    assert!(matches!(error, GithubError::Rejected { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("could not create the pull-request comment: `"),
        "{error}"
    );
    assert!(
        error.to_string().ends_with(
            "refused the request: Validation Failed: IssueComment `body`: missing_field; body contains a disallowed word; the comment is locked"
        ),
        "{error}"
    );
    assert!(github.comments(REPO, 7).is_empty());
}

/// A rate-limited write was not performed by GitHub: it is waited for and sent once more,
/// and exactly one comment results.
#[tokio::test]
async fn a_rate_limited_comment_write_is_waited_for_and_sent_again() {
    use lambda_gitops::github::comments::Repository;
    let github = FakeGithub::start();
    github.write_behave(&[WriteBehaviour::Limited {
        status: 403,
        retry_after: Some(1),
    }]);
    let client = library_client(&github, Default::default());
    let started = std::time::Instant::now();
    client
        .create_issue_comment(&Repository::parse(REPO).unwrap(), 7, "once")
        .await
        .unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let comments = github.comments(REPO, 7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].body, "once");
}

/// A real permission error (403 "Resource not accessible by integration") is not retried,
/// and says which permission the failed call needs.
#[tokio::test]
async fn a_permission_403_is_never_retried_and_names_the_permission() {
    use lambda_gitops::github::comments::Repository;
    use lambda_gitops::github::GithubError;
    let github = FakeGithub::start();
    github.read_only(TOKEN);
    let client = library_client(&github, Default::default());
    let error = client
        .create_issue_comment(&Repository::parse(REPO).unwrap(), 7, "no")
        .await
        .unwrap_err();
    assert!(
        matches!(error, GithubError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("answered HTTP 403 Forbidden: Resource not accessible by integration"),
        "{error}"
    );
    assert_eq!(
        error.hint().unwrap(),
        "check that `GITHUB_TOKEN` (or `GH_TOKEN`) can do this: it needs `issues: write` or `pull-requests: write` on the repository"
    );
    assert_eq!(github.requests_with_methods().len(), 1);
}
