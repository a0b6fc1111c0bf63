//! A scanned file → its [`Document`] and typed config, or a [`Problem`] with the file, the
//! line and, for an unknown key, a "did you mean".

use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::scan::SourceFile;
use crate::yaml::de::{Error, ErrorKind};
use crate::yaml::{self, Document, LoadError};

/// Reads `file` strictly: the limits and checks of [`crate::yaml::load`].
pub fn document(file: &SourceFile) -> Result<Document, Problem> {
    file.bytes()
        .and_then(yaml::parse)
        .map_err(|error| load_problem(file, &error))
}

fn load_problem(file: &SourceFile, error: &LoadError) -> Problem {
    let problem = Problem::new(&file.path, error.line(), error.to_string());
    match error.hint() {
        Some(hint) => problem.with_hint(hint),
        None => problem,
    }
}

/// Deserializes `doc` (read from `file`) as `T`.
pub fn typed<T: DeserializeOwned>(file: &SourceFile, doc: &Document) -> Result<T, Problem> {
    yaml::from_document(doc).map_err(|error| de_problem(file, &error))
}

fn de_problem(file: &SourceFile, error: &Error) -> Problem {
    let problem = Problem::new(&file.path, error.line, error.to_string());
    match &error.kind {
        ErrorKind::UnknownField { field, expected } => match closest(field, expected) {
            Some(best) => problem.with_hint(format!("did you mean `{best}`?")),
            None => problem,
        },
        _ => problem,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Contents;
    use std::path::PathBuf;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        version: String,
        function_name: Option<String>,
    }

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from("x.yaml"),
            contents: Contents::Bytes(text.as_bytes().to_vec()),
        }
    }

    fn parse(text: &str) -> Result<Small, Problem> {
        let file = file(text);
        typed(&file, &document(&file)?)
    }

    #[test]
    fn unknown_keys_get_a_line_and_a_suggestion() {
        let problem = parse("version: '1'\nverison: '2'\n").unwrap_err();
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
        let problem = parse("version: '1'\nfunction_name: [unclosed\n").unwrap_err();
        assert_eq!(problem.line, Some(2));
        assert!(
            problem.message.starts_with("YAML syntax error"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let problem = parse("version: '1'\nversion: '2'\n").unwrap_err();
        assert_eq!(problem.line, Some(2));
        assert!(
            problem.message.contains("also at line 1"),
            "{}",
            problem.message
        );
    }

    #[test]
    fn too_large_files_are_refused_unread() {
        let file = SourceFile {
            path: PathBuf::from("x.yaml"),
            contents: Contents::TooLarge { size: 5 << 20 },
        };
        let problem = document(&file).unwrap_err();
        assert!(problem.message.contains("1 MiB"), "{}", problem.message);
    }

    #[test]
    fn transposed_and_misspelt_names_are_close() {
        assert_eq!(closest("scv", &["svc", "api"]), Some("svc"));
        assert_eq!(
            closest("verison", &["version", "functionName"]),
            Some("version")
        );
        assert_eq!(closest("url", &["tag"]), None);
    }
}
