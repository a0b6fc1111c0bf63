//! Where the GitHub client may go and when it sends the token — pure functions, so the
//! rules are tested without sending a request anywhere.
//!
//! - Every URL the client fetches (the API base, asset URLs from the API, redirect targets,
//!   next pages) is `https`, or `http` on loopback, or any `http` with `--allow-insecure-api`.
//! - The token goes on the first request only, and only when that request is on the API
//!   origin (scheme, host, port). A redirect hop never carries it, same host included.
//! - Redirects are followed by hand, at most [`MAX_REDIRECTS`] of them, and only to
//!   `http(s)` URLs.

use std::net::IpAddr;

use reqwest::Url;

/// Redirect hops followed for one request (GitHub uses one: API → storage).
pub const MAX_REDIRECTS: usize = 5;

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an `http(s)` URL at all (`file:`, `ftp:`, garbage).
    NotHttp,
    /// Plain `http` to a host other than loopback, without `--allow-insecure-api`.
    Insecure,
}

/// The GitHub API base URL, checked and ending in `/` (so a path prefix such as GitHub
/// Enterprise's `/api/v3` is kept when segments are appended).
pub fn api_base(text: &str, allow_insecure: bool) -> Result<Url, Refusal> {
    let mut url = Url::parse(text).map_err(|_| Refusal::NotHttp)?;
    check_transport(&url, allow_insecure)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `https` anywhere; `http` only on loopback unless insecure transport is allowed.
pub fn check_transport(url: &Url, allow_insecure: bool) -> Result<(), Refusal> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure || is_loopback(url) => Ok(()),
        "http" => Err(Refusal::Insecure),
        _ => Err(Refusal::NotHttp),
    }
}

/// `127.0.0.0/8`, `::1` or `localhost`: traffic that never leaves the machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Same scheme, host and port (the port spelled out or the scheme's default).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Whether the request for `url`, `hops` redirects after the original one, carries the
/// token: only the original request, and only to the API origin.
pub fn sends_token(url: &Url, api: &Url, hops: usize) -> bool {
    hops == 0 && same_origin(url, api)
}

/// The URL a redirect's `Location` leads to (relative ones resolved against `from`), if
/// the client may follow it.
pub fn redirect_target(from: &Url, location: &str, allow_insecure: bool) -> Result<Url, Refusal> {
    let target = from.join(location).map_err(|_| Refusal::NotHttp)?;
    check_transport(&target, allow_insecure)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn an_http_api_url_off_loopback_is_refused_unless_insecure_is_allowed() {
        for remote in [
            "http://api.example.com",
            "http://10.0.0.5:8080/api/v3",
            "http://[2001:db8::1]/",
            "http://127.0.0.1.example.com/",
        ] {
            assert_eq!(api_base(remote, false), Err(Refusal::Insecure), "{remote}");
            assert!(api_base(remote, true).is_ok(), "{remote}");
        }
        for local in [
            "http://127.0.0.1:9",
            "http://127.1.2.3/",
            "http://[::1]:8080",
            "http://localhost:3000/api/v3",
        ] {
            assert!(api_base(local, false).is_ok(), "{local}");
        }
        assert!(api_base("https://ghe.example.com/api/v3", false).is_ok());
        for bad in [
            "ftp://x",
            "file:///etc/passwd",
            "not a url",
            "javascript:alert(1)",
        ] {
            assert_eq!(api_base(bad, true), Err(Refusal::NotHttp), "{bad}");
        }
    }

    #[test]
    fn the_api_base_keeps_its_path_prefix_and_ends_in_a_slash() {
        assert_eq!(
            api_base("https://ghe.example.com/api/v3", false)
                .unwrap()
                .as_str(),
            "https://ghe.example.com/api/v3/"
        );
        assert_eq!(
            api_base("https://api.github.com", false).unwrap().as_str(),
            "https://api.github.com/"
        );
    }

    #[test]
    fn the_token_goes_to_the_api_origin_on_the_first_request_only() {
        let api = url("https://api.github.com/");
        let asset = url("https://api.github.com/repos/o/r/releases/assets/1");
        assert!(sends_token(&asset, &api, 0));
        assert!(!sends_token(&asset, &api, 1), "a same-host redirect hop");
        for other in [
            "https://objects.githubusercontent.com/x",
            "http://api.github.com/x",
            "https://api.github.com:8443/x",
            "https://api.github.com.evil.example/x",
        ] {
            assert!(!sends_token(&url(other), &api, 0), "{other}");
        }
        let explicit_port = url("https://api.github.com:443/repos");
        assert!(sends_token(&explicit_port, &api, 0));
    }

    #[test]
    fn redirects_go_to_http_urls_only() {
        let from = url("https://api.github.com/repos/o/r/releases/assets/1");
        assert_eq!(
            redirect_target(&from, "/repositories/7/releases/assets/1", false)
                .unwrap()
                .as_str(),
            "https://api.github.com/repositories/7/releases/assets/1"
        );
        assert!(redirect_target(&from, "https://objects.example/blob?sig=1", false).is_ok());
        assert_eq!(
            redirect_target(&from, "file:///etc/passwd", true),
            Err(Refusal::NotHttp)
        );
        assert_eq!(
            redirect_target(&from, "ftp://example.com/x", true),
            Err(Refusal::NotHttp)
        );
        assert_eq!(
            redirect_target(&from, "http://objects.example/blob", false),
            Err(Refusal::Insecure),
            "a downgrade to plain http off loopback"
        );
    }
}
