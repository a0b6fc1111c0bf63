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

    /// The text with every splice applied at once; every other byte unchanged. Ranges are
    /// offsets into [`Document::text`] and must not overlap; insertions at one offset
    /// (empty ranges) keep the order they are given in.
    pub fn spliced(&self, splices: &[Splice]) -> String {
        let mut order: Vec<&Splice> = splices.iter().collect();
        order.sort_by_key(|splice| (splice.range.start, splice.range.end));
        let mut text = String::with_capacity(self.text.len() + 64);
        let mut at = 0;
        for splice in order {
            debug_assert!(splice.range.start >= at, "overlapping splices");
            text.push_str(&self.text[at..splice.range.start]);
            text.push_str(&splice.text);
            at = splice.range.end;
        }
        text.push_str(&self.text[at..]);
        text
    }

    /// The line break the file uses: `\r\n` when its first line ends so, else `\n`.
    pub fn line_break(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Whether `node` is a `[…]` or `{…}` collection.
    pub fn is_flow_collection(&self, node: &Node) -> bool {
        matches!(node.kind, Kind::Mapping(_) | Kind::Sequence(_))
            && matches!(self.text.as_bytes().get(node.span.start), Some(b'[' | b'{'))
    }

    /// The offset just past the last token of `node`: a block collection's span runs on over
    /// the comments and blank lines after it, and a flow collection's over a comment after
    /// its closing bracket; a block scalar's over its trailing blank lines.
    pub fn content_end(&self, node: &Node) -> usize {
        if self.is_flow_collection(node) {
            return self
                .closing_bracket(node)
                .map_or(node.span.end, |at| at + 1);
        }
        match &node.kind {
            Kind::Mapping(entries) => entries
                .last()
                .map_or(node.span.start, |entry| self.content_end(&entry.value)),
            Kind::Sequence(items) => items
                .last()
                .map_or(node.span.start, |item| self.content_end(item)),
            Kind::Scalar(scalar) if matches!(scalar.style, Style::Literal | Style::Folded) => {
                let content = self.text[node.span.range()].trim_end();
                node.span.start + content.len()
            }
            Kind::Scalar(_) | Kind::Alias => node.span.end,
        }
    }

    /// The offset of a flow collection's closing `]` or `}`: after its last item, past
    /// blanks, line breaks, a trailing `,` and comments.
    pub fn closing_bracket(&self, node: &Node) -> Option<usize> {
        if !self.is_flow_collection(node) {
            return None;
        }
        let last = match &node.kind {
            Kind::Mapping(entries) => entries.last().map(|entry| &entry.value),
            Kind::Sequence(items) => items.last(),
            _ => None,
        };
        let mut at = last.map_or(node.span.start + 1, |last| self.content_end(last));
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(at) {
            match byte {
                b']' | b'}' => return Some(at),
                b' ' | b'\t' | b'\r' | b'\n' | b',' => at += 1,
                b'#' => {
                    while bytes.get(at).is_some_and(|b| *b != b'\n') {
                        at += 1;
                    }
                }
                _ => return None,
            }
        }
        None
    }
}

/// One replacement of a byte range of a document's text (an insertion when it is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub range: Range<usize>,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        crate::yaml::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn splices_apply_together_and_insertions_keep_their_order() {
        let doc = doc("a: 1\nb: 2\n");
        let splices = [
            Splice {
                range: 10..10,
                text: "c: 3\n".into(),
            },
            Splice {
                range: 3..4,
                text: "one".into(),
            },
            Splice {
                range: 10..10,
                text: "d: 4\n".into(),
            },
        ];
        assert_eq!(doc.spliced(&splices), "a: one\nb: 2\nc: 3\nd: 4\n");
        assert_eq!(doc.spliced(&[]), doc.text);
    }

    #[test]
    fn the_line_break_is_the_files_own() {
        assert_eq!(doc("a: 1\r\nb: 2\r\n").line_break(), "\r\n");
        assert_eq!(doc("a: 1\nb: 2\n").line_break(), "\n");
        assert_eq!(doc("a: 1").line_break(), "\n");
    }

    #[test]
    fn content_ends_before_the_comments_and_blank_lines_a_span_runs_over() {
        let text =
            "m:\n  k: v   # c\n\n  # more\nf: {a: 1, b: [x] }  # c }\nl: |\n  text\n\n\nz: 1\n";
        let doc = doc(text);
        let m = doc.root.get(&["m"]).unwrap();
        assert_eq!(&text[..doc.content_end(m)], "m:\n  k: v");
        let f = doc.root.get(&["f"]).unwrap();
        assert!(doc.is_flow_collection(f));
        assert_eq!(&text[f.span.start..doc.content_end(f)], "{a: 1, b: [x] }");
        assert_eq!(doc.closing_bracket(f), Some(doc.content_end(f) - 1));
        let l = doc.root.get(&["l"]).unwrap();
        assert_eq!(&text[l.span.start..doc.content_end(l)], "text");
        let empty = crate::yaml::parse(b"e: {\n  # nothing\n  }\n").unwrap();
        let e = empty.root.get(&["e"]).unwrap();
        assert_eq!(empty.closing_bracket(e), Some(19));
    }
}
