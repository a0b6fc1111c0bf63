//! The layout's blind spots (issue 18): symlinks on the layout, Lambda-looking files off it,
//! a service named like a file of the work root, a byte-order mark in another tool's config.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::fake_terraform::FakeTerraform;
use common::Tree;

fn scan(tree: &Tree) -> common::Run {
    tree.run(&["scan"])
}

/// `scan` run from the gitops dir, so paths show as the user types them.
fn scan_here(tree: &Tree) -> common::Run {
    tree.run_from(&tree.gitops(), None, &["scan"])
}

/// Every entry under `dir`: a file's bytes, a symlink's target, a directory as `None`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut entries = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let value = if meta.file_type().is_symlink() {
                Some(
                    std::fs::read_link(&path)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if meta.is_dir() {
                stack.push(path);
                None
            } else {
                Some(std::fs::read(&path).unwrap())
            };
            entries.insert(relative, value);
        }
    }
    entries
}

/// `plan` as CI runs it, through a fake terraform: exit 1 naming `needle`, and terraform
/// never started.
fn plan_is_refused_before_terraform(tree: &Tree, needle: &str) {
    let terraform = FakeTerraform::new(tree);
    let run = terraform.ci(tree, &["plan"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(needle), "{}", run.stderr);
    assert_eq!(terraform.calls(), Vec::<String>::new(), "terraform ran");
}

fn symlink(tree: &Tree, target: &str, link: &str) {
    std::os::unix::fs::symlink(target, tree.gitops().join(link)).unwrap();
}

// --- Symlinks on the layout ---

#[test]
fn a_symlinked_preview_folder_is_refused_with_nothing_changed() {
    let tree = Tree::new();
    tree.standard("svc", &[43]);
    symlink(&tree, "pr-43", "environments/preview/pr-42");
    let before = snapshot(&tree.gitops());
    scan(&tree).fails_with(&[
        "environments/preview/pr-42: is a symlink (to `pr-43`); refused: the layout would hold two paths for one file, and an edit through one would change the other",
        "hint: replace the link with the file or directory itself",
    ]);
    plan_is_refused_before_terraform(&tree, "environments/preview/pr-42: is a symlink");
    tree.run(&["preview", "remove", "--service", "svc", "--pr", "42"])
        .fails_with(&["environments/preview/pr-42: is a symlink"]);
    tree.run(&["preview", "set", "--service", "svc", "--pr", "42", "9.9.9"])
        .fails_with(&["environments/preview/pr-42: is a symlink"]);
    assert_eq!(
        snapshot(&tree.gitops()),
        before,
        "pr-43 must stay as it was"
    );
}

#[test]
fn a_symlinked_preview_values_file_is_refused_with_nothing_changed() {
    let tree = Tree::new();
    tree.standard("svc", &[45]);
    std::fs::create_dir_all(tree.gitops().join("environments/preview/pr-44/services")).unwrap();
    symlink(
        &tree,
        "../../pr-45/services/svc.values.yaml",
        "environments/preview/pr-44/services/svc.values.yaml",
    );
    let before = snapshot(&tree.gitops());
    scan(&tree).fails_with(&[
        "environments/preview/pr-44/services/svc.values.yaml: is a symlink (to `../../pr-45/services/svc.values.yaml`); refused",
    ]);
    plan_is_refused_before_terraform(
        &tree,
        "environments/preview/pr-44/services/svc.values.yaml: is a symlink",
    );
    tree.run(&["preview", "set", "--service", "svc", "--pr", "44", "9.9.9"])
        .fails_with(&["pr-44/services/svc.values.yaml: is a symlink"]);
    assert_eq!(
        snapshot(&tree.gitops()),
        before,
        "pr-45 must stay as it was"
    );
}

#[test]
fn symlinks_are_left_alone_only_inside_the_folder_of_another_tools_service() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/api/config.yaml",
        "serviceName: api\ndeploymentType: kubernetes\n",
    );
    tree.write("services/api/chart/values.yaml", "image: api\n");
    symlink(&tree, "values.yaml", "services/api/chart/values-prod.yaml");
    tree.write("environments/staging/api/values.yaml", "replicas: 1\n");
    symlink(
        &tree,
        "values.yaml",
        "environments/staging/api/values-eu.yaml",
    );
    scan(&tree).success();

    // Anywhere else under the layout's directories, a link could hide a Lambda file.
    tree.write("environments/dev/thumbnails.yaml", "replicas: 1\n");
    symlink(
        &tree,
        "thumbnails.yaml",
        "environments/dev/thumbnails-eu.yaml",
    );
    scan(&tree).fails_with(&[
        "environments/dev/thumbnails-eu.yaml: is a symlink under the layout's directories; refused",
    ]);
}

// --- Lambda-looking files off the layout ---

/// `thumbnailer` (a Lambda service with staging, production and preview 7) with its file at
/// `layout` moved to `near_miss`, and a second service so the repo still has one.
fn moved(layout: &str, near_miss: &str) -> Tree {
    let tree = Tree::new();
    tree.standard("thumbnailer", &[7]);
    tree.standard("other", &[]);
    let to = tree.gitops().join(near_miss);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::rename(tree.gitops().join(layout), to).unwrap();
    tree
}

fn refused_with_suggestion(tree: &Tree, near_miss: &str, meant: &str) {
    let before = snapshot(&tree.gitops());
    scan_here(tree).fails_with(&[
        &format!("{near_miss}: is not on the layout, so lambda-gitops would not read it"),
        &format!("did you mean `{meant}`?"),
    ]);
    plan_is_refused_before_terraform(tree, &format!("{near_miss}: is not on the layout"));
    assert_eq!(snapshot(&tree.gitops()), before);
}

const PREVIEW: &str = "environments/preview/pr-7/services/thumbnailer.values.yaml";

#[test]
fn a_preview_in_a_service_folder_is_an_error_with_the_path_it_meant() {
    let near_miss = "environments/preview/pr-7/service/thumbnailer.values.yaml";
    refused_with_suggestion(&moved(PREVIEW, near_miss), near_miss, PREVIEW);
}

#[test]
fn a_preview_directly_in_its_pr_folder_is_an_error_with_the_path_it_meant() {
    let near_miss = "environments/preview/pr-7/thumbnailer.values.yaml";
    refused_with_suggestion(&moved(PREVIEW, near_miss), near_miss, PREVIEW);
}

#[test]
fn a_preview_values_yml_is_an_error_with_the_path_it_meant() {
    let near_miss = "environments/preview/pr-7/services/thumbnailer.values.yml";
    refused_with_suggestion(&moved(PREVIEW, near_miss), near_miss, PREVIEW);
}

#[test]
fn a_service_config_beside_the_service_folders_is_an_error_with_the_path_it_meant() {
    let layout = "services/thumbnailer/config.yaml";
    let near_miss = "services/thumbnailer.yaml";
    refused_with_suggestion(&moved(layout, near_miss), near_miss, layout);
}

#[test]
fn a_service_folder_nested_under_services_is_an_error_with_the_path_it_meant() {
    let layout = "services/thumbnailer/config.yaml";
    let near_miss = "services/lambdas/thumbnailer/config.yaml";
    refused_with_suggestion(&moved(layout, near_miss), near_miss, layout);
}

#[test]
fn a_capitalised_staging_folder_is_an_error_with_the_path_it_meant() {
    let layout = "environments/staging/thumbnailer/config.yaml";
    let near_miss = "environments/Staging/thumbnailer/config.yaml";
    refused_with_suggestion(&moved(layout, near_miss), near_miss, layout);
}

#[test]
fn a_prod_folder_is_an_error_with_the_path_it_meant() {
    let layout = "environments/production/thumbnailer/config.yaml";
    let near_miss = "environments/prod/thumbnailer/config.yaml";
    refused_with_suggestion(&moved(layout, near_miss), near_miss, layout);
}

#[test]
fn a_staging_config_yml_is_an_error_with_the_path_it_meant() {
    let layout = "environments/staging/thumbnailer/config.yaml";
    let near_miss = "environments/staging/thumbnailer/config.yml";
    refused_with_suggestion(&moved(layout, near_miss), near_miss, layout);
}

#[test]
fn a_file_named_after_a_lambda_service_is_an_error_whatever_it_holds() {
    let tree = Tree::new();
    tree.standard("thumbnailer", &[]);
    tree.write("environments/preview/pr-9/Thumbnailer.yaml", "image: x\n");
    scan_here(&tree).fails_with(&[
        "environments/preview/pr-9/Thumbnailer.yaml: is not on the layout",
        "it is named after the Lambda service `thumbnailer`",
        "did you mean `environments/preview/pr-9/services/thumbnailer.values.yaml`?",
    ]);
}

#[test]
fn folders_of_other_tools_with_unrelated_yaml_stay_allowed() {
    let tree = Tree::new();
    tree.standard("svc", &[7]);
    // A Kubernetes service beside it, as an ArgoCD repo holds one.
    tree.write(
        "services/api/config.yaml",
        "serviceName: api\ndeploymentType: kubernetes\n",
    );
    tree.write("services/api/Chart.yaml", "apiVersion: v2\nname: api\n");
    tree.write("services/api/values.yaml", "image: {tag: '1.2'}\n");
    tree.write(
        "services/api/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    tree.write("services/README.md", "# services\n");
    // In a Kubernetes service's folder, even a file named after the Lambda service is its own.
    tree.write("services/api/templates/svc.yaml", "kind: ConfigMap\n");
    tree.write(
        "environments/staging/api/config.yaml",
        "serviceName: api\nenvName: staging\n",
    );
    tree.write("environments/staging/api/config.yml", "replicas: 2\n");
    tree.write(
        "environments/preview/pr-7/services/api.values.yaml",
        "image: {tag: pr-7}\n",
    );
    // Kustomize overlays and an app of apps, in folders that are no environment of ours.
    tree.write(
        "environments/base/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    );
    tree.write("environments/base/deployment.yaml", "kind: Deployment\n");
    tree.write("environments/dev/api/values.yaml", "replicas: 1\n");
    tree.write(
        "environments/prod/kustomization.yaml",
        "resources: [../base]\n",
    );
    tree.write("environments/prod/api/values.yaml", "replicas: 3\n");
    tree.write(
        "environments/apps.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nspec:\n  template: {}\n",
    );
    tree.write(
        "environments/.github/workflows/ci.yaml",
        "lambda: not ours\n",
    );
    tree.write("environments/preview/pr-7/README.md", "notes\n");
    let run = scan(&tree);
    run.success();
    assert!(run.stdout.contains("svc-staging"), "{}", run.stdout);
}

// --- Names lambda-gitops keeps in the work root ---

#[test]
fn a_service_named_like_the_work_roots_lock_file_is_refused_at_its_service_name_line() {
    let tree = Tree::new();
    tree.standard("lambda-gitops.lock", &[]);
    scan(&tree).fails_with(&[
        "services/lambda-gitops.lock/config.yaml:1: service name `lambda-gitops.lock` must be 1–64 characters of letters, digits, `_` or `-`",
    ]);
    plan_is_refused_before_terraform(&tree, "service name `lambda-gitops.lock`");
    assert!(!tree.work().exists(), "no work dir is made");
}

// --- Other tools' files are read leniently ---

#[test]
fn a_byte_order_mark_in_a_kubernetes_config_scans_fine() {
    let tree = Tree::new();
    tree.standard("svc", &[]);
    tree.write(
        "services/api/config.yaml",
        "\u{feff}serviceName: api\nreplicas: 2\n",
    );
    tree.write(
        "environments/staging/api/config.yaml",
        "\u{feff}replicas: 2\n",
    );
    scan(&tree).success();

    // A Lambda config with one is still refused, and so is a broken file that could be one.
    tree.write(
        "services/api/config.yaml",
        "\u{feff}serviceName: api\nlambda: [unclosed\n",
    );
    scan(&tree).fails_with(&["services/api/config.yaml:"]);
    tree.write(
        "services/api/config.yaml",
        "\u{feff}serviceName: api\ndeploymentType: lambda\n",
    );
    scan(&tree).fails_with(&["services/api/config.yaml:1: the file starts with a byte-order mark"]);
}
