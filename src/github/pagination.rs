//! GitHub's pagination: the `Link` header's `rel="next"` URL
//! (`<https://api.github.com/…&page=2>; rel="next", <…>; rel="last"`).

use reqwest::header::{HeaderMap, LINK};

/// Pages followed for one listing; 100 pages of 100 items is more than any call needs.
pub const MAX_PAGES: usize = 100;

/// Items asked for per page (GitHub's maximum).
pub const PER_PAGE: &str = "100";

/// The `rel="next"` target of the response's `Link` header(s), as written there.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .filter_map(|param| param.trim().split_once('='))
                .any(|(key, value)| {
                    key.trim() == "rel"
                        && value
                            .trim()
                            .trim_matches('"')
                            .split_whitespace()
                            .any(|rel| rel == "next")
                })
                .then(|| target.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(links: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for link in links {
            headers.append(LINK, link.parse().unwrap());
        }
        headers
    }

    #[test]
    fn the_next_link_is_found_wherever_it_is() {
        let github = r#"<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(&headers(&[github])).as_deref(),
            Some("https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2")
        );
        let reordered = r#"<https://x/?page=1>; rel="prev", <https://x/?page=3>; rel="next""#;
        assert_eq!(
            next_link(&headers(&[reordered])).as_deref(),
            Some("https://x/?page=3")
        );
        let split = [
            "<https://x/?page=1>; rel=\"first\"",
            "<https://x/?page=2>;rel=next",
        ];
        assert_eq!(
            next_link(&headers(&split)).as_deref(),
            Some("https://x/?page=2")
        );
    }

    #[test]
    fn the_last_page_has_no_next_link() {
        let last = r#"<https://x/?page=1>; rel="first", <https://x/?page=4>; rel="prev""#;
        assert_eq!(next_link(&headers(&[last])), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
        assert_eq!(next_link(&headers(&["garbage; rel=\"next\""])), None);
    }
}
