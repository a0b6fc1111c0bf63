//! Pull requests: which of a set of numbers are closed (merged or not).
//!
//! Two ways to ask, and the fewer requests wins: one `GET /repos/{owner}/{repo}/pulls/{n}`
//! per number, or the listing `GET /repos/{owner}/{repo}/pulls?state=closed`, newest
//! first, paged only as far as needed. The listing is read while each further page is
//! likely to be cheaper than asking for the numbers still unanswered one by one; what is
//! left is asked for one by one. Only an explicit "closed" from GitHub makes a pull
//! request closed: every doubt answers "not closed", so nothing is pruned on a guess.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::github::client::Client;
use crate::github::error::GithubError;
use crate::github::pagination::{MAX_PAGES, PER_PAGE};

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub merged_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrState {
    Closed {
        merged: bool,
    },
    /// Open — or, when the listing answered, not among the closed ones.
    NotClosed,
    /// GitHub answered 404: no pull request has this number (an issue, or nothing at all) —
    /// or the repository is private and the token cannot see it; GitHub does not say which.
    Missing,
}

impl PrState {
    fn of(pr: &PullRequest) -> Self {
        if pr.state == "closed" {
            Self::Closed {
                merged: pr.merged_at.is_some(),
            }
        } else {
            Self::NotClosed
        }
    }
}

/// The state of each number asked about, and how many requests it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct States {
    pub states: BTreeMap<u64, PrState>,
    pub requests: usize,
}

impl Client {
    /// Pull request `number` of `repository` (`owner/name`); `None` when there is none.
    pub async fn pull_request(
        &self,
        repository: &str,
        number: u64,
    ) -> Result<Option<PullRequest>, GithubError> {
        let (owner, name) = split(repository)?;
        let url = self.endpoint(&["repos", owner, name, "pulls", &number.to_string()])?;
        match self.get_json(&url).await {
            Ok(pr) => Ok(Some(pr)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The state of each of `numbers` in `repository`.
    pub async fn pull_request_states(
        &self,
        repository: &str,
        numbers: &BTreeSet<u64>,
    ) -> Result<States, GithubError> {
        let (owner, name) = split(repository)?;
        let mut answer = States::default();
        let mut unknown = numbers.clone();
        if numbers.len() >= 2 {
            self.read_closed_listing(owner, name, &mut answer, &mut unknown)
                .await?;
        }
        for number in unknown {
            let state = match self.pull_request(repository, number).await? {
                Some(pr) => PrState::of(&pr),
                None => PrState::Missing,
            };
            answer.requests += 1;
            answer.states.insert(number, state);
        }
        Ok(answer)
    }

    /// Answers what it can of `unknown` (taking it out) from the listing of closed pull
    /// requests, newest first, reading a further page only while that is likely cheaper
    /// than asking for the numbers left one by one.
    async fn read_closed_listing(
        &self,
        owner: &str,
        name: &str,
        answer: &mut States,
        unknown: &mut BTreeSet<u64>,
    ) -> Result<(), GithubError> {
        let per_page: u64 = PER_PAGE.parse().expect("a number");
        let lowest_wanted = *unknown.first().expect("two numbers");
        let mut url = self.endpoint(&["repos", owner, name, "pulls"])?;
        url.query_pairs_mut()
            .append_pair("state", "closed")
            .append_pair("sort", "created")
            .append_pair("direction", "desc")
            .append_pair("per_page", PER_PAGE);
        for _ in 0..MAX_PAGES {
            let (items, next) = self.get_page::<PullRequest>(&url).await?;
            answer.requests += 1;
            for pr in &items {
                if unknown.remove(&pr.number) {
                    answer.states.insert(pr.number, PrState::of(pr));
                }
            }
            let Some(next) = next else {
                // The whole listing: whatever it did not name is not closed.
                answer
                    .states
                    .extend(unknown.iter().map(|n| (*n, PrState::NotClosed)));
                unknown.clear();
                break;
            };
            let Some(lowest_listed) = items.iter().map(|pr| pr.number).min() else {
                break;
            };
            // Newest first: a closed pull request above the lowest number listed so
            // far would have been listed already.
            let above: Vec<u64> = unknown.range(lowest_listed..).copied().collect();
            for number in above {
                unknown.remove(&number);
                answer.states.insert(number, PrState::NotClosed);
            }
            if unknown.is_empty() {
                break;
            }
            // At most this many further pages hold the numbers still wanted.
            let pages_left = lowest_listed
                .saturating_sub(lowest_wanted)
                .div_ceil(per_page);
            if pages_left > unknown.len() as u64 {
                break;
            }
            url = next;
        }
        Ok(())
    }
}

fn split(repository: &str) -> Result<(&str, &str), GithubError> {
    repository
        .split_once('/')
        .filter(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'))
        .ok_or_else(|| GithubError::Repository {
            repository: repository.to_owned(),
        })
}
