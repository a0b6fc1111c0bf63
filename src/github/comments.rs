//! Issue comments — a pull request's conversation is its issue's comments:
//! `GET /repos/{owner}/{repo}/issues/{number}/comments` (paginated),
//! `POST` on the same path, `PATCH /repos/{owner}/{repo}/issues/comments/{id}`, and
//! `GET /user` to learn whose token this is. Every call goes through the one [`Client`].

use reqwest::Method;
use serde::Deserialize;

use crate::github::client::Client;
use crate::github::error::GithubError;

/// `owner/name`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    /// `owner/name` with neither part empty and nothing more.
    pub fn parse(text: &str) -> Result<Self, GithubError> {
        text.split_once('/')
            .filter(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'))
            .map(|(owner, name)| Self {
                owner: owner.to_owned(),
                name: name.to_owned(),
            })
            .ok_or_else(|| GithubError::Repository {
                repository: text.to_owned(),
            })
    }
}

impl std::fmt::Display for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl User {
    /// An app's account (`github-actions[bot]` for a workflow's `GITHUB_TOKEN`): people
    /// cannot sign up as one, and an app must be installed on the repository to comment.
    pub fn is_bot(&self) -> bool {
        self.kind == "Bot"
    }
}

#[derive(serde::Serialize)]
struct Body<'a> {
    body: &'a str,
}

impl Client {
    /// Every comment of issue (or pull request) `number`, oldest first.
    pub async fn issue_comments(
        &self,
        repository: &Repository,
        number: u64,
    ) -> Result<Vec<IssueComment>, GithubError> {
        let number = number.to_string();
        let url = self.endpoint(&[
            "repos",
            &repository.owner,
            &repository.name,
            "issues",
            &number,
            "comments",
        ])?;
        self.get_paginated(&url).await
    }

    /// Adds a comment to issue (or pull request) `number`.
    pub async fn create_issue_comment(
        &self,
        repository: &Repository,
        number: u64,
        body: &str,
    ) -> Result<IssueComment, GithubError> {
        let number = number.to_string();
        let url = self.endpoint(&[
            "repos",
            &repository.owner,
            &repository.name,
            "issues",
            &number,
            "comments",
        ])?;
        self.send_json(Method::POST, &url, &Body { body }).await
    }

    /// Replaces the body of comment `id`.
    pub async fn update_issue_comment(
        &self,
        repository: &Repository,
        id: u64,
        body: &str,
    ) -> Result<IssueComment, GithubError> {
        let id = id.to_string();
        let url = self.endpoint(&[
            "repos",
            &repository.owner,
            &repository.name,
            "issues",
            "comments",
            &id,
        ])?;
        self.send_json(Method::PATCH, &url, &Body { body }).await
    }

    /// The login the token belongs to, when it is a person's (`GET /user`); `None` for an
    /// app's token (a workflow's `GITHUB_TOKEN` gets 403 there) or no token.
    pub async fn token_login(&self) -> Result<Option<String>, GithubError> {
        let url = self.endpoint(&["user"])?;
        match self.get_json::<User>(&url).await {
            Ok(user) => Ok(Some(user.login)),
            Err(GithubError::Unauthorized { .. } | GithubError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_owner_slash_name() {
        let repository = Repository::parse("acme/gitops").unwrap();
        assert_eq!(repository.to_string(), "acme/gitops");
        for bad in ["", "acme", "acme/", "/gitops", "a/b/c"] {
            assert!(Repository::parse(bad).is_err(), "{bad:?}");
        }
    }
}
