//! Properties of the YAML layer, config parsing and validation: arbitrary input — random
//! bytes, YAML-shaped token soup, and YAML-shaped mutations of the fixture repo — gives a
//! value or problems, never a panic; spans always slice the text; no problem prints a line
//! break or more than one short line of the file.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use lambda_gitops::config::{EnvConfig, PreviewValues, ServiceConfig};
use lambda_gitops::problem::Problem;
use lambda_gitops::resolve::{self, Roots};
use lambda_gitops::scan::{self, Contents, SourceFile, Tree};
use lambda_gitops::validate;
use lambda_gitops::yaml::{self, probe, Document};

/// Pieces of YAML, valid and not, that mutations splice in.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"  ",
    b"\t",
    b":",
    b": ",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b", ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"'",
    b"\"",
    b"# ",
    b"~",
    b"null",
    b"1.10",
    b"0x1F",
    b".inf",
    b"\xEF\xBB\xBF",
    b"\xE9",
    b"\\",
    b"---\n",
    b"? ",
    b"|\n",
    b">-\n",
    b"lambda:",
    b"version: ",
    b"\n  ",
    b"environment:\n    K: ",
    b"{version}",
    b"{pr}",
    b"../",
    b"\x1b",
    b"\x00",
    b"serviceName: ",
    b"deploymentType: lambda\n",
    b"deploymentType: kubernetes\n",
    b"AWS_REGION: x",
];

fn checked_document(doc: &Document) {
    for node in doc.root.walk() {
        assert!(
            doc.text.get(node.span.range()).is_some(),
            "span {:?} does not slice the text",
            node.span
        );
        assert!(node.line() >= 1 && node.span.start <= node.span.end);
    }
}

fn parse_everything(bytes: &[u8]) {
    if let Ok(doc) = yaml::parse(bytes) {
        checked_document(&doc);
        let _ = yaml::from_document::<ServiceConfig>(&doc);
        let _ = yaml::from_document::<EnvConfig>(&doc);
        let _ = yaml::from_document::<PreviewValues>(&doc);
    }
    let _ = probe::top_level_scalar(bytes, "deploymentType");
}

fn assert_printable(problems: &[Problem]) {
    for problem in problems {
        let shown = format!("{problem} {}", problem.hint.as_deref().unwrap_or_default());
        assert!(!shown.contains(['\n', '\r']), "a line break in {shown:?}");
        assert!(shown.chars().count() < 1200, "too long: {shown:?}");
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cluster-gitops/syrf")
}

/// The fixture repo, scanned once.
fn fixture_tree() -> Tree {
    let tree = scan::scan(&fixtures());
    assert!(tree.problems.is_empty() && !tree.services.is_empty());
    tree
}

fn files_mut(tree: &mut Tree) -> Vec<&mut SourceFile> {
    tree.services
        .iter_mut()
        .map(|s| &mut s.file)
        .chain(tree.environments.iter_mut().map(|e| &mut e.file))
        .chain(tree.previews.iter_mut().map(|p| &mut p.file))
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert { at: usize, token: usize },
    Delete { at: usize, len: usize },
    DuplicateLine { at: usize },
    SwapLines { a: usize, b: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<usize>(), 1..12usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    let mut lines: Vec<Vec<u8>> = bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    match *mutation {
        Mutation::Insert { at, token } => {
            let at = at % (len + 1);
            bytes.splice(at..at, TOKENS[token].iter().copied());
        }
        Mutation::Delete { at, len: n } => {
            let at = at % (len + 1);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::DuplicateLine { at } if !lines.is_empty() => {
            let i = at % lines.len();
            lines.insert(i, lines[i].clone());
            *bytes = lines.concat();
        }
        Mutation::SwapLines { a, b } if !lines.is_empty() => {
            let n = lines.len();
            lines.swap(a % n, b % n);
            *bytes = lines.concat();
        }
        Mutation::Truncate { at } => bytes.truncate(at % (len + 1)),
        _ => {}
    }
}

fn yaml_soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0..TOKENS.len(), 0..80).prop_map(|picks| {
        picks
            .into_iter()
            .flat_map(|i| TOKENS[i].iter().copied())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_give_a_document_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        parse_everything(&bytes);
    }

    #[test]
    fn yaml_shaped_text_gives_a_document_or_an_error(bytes in yaml_soup()) {
        parse_everything(&bytes);
    }

    #[test]
    fn mutated_fixture_repos_validate_or_give_printable_problems(
        edits in proptest::collection::vec((any::<usize>(), mutation()), 1..6)
    ) {
        let mut tree = fixture_tree();
        {
            let mut files = files_mut(&mut tree);
            for (file, mutation) in &edits {
                let count = files.len();
                let file = &mut files[file % count];
                let Contents::Bytes(bytes) = &mut file.contents else { unreachable!() };
                apply(bytes, mutation);
                parse_everything(bytes);
            }
        }
        let root = fixtures().canonicalize().unwrap();
        let mut problems = Vec::new();
        let checked = validate::validate(&tree, &mut problems);
        let roots = Roots { gitops_dir: &fixtures(), package_root: &root };
        let repo = resolve::resolve(&checked, &roots, &mut problems);
        assert_printable(&problems);
        if problems.is_empty() {
            prop_assert!(repo.services.iter().all(|s| !s.name.is_empty()));
        }
    }
}

#[test]
fn the_unmutated_fixture_repo_is_valid() {
    let tree = fixture_tree();
    let root = fixtures().canonicalize().unwrap();
    let mut problems = Vec::new();
    let checked = validate::validate(&tree, &mut problems);
    let roots = Roots {
        gitops_dir: &fixtures(),
        package_root: &root,
    };
    let repo = resolve::resolve(&checked, &roots, &mut problems);
    assert_eq!(problems, []);
    assert_eq!(repo.services.len(), 1);
    assert_eq!(repo.services[0].previews.len(), 2);
}
