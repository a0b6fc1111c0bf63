//! What `set-version`, `preview set` and `promote` write: a version and, optionally, the
//! commit it was built from — into `lambda.version`, `gitVersion.sha` (added when absent),
//! `gitVersion.shortSha` (its first 7 characters, only where the file has one) and, in a
//! preview, `lambda.commitSha` when present.

use super::edit::{EditError, FileEdit};
use super::scalar::double_quoted;

/// The characters `shortSha` holds.
pub const SHORT_SHA_LEN: usize = 7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub sha: Option<String>,
}

impl Release {
    pub fn short_sha(&self) -> Option<&str> {
        self.sha
            .as_deref()
            .map(|sha| &sha[..SHORT_SHA_LEN.min(sha.len())])
    }

    /// Sets this release in an environment config or (`preview`) a preview's values.
    pub fn write(&self, edit: &mut FileEdit<'_>, preview: bool) -> Result<(), EditError> {
        edit.set(&["lambda", "version"], &self.version)?;
        let (Some(sha), Some(short)) = (self.sha.as_deref(), self.short_sha()) else {
            return Ok(());
        };
        let commit_sha = preview && edit.set_if_present(&["lambda", "commitSha"], sha)?;
        if edit.has(&["gitVersion"]) {
            edit.set_or_insert(&["gitVersion", "sha"], sha)?;
            edit.set_if_present(&["gitVersion", "shortSha"], short)?;
        } else if !commit_sha {
            edit.insert_mapping(&[], "gitVersion", &[("sha", sha), ("shortSha", short)])?;
        }
        Ok(())
    }
}

/// A new preview's values file: small, commented, valid.
pub fn new_preview(service: &str, pr: u64, release: &Release, s3_key: Option<&str>) -> String {
    let mut text = format!(
        "# The preview of `{service}` for pull request #{pr}, written by `lambda-gitops preview set`.\n\
         # `lambda-gitops preview remove` (or `preview prune`) removes it once the pull request closes.\n\
         serviceName: {service}\n\
         deploymentType: lambda\n\
         lambda:\n  version: {}\n",
        double_quoted(&release.version)
    );
    if let Some(sha) = &release.sha {
        text.push_str(&format!("  commitSha: {}\n", double_quoted(sha)));
    }
    if let Some(key) = s3_key {
        text.push_str(&format!(
            "  s3Key: {}              # an object already in the service's packageBucket\n",
            double_quoted(key)
        ));
    }
    if let (Some(sha), Some(short)) = (&release.sha, release.short_sha()) {
        text.push_str(&format!(
            "gitVersion:\n  sha: {}\n  shortSha: {}\n",
            double_quoted(sha),
            double_quoted(short)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PreviewValues;
    use std::path::Path;

    fn write(text: &str, release: &Release, preview: bool) -> String {
        let doc = crate::yaml::parse(text.as_bytes()).unwrap();
        let mut edit = FileEdit::new(Path::new("f.yaml"), &doc);
        release.write(&mut edit, preview).unwrap();
        edit.finish().0
    }

    fn release(sha: Option<&str>) -> Release {
        Release {
            version: "0.2.0".into(),
            sha: sha.map(str::to_owned),
        }
    }

    #[test]
    fn a_sha_sets_sha_and_the_short_sha_where_there_is_one() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let text = "lambda:\n  version: \"0.1.0\"\ngitVersion:\n  sha: \"aaaaaaa\"\n  shortSha: \"aaaaaaa\"\n";
        assert_eq!(
            write(text, &release(Some(sha)), false),
            format!("lambda:\n  version: \"0.2.0\"\ngitVersion:\n  sha: \"{sha}\"\n  shortSha: \"0123456\"\n")
        );
        let text = "lambda:\n  version: 0.1.0\ngitVersion: {sha: aaaaaaa}\n";
        assert_eq!(
            write(text, &release(Some(sha)), false),
            format!("lambda:\n  version: 0.2.0\ngitVersion: {{sha: {sha}}}\n")
        );
    }

    #[test]
    fn a_missing_git_version_is_added_unless_a_preview_names_its_commit() {
        let text = "lambda:\n  version: \"0.1.0\"\n";
        assert_eq!(
            write(text, &release(Some("abcdef12")), false),
            "lambda:\n  version: \"0.2.0\"\ngitVersion:\n  sha: \"abcdef12\"\n  shortSha: \"abcdef1\"\n"
        );
        let text = "lambda:\n  version: \"0.1.0\"\n  commitSha: \"aaaaaaa\"\n";
        assert_eq!(
            write(text, &release(Some("abcdef12")), true),
            "lambda:\n  version: \"0.2.0\"\n  commitSha: \"abcdef12\"\n"
        );
        assert_eq!(
            write(text, &release(None), true),
            text.replace("0.1.0", "0.2.0")
        );
    }

    #[test]
    fn a_new_preview_is_valid_and_says_what_it_holds() {
        let release = release(Some("0123456789abcdef"));
        let text = new_preview(
            "s3-notifier",
            42,
            &release,
            Some("lambda-packages/pr-42.zip"),
        );
        let doc = crate::yaml::parse(text.as_bytes()).unwrap();
        let values: PreviewValues = crate::yaml::from_document(&doc).unwrap();
        assert_eq!(values.service_name, "s3-notifier");
        assert_eq!(values.lambda.version, "0.2.0");
        assert_eq!(
            values.lambda.commit_sha.as_deref(),
            Some("0123456789abcdef")
        );
        assert_eq!(
            values.lambda.s3_key.as_deref(),
            Some("lambda-packages/pr-42.zip")
        );
        let git = values.git_version.unwrap();
        assert_eq!(git.short_sha.as_deref(), Some("0123456"));
        assert!(text.starts_with("# The preview of `s3-notifier` for pull request #42"));
        let bare = new_preview(
            "a",
            1,
            &Release {
                version: "1".into(),
                sha: None,
            },
            None,
        );
        assert_eq!(
            bare.lines().skip(2).collect::<Vec<_>>(),
            [
                "serviceName: a",
                "deploymentType: lambda",
                "lambda:",
                "  version: \"1\""
            ]
        );
    }
}
