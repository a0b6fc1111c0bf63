//! The pull-request comment: one per pull request and scope, found again by a hidden
//! marker on its first line and edited in place.
//!
//! - The scope is `all`, or the services `--service` selected (sorted, joined by `,`), so
//!   a workflow that plans each service in its own job keeps one comment per service.
//! - The comment is ours when its first line is the marker and its author is a bot (a
//!   workflow's `GITHUB_TOKEN` comments as `github-actions[bot]`) or the token's own user:
//!   anyone can write the marker in a comment, and the plan must not go into theirs.
//! - Two of ours: the newest is edited, and the run says so.
//! - None, and nothing to say (no changes, no failure): no comment is created. An earlier
//!   one is always updated, so it never shows a plan that is no longer true.

use crate::ci::markdown::{self, COMMENT_LIMIT};
use crate::ci::rendering::Rendering;
use crate::github::comments::{IssueComment, Repository};

/// The pull request a comment goes to, and for which scope.
#[derive(Debug, Clone)]
pub struct CommentTarget {
    pub repository: Repository,
    pub number: u64,
    pub scope: Scope,
    /// The pull request's head commit (from the event), named in the comment.
    pub head_sha: Option<String>,
}

/// Which part of the repo a comment speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Sorted, without duplicates, each a valid service name.
    Services(Vec<String>),
}

impl Scope {
    /// The scope of `--service` flags (none: every service). A name that is not a service
    /// name is refused: it goes into the marker, an HTML comment.
    pub fn of(services: &[String]) -> Result<Self, String> {
        if services.is_empty() {
            return Ok(Self::All);
        }
        let mut names = services.to_vec();
        for name in &names {
            crate::validate::rules::service_name(name)?;
        }
        names.sort();
        names.dedup();
        Ok(Self::Services(names))
    }

    pub fn label(&self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Services(names) => names.join(","),
        }
    }

    /// `<!-- lambda-gitops: all -->`, the comment's first line.
    pub fn marker(&self) -> String {
        format!("<!-- lambda-gitops: {} -->", self.label())
    }
}

/// The body of the comment for `scope`: its marker, then the rendering within GitHub's
/// 65,536 characters. `elsewhere` (Markdown) says where the whole report is.
pub fn body(rendering: &Rendering, scope: &Scope, elsewhere: &str, footer: &str) -> String {
    let marker = scope.marker();
    let footer = if footer.is_empty() {
        String::new()
    } else {
        format!("\n{footer}\n")
    };
    let limit = COMMENT_LIMIT - marker.len() - 1 - footer.len();
    format!(
        "{marker}\n{}{footer}",
        markdown::document(rendering, limit, elsewhere)
    )
}

/// Whose comments may be edited: bots', and the token's own user's when it is a person's.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub login: Option<String>,
}

impl Owner {
    pub fn wrote(&self, comment: &IssueComment) -> bool {
        match &comment.user {
            Some(user) => user.is_bot() || self.login.as_deref() == Some(user.login.as_str()),
            None => false,
        }
    }
}

/// Comments whose first line is `marker`, oldest first.
pub fn marked<'a>(comments: &'a [IssueComment], marker: &str) -> Vec<&'a IssueComment> {
    comments
        .iter()
        .filter(|comment| {
            comment
                .body
                .as_deref()
                .and_then(|body| body.lines().next())
                .is_some_and(|first| first.trim() == marker)
        })
        .collect()
}

/// What to do with the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Edit this comment; `others` more of ours carry the same marker.
    Update {
        id: u64,
        others: usize,
    },
    Create,
    /// No earlier comment and nothing to say.
    Skip,
}

/// The decision for a run with `rendering`, given our marked comments (oldest first).
pub fn decide(ours: &[&IssueComment], rendering: &Rendering) -> Decision {
    match ours.iter().map(|comment| comment.id).max() {
        Some(id) => Decision::Update {
            id,
            others: ours.len() - 1,
        },
        None if rendering.has_changes || rendering.failed => Decision::Create,
        None => Decision::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::comments::User;

    fn comment(id: u64, body: &str, login: &str, kind: &str) -> IssueComment {
        IssueComment {
            id,
            body: Some(body.to_owned()),
            user: Some(User {
                login: login.to_owned(),
                kind: kind.to_owned(),
            }),
            html_url: None,
        }
    }

    #[test]
    fn scopes_are_stable_whatever_the_order_of_the_flags() {
        assert_eq!(
            Scope::of(&[]).unwrap().marker(),
            "<!-- lambda-gitops: all -->"
        );
        let one = Scope::of(&["s3-notifier".into()]).unwrap();
        assert_eq!(one.marker(), "<!-- lambda-gitops: s3-notifier -->");
        let two = Scope::of(&["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(two.marker(), "<!-- lambda-gitops: a,b -->");
        assert_eq!(two, Scope::of(&["a".into(), "b".into()]).unwrap());
        assert!(Scope::of(&["x -->".into()]).is_err());
    }

    #[test]
    fn the_marker_must_be_the_first_line_and_the_author_ours() {
        let marker = "<!-- lambda-gitops: all -->";
        let comments = [
            comment(
                1,
                "<!-- lambda-gitops: all -->\nold",
                "github-actions[bot]",
                "Bot",
            ),
            comment(2, "quoting <!-- lambda-gitops: all -->", "reviewer", "User"),
            comment(
                3,
                "<!-- lambda-gitops: a -->\nother scope",
                "github-actions[bot]",
                "Bot",
            ),
            comment(
                4,
                "<!-- lambda-gitops: all -->\nplanted",
                "attacker",
                "User",
            ),
            comment(
                5,
                "<!-- lambda-gitops: all -->\nmine",
                "deploy-bot-user",
                "User",
            ),
        ];
        let marked = marked(&comments, marker);
        assert_eq!(marked.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 4, 5]);
        let app = Owner::default();
        let ours: Vec<_> = marked.iter().copied().filter(|c| app.wrote(c)).collect();
        assert_eq!(ours.iter().map(|c| c.id).collect::<Vec<_>>(), [1]);
        let person = Owner {
            login: Some("deploy-bot-user".into()),
        };
        let ours: Vec<_> = marked.iter().copied().filter(|c| person.wrote(c)).collect();
        assert_eq!(ours.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 5]);
    }

    #[test]
    fn the_newest_comment_is_edited_and_none_is_created_without_something_to_say() {
        let a = comment(10, "", "b", "Bot");
        let b = comment(42, "", "b", "Bot");
        let quiet = Rendering::default();
        assert_eq!(
            decide(&[&a, &b], &quiet),
            Decision::Update { id: 42, others: 1 }
        );
        assert_eq!(decide(&[], &quiet), Decision::Skip);
        let changes = Rendering {
            has_changes: true,
            ..Rendering::default()
        };
        assert_eq!(decide(&[], &changes), Decision::Create);
        let failed = Rendering {
            failed: true,
            ..Rendering::default()
        };
        assert_eq!(decide(&[], &failed), Decision::Create);
    }

    #[test]
    fn a_body_starts_with_its_marker_and_stays_under_githubs_limit() {
        let rendering = Rendering {
            summary: "## s\n".into(),
            details: vec!["x".repeat(1000); 200],
            ..Rendering::default()
        };
        let scope = Scope::of(&["a".into()]).unwrap();
        let text = body(&rendering, &scope, "the job's log", "<sub>footer</sub>");
        assert!(
            text.starts_with("<!-- lambda-gitops: a -->\n## s\n"),
            "{text}"
        );
        assert!(text.ends_with("\n<sub>footer</sub>\n"), "{text}");
        assert!(text.chars().count() <= COMMENT_LIMIT);
    }
}
