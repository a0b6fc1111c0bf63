//! How the report is printed on stdout: text as each service completes, or one JSON or
//! Markdown document at the end.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Text, Format::Json, Format::Markdown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
            Self::Markdown => "markdown",
        }
    }
}

/// How `scan` and `status` print what they found: text, or one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFormat {
    #[default]
    Text,
    Json,
}
