//! A new value written the way the old one was: plain stays plain where every YAML reader
//! reads the new text back as the same string (else it is double-quoted), quoted stays in
//! its quotes.

use crate::yaml::schema::{self, Plain};
use crate::yaml::{Scalar, Style};

use super::implicit;

/// `value` as a scalar token in the style of `like`; `None` for block scalars (`|`, `>`),
/// which an edit does not rewrite.
pub fn like(value: &str, like: &Scalar) -> Option<String> {
    match like.style {
        Style::Plain if plain_reads_back(value, like.flow) => Some(value.to_owned()),
        Style::SingleQuoted if !value.chars().any(escaped) => {
            Some(format!("'{}'", value.replace('\'', "''")))
        }
        Style::Plain | Style::SingleQuoted | Style::DoubleQuoted => Some(double_quoted(value)),
        Style::Literal | Style::Folded => None,
    }
}

/// `"value"` with YAML's escapes: the style for values lambda-gitops writes itself.
pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if escaped(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A character written only as an escape: a control character, or one that a YAML 1.1
/// reader takes for a line break (U+2028, U+2029) or refuses to read (U+FFFE, U+FFFF), or a
/// byte-order mark.
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Whether `value`, written plain, is read back as exactly that string by any YAML reader:
/// no rule of [`implicit`] (YAML 1.1 and 1.2 null, bool, int, float, timestamp…) matches it
/// and lambda-gitops's own reader agrees; no indicator at its start; no `: ` or ` #` inside;
/// no flow indicator (nor `:` or `?`) inside `[…]` or `{…}`; one line, no edge blanks.
pub fn plain_reads_back(value: &str, flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let indicator_first = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let flow_indicator = flow && value.contains([',', '[', ']', '{', '}', ':', '?']);
    !indicator_first
        && !flow_indicator
        && implicit::non_string(value).is_none()
        && schema::resolve(value) == Plain::Text
        && value.trim() == value
        && !value.chars().any(escaped)
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(style: Style, flow: bool) -> Scalar {
        Scalar {
            value: String::new(),
            style,
            flow,
        }
    }

    #[test]
    fn each_style_is_kept() {
        assert_eq!(
            like("0.1.7", &scalar(Style::Plain, false)).unwrap(),
            "0.1.7"
        );
        assert_eq!(
            like("0.1.7", &scalar(Style::DoubleQuoted, false)).unwrap(),
            "\"0.1.7\""
        );
        assert_eq!(
            like("it's", &scalar(Style::SingleQuoted, false)).unwrap(),
            "'it''s'"
        );
        assert_eq!(like("x", &scalar(Style::Literal, false)), None);
        assert_eq!(like("x", &scalar(Style::Folded, false)), None);
    }

    #[test]
    fn a_plain_value_that_would_read_back_as_something_else_is_quoted() {
        let plain = scalar(Style::Plain, false);
        for (value, written) in [
            ("1.10", "\"1.10\""),
            ("1", "\"1\""),
            ("true", "\"true\""),
            ("yes", "\"yes\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("", "\"\""),
            ("-1.0", "\"-1.0\""),
            ("a: b", "\"a: b\""),
            ("a #b", "\"a #b\""),
            ("*x", "\"*x\""),
            (" x", "\" x\""),
            ("1e3", "\"1e3\""),
            ("0x1F", "\"0x1F\""),
            ("0b101", "\"0b101\""),
            ("1_000", "\"1_000\""),
            ("010", "\"010\""),
            ("1:20", "\"1:20\""),
            ("On", "\"On\""),
            ("2001-12-14", "\"2001-12-14\""),
            ("=", "\"=\""),
            ("<<", "\"<<\""),
            ("line\u{2028}break", "\"line\\u2028break\""),
        ] {
            assert_eq!(like(value, &plain).unwrap(), written, "{value:?}");
        }
        assert_eq!(like("1.2.3-pr7", &plain).unwrap(), "1.2.3-pr7");
        assert_eq!(like("lambda/pr-7.zip", &plain).unwrap(), "lambda/pr-7.zip");
        assert_eq!(like("3f5c9a1", &plain).unwrap(), "3f5c9a1");
        // Digits only: a number, so quoted.
        assert_eq!(like("3000000", &plain).unwrap(), "\"3000000\"");
    }

    #[test]
    fn flow_indicators_are_quoted_only_inside_flow_collections() {
        assert_eq!(like("a,b", &scalar(Style::Plain, false)).unwrap(), "a,b");
        assert_eq!(like("a,b", &scalar(Style::Plain, true)).unwrap(), "\"a,b\"");
        assert_eq!(like("x}", &scalar(Style::Plain, true)).unwrap(), "\"x}\"");
    }

    #[test]
    fn escapes_read_back_as_the_value() {
        for value in [
            "a\"b",
            "back\\slash",
            "tab\there",
            "bell\u{7}",
            "it's",
            "nel\u{85}ls\u{2028}ps\u{2029}",
            "\u{FEFF}bom",
        ] {
            let written = format!("v: {}\n", double_quoted(value));
            let doc = crate::yaml::parse(written.as_bytes()).unwrap();
            let read = doc.root.get(&["v"]).unwrap().as_scalar().unwrap();
            assert_eq!(read.value, value, "{written}");
        }
        let single = format!(
            "v: {}\n",
            like("it's", &scalar(Style::SingleQuoted, false)).unwrap()
        );
        let doc = crate::yaml::parse(single.as_bytes()).unwrap();
        assert_eq!(
            doc.root.get(&["v"]).unwrap().as_scalar().unwrap().value,
            "it's"
        );
    }
}
