//! Bytes → [`Document`], within limits: at most [`MAX_BYTES`], UTF-8 without a byte-order
//! mark, one document, nesting at most [`MAX_DEPTH`] deep (checked while the events stream
//! in, so a pathological file fails at the first level too many), no duplicate keys.
//! Anchors and aliases are kept as written, never expanded.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};

use super::node::{Document, Entry, Kind, Node, Scalar, Span, Style};
use crate::problem::excerpt;

/// Larger files are refused before any parsing.
pub const MAX_BYTES: usize = 1 << 20;
/// Sequences and mappings nested deeper than this are refused.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("the file is {size} bytes; YAML files are read up to 1 MiB ({MAX_BYTES} bytes)")]
    TooLarge { size: u64 },
    #[error("the file starts with a byte-order mark")]
    ByteOrderMark,
    #[error("the file is not UTF-8 (a Latin-1 or other non-UTF-8 character on this line)")]
    NotUtf8 { line: usize },
    #[error(
        "the file holds the control character U+{code:04X}, which YAML does not allow unescaped"
    )]
    ControlCharacter { line: usize, code: u32 },
    #[error("the YAML is nested deeper than {MAX_DEPTH} levels")]
    TooDeep { line: usize },
    #[error("YAML syntax error: {message}")]
    Syntax { line: usize, message: String },
    #[error("duplicate key `{key}`: it is also at line {first_line}")]
    DuplicateKey {
        key: String,
        first_line: usize,
        line: usize,
    },
    #[error("the file holds more than one YAML document")]
    SeveralDocuments { line: usize },
    #[error("the file is empty")]
    Empty,
}

impl LoadError {
    /// The 1-based line the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::NotUtf8 { line }
            | Self::ControlCharacter { line, .. }
            | Self::TooDeep { line }
            | Self::Syntax { line, .. }
            | Self::DuplicateKey { line, .. }
            | Self::SeveralDocuments { line } => Some(*line),
            Self::ByteOrderMark => Some(1),
            Self::TooLarge { .. } | Self::Empty => None,
        }
    }

    /// What to do about it, where that is not obvious.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::ByteOrderMark | Self::NotUtf8 { .. } => {
                Some("save the file as UTF-8 without a byte-order mark")
            }
            Self::DuplicateKey { .. } => Some("YAML readers disagree on which one wins: keep one"),
            _ => None,
        }
    }
}

/// Parses one YAML document from `bytes`.
pub fn parse(bytes: &[u8]) -> Result<Document, LoadError> {
    let text = decode(bytes)?;
    parse_str(text).map(|root| Document {
        text: text.to_owned(),
        root,
    })
}

/// The checks that come before parsing: size, byte-order mark, UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, LoadError> {
    if bytes.len() > MAX_BYTES {
        return Err(LoadError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(LoadError::ByteOrderMark);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| LoadError::NotUtf8 {
        line: line_at(bytes, error.valid_up_to()),
    })?;
    // YAML's printable set: no C0 or C1 controls but tab, line breaks and NEL.
    match text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
    {
        Some((offset, c)) => Err(LoadError::ControlCharacter {
            line: line_at(bytes, offset),
            code: c as u32,
        }),
        None => Ok(text),
    }
}

fn line_at(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

fn parse_str(text: &str) -> Result<Node, LoadError> {
    let mut builder = Builder::new(text);
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|error| scan_error(text, &error))?;
        let span = builder.span(span);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(LoadError::SeveralDocuments { line: span.line });
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let flow = builder.in_flow();
                let span = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_span(text, span)
                    }
                    _ => span,
                };
                builder.complete(Node {
                    span,
                    anchored: anchor != 0,
                    tag: tag.map(|tag| tag_text(&tag)),
                    kind: Kind::Scalar(Scalar {
                        value: value.into_owned(),
                        style: style_of(style),
                        flow,
                    }),
                })?;
            }
            Event::Alias(_) => builder.complete(Node {
                span,
                anchored: false,
                tag: None,
                kind: Kind::Alias,
            })?,
            Event::SequenceStart(anchor, tag) => {
                builder.open(span, anchor != 0, tag.map(|t| tag_text(&t)), false)?
            }
            Event::MappingStart(anchor, tag) => {
                builder.open(span, anchor != 0, tag.map(|t| tag_text(&t)), true)?
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(span)?,
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    builder.root.ok_or(LoadError::Empty)
}

/// The parser's error, on a line of the text.
fn scan_error(text: &str, error: &ScanError) -> LoadError {
    // An error found at the end of the text (an unclosed `[`) is on the last line.
    let last_line = text.trim_end_matches('\n').matches('\n').count() + 1;
    let line = error.marker().line().clamp(1, last_line);
    // The scanner's own limit on flow nesting (255) can fire before ours: the
    // look-ahead for a `key:` reads ahead of the events.
    if error.info().contains("recursion limit") {
        LoadError::TooDeep { line }
    } else {
        LoadError::Syntax {
            line,
            message: excerpt(error.info()),
        }
    }
}

/// The parser's end mark for a quoted scalar runs on over trailing blanks and a comment;
/// the token ends at its closing quote.
fn quoted_span(text: &str, span: Span) -> Span {
    let bytes = text.as_bytes();
    // Skip any properties (`&anchor`, `!tag`) before the opening quote.
    let mut open = span.start;
    while open < span.end && matches!(bytes[open], b'&' | b'!') {
        while open < span.end && !bytes[open].is_ascii_whitespace() {
            open += 1;
        }
        while open < span.end && bytes[open].is_ascii_whitespace() {
            open += 1;
        }
    }
    let Some(&quote) = bytes.get(open).filter(|b| matches!(b, b'\'' | b'"')) else {
        return span;
    };
    let mut i = open + 1;
    while i < span.end {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Span { end: i + 1, ..span },
            _ => i += 1,
        }
    }
    span
}

fn style_of(style: ScalarStyle) -> Style {
    match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
    }
}

fn tag_text(tag: &Tag) -> String {
    match tag.handle.as_str() {
        "tag:yaml.org,2002:" => format!("!!{}", tag.suffix),
        "!" => format!("!{}", tag.suffix),
        handle => format!("{handle}{}", tag.suffix),
    }
}

/// A collection being built.
struct Open {
    start: Span,
    anchored: bool,
    tag: Option<String>,
    flow: bool,
    body: Body,
}

enum Body {
    Sequence(Vec<Node>),
    Mapping {
        entries: Vec<Entry>,
        key: Option<Node>,
        /// Scalar keys seen so far → their line.
        seen: HashMap<String, usize>,
    },
}

struct Builder<'t> {
    text: &'t str,
    /// Byte offset of each character index (the parser counts characters); empty for
    /// ASCII text, where the two are the same.
    offsets: Vec<u32>,
    stack: Vec<Open>,
    root: Option<Node>,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        let offsets = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .map(|(byte, _)| byte as u32)
                .chain([text.len() as u32])
                .collect()
        };
        Self {
            text,
            offsets,
            stack: Vec::new(),
            root: None,
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.offsets.is_empty() {
            char_index.min(self.text.len())
        } else {
            self.offsets[char_index.min(self.offsets.len() - 1)] as usize
        }
    }

    fn span(&self, span: saphyr_parser::Span) -> Span {
        Span {
            start: self.byte(span.start.index()),
            end: self.byte(span.end.index()),
            line: span.start.line().max(1),
            column: span.start.col() + 1,
        }
    }

    fn in_flow(&self) -> bool {
        self.stack.last().is_some_and(|open| open.flow)
    }

    fn open(
        &mut self,
        start: Span,
        anchored: bool,
        tag: Option<String>,
        mapping: bool,
    ) -> Result<(), LoadError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(LoadError::TooDeep { line: start.line });
        }
        let flow = matches!(self.text.as_bytes().get(start.start), Some(b'[' | b'{'))
            && start.end > start.start;
        let body = if mapping {
            Body::Mapping {
                entries: Vec::new(),
                key: None,
                seen: HashMap::new(),
            }
        } else {
            Body::Sequence(Vec::new())
        };
        self.stack.push(Open {
            start,
            anchored,
            tag,
            flow,
            body,
        });
        Ok(())
    }

    fn close(&mut self, end: Span) -> Result<(), LoadError> {
        let Some(open) = self.stack.pop() else {
            return Ok(());
        };
        let kind = match open.body {
            Body::Sequence(items) => Kind::Sequence(items),
            Body::Mapping { entries, .. } => Kind::Mapping(entries),
        };
        let end = if open.flow { end.end } else { end.start };
        self.complete(Node {
            span: Span {
                end: end.max(open.start.start),
                ..open.start
            },
            anchored: open.anchored,
            tag: open.tag,
            kind,
        })
    }

    /// A finished node goes into its parent (as a key, a value or an item) or is the root.
    fn complete(&mut self, node: Node) -> Result<(), LoadError> {
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        match &mut parent.body {
            Body::Sequence(items) => items.push(node),
            Body::Mapping { entries, key, seen } => match key.take() {
                Some(key) => entries.push(Entry { key, value: node }),
                None => {
                    if let Kind::Scalar(scalar) = &node.kind {
                        if let Some(first_line) = seen.insert(scalar.value.clone(), node.line()) {
                            return Err(LoadError::DuplicateKey {
                                key: excerpt(&scalar.value),
                                first_line,
                                line: node.line(),
                            });
                        }
                    }
                    *key = Some(node);
                }
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        parse(text.as_bytes()).unwrap()
    }

    fn scalar_source<'d>(doc: &'d Document, path: &[&str]) -> &'d str {
        doc.source(doc.root.get(path).unwrap())
    }

    #[test]
    fn spans_slice_exactly_the_token_out_of_the_source() {
        let text = "plain: 1.10   # c\nquoted: 'it''s'  # c\ndouble: \"a\\t\\\"b\" \nflow: {name: \"x y\" , n: 0x1F}\nü: 'é' # ü\n";
        let doc = doc(text);
        assert_eq!(scalar_source(&doc, &["plain"]), "1.10");
        assert_eq!(scalar_source(&doc, &["quoted"]), "'it''s'");
        assert_eq!(scalar_source(&doc, &["double"]), "\"a\\t\\\"b\"");
        assert_eq!(scalar_source(&doc, &["flow", "name"]), "\"x y\"");
        assert_eq!(scalar_source(&doc, &["flow", "n"]), "0x1F");
        assert_eq!(scalar_source(&doc, &["flow"]), "{name: \"x y\" , n: 0x1F}");
        // Non-ASCII text: character positions become byte offsets.
        assert_eq!(scalar_source(&doc, &["ü"]), "'é'");
    }

    #[test]
    fn scalars_know_their_style_flow_and_position() {
        let doc = doc("a: x\nb: [y]\nc: |\n  z\n");
        let a = doc.root.get(&["a"]).unwrap();
        assert_eq!((a.line(), a.span.column), (1, 4));
        let a = a.as_scalar().unwrap();
        assert_eq!((a.style, a.flow), (Style::Plain, false));
        let Kind::Sequence(items) = &doc.root.get(&["b"]).unwrap().kind else {
            panic!("a sequence");
        };
        assert!(items[0].as_scalar().unwrap().flow);
        let c = doc.root.get(&["c"]).unwrap();
        assert_eq!(c.as_scalar().unwrap().style, Style::Literal);
        assert_eq!(c.as_scalar().unwrap().value, "z\n");
        assert_eq!(c.line(), 4);
    }

    #[test]
    fn replacing_a_span_keeps_every_other_byte() {
        let text = "# keep me\nlambda:\n  version: \"1.0.0\"   # and me\n  other: {v: 1}\n";
        let doc = doc(text);
        let version = doc.root.get(&["lambda", "version"]).unwrap();
        assert_eq!(
            doc.replaced(version, "\"1.1.0\""),
            text.replace("\"1.0.0\"", "\"1.1.0\"")
        );
    }

    #[test]
    fn line_of_blames_the_value_of_a_scalar_and_the_key_of_a_collection() {
        let doc = doc("a: 1\nlambda:\n  # c\n  version: x\n  env: {K: v}\n");
        assert_eq!(doc.line_of(&["a"]), Some(1));
        assert_eq!(doc.line_of(&["lambda"]), Some(2));
        assert_eq!(doc.line_of(&["lambda", "version"]), Some(4));
        assert_eq!(doc.line_of(&["lambda", "env", "K"]), Some(5));
        assert_eq!(doc.line_of(&["lambda", "missing"]), None);
    }

    #[test]
    fn duplicate_keys_name_both_lines_in_block_and_flow_style() {
        assert_eq!(
            parse(b"a: 1\nb:\n  c: 1\n  c: 2\n"),
            Err(LoadError::DuplicateKey {
                key: "c".into(),
                first_line: 3,
                line: 4
            })
        );
        assert_eq!(
            parse(b"x: {a: 1,\n  'a': 2}\n"),
            Err(LoadError::DuplicateKey {
                key: "a".into(),
                first_line: 1,
                line: 2
            })
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_first_level_too_many() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(deep.as_bytes()), Err(LoadError::TooDeep { line: 1 }));
        let block: String = (0..100)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect();
        assert!(matches!(
            parse(block.as_bytes()),
            Err(LoadError::TooDeep { line: 65 })
        ));
        let huge = "[".repeat(100_000);
        assert!(matches!(
            parse(huge.as_bytes()),
            Err(LoadError::TooDeep { .. })
        ));
    }

    #[test]
    fn encodings_sizes_and_documents() {
        assert_eq!(parse(b"\xEF\xBB\xBFa: 1\n"), Err(LoadError::ByteOrderMark));
        assert_eq!(
            parse(b"a: 1\n# caf\xE9\n"),
            Err(LoadError::NotUtf8 { line: 2 })
        );
        let big = vec![b'#'; MAX_BYTES + 1];
        assert_eq!(
            parse(&big),
            Err(LoadError::TooLarge {
                size: MAX_BYTES as u64 + 1
            })
        );
        assert_eq!(parse(b"# nothing\n"), Err(LoadError::Empty));
        assert_eq!(
            parse(b"a: 1\nb: x\x1b[2J\n"),
            Err(LoadError::ControlCharacter {
                line: 2,
                code: 0x1b
            })
        );
        assert!(parse("a: \"tab\there\"\r\n".as_bytes()).is_ok());
        assert_eq!(
            parse(b"a: 1\n---\nb: 2\n"),
            Err(LoadError::SeveralDocuments { line: 2 })
        );
        assert!(matches!(
            parse(b"a: [1\n"),
            Err(LoadError::Syntax { line: 1, .. })
        ));
    }

    #[test]
    fn anchors_aliases_and_tags_are_kept_not_expanded() {
        let doc = doc("a: &x {k: v}\nb: *x\nc: !!str 1\n");
        assert!(doc.root.get(&["a"]).unwrap().anchored);
        assert_eq!(doc.root.get(&["b"]).unwrap().kind, Kind::Alias);
        assert_eq!(doc.root.get(&["c"]).unwrap().tag.as_deref(), Some("!!str"));
    }
}
