//! `matrix --changed-since`, `--max-jobs` and `--max-services` on gitops repos with a real
//! git history in temp dirs: only the services whose resolved deployments changed are
//! listed, however their files were reformatted; a revision git cannot give is refused
//! naming it; a matrix of hundreds of services stays within GitHub's 256 jobs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::git::{git, recording_git};
use common::Tree;

/// The tree's `repo/` made a real git repository (instead of the harness's bare `.git`).
fn init(tree: &Tree) -> std::path::PathBuf {
    let repo = tree.temp.path().join("repo");
    std::fs::remove_dir_all(repo.join(".git")).unwrap();
    git(&repo, &["init", "-q"]);
    repo
}

fn commit(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// Three services (`a` with preview 7, `b`, `c`) committed as `main`.
fn three_services() -> (Tree, std::path::PathBuf) {
    let tree = Tree::new();
    tree.standard("a", &[7]);
    tree.standard("b", &[]);
    tree.standard("c", &[]);
    let repo = init(&tree);
    commit(&repo, "three services");
    (tree, repo)
}

fn listed(tree: &Tree, rev: &str) -> String {
    let run = tree.run(&["matrix", "--changed-since", rev]);
    run.success();
    run.stdout
}

fn services(names: &[&str]) -> String {
    let entries: Vec<String> = names
        .iter()
        .map(|name| format!("{{\"service\":\"{name}\"}}"))
        .collect();
    format!("{{\"include\":[{}]}}\n", entries.join(","))
}

fn service_config(name: &str) -> String {
    format!(
        "serviceName: {name}\ndeploymentType: lambda\nlambda:\n  runtime: python3.12\n  handler: app.handler\n  triggerBucket: {name}-uploads\n  packageBucket: {name}-packages\n  package:\n    path: \"packages/{name}-{{version}}.zip\"\n"
    )
}

#[test]
fn a_staging_version_bump_lists_only_the_bumped_service() {
    let (tree, _repo) = three_services();
    tree.env("staging", "b", "1.2.0", "b-staging", "staging/");
    tree.package("packages/b-1.2.0.zip", "b 1.2.0");
    assert_eq!(listed(&tree, "HEAD"), services(&["b"]));
}

#[test]
fn a_settings_change_in_the_service_config_lists_only_that_service() {
    let (tree, _repo) = three_services();
    tree.write(
        "services/c/config.yaml",
        &format!("{}  memorySize: 512\n", service_config("c")),
    );
    assert_eq!(listed(&tree, "HEAD"), services(&["c"]));
}

#[test]
fn an_added_and_a_removed_preview_list_their_two_services() {
    let (tree, _repo) = three_services();
    tree.remove("environments/preview/pr-7");
    tree.preview("pr-9", "c", "1.1.0-pr9");
    tree.package("packages/c-1.1.0-pr9.zip", "c pr 9");
    assert_eq!(listed(&tree, "HEAD"), services(&["a", "c"]));
}

#[test]
fn a_service_removed_since_the_revision_is_listed() {
    let (tree, repo) = three_services();
    tree.remove("services/b");
    tree.remove("environments/staging/b");
    tree.remove("environments/production/b");
    commit(&repo, "b goes");
    assert_eq!(listed(&tree, "HEAD~1"), services(&["b"]));
    assert_eq!(listed(&tree, "HEAD"), services(&[]));
}

#[test]
fn comments_and_reformatting_change_nothing() {
    let (tree, repo) = three_services();
    tree.write(
        "services/a/config.yaml",
        &format!(
            "# owned by the payments team\n{}# end\n",
            service_config("a")
        ),
    );
    tree.write(
        "services/b/config.yaml",
        "deploymentType: \"lambda\"\nlambda: {packageBucket: 'b-packages', handler: app.handler, package: {path: 'packages/b-{version}.zip'}, runtime: \"python3.12\", triggerBucket: b-uploads}\nserviceName: 'b'\n",
    );
    tree.write(
        "environments/staging/c/config.yaml",
        "serviceName: c\nenvName: staging\ngitVersion: {sha: 'abcdef1234567', shortSha: abcdef1}\nlambda:\n    s3TriggerPrefix: 'staging/'\n    functionName: \"c-staging\"\n    version: '1.1.0'   # bumped by CI\n",
    );
    assert_eq!(listed(&tree, "HEAD"), services(&[]));
    commit(&repo, "reformatted");
    assert_eq!(listed(&tree, "HEAD~1"), services(&[]));
}

#[test]
fn an_unknown_revision_is_refused_naming_it() {
    let (tree, _repo) = three_services();
    let run = tree.run(&["matrix", "--changed-since", "no-such-branch"]);
    run.fails_with(&["`--changed-since no-such-branch`", "does not resolve"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_shallow_clone_without_the_revision_is_refused_saying_to_fetch_more_history() {
    let (tree, repo) = three_services();
    tree.env("staging", "b", "1.2.0", "b-staging", "staging/");
    tree.package("packages/b-1.2.0.zip", "b 1.2.0");
    commit(&repo, "bump b");
    let base = git(&repo, &["rev-parse", "HEAD~1"]);
    let clone = tree.temp.path().join("clone");
    let url = format!("file://{}", repo.display());
    git(
        tree.temp.path(),
        &["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()],
    );
    let run = tree.run_from(
        &clone,
        Some(Path::new("gitops")),
        &["matrix", "--changed-since", base.trim()],
    );
    run.fails_with(&[base.trim(), "shallow", "fetch-depth: 0"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
}

#[test]
fn a_gitops_dir_outside_a_git_work_tree_is_refused() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    std::fs::remove_dir_all(tree.temp.path().join("repo/.git")).unwrap();
    let run = tree.run(&["matrix", "--changed-since", "HEAD"]);
    run.fails_with(&["is not inside a git work tree", "--changed-since HEAD"]);
    assert_eq!(run.code, 1);
}

#[test]
fn an_invalid_tree_at_the_revision_lists_every_service_and_says_why() {
    let (tree, repo) = three_services();
    tree.write(
        "environments/staging/a/config.yaml",
        "serviceName: a\nenvName: staging\nlambda: [\n",
    );
    commit(&repo, "broken");
    tree.env("staging", "a", "1.1.0", "a-staging", "staging/");
    let run = tree.run(&["matrix", "--changed-since", "HEAD"]);
    run.success();
    assert_eq!(run.stdout, services(&["a", "b", "c"]));
    assert!(
        run.stderr.contains("at `HEAD` does not pass validation")
            && run.stderr.contains("every service is listed"),
        "{}",
        run.stderr
    );
}

#[test]
fn max_services_refuses_a_longer_list_naming_both_numbers() {
    let (tree, _repo) = three_services();
    let run = tree.run(&["matrix", "--max-services", "2"]);
    run.fails_with(&["would list 3 services, more than `--max-services 2`"]);
    assert_eq!(run.stdout, "");
    let run = tree.run(&["matrix", "--max-services", "3"]);
    run.success();
    assert_eq!(run.stdout, services(&["a", "b", "c"]));
}

#[test]
fn the_grouped_matrix_of_300_services_fits_in_256_jobs_with_every_service_once() {
    let tree = Tree::new();
    let names: Vec<String> = (0..300).map(|i| format!("svc-{i:03}")).collect();
    for name in &names {
        tree.write(
            &format!("services/{name}/config.yaml"),
            &service_config(name),
        );
        tree.env("staging", name, "1.0.0", &format!("{name}-staging"), "in/");
        tree.package(&format!("packages/{name}-1.0.0.zip"), name);
    }
    let run = tree.run(&["matrix", "--max-jobs", "256"]);
    run.success();
    let matrix: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let jobs = matrix["include"].as_array().unwrap();
    assert_eq!(jobs.len(), 256);
    let mut seen = Vec::new();
    for job in jobs {
        let entry = job.as_object().unwrap();
        assert_eq!(entry.len(), 1, "{job}");
        let group: Vec<String> = entry["services"]
            .as_str()
            .unwrap()
            .split(' ')
            .map(str::to_owned)
            .collect();
        assert!((1..=2).contains(&group.len()), "{job}");
        seen.extend(group);
    }
    assert_eq!(seen, names, "every service once, in order");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 300);

    let run = tree.run(&["matrix", "--max-jobs", "4"]);
    run.success();
    let matrix: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sizes: Vec<usize> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["services"].as_str().unwrap().split(' ').count())
        .collect();
    assert_eq!(sizes, [75, 75, 75, 75]);
}

#[test]
fn plan_takes_a_jobs_space_separated_services_and_names_the_one_unknown() {
    let (tree, _repo) = three_services();
    let run = tree.run(&["plan", "--aws-region", "eu-west-2", "--service", "a nosuch"]);
    run.fails_with(&["`nosuch` is not a Lambda service"]);
    assert!(!run.stderr.contains("`a nosuch`"), "{}", run.stderr);
}

#[test]
fn a_bump_that_deletes_the_old_path_package_lists_only_that_service() {
    let (tree, _repo) = three_services();
    tree.env("staging", "a", "1.2.0", "a-staging", "staging/");
    tree.package("packages/a-1.2.0.zip", "a 1.2.0");
    tree.remove("packages/a-1.1.0.zip");
    assert_eq!(listed(&tree, "HEAD"), services(&["a"]));
}

#[test]
fn changed_since_never_hands_the_github_token_to_git() {
    let (tree, _repo) = three_services();
    tree.env("staging", "c", "1.2.0", "c-staging", "staging/");
    tree.package("packages/c-1.2.0.zip", "c 1.2.0");
    let (path, log) = recording_git(tree.temp.path());
    let output = tree
        .command(&["matrix", "--changed-since", "HEAD"])
        .env("PATH", path)
        .env("GITHUB_TOKEN", "ghp_never_to_git")
        .env("GH_TOKEN", "gh_never_to_git")
        .output()
        .unwrap();
    let run = common::Run::from(output);
    run.success();
    assert_eq!(run.stdout, services(&["c"]));
    let env = std::fs::read_to_string(&log).unwrap();
    assert!(env.contains("GIT_TERMINAL_PROMPT=0"), "git ran: {env}");
    assert!(!env.contains("never_to_git"), "a token reached git:\n{env}");
}
