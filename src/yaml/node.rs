//! The node tree: what a YAML document says, and exactly where it says it.
//!
//! Every node keeps its byte span in the source text, so a later edit can replace one
//! scalar's bytes and leave every other byte of the file as it was written.

use std::ops::Range;

/// Where a node sits in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Byte offset of the first byte (`text[start..end]` is the node as written).
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column of `start`, in characters.
    pub column: usize,
}

impl Span {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`: the span covers the content lines, not the `|` header.
    Literal,
    /// `>`: the span covers the content lines, not the `>` header.
    Folded,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The value after YAML's unescaping and folding (what a reader of the file means).
    pub value: String,
    pub style: Style,
    /// Inside `[…]` or `{…}`: an edit must not introduce `,`, `[`, `]`, `{` or `}` unquoted.
    pub flow: bool,
}

impl Scalar {
    /// A plain `~`, `null`, `Null`, `NULL` or nothing at all.
    pub fn is_null(&self) -> bool {
        self.style == Style::Plain
            && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    /// Entries in source order; keys are unique (duplicates are refused while parsing).
    Mapping(Vec<Entry>),
    /// `*name`: kept as written, never expanded.
    Alias,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// For a scalar: the token as written, quotes included. With an anchor or tag, the span
    /// starts at them. A block collection's span runs from its first entry to where the next
    /// token starts.
    pub span: Span,
    /// `&name` on this node.
    pub anchored: bool,
    /// An explicit tag such as `!!str` or `!custom`, as written.
    pub tag: Option<String>,
    pub kind: Kind,
}

impl Node {
    pub fn line(&self) -> usize {
        self.span.line
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry whose key is the scalar `key`, in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?
            .iter()
            .find(|entry| entry.key.as_scalar().is_some_and(|k| k.value == key))
    }

    /// The value at `path` of nested mapping keys.
    pub fn get(&self, path: &[&str]) -> Option<&Node> {
        path.iter()
            .try_fold(self, |node, key| node.entry(key).map(|entry| &entry.value))
    }

    /// This node and every node under it, depth first, keys before their values.
    pub fn walk(&self) -> Walk<'_> {
        Walk { stack: vec![self] }
    }
}

pub struct Walk<'a> {
    stack: Vec<&'a Node>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = &'a Node;

    fn next(&mut self) -> Option<&'a Node> {
        let node = self.stack.pop()?;
        match &node.kind {
            Kind::Sequence(items) => self.stack.extend(items.iter().rev()),
            Kind::Mapping(entries) => {
                for entry in entries.iter().rev() {
                    self.stack.push(&entry.value);
                    self.stack.push(&entry.key);
                }
            }
            Kind::Scalar(_) | Kind::Alias => {}
        }
        Some(node)
    }
}

/// One parsed YAML document with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub text: String,
    pub root: Node,
}

impl Document {
    /// The node as written in the source, e.g. `"1.10"` with its quotes.
    pub fn source(&self, node: &Node) -> &str {
        &self.text[node.span.range()]
    }

    /// The line to blame for something about `path`: the value's line when it is a
    /// scalar, else its key's line; `None` when the path is not in the document.
    pub fn line_of(&self, path: &[&str]) -> Option<usize> {
        let (last, parents) = path.split_last()?;
        let entry = self.root.get(parents)?.entry(last)?;
        Some(match entry.value.kind {
            Kind::Scalar(_) => entry.value.line(),
            _ => entry.key.line(),
        })
    }

    /// The text with `node`'s bytes replaced by `replacement`; every other byte unchanged.
    pub fn replaced(&self, node: &Node, replacement: &str) -> String {
        let range = node.span.range();
        let mut text = String::with_capacity(self.text.len() + replacement.len());
        text.push_str(&self.text[..range.start]);
        text.push_str(replacement);
        text.push_str(&self.text[range.end..]);
        text
    }
}
