//! Edits of one YAML file on the source spans of its parsed [`Document`]: a scalar's token
//! replaced in its own style, a key inserted into a mapping at the mapping's indentation
//! (or after the last entry of a `{…}`) with the file's line break. Nothing is
//! re-serialised: every byte outside the edited tokens stays as it was — comments, key
//! order, quoting, indentation, line endings, a missing final newline.

use std::path::{Path, PathBuf};

use crate::problem::excerpt;
use crate::yaml::{Document, Entry, Kind, Node, Splice};

use super::scalar;

/// One key's value before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The dotted key path, e.g. `lambda.version`.
    pub key: String,
    /// `None`: the key was not there.
    pub old: Option<String>,
    pub new: String,
}

impl Change {
    pub fn changed(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }
}

/// Why a file cannot be edited as asked; the file and the line of the node concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{}: has no `{key}` to set", at(path, *line))]
    MissingKey {
        path: PathBuf,
        line: Option<usize>,
        key: String,
    },
    #[error("{}: `{key}` is not a mapping, so `{child}` cannot be added to it", at(path, *line))]
    NotMapping {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        child: String,
    },
    #[error("{}: `{key}` is not a single value (a scalar)", at(path, *line))]
    NotScalar {
        path: PathBuf,
        line: Option<usize>,
        key: String,
    },
    #[error("{}: `{key}` is a block scalar (`|` or `>`); edit it by hand or write it on one line", at(path, *line))]
    BlockScalar {
        path: PathBuf,
        line: Option<usize>,
        key: String,
    },
    #[error("{}: already has `{key}`", at(path, *line))]
    AlreadyThere {
        path: PathBuf,
        line: Option<usize>,
        key: String,
    },
    #[error("{}: `{key}` carries an anchor or a tag; edit it by hand", at(path, *line))]
    Decorated {
        path: PathBuf,
        line: Option<usize>,
        key: String,
    },
}

fn at(path: &Path, line: Option<usize>) -> String {
    let path = excerpt(&path.display().to_string());
    match line {
        Some(line) => format!("{path}:{line}"),
        None => path,
    }
}

/// Edits being collected for one document; [`FileEdit::finish`] applies them at once.
pub struct FileEdit<'d> {
    path: &'d Path,
    doc: &'d Document,
    /// Each splice with its order among splices at the same place: a replaced token first
    /// (`usize::MAX`), then inserted lines, deepest first (their indentation).
    splices: Vec<(Splice, usize)>,
    changes: Vec<Change>,
}

impl<'d> FileEdit<'d> {
    /// `path` is the file as shown in messages.
    pub fn new(path: &'d Path, doc: &'d Document) -> Self {
        Self {
            path,
            doc,
            splices: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Whether the document has a value at `keys`.
    pub fn has(&self, keys: &[&str]) -> bool {
        self.doc.root.get(keys).is_some()
    }

    /// Sets the scalar at `keys`, which must be there.
    pub fn set(&mut self, keys: &[&str], value: &str) -> Result<(), EditError> {
        if self.set_if_present(keys, value)? {
            return Ok(());
        }
        Err(EditError::MissingKey {
            path: self.path.to_path_buf(),
            line: self.line_of_parent(keys),
            key: keys.join("."),
        })
    }

    /// Sets the scalar at `keys` when it is there; whether it was.
    pub fn set_if_present(&mut self, keys: &[&str], value: &str) -> Result<bool, EditError> {
        let Some(entry) = self.entry(keys)? else {
            return Ok(false);
        };
        self.replace(keys, entry, value)?;
        Ok(true)
    }

    /// Sets the scalar at `keys`, or adds `key: "value"` to its parent mapping (which must
    /// be there) when it is not.
    pub fn set_or_insert(&mut self, keys: &[&str], value: &str) -> Result<(), EditError> {
        if self.set_if_present(keys, value)? {
            return Ok(());
        }
        let (key, parent) = keys.split_last().expect("a key path is not empty");
        let mapping = self.mapping(parent, key)?;
        self.insert(mapping, key, &[Inserted::Scalar(value)])?;
        self.changes.push(Change {
            key: keys.join("."),
            old: None,
            new: value.to_owned(),
        });
        Ok(())
    }

    /// Adds `key:` holding a mapping of `entries` to the mapping at `parent`: a block
    /// mapping one indentation step deeper, or `key: {…}` inside a flow mapping.
    pub fn insert_mapping(
        &mut self,
        parent: &[&str],
        key: &str,
        entries: &[(&str, &str)],
    ) -> Result<(), EditError> {
        let mapping = self.mapping(parent, key)?;
        if mapping.entry(key).is_some() {
            let mut keys = parent.to_vec();
            keys.push(key);
            return Err(EditError::AlreadyThere {
                path: self.path.to_path_buf(),
                line: self.doc.line_of(&keys),
                key: keys.join("."),
            });
        }
        self.insert(mapping, key, &[Inserted::Mapping(entries)])?;
        for (child, value) in entries {
            let mut keys = parent.to_vec();
            keys.extend([key, child]);
            self.changes.push(Change {
                key: keys.join("."),
                old: None,
                new: (*value).to_owned(),
            });
        }
        Ok(())
    }

    /// The edited text and what changed (values set to what they already were included).
    pub fn finish(self) -> (String, Vec<Change>) {
        // Insertions at one place (the end of a nested mapping that is also the end of the
        // one around it) go deepest first, so each lands in its own mapping; the sort in
        // `spliced` keeps this order.
        let mut splices = self.splices;
        splices.sort_by_key(|(_, indent)| std::cmp::Reverse(*indent));
        let splices: Vec<Splice> = splices.into_iter().map(|(splice, _)| splice).collect();
        (self.doc.spliced(&splices), self.changes)
    }

    /// The entry at `keys`, when every mapping on the way is there.
    fn entry(&self, keys: &[&str]) -> Result<Option<&'d Entry>, EditError> {
        let (key, parents) = keys.split_last().expect("a key path is not empty");
        let Some(parent) = self.doc.root.get(parents) else {
            return Ok(None);
        };
        match &parent.kind {
            Kind::Mapping(_) => Ok(parent.entry(key)),
            _ => Err(self.not_mapping(parents, key)),
        }
    }

    fn mapping(&self, keys: &[&str], child: &str) -> Result<&'d Node, EditError> {
        match self.doc.root.get(keys) {
            Some(node) if matches!(node.kind, Kind::Mapping(_)) => Ok(node),
            Some(_) => Err(self.not_mapping(keys, child)),
            None => Err(EditError::MissingKey {
                path: self.path.to_path_buf(),
                line: self.line_of_parent(keys),
                key: keys.join("."),
            }),
        }
    }

    fn not_mapping(&self, keys: &[&str], child: &str) -> EditError {
        EditError::NotMapping {
            path: self.path.to_path_buf(),
            line: self.doc.line_of(keys),
            key: if keys.is_empty() {
                "the document".to_owned()
            } else {
                keys.join(".")
            },
            child: child.to_owned(),
        }
    }

    /// The line of the deepest mapping above `keys` that is there, to point at.
    fn line_of_parent(&self, keys: &[&str]) -> Option<usize> {
        (1..keys.len())
            .rev()
            .find_map(|n| self.doc.line_of(&keys[..n]))
            .or(Some(self.doc.root.line()))
    }

    fn replace(&mut self, keys: &[&str], entry: &Entry, value: &str) -> Result<(), EditError> {
        let node = &entry.value;
        let error = |make: fn(PathBuf, Option<usize>, String) -> EditError| {
            make(self.path.to_path_buf(), Some(node.line()), keys.join("."))
        };
        if node.anchored || node.tag.is_some() {
            return Err(error(|path, line, key| EditError::Decorated {
                path,
                line,
                key,
            }));
        }
        let Some(old) = node.as_scalar() else {
            return Err(error(|path, line, key| EditError::NotScalar {
                path,
                line,
                key,
            }));
        };
        let Some(token) = scalar::like(value, old) else {
            return Err(error(|path, line, key| EditError::BlockScalar {
                path,
                line,
                key,
            }));
        };
        let is_null = old.is_null();
        self.changes.push(Change {
            key: keys.join("."),
            old: (!is_null).then(|| old.value.clone()),
            new: value.to_owned(),
        });
        if !is_null && old.value == value {
            return Ok(());
        }
        let range = node.span.range();
        let splice = if range.is_empty() {
            // `key:` with nothing after it: the empty node sits at the `:`.
            let colon = self.doc.text[entry.key.span.end..]
                .find(':')
                .map_or(range.start, |i| entry.key.span.end + i + 1);
            Splice {
                range: colon..colon,
                text: format!(" {token}"),
            }
        } else {
            Splice { range, text: token }
        };
        self.splices.push((splice, usize::MAX));
        Ok(())
    }

    fn insert(
        &mut self,
        mapping: &Node,
        key: &str,
        value: &[Inserted<'_>],
    ) -> Result<(), EditError> {
        let key_token = if scalar::plain_reads_back(key, true) {
            key.to_owned()
        } else {
            scalar::double_quoted(key)
        };
        let Kind::Mapping(entries) = &mapping.kind else {
            unreachable!("checked by the caller")
        };
        let splice = if self.doc.is_flow_collection(mapping) {
            (self.flow_insertion(mapping, entries, &key_token, value), 0)
        } else {
            self.block_insertion(mapping, entries, &key_token, value)
        };
        self.splices.push(splice);
        Ok(())
    }

    /// `key: value` after the last entry of a `{…}` mapping, on the same line.
    fn flow_insertion(
        &self,
        mapping: &Node,
        entries: &[Entry],
        key_token: &str,
        value: &[Inserted<'_>],
    ) -> Splice {
        let inline = match value {
            [Inserted::Scalar(v)] => scalar::double_quoted(v),
            [Inserted::Mapping(children)] => format!(
                "{{{}}}",
                children
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", scalar::double_quoted(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => unreachable!("one value"),
        };
        let (at, separator) = match entries.last() {
            Some(last) => (self.doc.content_end(&last.value), ", "),
            None => (mapping.span.start + 1, ""),
        };
        Splice {
            range: at..at,
            text: format!("{separator}{key_token}: {inline}"),
        }
    }

    /// `key: value` as lines after the last line of a block mapping, at its indentation
    /// (returned too: it orders splices at the same place).
    fn block_insertion(
        &self,
        mapping: &Node,
        entries: &[Entry],
        key_token: &str,
        value: &[Inserted<'_>],
    ) -> (Splice, usize) {
        let indent = " ".repeat(
            entries
                .first()
                .map_or(mapping.span.column, |e| e.key.span.column)
                .saturating_sub(1),
        );
        let eol = self.doc.line_break();
        let lines = self.block_lines(&indent, key_token, value);
        let content_end = self.doc.content_end(mapping);
        let text = &self.doc.text;
        let splice = match text[content_end..].find('\n') {
            Some(i) => {
                let at = content_end + i + 1;
                let mut block = lines.join(eol);
                block.push_str(eol);
                Splice {
                    range: at..at,
                    text: block,
                }
            }
            // The last line has no line break: the file keeps ending without one.
            None => Splice {
                range: text.len()..text.len(),
                text: format!("{eol}{}", lines.join(eol)),
            },
        };
        (splice, indent.len())
    }

    /// The lines of `key: value` in block style, starting at `indent`.
    fn block_lines(&self, indent: &str, key_token: &str, value: &[Inserted<'_>]) -> Vec<String> {
        let mut lines = Vec::new();
        match value {
            [Inserted::Scalar(v)] => {
                lines.push(format!("{indent}{key_token}: {}", scalar::double_quoted(v)))
            }
            [Inserted::Mapping(children)] => {
                let inner = format!("{indent}{}", " ".repeat(self.indent_step()));
                lines.push(format!("{indent}{key_token}:"));
                for (k, v) in *children {
                    lines.push(format!("{inner}{k}: {}", scalar::double_quoted(v)));
                }
            }
            _ => unreachable!("one value"),
        }
        lines
    }

    /// How far the file indents a nested block mapping (2 when it has none).
    fn indent_step(&self) -> usize {
        self.doc
            .root
            .walk()
            .filter_map(|node| node.entries())
            .flatten()
            .find_map(|entry| {
                let nested = entry.value.entries()?.first()?;
                (!self.doc.is_flow_collection(&entry.value))
                    .then(|| nested.key.span.column.checked_sub(entry.key.span.column))
                    .flatten()
                    .filter(|step| *step > 0)
            })
            .unwrap_or(2)
    }
}

enum Inserted<'a> {
    Scalar(&'a str),
    Mapping(&'a [(&'a str, &'a str)]),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, f: impl FnOnce(&mut FileEdit<'_>)) -> String {
        let doc = crate::yaml::parse(text.as_bytes()).unwrap();
        let path = Path::new("f.yaml");
        let mut edit = FileEdit::new(path, &doc);
        f(&mut edit);
        let (text, _) = edit.finish();
        crate::yaml::parse(text.as_bytes()).expect("the edit is valid YAML");
        text
    }

    #[test]
    fn a_value_is_replaced_in_its_own_style_and_nothing_else_moves() {
        let text = "# head\nlambda:\n  version: \"0.1.6\"   # pinned\n  other: x\ngitVersion: {sha: 'abcdef1234', shortSha: abcdef1}  # c\n";
        let out = edit(text, |e| {
            e.set(&["lambda", "version"], "0.1.7").unwrap();
            e.set(&["gitVersion", "sha"], "1234567890").unwrap();
            e.set(&["gitVersion", "shortSha"], "1234567").unwrap();
        });
        assert_eq!(
            out,
            "# head\nlambda:\n  version: \"0.1.7\"   # pinned\n  other: x\ngitVersion: {sha: '1234567890', shortSha: \"1234567\"}  # c\n"
        );
    }

    #[test]
    fn a_missing_key_is_inserted_at_the_mappings_indentation() {
        let text =
            "lambda:\n    version: \"1\"\n    env:\n      K: v   # c\n\n# tail comment\nother: 1\n";
        let out = edit(text, |e| {
            e.set_or_insert(&["lambda", "s3Key"], "pr-7.zip").unwrap();
        });
        assert_eq!(
            out,
            "lambda:\n    version: \"1\"\n    env:\n      K: v   # c\n    s3Key: \"pr-7.zip\"\n\n# tail comment\nother: 1\n"
        );
    }

    #[test]
    fn a_block_mapping_is_inserted_with_the_files_indentation_and_line_breaks() {
        let text = "a: 1\r\nlambda:\r\n    version: x\r\n";
        let out = edit(text, |e| {
            e.insert_mapping(
                &[],
                "gitVersion",
                &[("sha", "abc1234"), ("shortSha", "abc1234")],
            )
            .unwrap();
        });
        assert_eq!(
            out,
            "a: 1\r\nlambda:\r\n    version: x\r\ngitVersion:\r\n    sha: \"abc1234\"\r\n    shortSha: \"abc1234\"\r\n"
        );
    }

    #[test]
    fn a_file_without_a_final_line_break_keeps_ending_without_one() {
        let out = edit("lambda:\n  version: x", |e| {
            e.set_or_insert(&["lambda", "commitSha"], "abc1234")
                .unwrap();
            e.set(&["lambda", "version"], "z2").unwrap();
        });
        assert_eq!(out, "lambda:\n  version: z2\n  commitSha: \"abc1234\"");
    }

    #[test]
    fn keys_inserted_where_a_nested_mapping_and_its_parent_both_end_land_in_their_own() {
        for (text, expected) in [
            (
                "serviceName: a\nlambda:\n  version: x\n",
                "serviceName: a\nlambda:\n  version: x\n  s3Key: \"k\"\ngitVersion:\n  sha: \"abc1234\"\n",
            ),
            (
                "serviceName: a\nlambda:\n  version: x",
                "serviceName: a\nlambda:\n  version: x\n  s3Key: \"k\"\ngitVersion:\n  sha: \"abc1234\"",
            ),
            (
                "serviceName: a\nlambda:\n  version:",
                "serviceName: a\nlambda:\n  version: x\n  s3Key: \"k\"\ngitVersion:\n  sha: \"abc1234\"",
            ),
        ] {
            let out = edit(text, |e| {
                e.insert_mapping(&[], "gitVersion", &[("sha", "abc1234")])
                    .unwrap();
                e.set_or_insert(&["lambda", "s3Key"], "k").unwrap();
                e.set(&["lambda", "version"], "x").unwrap();
            });
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn keys_go_into_flow_mappings_after_the_last_entry() {
        let out = edit("g: {sha: \"a\",\n  }\nh: {}\n", |e| {
            e.set_or_insert(&["g", "shortSha"], "b").unwrap();
            e.set_or_insert(&["h", "k"], "v").unwrap();
        });
        assert_eq!(
            out,
            "g: {sha: \"a\", shortSha: \"b\",\n  }\nh: {k: \"v\"}\n"
        );
    }

    #[test]
    fn an_empty_value_gets_one() {
        let out = edit("lambda:\n  version:\n  x: 1\n", |e| {
            e.set(&["lambda", "version"], "1.0.0").unwrap();
        });
        assert_eq!(out, "lambda:\n  version: 1.0.0\n  x: 1\n");
    }

    #[test]
    fn setting_a_value_to_itself_changes_no_byte() {
        let text = "version: '0.1.6'\n";
        let doc = crate::yaml::parse(text.as_bytes()).unwrap();
        let mut e = FileEdit::new(Path::new("f"), &doc);
        e.set(&["version"], "0.1.6").unwrap();
        let (out, changes) = e.finish();
        assert_eq!(out, text);
        assert!(!changes[0].changed());
    }

    /// Every text value of every fixture file, Lambda or not: set to something else, then
    /// back — the file is byte for byte what it was, and in between only that value moved.
    #[test]
    fn every_value_of_every_fixture_file_round_trips() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cluster-gitops/syrf");
        let mut files = vec![root.clone()];
        let mut edited = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let doc = crate::yaml::parse(text.as_bytes()).unwrap();
            let mut paths = Vec::new();
            collect_text_paths(&doc.root, &mut Vec::new(), &mut paths);
            for keys in paths {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let value = |d: &Document, k: &[&str]| {
                    d.root.get(k).unwrap().as_scalar().unwrap().value.clone()
                };
                let original = value(&doc, &keys);
                let there = edit(&text, |e| e.set(&keys, "edited-0.9").unwrap());
                let there_doc = crate::yaml::parse(there.as_bytes()).unwrap();
                assert_eq!(value(&there_doc, &keys), "edited-0.9");
                let mut others = Vec::new();
                collect_text_paths(&doc.root, &mut Vec::new(), &mut others);
                for other in others.iter().filter(|o| **o != keys) {
                    let other: Vec<&str> = other.iter().map(String::as_str).collect();
                    assert_eq!(value(&there_doc, &other), value(&doc, &other));
                }
                let back = edit(&there, |e| e.set(&keys, &original).unwrap());
                assert_eq!(back, text, "{}: {keys:?}", path.display());
                edited += 1;
            }
        }
        assert!(edited > 40, "{edited} values");
    }

    /// The key paths of the scalars under mappings that hold text (quoted, or plain text).
    fn collect_text_paths(node: &Node, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for entry in node.entries().unwrap_or_default() {
            let Some(key) = entry.key.as_scalar() else {
                continue;
            };
            at.push(key.value.clone());
            match entry.value.as_scalar() {
                Some(s)
                    if s.style != crate::yaml::Style::Plain
                        || scalar::plain_reads_back(&s.value, s.flow) =>
                {
                    out.push(at.clone())
                }
                Some(_) => {}
                None => collect_text_paths(&entry.value, at, out),
            }
            at.pop();
        }
    }

    #[test]
    fn what_cannot_be_edited_is_an_error_naming_the_file_and_line() {
        let doc = crate::yaml::parse(b"a: 1\nb: |\n  x\nc: [1]\nd: !!str 1\n").unwrap();
        let mut e = FileEdit::new(Path::new("f.yaml"), &doc);
        let error = e.set(&["b"], "y").unwrap_err();
        assert!(
            matches!(error, EditError::BlockScalar { line: Some(3), .. }),
            "{error}"
        );
        let error = e.set(&["c"], "y").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f.yaml:4: `c` is not a single value (a scalar)"
        );
        assert!(matches!(
            e.set(&["d"], "y"),
            Err(EditError::Decorated { .. })
        ));
        assert!(matches!(
            e.set(&["a", "x"], "y"),
            Err(EditError::NotMapping { .. })
        ));
        let error = e.set(&["lambda", "version"], "y").unwrap_err();
        assert_eq!(
            error.to_string(),
            "f.yaml:1: has no `lambda.version` to set"
        );
    }
}
