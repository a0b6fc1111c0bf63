//! README.md's Safety section names the test behind each guarantee: every name it cites is
//! a test (or property test) that exists, so a renamed or deleted test cannot leave a claim
//! without its proof.

use std::path::Path;

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

#[test]
fn every_test_the_safety_section_cites_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let safety = &readme[readme.find("\n## Safety").expect("a Safety section")..];
    let mut code = String::new();
    sources(&root.join("src"), &mut code);
    sources(&root.join("tests"), &mut code);
    let cited: Vec<&str> = safety
        .split('`')
        .skip(1)
        .step_by(2)
        // Test names: snake case, at least four words (not flags, files or values).
        .filter(|word| {
            word.split('_').count() >= 4
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    assert!(
        cited.len() > 20,
        "the Safety section cites {} tests",
        cited.len()
    );
    let missing: Vec<&&str> = cited
        .iter()
        .filter(|name| !code.contains(&format!("fn {name}(")))
        .collect();
    assert!(
        missing.is_empty(),
        "README cites tests that do not exist: {missing:?}"
    );
}
