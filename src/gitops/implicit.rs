//! Which plain (unquoted) scalars some YAML reader takes for something other than a
//! string. In: a value. Out: the first rule it matches, if any — and then an edit writes it
//! quoted ([`super::scalar`]).
//!
//! The table holds the implicit types of the YAML 1.2 core schema (whose forms include
//! every form of the JSON schema) and of YAML 1.1 (yaml.org/type/: bool, null, int, float,
//! timestamp, merge, value), which PyYAML, SnakeYAML, libyaml-based readers, older Argo CD
//! and Helm tooling and many CI scripts still apply; then what widely used readers accept
//! beyond both (Psych, go-yaml v2, js-yaml). Matching too much only quotes a value that
//! did not need it; matching too little changes what a reader sees — so where in doubt, a
//! rule is wider.

use std::sync::LazyLock;

use regex::Regex;

/// A kind of plain scalar that a reader does not read as a string.
struct Rule {
    /// The reader (or schema) and the type it reads.
    name: &'static str,
    /// Matched against the whole value.
    pattern: &'static str,
    /// Matched with every `_` dropped first, as go-yaml v2 and js-yaml read numbers.
    underscores_dropped: bool,
}

const fn rule(name: &'static str, pattern: &'static str) -> Rule {
    Rule {
        name,
        pattern,
        underscores_dropped: false,
    }
}

const RULES: &[Rule] = &[
    // YAML 1.2.2 §10.3.2, the core schema (the JSON schema, §10.2.2, is a subset of it).
    rule("YAML 1.2 null", r"null|Null|NULL|~|"),
    rule("YAML 1.2 bool", r"true|True|TRUE|false|False|FALSE"),
    rule("YAML 1.2 int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
    rule(
        "YAML 1.2 float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
    ),
    // YAML 1.1, yaml.org/type/{bool,null,int,float,timestamp,merge,value}.html.
    rule(
        "YAML 1.1 bool",
        r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
    ),
    rule("YAML 1.1 null", r"~|null|Null|NULL|"),
    rule(
        "YAML 1.1 int",
        r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+",
    ),
    // The page's base 10 form reads `\.[0-9.]*`, which would make `1.2.3` a float; the
    // readers implement `\.[0-9_]*` (PyYAML, SnakeYAML), and so does this rule.
    rule(
        "YAML 1.1 float",
        r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
    ),
    rule(
        "YAML 1.1 timestamp",
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?",
    ),
    rule("YAML 1.1 merge key", r"<<"),
    rule("YAML 1.1 value key", r"="),
    // Psych (Ruby) reads these words in any case; y and n too, to be safe.
    rule(
        "Psych bool, null, inf or nan",
        r"(?i:y|n|yes|no|on|off|true|false|null|[-+]?\.inf|[-+]?\.nan)",
    ),
    // Psych: `,` between digits, sexagesimal numbers from 0.
    rule(
        "Psych number",
        r"[-+]?0b[0-1_,]+|[-+]?[0-9][0-9_,]*|[-+]?0x[0-9a-fA-F_,]+|[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}(\.[0-9_]*)?",
    ),
    // Psych and go-yaml v2: dates (and times) with a one-digit month or day.
    rule(
        "Psych or go-yaml date",
        r"-?[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt \t].*)?",
    ),
    // go-yaml v2 and js-yaml drop every `_` before reading a number; Go reads `0B`, `0O`,
    // `0X` and a leading-0 octal too.
    Rule {
        name: "go-yaml or js-yaml number",
        pattern: r"[-+]?(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+)|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?",
        underscores_dropped: true,
    },
];

static COMPILED: LazyLock<Vec<(&'static Rule, Regex)>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|rule| {
            let regex = Regex::new(&format!("^(?:{})$", rule.pattern)).expect("a valid rule");
            (rule, regex)
        })
        .collect()
});

/// The first rule under which `value`, written plain, is not read as a string: the reader
/// and the type, e.g. `YAML 1.1 int`.
pub fn non_string(value: &str) -> Option<&'static str> {
    matching(value).next()
}

/// Every rule `value` matches, in the table's order.
fn matching(value: &str) -> impl Iterator<Item = &'static str> + '_ {
    let dropped = value.replace('_', "");
    COMPILED
        .iter()
        .filter(move |(rule, regex)| {
            regex.is_match(if rule.underscores_dropped {
                &dropped
            } else {
                value
            })
        })
        .map(|(rule, _)| rule.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::schema::{self, Plain};
    use proptest::prelude::*;

    #[test]
    fn what_yaml_1_1_and_1_2_readers_take_for_numbers_dates_and_words_is_matched() {
        for (value, by) in [
            ("0b101", "YAML 1.1 int"),
            ("1_000", "YAML 1.1 int"),
            ("010", "YAML 1.1 int"),
            ("1:20", "YAML 1.1 int"),
            ("-0x1_F", "YAML 1.1 int"),
            ("0o17", "YAML 1.2 int"),
            ("+1", "YAML 1.2 int"),
            ("1e3", "YAML 1.2 float"),
            (".5", "YAML 1.2 float"),
            ("1.", "YAML 1.2 float"),
            ("-.inf", "YAML 1.2 float"),
            ("1_0.5", "YAML 1.1 float"),
            ("1.0e+3", "YAML 1.2 float"),
            ("1:20.5", "YAML 1.1 float"),
            ("yes", "YAML 1.1 bool"),
            ("Off", "YAML 1.1 bool"),
            ("y", "YAML 1.1 bool"),
            ("~", "YAML 1.2 null"),
            ("", "YAML 1.2 null"),
            ("2001-12-14", "YAML 1.1 timestamp"),
            ("2001-12-14t21:59:43.10-05:00", "YAML 1.1 timestamp"),
            ("2001-12-14 21:59:43.10 -5", "YAML 1.1 timestamp"),
            ("<<", "YAML 1.1 merge key"),
            ("=", "YAML 1.1 value key"),
            ("yEs", "Psych bool, null, inf or nan"),
            (".InF", "Psych bool, null, inf or nan"),
            ("1,000", "Psych number"),
            ("0:20", "Psych number"),
            ("2001-1-2", "Psych or go-yaml date"),
            ("0o1_7", "go-yaml or js-yaml number"),
            ("0X1F", "go-yaml or js-yaml number"),
            ("1e1_0", "go-yaml or js-yaml number"),
            ("._5", "YAML 1.1 float"),
        ] {
            assert!(non_string(value).is_some(), "{value:?}");
            let all: Vec<_> = matching(value).collect();
            assert!(all.contains(&by), "{value:?}: {all:?}");
        }
    }

    #[test]
    fn versions_shas_and_paths_stay_strings() {
        for value in [
            "0.1.7",
            "1.2.3",
            "1.2.3-pr7",
            "v1.0",
            "1.0.0+build.5",
            "3f5c9a1",
            "abcdef1234",
            "0123456789abcdef0123456789abcdef01234567",
            "lambda/pr-7.zip",
            "2001-12-14-hotfix",
            "1:2:3:4:5x",
            "yess",
            "nan",
            "inf",
            "..",
            "-",
            "e3",
            "0x",
            "0b",
            "_",
        ] {
            assert_eq!(non_string(value), None, "{value:?}");
        }
    }

    proptest! {
        /// lambda-gitops's own reader (the YAML 1.2 core schema) never reads as a
        /// non-string what the table lets through.
        #[test]
        fn the_table_covers_lambda_gitopss_own_reader(value in "[-+._0-9a-fA-FxobeEinINfFtTrRuUlLsS~:]{0,8}") {
            if schema::resolve(&value) != Plain::Text {
                prop_assert!(non_string(&value).is_some(), "{value:?}");
            }
        }
    }
}
