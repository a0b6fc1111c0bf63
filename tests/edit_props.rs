//! Properties of what the edit commands write: every version and commit SHA that
//! `set-version`, `preview set` or `promote` writes — random ones, and ones built from the
//! patterns YAML readers take for numbers, booleans, nulls and dates — into plain, quoted,
//! block and flow slots, CRLF files, files without `gitVersion` and new preview files, reads
//! back as exactly that string with PyYAML (YAML 1.1, both its scanners) and with
//! lambda-gitops's own reader (the config types validation reads). And any string at all,
//! set into a scalar of any style, reads back as itself in both.
//!
//! Each case writes a batch of values and reads them all back with one `python3` call.

mod common;

use std::path::Path;

use proptest::prelude::*;

use common::pyyaml::{self, Read};
use lambda_gitops::config::{EnvConfig, PreviewValues};
use lambda_gitops::gitops::{release, FileEdit, Release};
use lambda_gitops::yaml::{self, schema, Style};

/// What tricky values are made of: the pieces of YAML 1.1 and 1.2 numbers, booleans,
/// nulls, dates, merge and value keys, indicators, escapes and line breaks.
const PIECES: &[&str] = &[
    "0b", "0o", "0x", "0X", "0", "1", "7", "9", "10", "20", "_", ".", "e", "E", "+", "-", ":", ",",
    "inf", "Inf", "nan", "NaN", "yes", "No", "on", "OFF", "y", "n", "true", "False", "null",
    "NULL", "~", "=", "<<", "2001", "-12", "-14", "12", "14", "T", "t", " ", "Z", "#", ": ", " #",
    "'", "\"", "\\", "a", "f", "v", "\t", "\n", "\r", "\u{85}", "\u{2028}", "\u{FEFF}", "é", "[",
    "]", "{", "}", "*", "&", "!", "|", ">", "%", "@", "`", "?", "/",
];

fn tricky() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..6).prop_map(|pieces| pieces.concat())
}

/// A version as the commands take it (1–128 of letters, digits, `.`, `_`, `+`, `-`).
fn version() -> impl Strategy<Value = String> {
    let allowed = |c: &char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
    prop_oneof![
        tricky().prop_map(move |s| s.chars().filter(allowed).collect::<String>()),
        "[0-9][0-9._+-]{0,8}",
        "[-+.]?[0-9]{1,4}([._][0-9]{0,3})?([eE][-+]?[0-9]{1,3})?",
        "[A-Za-z0-9._+-]{1,24}",
    ]
    .prop_map(|v| if v.is_empty() { "0".to_owned() } else { v })
}

/// A commit SHA as the commands take it (7–40 hex digits), often all digits or `…e…`.
fn sha() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{7,12}",
        "[0-9]{3,6}[eE][0-9]{3,8}",
        "0b[01]{5,12}",
        "0[0-7]{6,10}",
        "[0-9a-fA-F]{7,40}",
    ]
}

/// An S3 key as `preview set --s3-key` takes it: printable, not empty, no leading `/`.
fn s3_key() -> impl Strategy<Value = String> {
    tricky().prop_map(|s| {
        let key: String = s.chars().filter(|c| !c.is_control()).collect();
        let key = key.trim_start_matches('/').to_owned();
        if key.is_empty() {
            "k".to_owned()
        } else {
            key
        }
    })
}

/// Environment configs in the styles people write: plain, single- and double-quoted,
/// block and flow, CRLF, without `gitVersion`.
const ENV_FILES: &[&str] = &[
    "serviceName: a\nenvName: staging\nlambda:\n  version: 1.0.0\n  functionName: a-staging\n  s3TriggerPrefix: staging/\ngitVersion:\n  sha: abcdef1234\n  shortSha: abcdef1\n",
    "serviceName: a\nenvName: staging\nlambda: {version: 1.0.0, functionName: a-staging, s3TriggerPrefix: staging/}\ngitVersion: {sha: abcdef1234, shortSha: abcdef1}\n",
    "serviceName: a\r\nenvName: staging\r\nlambda:\r\n    version: '1.0.0'   # pinned\r\n    functionName: a-staging\r\n    s3TriggerPrefix: staging/\r\ngitVersion: {sha: 'abcdef1234', shortSha: \"abcdef1\"}",
    "serviceName: a\nenvName: production\nlambda:\n  version: \"1.0.0\"\n  functionName: a-prod\n  s3TriggerPrefix: Projects/\n",
    "serviceName: a\nenvName: production\nlambda: {version: 1.0.0, functionName: a-prod, s3TriggerPrefix: Projects/}\n",
];

/// Preview values in the same styles (the new file `preview set` creates is added).
const PREVIEW_FILES: &[&str] = &[
    "serviceName: a\ndeploymentType: lambda\nlambda:\n  version: 1.0.0\n  commitSha: abcdef1234\n  s3Key: lambda/pr-1.zip\ngitVersion: {sha: abcdef1234, shortSha: abcdef1}\n",
    "serviceName: a\nlambda: {version: 1.0.0, s3Key: 'x.zip'}\n",
    "serviceName: a\nlambda:\n  version: 1.0.0\n",
    "serviceName: a\r\ndeploymentType: lambda\r\nlambda:\r\n  version: '1.0.0'\r\n  commitSha: \"abcdef1234\"\r\n",
];

/// What the tool read back, to compare with what was written.
struct Written {
    text: String,
    version: String,
    sha: Option<String>,
    short_sha: Option<String>,
    commit_sha: Option<String>,
    s3_key: Option<String>,
}

impl Written {
    /// Each value as PyYAML should read it, at its key path.
    fn reads(&self, into: &mut Vec<Read>, expected: &mut Vec<String>) {
        let fields = [
            (&["lambda", "version"][..], Some(&self.version)),
            (&["gitVersion", "sha"], self.sha.as_ref()),
            (&["gitVersion", "shortSha"], self.short_sha.as_ref()),
            (&["lambda", "commitSha"], self.commit_sha.as_ref()),
            (&["lambda", "s3Key"], self.s3_key.as_ref()),
        ];
        for (path, value) in fields {
            if let Some(value) = value {
                into.push(Read {
                    doc: self.text.clone(),
                    path: path.iter().map(|p| p.to_string()).collect(),
                });
                expected.push(value.clone());
            }
        }
    }
}

/// `release` written into `text` as `set-version` (and `promote`) write it, then read back
/// with lambda-gitops's own reader.
fn set_version(text: &str, release: &Release) -> Written {
    let doc = yaml::parse(text.as_bytes()).unwrap();
    let mut edit = FileEdit::new(Path::new("config.yaml"), &doc);
    release.write(&mut edit, false).unwrap();
    let (text, _) = edit.finish();
    let doc = yaml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    let config: EnvConfig = yaml::from_document(&doc).unwrap_or_else(|e| panic!("{e:?}:\n{text}"));
    let git = config.git_version;
    Written {
        version: config.lambda.version,
        sha: git.as_ref().map(|g| g.sha.clone()),
        short_sha: git.and_then(|g| g.short_sha),
        commit_sha: None,
        s3_key: None,
        text,
    }
}

/// `release` (and `s3_key`) written into `text` as `preview set` writes it — or, for
/// `None`, the new file it creates — then read back with lambda-gitops's own reader.
fn preview_set(text: Option<&str>, release: &Release, s3_key: &str) -> Written {
    let text = match text {
        None => release::new_preview("a", 7, release, Some(s3_key)),
        Some(text) => {
            let doc = yaml::parse(text.as_bytes()).unwrap();
            let mut edit = FileEdit::new(Path::new("a.values.yaml"), &doc);
            release.write(&mut edit, true).unwrap();
            edit.set_or_insert(&["lambda", "s3Key"], s3_key).unwrap();
            edit.finish().0
        }
    };
    let doc = yaml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    let values: PreviewValues =
        yaml::from_document(&doc).unwrap_or_else(|e| panic!("{e:?}:\n{text}"));
    let git = values.git_version;
    Written {
        version: values.lambda.version,
        sha: git.as_ref().map(|g| g.sha.clone()),
        short_sha: git.and_then(|g| g.short_sha),
        commit_sha: values.lambda.commit_sha,
        s3_key: values.lambda.s3_key,
        text,
    }
}

/// Asserts lambda-gitops read back what was written, and queues the PyYAML reads.
fn check(
    written: Written,
    release: &Release,
    key: Option<&str>,
    reads: &mut Vec<Read>,
    expected: &mut Vec<String>,
) -> Result<(), TestCaseError> {
    let text = &written.text;
    prop_assert_eq!(&written.version, &release.version, "{}", text);
    if let (Some(sha), Some(written_sha)) = (&release.sha, &written.sha) {
        prop_assert_eq!(written_sha, sha, "{}", text);
    }
    if let (Some(short), Some(written_short)) = (release.short_sha(), &written.short_sha) {
        prop_assert_eq!(written_short.as_str(), short, "{}", text);
    }
    if let (Some(sha), Some(commit)) = (&release.sha, &written.commit_sha) {
        prop_assert_eq!(commit, sha, "{}", text);
    }
    prop_assert_eq!(written.s3_key.as_deref(), key, "{}", text);
    written.reads(reads, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn versions_and_shas_written_by_set_version_preview_set_and_promote_read_back_as_themselves(
        batch in prop::collection::vec((version(), prop::option::weighted(0.8, sha()), s3_key()), 16)
    ) {
        let (mut reads, mut expected) = (Vec::new(), Vec::new());
        for (version, sha, key) in &batch {
            let release = lambda_gitops::run::edit::release(version, sha.as_deref()).unwrap();
            for file in ENV_FILES {
                // set-version into staging, then promote what staging now says.
                let staging = set_version(file, &release);
                let promoted = Release {
                    version: staging.version.clone(),
                    sha: staging.sha.clone(),
                };
                check(staging, &release, None, &mut reads, &mut expected)?;
                if let Some(production) = ENV_FILES.iter().find(|f| **f != *file) {
                    if promoted.sha.is_some() || !production.contains("gitVersion") {
                        let written = set_version(production, &promoted);
                        check(written, &release, None, &mut reads, &mut expected)?;
                    }
                }
            }
            for file in PREVIEW_FILES.iter().map(|f| Some(*f)).chain([None]) {
                let written = preview_set(file, &release, key);
                check(written, &release, Some(key), &mut reads, &mut expected)?;
            }
        }
        pyyaml::assert_strings(&reads, &expected);
    }

    #[test]
    fn any_string_set_into_a_scalar_of_any_style_reads_back_as_itself(
        batch in prop::collection::vec(
            prop_oneof![tricky(), any::<String>(), "\\PC{0,16}"],
            32,
        )
    ) {
        const SLOTS: &[&str] = &[
            "v: x\n",
            "v: 'x'\n",
            "v: \"x\"\n",
            "m: {v: x, w: 1}\n",
            "m: {v: 'x'}\n",
            "s: [1]\nm:\n  v: x   # c\n",
        ];
        let (mut reads, mut expected) = (Vec::new(), Vec::new());
        for value in &batch {
            for slot in SLOTS {
                let keys: &[&str] = if slot.starts_with("v:") { &["v"] } else { &["m", "v"] };
                let doc = yaml::parse(slot.as_bytes()).unwrap();
                let mut edit = FileEdit::new(Path::new("f.yaml"), &doc);
                edit.set(keys, value).unwrap();
                // And a key inserted with that value.
                edit.set_or_insert(&[&keys[..keys.len() - 1], &["new"]].concat(), value).unwrap();
                let (text, _) = edit.finish();
                let doc = yaml::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}:\n{text}"));
                for keys in [keys.to_vec(), [&keys[..keys.len() - 1], &["new"]].concat()] {
                    let scalar = doc.root.get(&keys).and_then(|n| n.as_scalar()).unwrap();
                    prop_assert_eq!(&scalar.value, value, "{}", text);
                    prop_assert!(
                        scalar.style != Style::Plain || schema::resolve(value) == schema::Plain::Text,
                        "{}", text
                    );
                    reads.push(Read { doc: text.clone(), path: keys.iter().map(|k| k.to_string()).collect() });
                    expected.push(value.clone());
                }
            }
        }
        pyyaml::assert_strings(&reads, &expected);
    }
}
