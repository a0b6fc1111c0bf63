//! The pull-request comment through the GitHub client: list the comments (every page),
//! find ours by the scope's marker, then edit the newest, create one, or leave the pull
//! request alone ([`comment::decide`]).
//!
//! A create is not repeated blindly: when a write fails in a way another attempt may fix
//! (a 5xx after which the comment may exist all the same), the comments are listed again
//! first, so a retry edits what the failed attempt created instead of adding a second one.

use crate::ci::comment::{self, CommentTarget, Decision, Owner};
use crate::ci::rendering::Rendering;
use crate::github::comments::IssueComment;
use crate::github::{Client, GithubError};
use crate::retry::{self, Transient};

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Created {
        url: Option<String>,
    },
    Updated {
        url: Option<String>,
    },
    /// No earlier comment and nothing to say.
    Skipped,
}

/// Publishes `body` as the comment of `target`'s scope.
pub async fn publish(
    client: &Client,
    target: &CommentTarget,
    rendering: &Rendering,
    body: &str,
) -> Result<Published, GithubError> {
    use backon::BackoffBuilder;
    let marker = target.scope.marker();
    let mut owner: Option<Owner> = None;
    let mut delays = retry::backoff().build();
    loop {
        let comments = client
            .issue_comments(&target.repository, target.number)
            .await?;
        let ours = our_comments(client, &comments, &marker, &mut owner).await?;
        match write(client, target, &ours, rendering, body, &marker).await {
            Ok(published) => return Ok(published),
            Err(error) if error.is_transient() => match delays.next() {
                Some(delay) => {
                    let delay = error
                        .retry_after()
                        .map_or(delay, |after| after.min(retry::MAX_RETRY_AFTER));
                    tracing::warn!("{error}; listing the comments again in {delay:.1?}");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            },
            Err(error) => return Err(error),
        }
    }
}

/// The comments carrying `marker` that this token wrote; the others are named in a warning.
/// `owner` is the token's login, asked for once, when someone other than a bot carries the
/// marker.
async fn our_comments<'a>(
    client: &Client,
    comments: &'a [IssueComment],
    marker: &str,
    owner: &mut Option<Owner>,
) -> Result<Vec<&'a IssueComment>, GithubError> {
    let marked = comment::marked(comments, marker);
    if owner.is_none()
        && marked
            .iter()
            .any(|c| !c.user.as_ref().is_some_and(|u| u.is_bot()))
    {
        // Someone other than a bot carries the marker: it is ours only if the token is
        // that person's.
        *owner = Some(Owner {
            login: client.token_login().await?,
        });
    }
    let owner = owner.clone().unwrap_or_default();
    let (ours, theirs): (Vec<&IssueComment>, Vec<&IssueComment>) =
        marked.into_iter().partition(|c| owner.wrote(c));
    for comment in theirs {
        tracing::warn!(
            "ignoring comment {} by `{}`: it carries the marker {marker} but was not written by this token",
            comment.html_url.as_deref().unwrap_or("(no URL)"),
            comment.user.as_ref().map_or("(unknown)", |u| u.login.as_str()),
        );
    }
    Ok(ours)
}

/// Edits the newest of `ours`, creates a comment, or (nothing to say) skips.
async fn write(
    client: &Client,
    target: &CommentTarget,
    ours: &[&IssueComment],
    rendering: &Rendering,
    body: &str,
    marker: &str,
) -> Result<Published, GithubError> {
    match comment::decide(ours, rendering) {
        Decision::Skip => {
            tracing::info!(
                "no changes and no earlier comment for {marker} on #{}: nothing to post",
                target.number
            );
            Ok(Published::Skipped)
        }
        Decision::Update { id, others } => {
            if others > 0 {
                tracing::warn!(
                    "#{} has {} comments marked {marker}; editing the newest ({id})",
                    target.number,
                    others + 1
                );
            }
            client
                .update_issue_comment(&target.repository, id, body)
                .await
                .map(|c| Published::Updated { url: c.html_url })
        }
        Decision::Create => client
            .create_issue_comment(&target.repository, target.number, body)
            .await
            .map(|c| Published::Created { url: c.html_url }),
    }
}

/// The comment's last line: which command wrote it, for which commit, and a link to the
/// run. Every part is checked where it is read (hex commit, numeric run id).
pub fn footer(command: &str, target: &CommentTarget, run_url: Option<&str>) -> String {
    let mut parts = vec![format!("lambda-gitops {command}")];
    if let Some(sha) = &target.head_sha {
        parts.push(format!("commit `{}`", &sha[..sha.len().min(12)]));
    }
    if let Some(url) = run_url {
        parts.push(format!("[workflow run](<{url}>)"));
    }
    format!("<sub>{}</sub>", parts.join(" · "))
}
