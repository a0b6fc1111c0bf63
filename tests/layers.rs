//! The layering rule of ARCHITECTURE.md, kept by a test: a top-level module of `src/` imports
//! only from modules below it in [`LAYERS`], so the import graph between them has no cycle and
//! nothing reaches back up the pipeline. Imports are read from the code's own `crate::` paths
//! (grouped `use crate::{a, b}` included, comments, strings and `#[cfg(test)]` modules left out).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top to bottom. A module may import any module after it in this list, never one before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("commands", &["commands"]),
    ("run level", &["run"]),
    ("settings", &["settings", "cli"]),
    (
        "stages",
        &[
            "report", "error", "ci", "render", "stage", "resolve", "validate", "scan",
        ],
    ),
    (
        "edges",
        &[
            "terraform",
            "aws",
            "github",
            "gitops",
            "git",
            "workdir",
            "terminal",
            "process",
        ],
    ),
    (
        "plain types and utilities",
        &[
            "yaml",
            "config",
            "desired",
            "hash",
            "io_error",
            "problem",
            "secret",
            "retry",
            "env_vars",
            "exit_code",
        ],
    ),
];

/// Only these may import `cli`: nothing below `settings` sees a clap type.
const SEE_CLAP: &[&str] = &["settings"];

#[test]
fn every_import_between_top_level_modules_points_down_the_layers() {
    let rank: BTreeMap<&str, usize> = LAYERS
        .iter()
        .flat_map(|(_, modules)| modules.iter())
        .enumerate()
        .map(|(rank, module)| (*module, rank))
        .collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for file in rust_files(&src) {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some(from) = top_level(&relative) else {
            continue;
        };
        let Some(&from_rank) = rank.get(from.as_str()) else {
            unplaced.push(format!("{from} (src/{relative})"));
            continue;
        };
        let code = without_test_modules(&code_only(&std::fs::read_to_string(&file).unwrap()));
        for (line, to) in imports(&code) {
            let Some(&to_rank) = rank.get(to.as_str()) else {
                continue; // `crate::Something` of lib.rs, or a module this test does not list
            };
            let clap = to == "cli" && !SEE_CLAP.contains(&from.as_str());
            if to != from && (to_rank < from_rank || clap) {
                upward.push(format!(
                    "src/{relative}:{line} imports `crate::{to}`, which is {} `{from}`",
                    if clap { "clap's, not for" } else { "above" }
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "top-level modules missing from LAYERS (place each in its layer): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "imports against the layering of ARCHITECTURE.md:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_checker_sees_plain_grouped_and_nested_imports_but_not_comments_or_tests() {
    let code = code_only(
        "use crate::a::B;\n// use crate::c;\nlet s = \"crate::d\";\nuse crate::{e::F, g};\n\
         #[cfg(test)]\nmod tests {\n    use crate::h;\n}\nfn f() { crate::i::j(); }\n",
    );
    let found: Vec<(usize, String)> = imports(&without_test_modules(&code));
    let names: Vec<&str> = found.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, ["a", "e", "g", "i"]);
    assert_eq!(found[3].0, 9, "the line of `crate::i`");
}

/// `scan/position.rs` → `scan`, `error.rs` → `error`; `lib.rs` and `main.rs` sit above it all.
fn top_level(relative: &str) -> Option<String> {
    let first = relative.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `(line, module)` of every `crate::module` path, grouped imports spelled out.
fn imports(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(code.as_bytes()[at - 1]) {
            continue; // `lambda_gitops_crate::` or the like
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..closing(group)];
            for item in split_top_level(inner) {
                found.extend(ident(item.trim_start()).map(|name| (line, name)));
            }
        } else {
            found.extend(ident(rest).map(|name| (line, name)));
        }
    }
    found
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn ident(text: &str) -> Option<String> {
    let end = text
        .bytes()
        .position(|b| !is_ident(b))
        .unwrap_or(text.len());
    let name = &text[..end];
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        .then(|| name.to_owned())
}

/// The index of the `}` closing a group that starts just before `text`.
fn closing(text: &str) -> usize {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// Comments and string or char literals blanked, line breaks kept.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let end = if text[i..].starts_with("//") {
            text[i..].find('\n').map_or(bytes.len(), |n| i + n)
        } else if text[i..].starts_with("/*") {
            text[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |n| i + 2 + n + 2)
        } else if let Some(end) = raw_string_end(text, i) {
            end
        } else if bytes[i] == b'"' {
            string_end(bytes, i)
        } else if bytes[i] == b'\'' {
            char_end(text, i).unwrap_or(i)
        } else {
            i
        };
        if end > i {
            out.extend(
                text[i..end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn raw_string_end(text: &str, i: usize) -> Option<usize> {
    if i > 0 && is_ident(text.as_bytes()[i - 1]) {
        return None;
    }
    let rest = text[i..].strip_prefix('b').unwrap_or(&text[i..]);
    let rest = rest.strip_prefix('r')?;
    let hashes = rest.bytes().take_while(|&b| b == b'#').count();
    rest[hashes..].strip_prefix('"')?;
    let start = text.len() - rest.len() + hashes + 1;
    let close = format!("\"{}", "#".repeat(hashes));
    Some(
        text[start..]
            .find(&close)
            .map_or(text.len(), |n| start + n + close.len()),
    )
}

fn string_end(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < bytes.len() && bytes[j] != b'"' {
        j += if bytes[j] == b'\\' { 2 } else { 1 };
    }
    (j + 1).min(bytes.len())
}

/// The end of a char literal at `i` (`'a'`, `'\n'`, `'\u{1F600}'`); `None` for a lifetime.
fn char_end(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i + 1..];
    let body = if let Some(escaped) = rest.strip_prefix('\\') {
        1 + escaped.find('\'')?
    } else {
        rest.chars().next()?.len_utf8()
    };
    (rest[body..].starts_with('\'') && body <= 12).then_some(i + 1 + body + 1)
}

/// `#[cfg(test)] mod … { … }` blanked: test code may reach anywhere.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    let mut from = 0;
    while let Some(at) = out[from..].find("#[cfg(test)]").map(|n| from + n) {
        let after = &out[at..];
        let Some(brace) = after.find('{') else { break };
        let head = &after[..brace];
        if !head.contains("mod ") || head.contains(';') {
            from = at + 1;
            continue;
        }
        let end = at + brace + 1 + closing(&after[brace + 1..]) + 1;
        let blank: String = out[at..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(at..end, &blank);
        from = at + blank.len();
    }
    out
}
