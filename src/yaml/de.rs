//! [`Document`] → any `#[derive(Deserialize)]` type, with every error pinned to the line of
//! the node it is about: an unknown key at the key, a missing field at its mapping, a wrong
//! type at the value.
//!
//! Scalars are read as written: a plain `1.10` asked for as a string is `"1.10"`, never a
//! float printed back. Anchors, aliases and explicit tags are refused: a Lambda config says
//! what it deploys in so many words, where a reviewer reads it.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use super::node::{Document, Entry, Kind, Node, Style};
use super::schema::{self, Plain};
use crate::problem::excerpt;

#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The line of the node the error is about.
    pub line: Option<usize>,
    /// Where in the document, e.g. `lambda.environment.KEY`; empty at the root.
    pub path: String,
    pub kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    MissingField {
        field: &'static str,
    },
    InvalidType {
        found: String,
        expected: String,
    },
    /// `&anchor`, `*alias` or `!tag`.
    NotAccepted {
        what: &'static str,
    },
    /// A key that is a sequence or mapping.
    ComplexKey,
    Message(String),
}

impl Error {
    fn new(kind: ErrorKind) -> Self {
        Self {
            line: None,
            path: String::new(),
            kind,
        }
    }

    /// Pins an error that does not know its place yet to `node`.
    fn at(mut self, node: &Node, path: &str) -> Self {
        if self.line.is_none() {
            self.line = Some(node.line());
            self.path = path.to_owned();
        }
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownField { field, expected } => {
                write!(f, "unknown field `{field}`")?;
                match expected.len() {
                    0 => write!(f, ": no fields are accepted here"),
                    _ => write!(
                        f,
                        ", expected {}",
                        expected
                            .iter()
                            .map(|name| format!("`{name}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
            Self::MissingField { field } => write!(f, "missing field `{field}`"),
            Self::InvalidType { found, expected } => {
                write!(f, "invalid type: {found}, expected {expected}")
            }
            Self::NotAccepted { what } => write!(
                f,
                "{what} are not accepted in Lambda configs: write each value out where it is used"
            ),
            Self::ComplexKey => f.write_str("a key must be a plain or quoted scalar"),
            Self::Message(message) => f.write_str(message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self::new(ErrorKind::Message(excerpt(&message.to_string())))
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::new(ErrorKind::InvalidType {
            found: describe(unexpected),
            expected: expected.to_string(),
        })
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value: {}, expected {expected}",
            describe(unexpected)
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(ErrorKind::UnknownField {
            field: excerpt(field),
            expected,
        })
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(ErrorKind::MissingField { field })
    }
}

/// serde's own rendering, with file text trimmed to one short line and `null` for unit.
fn describe(unexpected: Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Str(text) => format!("string \"{}\"", excerpt(text)),
        Unexpected::Other(text) => excerpt(text),
        other => other.to_string(),
    }
}

/// Deserializes the whole document as `T`.
pub fn from_document<T: DeserializeOwned>(doc: &Document) -> Result<T, Error> {
    for node in doc.root.walk() {
        let what = match (&node.kind, node.anchored, &node.tag) {
            (Kind::Alias, ..) => "aliases (`*name`)",
            (_, true, _) => "anchors (`&name`)",
            (_, _, Some(_)) => "tags (`!tag`)",
            _ => continue,
        };
        return Err(Error::new(ErrorKind::NotAccepted { what }).at(node, ""));
    }
    T::deserialize(NodeDeserializer {
        node: &doc.root,
        path: String::new(),
    })
}

struct NodeDeserializer<'a> {
    node: &'a Node,
    path: String,
}

impl<'a> NodeDeserializer<'a> {
    /// The plain scalar's meaning; `None` for quoted and block scalars and collections.
    fn plain(&self) -> Option<Plain> {
        match &self.node.kind {
            Kind::Scalar(scalar) if scalar.style == Style::Plain => {
                Some(schema::resolve(&scalar.value))
            }
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.plain(), Some(Plain::Null))
    }

    /// What this node is, for "invalid type" errors: a plain scalar as written (`number
    /// `1.10``, not `1.1`).
    fn found(&self) -> String {
        match &self.node.kind {
            Kind::Scalar(scalar) => {
                let text = excerpt(&scalar.value);
                match self.plain() {
                    Some(Plain::Null) => "null".to_owned(),
                    Some(Plain::Bool(_)) => format!("boolean `{text}`"),
                    Some(Plain::Int(_) | Plain::BigInt | Plain::Float(_)) => {
                        format!("number `{text}`")
                    }
                    Some(Plain::Text) | None => format!("string \"{text}\""),
                }
            }
            Kind::Sequence(_) => "sequence".to_owned(),
            Kind::Mapping(_) => "map".to_owned(),
            Kind::Alias => "an alias".to_owned(),
        }
    }

    fn invalid<T>(&self, expected: &dyn de::Expected) -> Result<T, Error> {
        Err(Error::new(ErrorKind::InvalidType {
            found: self.found(),
            expected: expected.to_string(),
        }))
    }

    /// Puts any error from `result` at this node.
    fn here<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|error| error.at(self.node, &self.path))
    }

    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match self.plain() {
            Some(Plain::Int(i)) => match (i64::try_from(i), u64::try_from(i)) {
                (Ok(i), _) => visitor.visit_i64(i),
                (_, Ok(u)) => visitor.visit_u64(u),
                _ => visitor.visit_i128(i),
            },
            _ => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn child(&self, key: &str) -> String {
        let key = excerpt(key);
        if self.path.is_empty() {
            key
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            Kind::Scalar(scalar) => match self.plain() {
                Some(Plain::Null) => visitor.visit_unit(),
                Some(Plain::Bool(b)) => visitor.visit_bool(b),
                Some(Plain::Int(_)) => return self.integer(visitor),
                Some(Plain::Float(x)) => visitor.visit_f64(x),
                Some(Plain::BigInt | Plain::Text) | None => visitor.visit_str(&scalar.value),
            },
            Kind::Sequence(items) => visitor.visit_seq(SeqAccess {
                items: items.iter().enumerate(),
                path: &self.path,
            }),
            Kind::Mapping(entries) => visitor.visit_map(MapAccess {
                entries: entries.iter(),
                current: None,
                path: &self.path,
            }),
            Kind::Alias => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match self.plain() {
            Some(Plain::Bool(b)) => visitor.visit_bool(b),
            _ => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.integer(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match self.plain() {
            Some(Plain::Float(x)) => visitor.visit_f64(x),
            Some(Plain::Int(i)) => visitor.visit_f64(i as f64),
            _ => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    /// Any scalar but null, as written (after YAML's quoting and folding).
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            Kind::Scalar(_) if self.is_null() => visitor.visit_unit(),
            Kind::Scalar(scalar) => visitor.visit_str(&scalar.value),
            _ => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_null() {
            let result = visitor.visit_none();
            self.here(result)
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let result = if self.is_null() {
            visitor.visit_unit()
        } else {
            self.invalid(&visitor)
        };
        self.here(result)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.kind {
            Kind::Sequence(_) => self.deserialize_any(visitor),
            _ => self.here(self.invalid(&visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.node.kind {
            Kind::Mapping(_) => self.deserialize_any(visitor),
            _ => self.here(self.invalid(&visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    /// A scalar names a unit variant; a one-entry mapping `{variant: value}` any other.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let result = match &self.node.kind {
            Kind::Scalar(scalar) => visitor.visit_enum(scalar.value.as_str().into_deserializer()),
            Kind::Mapping(entries) if entries.len() == 1 => visitor.visit_enum(EnumAccess {
                entry: &entries[0],
                path: &self.path,
            }),
            _ => self.invalid(&visitor),
        };
        self.here(result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'a str,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((index, node)) = self.items.next() else {
            return Ok(None);
        };
        seed.deserialize(NodeDeserializer {
            node,
            path: format!("{}[{index}]", self.path),
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapAccess<'a> {
    entries: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
    path: &'a str,
}

impl MapAccess<'_> {
    fn key_deserializer<'n>(&self, key: &'n Node) -> Result<NodeDeserializer<'n>, Error> {
        match key.kind {
            Kind::Scalar(_) => Ok(NodeDeserializer {
                node: key,
                path: self.path.to_owned(),
            }),
            _ => Err(Error::new(ErrorKind::ComplexKey).at(key, self.path)),
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        // Errors about the key (an unknown field) are pinned to the key by the deserializer.
        seed.deserialize(self.key_deserializer(&entry.key)?)
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let entry = self
            .current
            .take()
            .expect("serde asks for a value after its key");
        let key = entry.key.as_scalar().map_or("", |k| k.value.as_str());
        let parent = NodeDeserializer {
            node: &entry.key,
            path: self.path.to_owned(),
        };
        seed.deserialize(NodeDeserializer {
            node: &entry.value,
            path: parent.child(key),
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumAccess<'a> {
    entry: &'a Entry,
    path: &'a str,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(NodeDeserializer {
            node: &self.entry.key,
            path: self.path.to_owned(),
        })?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumAccess<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(self.value())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self.value())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self.value(), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self.value(), visitor)
    }
}

impl EnumAccess<'_> {
    fn value(&self) -> NodeDeserializer<'_> {
        let key = self.entry.key.as_scalar().map_or("", |k| k.value.as_str());
        let parent = NodeDeserializer {
            node: &self.entry.key,
            path: self.path.to_owned(),
        };
        NodeDeserializer {
            node: &self.entry.value,
            path: parent.child(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::parse;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Config {
        name: String,
        size: Option<u32>,
        inner: Option<Inner>,
        #[serde(default)]
        map: BTreeMap<String, String>,
        #[serde(default)]
        list: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Inner {
        version: String,
        flag: Option<bool>,
    }

    fn read(text: &str) -> Result<Config, Error> {
        from_document(&parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn scalars_are_read_as_written() {
        let config = read("name: 1.10\nsize: 512\ninner: {version: 0x1F}\nmap: {a: .inf, b: 12345678901234567890123, c: true}\nlist: [1e3, '~']\n").unwrap();
        assert_eq!(config.name, "1.10");
        assert_eq!(config.size, Some(512));
        assert_eq!(config.inner.unwrap().version, "0x1F");
        assert_eq!(config.map["a"], ".inf");
        assert_eq!(config.map["b"], "12345678901234567890123");
        assert_eq!(config.map["c"], "true");
        assert_eq!(config.list, ["1e3", "~"]);
    }

    #[test]
    fn an_unknown_key_is_at_the_key() {
        let error = read("name: x\ninner:\n  version: '1'\n  verison: '2'\n").unwrap_err();
        assert_eq!(error.line, Some(4));
        assert_eq!(error.path, "inner");
        assert!(matches!(&error.kind, ErrorKind::UnknownField { field, .. } if field == "verison"));
        assert!(
            error
                .to_string()
                .starts_with("inner: unknown field `verison`, expected `version`, `flag`"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_field_is_at_its_mapping() {
        let error = read("name: x\n\ninner:\n  flag: true\n").unwrap_err();
        assert_eq!(error.line, Some(4));
        assert_eq!(error.to_string(), "inner: missing field `version`");
        let error = read("# c\nsize: 1\n").unwrap_err();
        assert_eq!((error.line, error.path.as_str()), (Some(2), ""));
    }

    #[test]
    fn a_wrong_type_is_at_the_value() {
        let error = read("name: x\nsize:\n  lots\n").unwrap_err();
        assert_eq!(error.line, Some(3));
        assert_eq!(
            error.to_string(),
            "size: invalid type: string \"lots\", expected u32"
        );
        let error = read("name: x\nsize: \"512\"\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = read("name: x\ninner: {version: [1]}\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "inner.version: invalid type: sequence, expected a string"
        );
        let error = read("name: ~\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "name: invalid type: null, expected a string"
        );
        let error = read("name: x\nsize: 99999999999\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = read("name: x\nsize: 1.10\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "size: invalid type: number `1.10`, expected u32"
        );
        let error = read("name: x\nlist: [a, {b: c}]\n").unwrap_err();
        assert_eq!(error.path, "list[1]");
    }

    #[test]
    fn long_values_are_trimmed_in_messages() {
        let long = "x".repeat(5000);
        let error = read(&format!("name: x\nsize: {long}\n")).unwrap_err();
        assert!(error.to_string().len() < 300, "{error}");
    }

    #[test]
    fn anchors_aliases_tags_and_complex_keys_are_refused_with_their_line() {
        let error = read("name: &n x\nlist: [*n]\n").unwrap_err();
        assert_eq!(error.line, Some(1));
        assert!(error.to_string().contains("anchors"), "{error}");
        let error = read("name: x\nsize: !!int 3\n").unwrap_err();
        assert_eq!(error.line, Some(2));
        let error = read("name: x\n? [a]\n: b\n").unwrap_err();
        assert_eq!((error.line, error.kind), (Some(2), ErrorKind::ComplexKey));
    }
}
