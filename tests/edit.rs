//! The edit commands on real files: `set-version`, `preview set|remove`, `promote` (without
//! AWS). Every test compares whole files before and after: only the edited values' bytes may
//! change — comments, key order, quoting, flow mappings, CRLF line breaks and a missing final
//! line break stay as they were — and a refused edit writes nothing at all.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Tree;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cluster-gitops/syrf");

const STAGING: &str = "environments/staging/s3-notifier/config.yaml";
const PRODUCTION: &str = "environments/production/s3-notifier/config.yaml";
const PR7: &str = "environments/preview/pr-7/services/s3-notifier.values.yaml";
const PR42: &str = "environments/preview/pr-42/services/s3-notifier.values.yaml";

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The bundled fixture repo, copied into a fresh tree.
fn fixture() -> Tree {
    let tree = Tree::new();
    copy_dir(Path::new(FIXTURE), &tree.gitops());
    tree
}

/// Every file under `dir` (relative path → bytes), and every directory (→ `None`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if path.is_dir() {
                files.insert(relative, None);
                stack.push(path);
            } else {
                files.insert(relative, Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    files
}

fn read(tree: &Tree, relative: &str) -> String {
    std::fs::read_to_string(tree.gitops().join(relative)).unwrap()
}

/// Asserts that the tree is `before` with exactly `changed` (relative path → new text).
fn assert_only(
    tree: &Tree,
    before: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    changed: &[(&str, String)],
) {
    let mut expected = before.clone();
    for (relative, text) in changed {
        expected.insert(PathBuf::from(relative), Some(text.clone().into_bytes()));
    }
    let after = snapshot(&tree.gitops());
    for (path, bytes) in &expected {
        let found = after.get(path);
        assert_eq!(
            found.map(|b| b.as_deref().map(String::from_utf8_lossy)),
            Some(bytes.as_deref().map(String::from_utf8_lossy)),
            "{}",
            path.display()
        );
    }
    let extra: Vec<_> = after
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(extra.is_empty(), "files appeared: {extra:?}");
}

#[test]
fn set_version_changes_only_the_version_and_commit_bytes_of_the_environment_file() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let original = read(&tree, STAGING);
    let run = tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "0.1.4",
        "--sha",
        SHA,
    ]);
    run.success();
    let expected = original
        .replace("\"0.1.6\"", "\"0.1.4\"")
        .replace("3f5c9a1e2b7d4c6f8a0b1c2d3e4f5a6b7c8d9e0f", SHA)
        .replace("\"3f5c9a1\"", "\"0123456\"");
    assert_only(&tree, &before, &[(STAGING, expected)]);
    assert_eq!(
        run.stdout,
        format!(
            "{gitops}/{STAGING}: lambda.version 0.1.6 → 0.1.4\n\
             {gitops}/{STAGING}: gitVersion.sha 3f5c9a1e2b7d4c6f8a0b1c2d3e4f5a6b7c8d9e0f → {SHA}\n\
             {gitops}/{STAGING}: gitVersion.shortSha 3f5c9a1 → 0123456\n",
            gitops = tree.gitops().display()
        )
    );
    // The repo still validates, and says so.
    let scan = tree.run(&["scan", "--format", "json"]);
    scan.success();
    assert_eq!(scan.json()["services"][0]["staging"]["version"], "0.1.4");
}

#[test]
fn every_lambda_fixture_file_round_trips_byte_for_byte() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let edits: [(&str, &[&str], &[&str]); 4] = [
        (
            STAGING,
            &[
                "set-version",
                "--service",
                "s3-notifier",
                "--env",
                "staging",
                "0.1.4",
                "--sha",
                SHA,
            ],
            &[
                "set-version",
                "--service",
                "s3-notifier",
                "--env",
                "staging",
                "0.1.6",
                "--sha",
                "3f5c9a1e2b7d4c6f8a0b1c2d3e4f5a6b7c8d9e0f",
            ],
        ),
        (
            PRODUCTION,
            &[
                "set-version",
                "--service",
                "s3-notifier",
                "--env",
                "production",
                "0.1.6",
                "--sha",
                SHA,
            ],
            &[
                "set-version",
                "--service",
                "s3-notifier",
                "--env",
                "production",
                "0.1.5",
                "--sha",
                "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
            ],
        ),
        (
            PR7,
            &[
                "preview",
                "set",
                "--service",
                "s3-notifier",
                "--pr",
                "7",
                "0.1.4",
                "--sha",
                SHA,
            ],
            &[
                "preview",
                "set",
                "--service",
                "s3-notifier",
                "--pr",
                "7",
                "0.1.6-pr7",
                "--sha",
                "0000007abcdef",
            ],
        ),
        (
            PR42,
            &[
                "preview",
                "set",
                "--service",
                "s3-notifier",
                "--pr",
                "42",
                "0.1.5",
                "--sha",
                SHA,
            ],
            &[
                "preview",
                "set",
                "--service",
                "s3-notifier",
                "--pr",
                "42",
                "0.1.6-pr42",
                "--sha",
                "0000042abcdef",
            ],
        ),
    ];
    for (file, there, back) in edits {
        let original = read(&tree, file);
        tree.run(there).success();
        let edited = read(&tree, file);
        assert_ne!(edited, original, "{file}");
        // Only the values changed: the same lines, the same length apart from them.
        assert_eq!(edited.lines().count(), original.lines().count(), "{file}");
        for (old, new) in original.lines().zip(edited.lines()) {
            if old != new {
                let key = |line: &str| line.split(':').next().unwrap().to_owned();
                assert_eq!(key(old), key(new), "{file}: {old:?} → {new:?}");
            }
        }
        tree.run(back).success();
        assert_eq!(read(&tree, file), original, "{file} did not round-trip");
    }
    assert_only(&tree, &before, &[]);
}

#[test]
fn setting_what_a_file_already_says_leaves_it_untouched() {
    let tree = fixture();
    let path = tree.gitops().join(STAGING);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let before = snapshot(&tree.gitops());
    let run = tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "0.1.6",
    ]);
    run.success();
    assert_eq!(
        run.stdout,
        format!("{}/{STAGING}: unchanged\n", tree.gitops().display())
    );
    assert_only(&tree, &before, &[]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn promote_copies_stagings_version_and_commit_into_production() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let original = read(&tree, PRODUCTION);
    let run = tree.run(&[
        "promote",
        "--service",
        "s3-notifier",
        "--from",
        "staging",
        "--to",
        "production",
    ]);
    run.success();
    let expected = original
        .replace("\"0.1.5\"", "\"0.1.6\"")
        .replace(
            "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
            "3f5c9a1e2b7d4c6f8a0b1c2d3e4f5a6b7c8d9e0f",
        )
        .replace("\"9e8d7c6\"", "\"3f5c9a1\"");
    assert_only(&tree, &before, &[(PRODUCTION, expected)]);
    assert!(
        run.stdout.contains(": lambda.version 0.1.5 → 0.1.6\n"),
        "{}",
        run.stdout
    );
    // Promoting again changes nothing.
    let again = tree.run(&["promote", "--service", "s3-notifier"]);
    again.success();
    assert!(again.stdout.ends_with(": unchanged\n"), "{}", again.stdout);
}

/// A service `a` with path packages for `versions`, and its staging and production files
/// written as given.
fn styled(staging: &str, production: &str, versions: &[&str]) -> Tree {
    let tree = Tree::new();
    tree.path_service("a");
    for version in versions {
        tree.package(&format!("packages/a-{version}.zip"), version);
    }
    tree.write("environments/staging/a/config.yaml", staging);
    tree.write("environments/production/a/config.yaml", production);
    tree
}

#[test]
fn quoting_comments_flow_mappings_crlf_and_a_missing_final_line_break_are_kept() {
    let staging = "# Staging runs what CI built last.\r\n\
                   serviceName: a   # the service\r\n\
                   envName: staging\r\n\
                   lambda:\r\n\
                   \x20 version: 1.0.0        # plain, with a comment\r\n\
                   \x20 functionName: 'a-staging'\r\n\
                   \x20 s3TriggerPrefix: \"staging/\"\r\n\
                   gitVersion: {sha: 'aaaaaaaaaaaa', shortSha: \"aaaaaaa\"}   # flow\r\n";
    let production = "serviceName: a\nenvName: production\nlambda:\n  version: '1.0.0'\n  functionName: a-prod\n  s3TriggerPrefix: Projects/\ngitVersion:\n  sha: bbbbbbbbbbbb";
    let tree = styled(staging, production, &["1.0.0", "1.1.0"]);
    let before = snapshot(&tree.gitops());
    tree.run(&[
        "set-version",
        "--service",
        "a",
        "--env",
        "staging",
        "1.1.0",
        "--sha",
        "cccccccccccccccc",
    ])
    .success();
    tree.run(&[
        "set-version",
        "--service",
        "a",
        "--env",
        "production",
        "1.1.0",
        "--sha",
        "dddddddddddd",
    ])
    .success();
    assert_only(
        &tree,
        &before,
        &[
            (
                "environments/staging/a/config.yaml",
                staging
                    .replace("version: 1.0.0 ", "version: 1.1.0 ")
                    .replace("'aaaaaaaaaaaa'", "'cccccccccccccccc'")
                    .replace("\"aaaaaaa\"", "\"ccccccc\""),
            ),
            (
                "environments/production/a/config.yaml",
                production
                    .replace("'1.0.0'", "'1.1.0'")
                    .replace("bbbbbbbbbbbb", "dddddddddddd"),
            ),
        ],
    );
}

#[test]
fn a_plain_value_that_would_read_back_as_a_number_is_quoted() {
    let production = "serviceName: a\nenvName: production\nlambda:\n  version: 1.0.0\n  functionName: a-prod\n  s3TriggerPrefix: Projects/\n";
    let tree = styled(
        &production
            .replace("production", "staging")
            .replace("a-prod", "a-staging")
            .replace("Projects/", "staging/"),
        production,
        &["1.0.0", "1.10"],
    );
    tree.run(&[
        "set-version",
        "--service",
        "a",
        "--env",
        "production",
        "1.10",
    ])
    .success();
    assert_eq!(
        read(&tree, "environments/production/a/config.yaml"),
        production.replace("version: 1.0.0", "version: \"1.10\"")
    );
}

#[test]
fn a_missing_git_version_is_added_in_the_files_own_style() {
    let production = "serviceName: a\r\nenvName: production\r\nlambda:\r\n    version: \"1.0.0\"\r\n    functionName: a-prod\r\n    s3TriggerPrefix: Projects/";
    let tree = styled(
        &production
            .replace("production", "staging")
            .replace("a-prod", "a-staging")
            .replace("Projects/", "staging/"),
        production,
        &["1.0.0", "1.1.0"],
    );
    let run = tree.run(&[
        "set-version",
        "--service",
        "a",
        "--env",
        "production",
        "1.1.0",
        "--sha",
        SHA,
    ]);
    run.success();
    assert_eq!(
        read(&tree, "environments/production/a/config.yaml"),
        format!(
            "{}\r\ngitVersion:\r\n    sha: \"{SHA}\"\r\n    shortSha: \"0123456\"",
            production.replace("1.0.0", "1.1.0")
        )
    );
    assert!(
        run.stdout.contains(": gitVersion.sha (none) → 0123456789"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_edit_that_would_leave_the_repo_invalid_writes_nothing() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    // No package for 9.9.9: the tree after the edit does not resolve.
    let run = tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "9.9.9",
    ]);
    run.fails_with(&[
        &format!("{}/{STAGING}:4: package", tree.gitops().display()),
        "9.9.9",
        "the gitops dir would be invalid after this edit (1 problem); nothing was written",
    ]);
    // A preview that would be invalid: neither the file nor its directory appears.
    let run = tree.run(&[
        "preview",
        "set",
        "--service",
        "s3-notifier",
        "--pr",
        "9",
        "0.1.6",
        "--s3-key",
        "/absolute.zip",
    ]);
    run.fails_with(&[
        "pr-9/services/s3-notifier.values.yaml:",
        "s3Key",
        "nothing was written",
    ]);
    assert_only(&tree, &before, &[]);
}

#[test]
fn bad_arguments_are_refused_before_anything_is_read() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "1.0 beta",
    ])
    .fails_with(&["`VERSION` `1.0 beta` must be"]);
    tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "1.0.0",
        "--sha",
        "nothex!",
    ])
    .fails_with(&["`--sha` `nothex!` must be 7–40 hexadecimal digits"]);
    tree.run(&[
        "preview",
        "set",
        "--service",
        "../../etc",
        "--pr",
        "1",
        "1.0.0",
    ])
    .fails_with(&["`--service` `../../etc` must be"]);
    tree.run(&["preview", "remove", "--service", "s3-notifier", "--pr", "0"])
        .fails_with(&["0"]);
    tree.run(&[
        "set-version",
        "--service",
        "api",
        "--env",
        "staging",
        "1.0.0",
    ])
    .fails_with(&["`api` is not a Lambda service", "`s3-notifier`"]);
    assert_only(&tree, &before, &[]);
}

#[test]
fn a_yaml_error_in_the_file_to_edit_names_its_file_and_line() {
    let tree = fixture();
    let broken = read(&tree, STAGING).replace("  functionName:", "  functionName: [unclosed\n  x:");
    tree.write(STAGING, &broken);
    tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "0.1.5",
    ])
    .fails_with(&[&format!("{}/{STAGING}:", tree.gitops().display())]);
    assert_eq!(read(&tree, STAGING), broken);
}

#[test]
fn an_environment_without_a_config_is_an_error_with_a_hint() {
    let tree = fixture();
    tree.remove("environments/production/s3-notifier");
    tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "production",
        "0.1.6",
    ])
    .fails_with(&[
        "`s3-notifier` has no production config",
        "hint: an environment is added by hand",
    ]);
    tree.run(&["promote", "--service", "s3-notifier"])
        .fails_with(&["has no production config"]);
}

#[test]
fn promoting_without_a_commit_onto_an_environment_that_has_one_is_refused() {
    let staging = "serviceName: a\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: a-staging\n  s3TriggerPrefix: staging/\n";
    let production = "serviceName: a\nenvName: production\nlambda:\n  version: \"1.0.0\"\n  functionName: a-prod\n  s3TriggerPrefix: Projects/\ngitVersion: {sha: abcdef1234}\n";
    let tree = styled(staging, production, &["1.0.0", "1.1.0"]);
    let before = snapshot(&tree.gitops());
    tree.run(&["promote", "--service", "a"]).fails_with(&[
        "production has a `gitVersion` and staging has none",
        "hint: add `gitVersion",
    ]);
    assert_only(&tree, &before, &[]);
}

#[test]
fn preview_set_creates_a_small_commented_valid_file() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let run = tree.run(&[
        "preview",
        "set",
        "--service",
        "s3-notifier",
        "--pr",
        "9",
        "0.1.6",
        "--sha",
        SHA,
        "--s3-key",
        "lambda-packages/pr-9.zip",
    ]);
    run.success();
    let file = "environments/preview/pr-9/services/s3-notifier.values.yaml";
    let expected = format!(
        "# The preview of `s3-notifier` for pull request #9, written by `lambda-gitops preview set`.\n\
         # `lambda-gitops preview remove` (or `preview prune`) removes it once the pull request closes.\n\
         serviceName: s3-notifier\n\
         deploymentType: lambda\n\
         lambda:\n\
         \x20 version: \"0.1.6\"\n\
         \x20 commitSha: \"{SHA}\"\n\
         \x20 s3Key: \"lambda-packages/pr-9.zip\"              # an object already in the service's packageBucket\n\
         gitVersion:\n\
         \x20 sha: \"{SHA}\"\n\
         \x20 shortSha: \"0123456\"\n"
    );
    let mut with_dirs = before.clone();
    for dir in [
        "environments/preview/pr-9",
        "environments/preview/pr-9/services",
    ] {
        with_dirs.insert(PathBuf::from(dir), None);
    }
    assert_only(&tree, &with_dirs, &[(file, expected)]);
    let shown = format!("{}/{file}", tree.gitops().display());
    assert_eq!(
        run.stdout,
        format!(
            "{shown}: created\n{shown}: lambda.version (none) → 0.1.6\n{shown}: lambda.commitSha (none) → {SHA}\n\
             {shown}: lambda.s3Key (none) → lambda-packages/pr-9.zip\n{shown}: gitVersion.sha (none) → {SHA}\n\
             {shown}: gitVersion.shortSha (none) → 0123456\n"
        )
    );
    let scan = tree.run(&["scan", "--format", "json"]);
    scan.success();
    let previews = &scan.json()["services"][0]["previews"];
    assert_eq!(previews[1]["deployment"], "pr-9", "{previews}");
    assert_eq!(
        previews[1]["target"], "pr-9",
        "the key's first name stays readable"
    );
    assert_eq!(previews[1]["package"]["kind"], "s3");
}

#[test]
fn preview_set_edits_an_existing_preview_in_place() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let original = read(&tree, PR42);
    tree.run(&[
        "preview",
        "set",
        "--service",
        "s3-notifier",
        "--pr",
        "42",
        "0.1.5",
        "--s3-key",
        "lambda-packages/pr-42.zip",
    ])
    .success();
    let expected = original.replace("\"0.1.6-pr42\"", "\"0.1.5\"").replace(
        "  commitSha: \"0000042abcdef\"\n",
        "  commitSha: \"0000042abcdef\"\n  s3Key: \"lambda-packages/pr-42.zip\"\n",
    );
    assert_only(&tree, &before, &[(PR42, expected)]);
}

#[test]
fn preview_remove_removes_the_file_and_a_pr_directory_left_empty() {
    let tree = Tree::new();
    tree.standard("a", &[5]);
    tree.standard("b", &[5, 6]);
    let dir = tree.gitops().join("environments/preview/pr-6");
    let run = tree.run(&["preview", "remove", "--service", "b", "--pr", "6"]);
    run.success();
    assert!(!dir.exists());
    let shown = format!("{}/environments/preview/pr-6", tree.gitops().display());
    assert_eq!(
        run.stdout,
        format!(
            "{shown}/services/b.values.yaml: removed\n{shown}: removed (nothing else was left in it)\n"
        )
    );
    // pr-5 still holds a's preview: the directory is a's.
    tree.run(&["preview", "remove", "--service", "b", "--pr", "5"])
        .success();
    assert!(tree
        .gitops()
        .join("environments/preview/pr-5/services/a.values.yaml")
        .is_file());
    assert!(!tree
        .gitops()
        .join("environments/preview/pr-5/services/b.values.yaml")
        .exists());
}

#[test]
fn preview_remove_leaves_a_pr_directory_holding_other_services_files() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    tree.run(&["preview", "remove", "--service", "s3-notifier", "--pr", "7"])
        .success();
    let mut expected = before.clone();
    expected.remove(Path::new(PR7));
    assert_eq!(snapshot(&tree.gitops()), expected);
}

#[test]
fn removing_a_preview_that_is_not_there_changes_nothing() {
    let tree = fixture();
    let before = snapshot(&tree.gitops());
    let run = tree.run(&["preview", "remove", "--service", "s3-notifier", "--pr", "8"]);
    run.success();
    assert!(
        run.stdout
            .ends_with("pr-8/services/s3-notifier.values.yaml: unchanged (no such preview)\n"),
        "{}",
        run.stdout
    );
    assert_only(&tree, &before, &[]);
}

#[test]
fn nothing_is_written_through_a_symlink_out_of_the_gitops_dir() {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let outside = tree.temp.path().join("outside");
    std::fs::create_dir_all(outside.join("previews")).unwrap();
    std::fs::write(
        outside.join("staging.yaml"),
        read(&tree, "environments/staging/a/config.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.join("previews"),
        tree.gitops().join("environments/preview"),
    )
    .unwrap();
    tree.remove("environments/staging/a/config.yaml");
    std::os::unix::fs::symlink(
        outside.join("staging.yaml"),
        tree.gitops().join("environments/staging/a/config.yaml"),
    )
    .unwrap();
    let before = snapshot(&outside);
    tree.run(&["preview", "set", "--service", "a", "--pr", "3", "1.0.0"])
        .fails_with(&["resolves outside the gitops dir"]);
    tree.run(&["set-version", "--service", "a", "--env", "staging", "1.0.0"])
        .fails_with(&["resolves outside the gitops dir"]);
    assert_eq!(snapshot(&outside), before);
}

/// Every entry under `dir`, symlinks not followed: path → bytes, `dir`, or `-> target`.
fn entries(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display()).into_bytes()
            } else if meta.is_dir() {
                stack.push(path.clone());
                b"dir".to_vec()
            } else {
                std::fs::read(&path).unwrap()
            };
            out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), what);
        }
    }
    out
}

/// The fixture with `environments/preview/pr-42` moved to `pr-43`, and `pr-42` a symlink
/// to it (as a commit can hold).
fn preview_folder_linked_to_another() -> Tree {
    let tree = fixture();
    let preview = tree.gitops().join("environments/preview");
    std::fs::rename(preview.join("pr-42"), preview.join("pr-43")).unwrap();
    std::os::unix::fs::symlink("pr-43", preview.join("pr-42")).unwrap();
    tree
}

// The symlink tests assert what holds whichever layer refuses (the scan, or the writer):
// exit 1, the path named, nothing changed.

#[test]
fn preview_remove_through_a_symlinked_preview_folder_is_refused_with_both_folders_unchanged() {
    let tree = preview_folder_linked_to_another();
    let before = entries(&tree.gitops());
    let run = tree.run(&[
        "preview",
        "remove",
        "--service",
        "s3-notifier",
        "--pr",
        "42",
    ]);
    run.fails_with(&["environments/preview/pr-42"]);
    assert_eq!(entries(&tree.gitops()), before);
    // Also when the linked folder holds nothing else (its `services/` would go too).
    tree.remove("environments/preview/pr-43/services/api.values.yaml");
    let before = entries(&tree.gitops());
    tree.run(&[
        "preview",
        "remove",
        "--service",
        "s3-notifier",
        "--pr",
        "42",
    ])
    .fails_with(&["environments/preview/pr-42"]);
    assert_eq!(entries(&tree.gitops()), before);
}

#[test]
fn preview_set_through_a_symlinked_values_file_is_refused_and_the_other_preview_is_unchanged() {
    let tree = fixture();
    let preview = tree.gitops().join("environments/preview");
    std::fs::create_dir_all(preview.join("pr-45/services")).unwrap();
    std::fs::create_dir_all(preview.join("pr-44/services")).unwrap();
    std::fs::copy(
        tree.gitops().join(PR42),
        preview.join("pr-45/services/s3-notifier.values.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "../../pr-45/services/s3-notifier.values.yaml",
        preview.join("pr-44/services/s3-notifier.values.yaml"),
    )
    .unwrap();
    let before = entries(&tree.gitops());
    // 0.1.5 has a package: the edit itself is valid, only the link stands in its way.
    let run = tree.run(&[
        "preview",
        "set",
        "--service",
        "s3-notifier",
        "--pr",
        "44",
        "0.1.5",
        "--sha",
        SHA,
    ]);
    run.fails_with(&["environments/preview/pr-44/services/s3-notifier.values.yaml"]);
    assert_eq!(entries(&tree.gitops()), before);
    // A new preview inside a symlinked folder is refused too.
    std::fs::remove_file(preview.join("pr-44/services/s3-notifier.values.yaml")).unwrap();
    std::fs::remove_dir_all(preview.join("pr-44")).unwrap();
    std::os::unix::fs::symlink("pr-45", preview.join("pr-44")).unwrap();
    std::fs::remove_file(preview.join("pr-45/services/s3-notifier.values.yaml")).unwrap();
    let before = entries(&tree.gitops());
    tree.run(&[
        "preview",
        "set",
        "--service",
        "s3-notifier",
        "--pr",
        "44",
        "0.1.5",
    ])
    .fails_with(&["environments/preview/pr-44"]);
    assert_eq!(entries(&tree.gitops()), before);
}

#[test]
fn set_version_and_promote_through_a_symlinked_config_file_are_refused_with_nothing_changed() {
    let tree = fixture();
    let shared = tree.gitops().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    for (env, file) in [("staging", STAGING), ("production", PRODUCTION)] {
        let target = shared.join(format!("s3-notifier-{env}.yaml"));
        std::fs::rename(tree.gitops().join(file), &target).unwrap();
        std::os::unix::fs::symlink(
            format!("../../../shared/s3-notifier-{env}.yaml"),
            tree.gitops().join(file),
        )
        .unwrap();
    }
    let before = entries(&tree.gitops());
    tree.run(&[
        "set-version",
        "--service",
        "s3-notifier",
        "--env",
        "staging",
        "0.1.4",
        "--sha",
        SHA,
    ])
    .fails_with(&[STAGING]);
    assert_eq!(entries(&tree.gitops()), before);
    tree.run(&["promote", "--service", "s3-notifier"])
        .fails_with(&[PRODUCTION]);
    assert_eq!(entries(&tree.gitops()), before);
}

/// Versions, SHAs and S3 keys that a YAML 1.1 (or 1.2) reader takes for something else
/// when written plain: a number, a boolean, null, a date, a merge or value key…
const TRICKY: [(&str, &str, &str); 12] = [
    ("0b101", "1234567", "~"),
    ("1_000", "1234e56", "1:20"),
    ("0o17", "0123456", "null"),
    ("1e3", "0b10110", "="),
    (".5", "1000000", "<<"),
    ("yes", "0000042", "2001-12-14"),
    ("on", "7e10000", "yes"),
    ("2001-12-14", "1234567890", "1,000"),
    ("010", "0755000", "a: b"),
    ("+1", "1e99999", "x #y"),
    ("Off", "0123456789abcdef", "*x"),
    ("1.", "12345678", "0X1F"),
];

#[test]
fn yaml_1_1_numbers_booleans_nulls_and_dates_are_written_quoted_and_read_back_as_text() {
    // Every value written plain today, in block and flow mappings: only the quoting moves.
    let staging = "serviceName: a\nenvName: staging\nlambda:\n  version: 1.0.0\n  functionName: a-staging\n  s3TriggerPrefix: staging/\ngitVersion: {sha: abcdef1234, shortSha: abcdef1}\n";
    let production = "serviceName: a\nenvName: production\nlambda:\n  version: 1.0.0\n  functionName: a-prod\n  s3TriggerPrefix: Projects/\ngitVersion:\n  sha: abcdef1234\n  shortSha: abcdef1\n";
    let versions: Vec<&str> = TRICKY.iter().map(|(v, _, _)| *v).collect();
    let tree = styled(staging, production, &[&["1.0.0"], &versions[..]].concat());
    let preview = "environments/preview/pr-100/services/a.values.yaml";
    let plain_preview = "serviceName: a\ndeploymentType: lambda\nlambda:\n  version: 1.0.0\n  commitSha: abcdef1234\n  s3Key: lambda/pr-100.zip\ngitVersion: {sha: abcdef1234, shortSha: abcdef1}\n";
    let mut reads = Vec::new();
    let mut expected = Vec::new();
    let mut written = Vec::new();
    let mut read_back = |file: &str, path: &[&str], value: &str| {
        reads.push(common::pyyaml::Read {
            doc: read(&tree, file),
            path: path.iter().map(|p| p.to_string()).collect(),
        });
        expected.push(value.to_owned());
    };
    for (i, (version, sha, key)) in TRICKY.iter().enumerate() {
        // Each value goes into a plain slot.
        tree.write("environments/staging/a/config.yaml", staging);
        tree.write("environments/production/a/config.yaml", production);
        tree.write(preview, plain_preview);
        let pr = (i + 1).to_string();
        for args in [
            &[
                "set-version",
                "--service",
                "a",
                "--env",
                "staging",
                version,
                "--sha",
                sha,
            ][..],
            &["promote", "--service", "a"],
            &[
                "preview",
                "set",
                "--service",
                "a",
                "--pr",
                &pr,
                version,
                "--sha",
                sha,
            ],
            &[
                "preview",
                "set",
                "--service",
                "a",
                "--pr",
                "100",
                version,
                "--sha",
                sha,
                "--s3-key",
                key,
            ],
        ] {
            tree.run(args).success();
        }
        let short = &sha[..7];
        let new = format!("environments/preview/pr-{pr}/services/a.values.yaml");
        for file in [
            "environments/staging/a/config.yaml",
            "environments/production/a/config.yaml",
            &new,
            preview,
        ] {
            read_back(file, &["lambda", "version"], version);
            read_back(file, &["gitVersion", "sha"], sha);
            read_back(file, &["gitVersion", "shortSha"], short);
        }
        for file in [&new[..], preview] {
            read_back(file, &["lambda", "commitSha"], sha);
        }
        read_back(preview, &["lambda", "s3Key"], key);
        for file in [
            "environments/staging/a/config.yaml",
            "environments/production/a/config.yaml",
            preview,
        ] {
            written.push((read(&tree, file), *version, short));
        }
        // lambda-gitops reads back the same strings.
        let scan = tree.run(&["scan", "--format", "json"]);
        scan.success();
        let service = &scan.json()["services"][0];
        for env in ["staging", "production"] {
            assert_eq!(service[env]["version"], *version, "{service}");
            assert_eq!(service[env]["commit_sha"], *sha, "{service}");
        }
        let previews = service["previews"].as_array().unwrap();
        for target in [format!("pr-{pr}"), "pr-100".to_owned()] {
            let found = previews
                .iter()
                .find(|p| p["target"] == target.as_str())
                .unwrap();
            assert_eq!(found["version"], *version, "{found}");
            assert_eq!(found["commit_sha"], *sha, "{found}");
        }
        let pr100 = previews.iter().find(|p| p["target"] == "pr-100").unwrap();
        assert_eq!(pr100["package"]["key"], *key, "{pr100}");
    }
    common::pyyaml::assert_strings(&reads, &expected);
    // Each value is double-quoted, in block and flow mappings alike.
    for (text, version, short) in written {
        assert!(text.contains(&format!("version: \"{version}\"")), "{text}");
        assert!(text.contains(&format!("shortSha: \"{short}\"")), "{text}");
    }
}

#[test]
fn preview_set_adding_a_commit_and_an_s3_key_to_a_preview_ending_in_its_lambda_block_puts_each_in_place(
) {
    let tree = Tree::new();
    tree.standard("a", &[]);
    let file = "environments/preview/pr-3/services/a.values.yaml";
    tree.write(
        file,
        "serviceName: a\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0\"\n",
    );
    tree.run(&[
        "preview",
        "set",
        "--service",
        "a",
        "--pr",
        "3",
        "1.1.0",
        "--sha",
        SHA,
        "--s3-key",
        "pr-3.zip",
    ])
    .success();
    assert_eq!(
        read(&tree, file),
        format!(
            "serviceName: a\ndeploymentType: lambda\nlambda:\n  version: \"1.1.0\"\n  s3Key: \"pr-3.zip\"\ngitVersion:\n  sha: \"{SHA}\"\n  shortSha: \"0123456\"\n"
        )
    );
}
