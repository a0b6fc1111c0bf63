//! The pull request a GitHub Actions run is about, from its event payload
//! (`GITHUB_EVENT_PATH`): `pull_request` and `pull_request_target` events carry
//! `pull_request.number`; an `issue_comment` event on a pull request carries
//! `issue.number` with an `issue.pull_request` object. Any other event names none.

use serde_json::Value;

/// The largest event payload read (GitHub's are far smaller).
pub const MAX_EVENT_BYTES: u64 = 32 << 20;

/// The pull request's number, when the payload is about one.
pub fn pull_request_number(payload: &Value) -> Option<u64> {
    if let Some(number) = payload
        .get("pull_request")
        .and_then(|pr| pr.get("number"))
        .and_then(Value::as_u64)
    {
        return Some(number);
    }
    let issue = payload.get("issue")?;
    issue
        .get("pull_request")
        .filter(|pr| pr.is_object())
        .and(issue.get("number"))
        .and_then(Value::as_u64)
}

/// The pull request's head commit (`pull_request.head.sha`), when the payload has one
/// that looks like a commit: what the comment says it planned.
pub fn head_sha(payload: &Value) -> Option<String> {
    payload
        .get("pull_request")?
        .get("head")?
        .get("sha")?
        .as_str()
        .filter(|sha| (7..=64).contains(&sha.len()) && sha.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pull_request_events_name_their_pull_request() {
        let event = json!({"action": "synchronize", "number": 7, "pull_request": {"number": 7, "head": {"sha": "abc"}}});
        assert_eq!(pull_request_number(&event), Some(7));
        assert_eq!(head_sha(&event), None, "`abc` is too short for a commit");
        let event = json!({"pull_request": {"number": 7, "head": {"sha": "0123456789abcdef0123456789abcdef01234567"}}});
        assert_eq!(
            head_sha(&event).as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        let event = json!({"pull_request": {"number": 7, "head": {"sha": "`x` [link](y)"}}});
        assert_eq!(head_sha(&event), None);
    }

    #[test]
    fn comments_on_pull_requests_name_it_and_comments_on_issues_do_not() {
        let on_pr = json!({"action": "created", "issue": {"number": 12, "pull_request": {"url": "https://api.github.com/repos/o/r/pulls/12"}}, "comment": {"body": "plan"}});
        assert_eq!(pull_request_number(&on_pr), Some(12));
        let on_issue =
            json!({"action": "created", "issue": {"number": 13}, "comment": {"body": "plan"}});
        assert_eq!(pull_request_number(&on_issue), None);
    }

    #[test]
    fn a_push_names_no_pull_request() {
        let push = json!({"ref": "refs/heads/main", "after": "abc", "commits": []});
        assert_eq!(pull_request_number(&push), None);
    }
}
