//! Where the gitops dir is and what it holds: any spelling of `--gitops-dir` finds the same
//! services and shows paths the way they were spelt; a dir without a Lambda service is an
//! error unless `--allow-empty`.

mod common;

use std::path::Path;

use common::Tree;

fn scanned(run: &common::Run) -> Vec<(String, String)> {
    run.success();
    let json = run.json();
    json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["file"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_spelling_of_the_gitops_dir_finds_the_same_services() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    let temp = tree.temp.path();
    let repo = temp.join("repo");
    let gitops = tree.gitops();
    std::os::unix::fs::symlink(&gitops, temp.join("link")).unwrap();
    let json = ["scan", "--format", "json"];

    let cases: Vec<(&Path, Option<&Path>, String)> = vec![
        (&gitops, None, "services/svc/config.yaml".into()),
        (
            &gitops,
            Some(Path::new(".")),
            "services/svc/config.yaml".into(),
        ),
        (
            &gitops,
            Some(Path::new("./")),
            "services/svc/config.yaml".into(),
        ),
        (
            &repo,
            Some(Path::new("./gitops")),
            "./gitops/services/svc/config.yaml".into(),
        ),
        (
            &repo,
            Some(Path::new("gitops/")),
            "gitops/services/svc/config.yaml".into(),
        ),
        (
            temp,
            Some(Path::new("link")),
            "link/services/svc/config.yaml".into(),
        ),
        (
            temp,
            Some(&gitops),
            gitops
                .join("services/svc/config.yaml")
                .display()
                .to_string(),
        ),
    ];
    for (cwd, spelling, file) in cases {
        let run = tree.run_from(cwd, spelling, &json);
        assert_eq!(
            scanned(&run),
            [("svc".to_owned(), file)],
            "--gitops-dir {spelling:?} from {}",
            cwd.display()
        );
        assert_eq!(run.json()["services"][0]["previews"][0]["pr"], 7);
    }
}

#[test]
fn errors_name_files_the_way_the_gitops_dir_was_spelt() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.env("staging", "svc", "1.1.0 beta", "svc-staging", "staging/");
    let run = tree.run_from(&tree.gitops(), None, &["scan"]);
    run.fails_with(&["error: environments/staging/svc/config.yaml:4: version `1.1.0 beta`"]);
    let run = tree.run_from(
        tree.temp.path(),
        Some(Path::new("./repo/gitops")),
        &["scan"],
    );
    run.fails_with(&["error: ./repo/gitops/environments/staging/svc/config.yaml:4: version"]);
}

#[test]
fn a_gitops_dir_without_a_lambda_service_is_an_error_saying_what_was_searched_where() {
    let tree = Tree::new();
    tree.write(
        "services/api/config.yaml",
        "serviceName: api\ndeploymentType: kubernetes\n",
    );
    let run = tree.run(&["scan"]);
    run.fails_with(&[
        "no Lambda service in the gitops dir",
        &tree.gitops().display().to_string(),
        "looked for `services/*/config.yaml` with `deploymentType: lambda`",
        "found 1 service config, none of them Lambda",
        "--allow-empty",
    ]);

    // The usual mistake: run from the wrong directory (here the repo root, above the
    // gitops dir) with the default `--gitops-dir .`.
    let repo_root = tree.temp.path().join("repo");
    let run = tree.run_from(&repo_root, None, &["scan"]);
    run.fails_with(&[
        "no Lambda service in the gitops dir `.`",
        &format!("(`{}`)", repo_root.canonicalize().unwrap().display()),
        "found no service config at all",
    ]);
    let region = ["--aws-region", "eu-west-2"];
    for args in [
        vec!["vars"],
        [&["plan"][..], &region].concat(),
        [&["apply", "--auto-approve"][..], &region].concat(),
    ] {
        let run = tree.run_from(&repo_root, None, &args);
        run.fails_with(&["no Lambda service in the gitops dir"]);
    }
}

#[test]
fn allow_empty_accepts_a_repo_without_lambda_services() {
    let tree = Tree::new();
    tree.write(
        "services/api/config.yaml",
        "serviceName: api\ndeploymentType: kubernetes\n",
    );
    let run = tree.run(&["scan", "--allow-empty"]);
    run.success();
    assert_eq!(run.stdout, "no Lambda services\n");
    let run = tree.run(&["scan", "--allow-empty", "--format", "json"]);
    run.success();
    assert_eq!(run.json()["services"], serde_json::json!([]));
    let run = tree.run(&["vars", "--allow-empty"]);
    run.success();
    assert_eq!(run.stdout, "");
    assert!(!tree.work().exists(), "nothing to write");
}
