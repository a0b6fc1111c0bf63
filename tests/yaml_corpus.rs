//! The hostile-input corpus (`tests/corpus/yaml/`, described in its README) and the inputs
//! too large to keep there, each run through `lambda-gitops vars` in a valid tree: each is
//! refused with its file and line (or, for `expect-stdout`, read exactly as written).

mod common;

use std::path::Path;

use common::Tree;

const DEFAULT_AS: &str = "environments/staging/svc/config.yaml";

struct Case {
    name: String,
    as_path: String,
    bytes: Vec<u8>,
    expect: Vec<String>,
    expect_stdout: Vec<String>,
}

impl Case {
    /// Runs the case; `Err` says how the outcome differs from what was expected.
    fn run(&self) -> Result<(), String> {
        let tree = Tree::new();
        tree.standard("svc", &[7]);
        let path = tree.gitops().join(&self.as_path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &self.bytes).unwrap();
        let run = tree.run(&["vars", "--service", "svc"]);
        let fail = |what: String| Err(format!("`{}`: {what}\nstderr:\n{}", self.name, run.stderr));
        if self.expect.is_empty() {
            if run.code != 0 {
                return fail(format!("expected success, got exit {}", run.code));
            }
            if let Some(needle) = self.expect_stdout.iter().find(|n| !run.stdout.contains(*n)) {
                return fail(format!("stdout lacks {needle:?}:\n{}", run.stdout));
            }
            return Ok(());
        }
        if run.code != 1 || !run.stdout.is_empty() {
            return fail(format!(
                "expected exit 1 and no stdout, got exit {}",
                run.code
            ));
        }
        if let Some(needle) = self.expect.iter().find(|n| !run.stderr.contains(*n)) {
            return fail(format!("stderr lacks {needle:?}"));
        }
        if run.stderr.lines().any(|line| line.chars().count() > 600) {
            return fail("an error line is over 600 characters".into());
        }
        Ok(())
    }
}

/// A corpus file: its leading `# key: value` comments say what to expect.
fn from_file(path: &Path) -> Case {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut case = Case {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        as_path: DEFAULT_AS.to_owned(),
        bytes: bytes.clone(),
        expect: Vec::new(),
        expect_stdout: Vec::new(),
    };
    for line in text.trim_start_matches('\u{feff}').lines() {
        let Some(comment) = line.strip_prefix("# ") else {
            break;
        };
        let Some((key, value)) = comment.split_once(": ") else {
            break;
        };
        match key {
            "as" => case.as_path = value.to_owned(),
            "expect" => case.expect.push(value.to_owned()),
            "expect-stdout" => case.expect_stdout.push(value.to_owned()),
            _ => break,
        }
    }
    assert!(
        !case.expect.is_empty() || !case.expect_stdout.is_empty(),
        "{}: no `# expect:` header",
        case.name
    );
    case
}

const ENV_HEAD: &str = "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: svc-staging\n  s3TriggerPrefix: staging/\n";

fn generated() -> Vec<Case> {
    let case = |name: &str, bytes: Vec<u8>, expect: &[&str]| Case {
        name: name.to_owned(),
        as_path: DEFAULT_AS.to_owned(),
        bytes,
        expect: expect.iter().map(|s| (*s).to_owned()).collect(),
        expect_stdout: Vec::new(),
    };
    let head = ENV_HEAD.as_bytes();
    let with_head = |tail: String| [head, tail.as_bytes()].concat();
    vec![
        case(
            "200 KB of nested flow sequences",
            with_head(format!("  x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000))),
            &["environments/staging/svc/config.yaml:7: the YAML is nested deeper than 64 levels"],
        ),
        case(
            "250 KB of nested flow mappings",
            with_head(format!("  x: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000))),
            &["environments/staging/svc/config.yaml:7: the YAML is nested deeper than 64 levels"],
        ),
        case(
            "100 000 levels of block sequences",
            with_head(format!("  x:\n    {}x\n", "- ".repeat(100_000))),
            &["environments/staging/svc/config.yaml:8: the YAML is nested deeper than 64 levels"],
        ),
        case(
            "a file over 1 MiB",
            with_head("# padding\n".repeat(110_000)),
            &["environments/staging/svc/config.yaml: the file is", "YAML files are read up to 1 MiB"],
        ),
        case(
            "a wide 1 MiB environment",
            with_head(format!(
                "  environment:\n{}",
                (0..40_000).map(|i| format!("    K{i}: v\n")).collect::<String>()
            )),
            &["environments/staging/svc/config.yaml:7: the environment is", "Lambda allows 4096"],
        ),
        case(
            "a duplicate key after 40 000 others",
            with_head(format!(
                "  environment:\n{}    K0: again\n",
                (0..40_000).map(|i| format!("    K{i}: v\n")).collect::<String>()
            )),
            &["environments/staging/svc/config.yaml:40008: duplicate key `K0`: it is also at line 8"],
        ),
        case(
            "a 900 KB flow sequence",
            with_head(format!("  x: [{}]\n", "a, ".repeat(300_000))),
            &["environments/staging/svc/config.yaml:7: lambda: unknown field `x`"],
        ),
        case(
            "a 900 KB function name",
            format!(
                "serviceName: svc\nenvName: staging\nlambda:\n  version: \"1.1.0\"\n  functionName: {}\n  s3TriggerPrefix: staging/\n",
                "f".repeat(900_000)
            )
            .into_bytes(),
            &["environments/staging/svc/config.yaml:5: function name `fff", "…` must be 1–64 characters"],
        ),
        case(
            "100 000 unclosed flow sequences",
            with_head(format!("  x: {}\n", "[a, ".repeat(100_000))),
            &["environments/staging/svc/config.yaml:7: the YAML is nested deeper than 64 levels"],
        ),
    ]
}

#[test]
fn every_hostile_input_is_refused_with_its_file_and_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/yaml");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "the corpus is in {}", dir.display());
    let cases = files.iter().map(|path| from_file(path)).chain(generated());
    let failures: Vec<String> = cases.filter_map(|case| case.run().err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
