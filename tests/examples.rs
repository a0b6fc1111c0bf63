//! `action.yml`, the workflows in `examples/github-actions/` and the project's own in
//! `.github/workflows/`, read through the project's own YAML layer: every `lambda-gitops`
//! invocation in them (`run:` scripts, `$(…)` inside them, and the action's
//! `command`/`service`/`args` inputs) is parsed by the real command line parser, so an example
//! never shows a flag the binary does not have. And the workflows ask for the least they need:
//! `contents: read`, `pull-requests: write` only where a job comments, `id-token: write` only
//! where a job takes AWS credentials, writes in the project's workflows only where a release
//! is published; no `${{ }}` inside a script (inputs reach scripts through the environment);
//! every action pinned to a commit SHA of a current major, with its version beside it; no
//! checkout that keeps its credentials; the action verifies the binary's SHA-256 and pipes
//! nothing into a shell; the apply example stops with a way forward when no plan was reviewed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::Parser;
use lambda_gitops::cli::Cli;
use lambda_gitops::yaml::{self, Document, Kind, Node};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(path: &Path) -> Document {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn workflows() -> Vec<(String, Document)> {
    workflows_in("examples/github-actions")
}

/// The project's own workflows (CI and releases).
fn project_workflows() -> Vec<(String, Document)> {
    workflows_in(".github/workflows")
}

/// Every workflow, examples and the project's own, and the action.
fn every_file() -> Vec<(String, Document)> {
    let mut files = workflows();
    files.extend(project_workflows());
    files.push(("action.yml".to_owned(), load(&root().join("action.yml"))));
    files
}

fn workflows_in(dir: &str) -> Vec<(String, Document)> {
    let dir = root().join(dir);
    let mut files: Vec<(String, Document)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, load(&path))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

fn text(node: Option<&Node>) -> Option<&str> {
    node.and_then(Node::as_scalar).map(|s| s.value.as_str())
}

fn items(node: Option<&Node>) -> &[Node] {
    match node.map(|n| &n.kind) {
        Some(Kind::Sequence(items)) => items,
        _ => &[],
    }
}

/// A `lambda-gitops` command line: its words, the first being the program.
#[derive(Debug, Clone)]
struct Invocation {
    words: Vec<String>,
    /// The subcommand is a variable (the action's own `"$COMMAND"`).
    dynamic: bool,
    line: usize,
}

/// One shell word or operator; variables and `${{ }}` become `1` (a value any flag takes,
/// numbers included); a word that is only an array expansion (`"${args[@]}"`) is dropped.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word { text: String, dynamic: bool },
    Operator,
}

/// Shell words of one line, enough for workflow scripts: quotes, `\`, `$VAR`, `${VAR}`,
/// `${{ … }}`, `$(…)` (whose script goes to `nested`), operators, comments.
fn tokenize(line: &str, nested: &mut Vec<String>) -> Vec<Token> {
    let chars: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut dynamic = false;
    let mut i = 0;
    let flush =
        |tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool, dynamic: &mut bool| {
            if *in_word && word != ARRAY {
                tokens.push(Token::Word {
                    text: std::mem::take(word),
                    dynamic: *dynamic,
                });
            }
            word.clear();
            *in_word = false;
            *dynamic = false;
        };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => flush(&mut tokens, &mut word, &mut in_word, &mut dynamic),
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            '"' => {
                in_word = true;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() => {
                            word.push(chars[i + 1]);
                            i += 2;
                        }
                        '$' => {
                            i = dollar(&chars, i, &mut word, nested);
                            dynamic = true;
                        }
                        other => {
                            word.push(other);
                            i += 1;
                        }
                    }
                }
            }
            '$' => {
                in_word = true;
                let next = dollar(&chars, i, &mut word, nested);
                dynamic = true;
                i = next;
                continue;
            }
            '\\' if i + 1 < chars.len() => {
                in_word = true;
                word.push(chars[i + 1]);
                i += 1;
            }
            '|' | ';' | '&' | '>' | '<' | '(' | ')' => {
                flush(&mut tokens, &mut word, &mut in_word, &mut dynamic);
                tokens.push(Token::Operator);
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
        i += 1;
    }
    flush(&mut tokens, &mut word, &mut in_word, &mut dynamic);
    tokens
}

/// What an array expansion (`${args[@]}`, `$@`) leaves in a word until it is dropped.
const ARRAY: &str = "\u{0}array";

/// An expansion at `chars[i] == '$'`: `1` into `word`; returns the index after it.
fn dollar(chars: &[char], i: usize, word: &mut String, nested: &mut Vec<String>) -> usize {
    let rest: String = chars[i..].iter().collect();
    if rest.starts_with("$@") {
        word.push_str(ARRAY);
        return i + 2;
    }
    if rest.starts_with("${") && !rest.starts_with("${{") {
        let end = rest.find('}').expect("a closed ${…}");
        if rest[..end].ends_with("[@]") {
            word.push_str(ARRAY);
            return i + rest[..=end].chars().count();
        }
    }
    let skip = if rest.starts_with("$(") {
        let mut depth = 0;
        let mut end = None;
        for (offset, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(offset);
                        break;
                    }
                }
                _ => {}
            }
        }
        let end = end.expect("a closed $(…)");
        nested.push(rest[2..end].to_owned());
        rest[..=end].chars().count()
    } else if rest.starts_with("${{") {
        let end = rest.find("}}").expect("a closed ${{ }}");
        rest[..end + 2].chars().count()
    } else if rest.starts_with("${") {
        rest.find('}').expect("a closed ${…}") + 1
    } else {
        1 + rest[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .count()
    };
    word.push('1');
    i + skip
}

/// The `lambda-gitops` invocations at command position in a script.
fn script_invocations(script: &str, line: usize, out: &mut Vec<Invocation>) {
    let joined = script.replace("\\\n", " ");
    for (offset, text) in joined.lines().enumerate() {
        let mut nested = Vec::new();
        let tokens = tokenize(text, &mut nested);
        let mut command_position = true;
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Operator => command_position = true,
                Token::Word { text: word, .. } if command_position => {
                    command_position = matches!(word.as_str(), "exec" | "time");
                    if word == "lambda-gitops" || word.ends_with("/lambda-gitops") {
                        let mut words = vec!["lambda-gitops".to_owned()];
                        let mut dynamic = false;
                        i += 1;
                        while let Some(Token::Word { text, dynamic: d }) = tokens.get(i) {
                            if words.len() == 1 {
                                dynamic = *d;
                            }
                            words.push(text.clone());
                            i += 1;
                        }
                        out.push(Invocation {
                            words,
                            dynamic,
                            line: line + offset,
                        });
                        continue;
                    }
                }
                Token::Word { .. } => {}
            }
            i += 1;
        }
        for script in nested {
            script_invocations(&script, line + offset, out);
        }
    }
}

/// The action's invocation for a step `uses: …/lambda-gitops@…` with `command` set.
fn action_invocation(step: &Node) -> Option<Invocation> {
    let uses = text(step.get(&["uses"]))?;
    if !(uses.starts_with("./") || uses.contains("/lambda-gitops@")) {
        return None;
    }
    let command = text(step.get(&["with", "command"])).unwrap_or("");
    if command.is_empty() {
        return None;
    }
    let mut words = vec!["lambda-gitops".to_owned(), command.to_owned()];
    if let Some(service) = text(step.get(&["with", "service"])).filter(|s| !s.is_empty()) {
        words.extend(["--service".to_owned(), service.to_owned()]);
    }
    let args = text(step.get(&["with", "args"])).unwrap_or("");
    for token in tokenize(args, &mut Vec::new()) {
        match token {
            Token::Word { text, .. } => words.push(text),
            Token::Operator => panic!("a shell operator in the action's args: {args:?}"),
        }
    }
    Some(Invocation {
        words,
        dynamic: false,
        line: step.line(),
    })
}

/// The invocations of each job's steps (for action.yml: its own steps, as job `action`).
fn invocations_by_job(document: &Document) -> BTreeMap<String, Vec<Invocation>> {
    let mut jobs: Vec<(String, &Node)> = Vec::new();
    if let Some(entries) = document.root.get(&["jobs"]).and_then(Node::entries) {
        for entry in entries {
            jobs.push((entry.key.as_scalar().unwrap().value.clone(), &entry.value));
        }
    }
    if let Some(runs) = document.root.get(&["runs"]) {
        jobs.push(("action".to_owned(), runs));
    }
    let mut out = BTreeMap::new();
    for (name, job) in jobs {
        let mut found = Vec::new();
        for step in items(job.get(&["steps"])) {
            if let Some(run) = step.get(&["run"]) {
                script_invocations(&run.as_scalar().unwrap().value, run.line(), &mut found);
            }
            found.extend(action_invocation(step));
        }
        out.insert(name, found);
    }
    out
}

fn check_against_the_parser(file: &str, invocation: &Invocation) {
    match Cli::try_parse_from(&invocation.words) {
        Ok(_) => {}
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayVersion | ErrorKind::DisplayHelp
            ) => {}
        Err(error) => panic!(
            "{file}:{}: `{}` is not a valid lambda-gitops command line:\n{error}",
            invocation.line,
            invocation.words.join(" ")
        ),
    }
}

#[test]
fn every_lambda_gitops_invocation_in_the_examples_and_the_action_parses() {
    let files = every_file();
    let mut subcommands: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, document) in &files {
        for invocation in invocations_by_job(document).values().flatten() {
            if invocation.dynamic {
                assert_eq!(
                    file, "action.yml",
                    "{file}:{}: a variable subcommand",
                    invocation.line
                );
                continue;
            }
            check_against_the_parser(file, invocation);
            subcommands
                .entry(file.clone())
                .or_default()
                .insert(invocation.words[1].clone());
        }
    }
    let expected = [
        ("action.yml", &["--version"][..]),
        ("lambda-apply.yml", &["apply", "matrix", "plan"]),
        ("lambda-drift.yml", &["plan"]),
        ("lambda-plan.yml", &["plan"]),
        ("lambda-preview-janitor.yml", &["preview"]),
        ("release.yml", &["--version"]),
    ];
    for (file, words) in expected {
        let words: BTreeSet<String> = words.iter().map(|w| (*w).to_owned()).collect();
        assert_eq!(
            subcommands.get(file),
            Some(&words),
            "the invocations in {file}"
        );
    }
    for (file, _) in files.iter().filter(|(file, _)| file != "ci.yml") {
        assert!(
            subcommands.contains_key(file),
            "no lambda-gitops invocation found in {file}"
        );
    }
}

#[test]
fn a_flag_the_binary_does_not_have_is_caught() {
    let mut found = Vec::new();
    script_invocations(
        "echo \"m=$(lambda-gitops matrix --no-such-flag)\" >> \"$GITHUB_OUTPUT\"\nlambda-gitops plan \\\n  --github-comment --service \"$SERVICE\" | tee out\n",
        1,
        &mut found,
    );
    let words: Vec<String> = found.iter().map(|i| i.words.join(" ")).collect();
    assert_eq!(
        words,
        [
            "lambda-gitops matrix --no-such-flag",
            "lambda-gitops plan --github-comment --service 1",
        ]
    );
    assert!(Cli::try_parse_from(&found[0].words).is_err());
    assert!(Cli::try_parse_from(&found[1].words).is_ok());
}

/// The effective permissions of each job: its own, else the workflow's.
fn permissions(document: &Document) -> BTreeMap<String, BTreeMap<String, String>> {
    let read = |node: Option<&Node>| -> Option<BTreeMap<String, String>> {
        let node = node?;
        if let Some(scalar) = node.as_scalar() {
            panic!("`permissions: {}`: name each permission", scalar.value);
        }
        Some(
            node.entries()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e.key.as_scalar().unwrap().value.clone(),
                        e.value.as_scalar().unwrap().value.clone(),
                    )
                })
                .collect(),
        )
    };
    let top = read(document.root.get(&["permissions"])).expect("top-level permissions");
    document
        .root
        .get(&["jobs"])
        .and_then(Node::entries)
        .unwrap()
        .iter()
        .map(|job| {
            let name = job.key.as_scalar().unwrap().value.clone();
            let own = read(job.value.get(&["permissions"]));
            (name, own.unwrap_or_else(|| top.clone()))
        })
        .collect()
}

#[test]
fn every_workflow_asks_for_the_least_it_needs() {
    for (file, document) in workflows() {
        let invocations = invocations_by_job(&document);
        for (job, granted) in permissions(&document) {
            let node = document.root.get(&["jobs", &job]).unwrap();
            let comments = invocations[&job]
                .iter()
                .any(|i| i.words.iter().any(|w| w == "--github-comment"));
            let aws = items(node.get(&["steps"])).iter().any(|step| {
                text(step.get(&["uses"]))
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            });
            let get = |name: &str| granted.get(name).map(String::as_str);
            assert_eq!(get("contents"), Some("read"), "{file}: job {job}");
            assert_eq!(
                get("pull-requests") == Some("write"),
                comments,
                "{file}: job {job}: `pull-requests: write` exactly where it comments"
            );
            assert_eq!(
                get("id-token") == Some("write"),
                aws,
                "{file}: job {job}: `id-token: write` exactly where it takes AWS credentials"
            );
            for (name, level) in &granted {
                assert!(
                    level != "write" || matches!(name.as_str(), "pull-requests" | "id-token"),
                    "{file}: job {job}: `{name}: write` is more than it needs"
                );
            }
        }
    }
}

#[test]
fn scripts_take_inputs_from_the_environment_never_from_expressions() {
    let files = every_file();
    let mut scripts = 0;
    for (file, document) in &files {
        for node in document.root.walk() {
            let Some(run) = node.get(&["run"]) else {
                continue;
            };
            scripts += 1;
            let script = &run.as_scalar().unwrap().value;
            assert!(
                !script.contains("${{"),
                "{file}:{}: an expression inside a script is a script injection waiting to happen:\n{script}",
                run.line()
            );
        }
    }
    assert!(scripts >= 10, "{scripts} scripts found");
}

#[test]
fn the_action_installs_a_release_binary_it_verified() {
    let action = load(&root().join("action.yml"));
    for input in ["command", "service", "args", "version"] {
        assert!(
            action.root.get(&["inputs", input, "description"]).is_some(),
            "input `{input}`"
        );
    }
    assert_eq!(text(action.root.get(&["runs", "using"])), Some("composite"));
    let steps = items(action.root.get(&["runs", "steps"]));
    let install = text(steps[0].get(&["run"])).unwrap();
    for needed in [
        "set -euo pipefail",
        "SHA256SUMS",
        "sha256sum",
        "proto='=https'",
        "--proto \"$proto\" --proto-redir '=https'",
        "\"$actual\" != \"$expected\"",
    ] {
        assert!(
            install.contains(needed),
            "the install step lacks {needed:?}"
        );
    }
    for line in install.lines() {
        let piped_to_shell = line.contains('|')
            && line.split('|').skip(1).any(|after| {
                matches!(after.split_whitespace().next(), Some("sh" | "bash" | "zsh"))
            });
        assert!(!piped_to_shell, "piped into a shell: {line}");
    }
    // The binary is checked before it is unpacked, and unpacked before it runs.
    let check = install.find("\"$actual\" != \"$expected\"").unwrap();
    let unpack = install.find("tar -xzf").unwrap();
    let path = install.find("GITHUB_PATH").unwrap();
    assert!(check < unpack && unpack < path);
    for step in steps {
        assert_eq!(text(step.get(&["shell"])), Some("bash"));
    }
}

/// Each file's `uses:` values with the line they are on, as written (comment included).
fn uses_lines(file: &str, document: &Document) -> Vec<(usize, String, String)> {
    let path = if file == "action.yml" {
        root().join(file)
    } else if project_workflows().iter().any(|(name, _)| name == file) {
        root().join(".github/workflows").join(file)
    } else {
        root().join("examples/github-actions").join(file)
    };
    let source = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = source.lines().collect();
    document
        .root
        .walk()
        .filter_map(|node| node.get(&["uses"]))
        .map(|uses| {
            let value = uses.as_scalar().unwrap().value.clone();
            let line = lines[uses.line() - 1].to_owned();
            (uses.line(), value, line)
        })
        .collect()
}

/// The first major of each action that runs on a runtime GitHub still supports (node24).
const OLDEST_MAJOR: [(&str, u32); 6] = [
    ("actions/checkout", 5),
    ("actions/upload-artifact", 6),
    ("actions/download-artifact", 7),
    ("aws-actions/configure-aws-credentials", 6),
    ("hashicorp/setup-terraform", 4),
    ("actions/attest-build-provenance", 3),
];

#[test]
fn every_action_is_pinned_to_a_commit_with_its_version_beside_it() {
    let mut pinned = 0;
    for (file, document) in every_file() {
        for (line, uses, text) in uses_lines(&file, &document) {
            let (action, reference) = uses.split_once('@').expect("owner/repo@ref");
            let comment = text.split_once(" # ").map(|(_, c)| c.trim()).unwrap_or("");
            if action == "your-org/lambda-gitops" {
                // The placeholder has no commit to pin: the line says so, for zizmor and for
                // whoever copies it.
                assert!(
                    comment.starts_with("zizmor: ignore[unpinned-uses]") && comment.contains("SHA"),
                    "{file}:{line}: the placeholder must say how to pin it: {text}"
                );
                continue;
            }
            assert!(
                reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit()),
                "{file}:{line}: {uses} is not pinned to a full commit SHA"
            );
            let version = comment
                .strip_prefix('v')
                .unwrap_or_else(|| panic!("{file}:{line}: no `# vX.Y.Z` beside {uses}"));
            assert_eq!(version.split('.').count(), 3, "{file}:{line}: {comment}");
            let major: u32 = version.split('.').next().unwrap().parse().unwrap();
            let oldest = OLDEST_MAJOR
                .iter()
                .find(|(name, _)| *name == action)
                .unwrap_or_else(|| panic!("{file}:{line}: {action} is not a known action"))
                .1;
            assert!(
                major >= oldest,
                "{file}:{line}: {action} v{major} runs on a retired runtime (v{oldest} or later)"
            );
            pinned += 1;
        }
    }
    assert!(pinned >= 20, "{pinned} pinned actions");
}

#[test]
fn no_checkout_keeps_its_credentials() {
    let mut checkouts = 0;
    for (file, document) in every_file() {
        for node in document.root.walk() {
            let Some(uses) = text(node.get(&["uses"])) else {
                continue;
            };
            if uses.starts_with("actions/checkout@") {
                checkouts += 1;
                assert_eq!(
                    text(node.get(&["with", "persist-credentials"])),
                    Some("false"),
                    "{file}:{}: a checkout that leaves its token in .git/config",
                    node.line()
                );
            }
        }
    }
    assert!(checkouts >= 10, "{checkouts} checkouts");
}

#[test]
fn the_projects_workflows_write_only_where_they_publish_a_release() {
    let expected: BTreeMap<(&str, &str), &[(&str, &str)]> = BTreeMap::from([
        (("ci.yml", "test"), &[("contents", "read")][..]),
        (("ci.yml", "msrv"), &[("contents", "read")][..]),
        (("release.yml", "build"), &[("contents", "read")][..]),
        (
            ("release.yml", "publish"),
            &[
                ("attestations", "write"),
                ("contents", "write"),
                ("id-token", "write"),
            ][..],
        ),
    ]);
    let mut seen = 0;
    for (file, document) in project_workflows() {
        for (job, granted) in permissions(&document) {
            let want: BTreeMap<String, String> = expected
                .get(&(file.as_str(), job.as_str()))
                .unwrap_or_else(|| panic!("{file}: job {job} is not expected"))
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(granted, want, "{file}: job {job}");
            seen += 1;
        }
    }
    assert_eq!(seen, expected.len());
}

/// The apply example's "Fetch the reviewed plan" script, run by bash with a `gh` that answers
/// as GitHub would in each dead end; returns the exit code, stderr, the summary and what `gh`
/// was asked.
fn fetch_the_reviewed_plan(gh: &str) -> (i32, String, String, String) {
    let (code, stderr, summary, asked, _) = fetch_plans(gh, "s3-notifier", &["s3-notifier"], &[]);
    (code, stderr, summary, asked)
}

/// [`fetch_the_reviewed_plan`] for the matrix job's `services`, in a checkout holding the
/// services `present`, with a reviewed plan of those in `planned`; also returns the
/// services the step hands to `apply`.
fn fetch_plans(
    gh: &str,
    services: &str,
    present: &[&str],
    planned: &[&str],
) -> (i32, String, String, String, String) {
    let document = load(&root().join("examples/github-actions/lambda-apply.yml"));
    let step = items(document.root.get(&["jobs", "apply", "steps"]))
        .iter()
        .find(|step| text(step.get(&["name"])) == Some("Fetch the reviewed plan"))
        .expect("the fetch step");
    let script = text(step.get(&["run"])).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let bin = temp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("gh");
    std::fs::write(
        &fake,
        format!("#!/usr/bin/env bash\necho \"gh $*\" >> \"$GH_LOG\"\n{gh}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let summary = temp.path().join("summary");
    let log = temp.path().join("gh.log");
    std::fs::write(&log, "").unwrap();
    let checkout = temp.path().join("checkout");
    for service in present {
        let dir = checkout.join("services").join(service);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), "deploymentType: lambda\n").unwrap();
    }
    std::fs::create_dir_all(&checkout).unwrap();
    for service in planned {
        std::fs::create_dir_all(temp.path().join("plans/plans").join(service)).unwrap();
    }
    let outputs = temp.path().join("outputs");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("GH_LOG", &log)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GH_TOKEN", "t")
        .env("REPOSITORY", "your-org/gitops")
        .env("MERGED", "0123456789abcdef0123456789abcdef01234567")
        .env("SERVICES", services)
        .env("PLANS", temp.path().join("plans"))
        .env("GITHUB_OUTPUT", &outputs)
        .current_dir(&checkout)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        std::fs::read_to_string(&summary).unwrap_or_default(),
        std::fs::read_to_string(&log).unwrap(),
        std::fs::read_to_string(&outputs).unwrap_or_default(),
    )
}

#[test]
fn the_apply_example_applies_a_jobs_planned_services_and_warns_of_one_removed() {
    let gh =
        r#"case "$*" in *commits*) echo 7 ;; *pulls/7*) echo abc ;; *"run list"*) echo 99 ;; esac"#;
    let (code, stderr, summary, _, outputs) = fetch_plans(gh, "a gone b", &["a", "b"], &["a", "b"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(outputs, "services=a b\n");
    assert!(
        stderr.contains("::warning title=gone was removed::")
            && stderr.contains("lambda-gitops destroy --service gone"),
        "{stderr}"
    );
    assert_eq!(summary, "");

    let (code, stderr, _, _, outputs) = fetch_plans(gh, "a b", &["a", "b"], &["a"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("has no plan of b"), "{stderr}");
    assert!(!outputs.contains("services="), "{outputs}");
}

#[test]
fn the_apply_example_stops_with_a_way_forward_when_no_plan_was_reviewed() {
    // A push without a pull request; a pull request without a successful plan run; a run
    // whose artifact is gone; an artifact without this service's plan.
    let cases = [
        ("exit 0", "without a merged pull request", false),
        (
            r#"case "$*" in *commits*) echo 7 ;; *pulls/7*) echo abc ;; esac"#,
            "no successful lambda-plan run",
            false,
        ),
        (
            r#"case "$*" in *commits*) echo 7 ;; *pulls/7*) echo abc ;; *"run list"*) echo 99 ;; *download*) exit 1 ;; esac"#,
            "has no artifact lambda-plan-7",
            true,
        ),
        (
            r#"case "$*" in *commits*) echo 7 ;; *pulls/7*) echo abc ;; *"run list"*) echo 99 ;; esac"#,
            "has no plan of s3-notifier",
            true,
        ),
    ];
    for (gh, says, downloads) in cases {
        let (code, stderr, summary, asked) = fetch_the_reviewed_plan(gh);
        assert_eq!(code, 1, "{says}: {stderr}");
        assert!(
            stderr.contains("::error title=no reviewed plan for s3-notifier::"),
            "{stderr}"
        );
        assert!(stderr.contains(says), "{says}: {stderr}");
        for text in [&stderr, &summary] {
            assert!(
                text.contains("Run workflow with service s3-notifier"),
                "no way forward: {text}"
            );
        }
        assert_eq!(
            asked.contains("run download"),
            downloads,
            "{says}: gh was asked:\n{asked}"
        );
        assert!(
            !asked.contains("run download  "),
            "an empty run id: {asked}"
        );
    }
}
