//! YAML → typed config, with the file and line of whatever is wrong.

use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::scan::SourceFile;

/// Deserializes `file`, turning serde's error into a [`Problem`] with its line and, for an
/// unknown key, a "did you mean" hint.
pub fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, Problem> {
    if file.text.trim().is_empty() {
        return Err(Problem::new(&file.path, None, "the file is empty"));
    }
    serde_yaml::from_str(&file.text).map_err(|error| {
        let line = error.location().map(|location| location.line());
        let message = strip_location(&error.to_string());
        let hint = unknown_field_hint(&message);
        let problem = Problem::new(&file.path, line, message);
        match hint {
            Some(hint) => problem.with_hint(hint),
            None => problem,
        }
    })
}

/// serde_yaml appends " at line L column C"; the line is shown in the location instead.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// For serde's "unknown field `verison`, expected one of `version`, …" (a stable format:
/// `serde::de::Error::unknown_field`), the closest expected name.
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = &message[message.find("unknown field `")? + "unknown field `".len()..];
    let (unknown, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    closest(unknown, &candidates).map(|best| format!("did you mean `{best}`?"))
}

/// The candidate most like `word`, when one is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| {
            let (a, b) = (word.to_lowercase(), candidate.to_lowercase());
            // Transpositions ("scv") score well on edit distance, shared prefixes on Jaro-Winkler.
            let edits = strsim::normalized_damerau_levenshtein(&a, &b) + 0.14;
            (strsim::jaro_winkler(&a, &b).max(edits), *candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The 1-based line of the key at `path` (e.g. `["lambda", "version"]`), found by
/// indentation; `None` when the key is not written in block style.
pub fn line_of(text: &str, path: &[&str]) -> Option<usize> {
    let mut parent_indent: Option<usize> = None;
    let mut found_line = None;
    let mut lines = text.lines().enumerate();
    for key in path {
        let mut hit = None;
        for (number, line) in lines.by_ref() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                return None;
            }
            let unquoted = trimmed.trim_start_matches(['"', '\'']);
            if unquoted.starts_with(key)
                && unquoted[key.len()..]
                    .trim_start_matches(['"', '\''])
                    .starts_with(':')
            {
                hit = Some((number + 1, indent));
                break;
            }
        }
        let (number, indent) = hit?;
        found_line = Some(number);
        parent_indent = Some(indent);
    }
    found_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const TEXT: &str = "serviceName: a\nlambda:\n  # comment\n  version: \"1\"\n  functionName: f\ngitVersion:\n  sha: abc\n";

    #[test]
    fn finds_nested_keys_by_indentation() {
        assert_eq!(line_of(TEXT, &["serviceName"]), Some(1));
        assert_eq!(line_of(TEXT, &["lambda", "version"]), Some(4));
        assert_eq!(line_of(TEXT, &["gitVersion", "sha"]), Some(7));
        assert_eq!(line_of(TEXT, &["lambda", "sha"]), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        version: String,
        function_name: Option<String>,
    }

    #[test]
    fn unknown_keys_get_a_line_and_a_suggestion() {
        let file = SourceFile {
            path: PathBuf::from("x.yaml"),
            text: "version: '1'\nverison: '2'\n".into(),
        };
        let problem = parse::<Small>(&file).unwrap_err();
        assert_eq!(problem.line, Some(2));
        assert!(
            problem.message.contains("unknown field `verison`"),
            "{}",
            problem.message
        );
        assert_eq!(problem.hint.as_deref(), Some("did you mean `version`?"));
    }

    #[test]
    fn syntax_errors_carry_their_line() {
        let file = SourceFile {
            path: PathBuf::from("x.yaml"),
            text: "version: '1'\nfunction_name: [unclosed\n".into(),
        };
        let problem = parse::<Small>(&file).unwrap_err();
        assert!(problem.line.is_some());
    }
}

#[cfg(test)]
mod closest_tests {
    #[test]
    fn transposed_and_misspelt_names_are_close() {
        assert_eq!(super::closest("scv", &["svc", "api"]), Some("svc"));
        assert_eq!(
            super::closest("verison", &["version", "functionName"]),
            Some("version")
        );
        assert_eq!(super::closest("url", &["tag"]), None);
    }
}
