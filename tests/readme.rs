//! The README and `docs/` against the code: every test name they cite is a test (or property
//! test) that exists, so a renamed or deleted test cannot leave a claim without its proof;
//! every source file they cite exists; every relative link leads to a file, and its `#anchor`
//! to a heading there; the README stays a front page (its size, the sections a new user
//! needs, IAM policies that parse as JSON).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// README.md and every `docs/*.md`, as (path relative to the root, text).
fn documents() -> Vec<(String, String)> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(root().join(&file)).unwrap();
            (file, text)
        })
        .collect()
}

fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Test names: snake case, at least four words (not flags, files, values or terraform
/// resource types such as `aws_s3_bucket_notification`).
fn cited_tests(text: &str) -> Vec<&str> {
    code_spans(text)
        .into_iter()
        .filter(|word| {
            word.split('_').count() >= 4
                && !word.starts_with("aws_")
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect()
}

#[test]
fn every_test_the_safety_section_cites_exists() {
    let mut code = String::new();
    sources(&root().join("src"), &mut code);
    sources(&root().join("tests"), &mut code);
    let documents = documents();
    let safety = &documents
        .iter()
        .find(|(file, _)| file == "docs/safety.md")
        .expect("docs/safety.md")
        .1;
    let cited = cited_tests(safety);
    assert!(
        cited.len() > 20,
        "docs/safety.md cites {} tests",
        cited.len()
    );
    for (file, text) in &documents {
        let missing: Vec<&str> = cited_tests(text)
            .into_iter()
            .filter(|name| !code.contains(&format!("fn {name}(")))
            .collect();
        assert!(
            missing.is_empty(),
            "{file} cites tests that do not exist: {missing:?}"
        );
    }
}

#[test]
fn every_source_file_the_docs_cite_exists() {
    let mut cited = 0;
    for (file, text) in documents() {
        for span in code_spans(&text) {
            let path = span.split_whitespace().next().unwrap_or("");
            let is_source =
                (path.starts_with("src/") || path.starts_with("tests/")) && path.ends_with(".rs");
            if is_source {
                cited += 1;
                assert!(
                    root().join(path).exists(),
                    "{file} cites `{path}`, which does not exist"
                );
            }
        }
    }
    assert!(cited > 20, "{cited} source files cited");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings, and its links' destinations.
fn anchors_and_links(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut anchors = BTreeSet::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => anchors.extend(heading.take().map(|h| slug(&h))),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            _ => {}
        }
    }
    (anchors, links)
}

#[test]
fn every_relative_link_leads_to_a_file_and_a_heading_there() {
    let documents = documents();
    let mut checked = 0;
    for (file, text) in &documents {
        let dir = Path::new(file).parent().unwrap();
        for link in anchors_and_links(text).1 {
            if link.starts_with("https://") || link.starts_with("http://") {
                continue;
            }
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                PathBuf::from(file)
            } else {
                dir.join(path)
            };
            assert!(
                root().join(&target).exists(),
                "{file}: the link `{link}` leads to nothing"
            );
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(root().join(&target)).unwrap();
                let anchors = anchors_and_links(&text).0;
                assert!(
                    anchors.contains(anchor),
                    "{file}: `{link}`: no heading `#{anchor}` in {} (has {anchors:?})",
                    target.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} links checked");
    // Every page of docs/ is reachable from the README.
    let readme_links = anchors_and_links(&documents[0].1).1;
    for (file, _) in &documents[1..] {
        assert!(
            readme_links
                .iter()
                .any(|l| l.split('#').next() == Some(file.as_str())),
            "the README does not link {file}"
        );
    }
}

#[test]
fn the_readme_is_a_front_page_with_install_prerequisites_iam_and_troubleshooting() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.len() <= 16 * 1024,
        "the README is {} bytes: move detail to docs/",
        readme.len()
    );
    let mut sections = Vec::new();
    let mut in_heading = false;
    let mut policies = 0;
    let mut json: Option<String> = None;
    for event in Parser::new(&readme) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2 | HeadingLevel::H3,
                ..
            }) => {
                in_heading = true;
                sections.push(String::new());
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Text(t) if in_heading => sections.last_mut().unwrap().push_str(&t),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "json" => {
                json = Some(String::new());
            }
            Event::Text(t) if json.is_some() => json.as_mut().unwrap().push_str(&t),
            Event::End(TagEnd::CodeBlock) => {
                if let Some(policy) = json.take() {
                    let value: serde_json::Value =
                        serde_json::from_str(&policy).unwrap_or_else(|e| {
                            panic!("an IAM policy that is not JSON: {e}\n{policy}")
                        });
                    assert_eq!(value["Version"], "2012-10-17");
                    assert!(value["Statement"].as_array().is_some_and(|s| !s.is_empty()));
                    policies += 1;
                }
            }
            _ => {}
        }
    }
    for needed in [
        "Install",
        "Prerequisites",
        "Quick start",
        "A minimal gitops repo",
        "CI setup",
        "IAM policies",
        "Troubleshooting",
    ] {
        assert!(
            sections.iter().any(|s| s == needed),
            "no `{needed}` section in {sections:?}"
        );
    }
    assert_eq!(policies, 2, "the plan role's and the apply role's policies");
    for command in [
        "scripts/demo",
        "scripts/test",
        "cargo install --locked --git",
    ] {
        assert!(
            readme.contains(command),
            "the README does not show {command}"
        );
    }
}
