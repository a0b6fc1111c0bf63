//! Reading YAML as YAML 1.1 readers do: PyYAML's `safe_load`, with its pure-Python scanner
//! and (where installed) its libyaml one, for a whole batch of documents in one `python3`
//! call (each document parsed once).

use std::io::Write;
use std::process::{Command, Stdio};

const SCRIPT: &str = r#"
import json, sys, yaml
loaders = [yaml.SafeLoader] + ([yaml.CSafeLoader] if getattr(yaml, "__with_libyaml__", False) else [])
loaded = {}
def load(doc, loader):
    if (doc, loader) not in loaded:
        try:
            loaded[doc, loader] = (yaml.load(doc, Loader=loader), None)
        except Exception as error:
            loaded[doc, loader] = (None, loader.__name__ + ": " + str(error))
    return loaded[doc, loader]
out = []
for item in json.loads(sys.stdin.buffer.read()):
    seen = []
    for loader in loaders:
        node, error = load(item["doc"], loader)
        try:
            if error:
                raise Exception(error)
            for key in item["path"]:
                node = node[key]
            seen.append(node if isinstance(node, str) else {"not a string": type(node).__name__ + " " + repr(node)})
        except Exception as error:
            seen.append({"error": str(error)})
    out.append(seen)
json.dump(out, sys.stdout)
"#;

/// One value to read: the document and the key path to it.
pub struct Read {
    pub doc: String,
    pub path: Vec<String>,
}

/// What each reader (the pure-Python one, then libyaml's) read at each `path`: the string,
/// or what it read instead (`not a string: int 5`, `error: …`).
pub fn read(items: &[Read]) -> Vec<Vec<Result<String, String>>> {
    let input = serde_json::Value::Array(
        items
            .iter()
            .map(|item| serde_json::json!({"doc": item.doc, "path": item.path}))
            .collect(),
    );
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with PyYAML) runs the YAML 1.1 reader");
    let mut stdin = child.stdin.take().unwrap();
    let bytes = serde_json::to_vec(&input).unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "python3 failed (install PyYAML: `python3 -m pip install pyyaml`):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: Vec<Vec<serde_json::Value>> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen.len(), items.len());
    seen.into_iter()
        .map(|readers| {
            readers
                .into_iter()
                .map(|value| match value {
                    serde_json::Value::String(text) => Ok(text),
                    other => Err(other.to_string()),
                })
                .collect()
        })
        .collect()
}

/// Asserts that every reader read `expected[i]` at `items[i]`.
pub fn assert_strings(items: &[Read], expected: &[String]) {
    let mut wrong = Vec::new();
    for ((item, want), readers) in items.iter().zip(expected).zip(read(items)) {
        for got in readers {
            if got.as_ref() != Ok(want) {
                wrong.push(format!(
                    "{}: wrote {want:?}, read {got:?} in:\n{}",
                    item.path.join("."),
                    item.doc
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} values read back wrong by PyYAML:\n{}",
        wrong.len(),
        items.len(),
        wrong.join("\n")
    );
}
