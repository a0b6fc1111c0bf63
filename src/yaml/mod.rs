//! The one YAML layer: bytes → a spanned node tree ([`Document`]) → typed configs.
//!
//! - [`load`]: limits first (1 MiB, UTF-8 without a byte-order mark, 64 levels, one
//!   document, no duplicate keys), then an event parser into [`node`]s that keep their byte
//!   span, line, column, style and flow context — enough to edit one scalar in place later.
//! - [`de`]: a serde `Deserializer` over the tree; every error carries its node's line.
//! - [`schema`]: what a plain scalar means (YAML 1.2 core schema).
//! - [`probe`]: a lenient look at one top-level key, to leave other tools' files alone.

pub mod de;
pub mod load;
pub mod node;
pub mod probe;
pub mod schema;

pub use de::from_document;
pub use load::{parse, LoadError, MAX_BYTES, MAX_DEPTH};
pub use node::{Document, Entry, Kind, Node, Scalar, Span, Splice, Style};
