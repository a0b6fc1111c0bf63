//! Rules for single values. Each returns `Err(message)` saying what a valid value looks like;
//! values from files are quoted through [`excerpt`].

use crate::problem::excerpt;

/// `[0-9A-Za-z._+-]{1,128}`: safe in tags, file names and release tags.
pub fn version(value: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "version `{}` must be 1–128 characters of letters, digits, `.`, `_`, `+` or `-`",
            excerpt(value)
        )
    })
}

/// Lambda's own rule for a function name: `[A-Za-z0-9_-]{1,64}`.
pub fn function_name(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "function name `{}` must be 1–64 characters of letters, digits, `_` or `-`",
            excerpt(value)
        )
    })
}

/// A git commit SHA, abbreviated or full: 7–40 hex digits.
pub fn commit_sha(value: &str) -> Result<(), String> {
    let ok = (7..=40).contains(&value.len()) && value.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(()).ok_or_else(|| {
        format!(
            "commit SHA `{}` must be 7–40 hexadecimal digits",
            excerpt(value)
        )
    })
}

/// S3's bucket naming rules (the common subset): 3–63 of `[a-z0-9.-]`, starting and ending
/// with a letter or digit.
pub fn bucket(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let ok = (3..=63).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    ok.then_some(()).ok_or_else(|| {
        format!(
            "bucket `{}` is not a valid S3 bucket name (3–63 of a-z, 0-9, `.`, `-`)",
            excerpt(value)
        )
    })
}

/// Keys Lambda sets itself ("Defined runtime environment variables" in the Lambda
/// docs); a function configuration may not set them. Every `AWS_LAMBDA_*` key is refused
/// too, except `AWS_LAMBDA_EXEC_WRAPPER`, which the docs list as one a function may set.
pub const RESERVED_ENV_KEYS: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Lambda's limit on a function's environment: keys and values together, in bytes.
pub const ENV_LIMIT_BYTES: usize = 4096;

/// Lambda environment variable names: a letter, then letters, digits or `_`; and not one
/// of the keys Lambda reserves for itself.
pub fn env_key(value: &str) -> Result<(), String> {
    let mut chars = value.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if RESERVED_ENV_KEYS.contains(&value)
        || (value.starts_with("AWS_LAMBDA_") && value != "AWS_LAMBDA_EXEC_WRAPPER")
    {
        return Err(format!(
            "environment variable `{value}` is reserved by Lambda (it sets it itself)"
        ));
    }
    if !ok {
        return Err(format!(
            "environment variable name `{}` must start with a letter and hold only letters, digits or `_`",
            excerpt(value)
        ));
    }
    Ok(())
}

/// The total size Lambda counts against its 4 KB limit.
pub fn env_size<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), String> {
    let total: usize = pairs.into_iter().map(|(k, v)| k.len() + v.len()).sum();
    (total <= ENV_LIMIT_BYTES).then_some(()).ok_or_else(|| {
        format!(
            "the environment is {total} bytes (keys and values); Lambda allows {ENV_LIMIT_BYTES}"
        )
    })
}

/// A service name: it names directories, state keys and tags. 1–64 of letters, digits,
/// `.`, `_` or `-`, not starting with `.`.
pub fn service_name(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "service name `{}` must be 1–64 characters of letters, digits, `.`, `_` or `-`",
            excerpt(value)
        )
    })
}

/// Text that ends up in reports, logs and pull-request comments: one line, printable.
pub fn printable(value: &str, name: &str) -> Result<(), String> {
    (!value.chars().any(char::is_control))
        .then_some(())
        .ok_or_else(|| {
            format!(
                "`{name}` `{}` holds a control character or line break",
                excerpt(value)
            )
        })
}

/// A GitHub release `tag` or `asset` after `{version}` substitution: it becomes one segment
/// of an API URL, so nothing that could reach another endpoint (`/`, `..`, `?`, `#`, `%`)
/// and no control characters.
pub fn release_segment(value: &str, name: &str) -> Result<(), String> {
    let bad = value.is_empty()
        || value.contains("..")
        || value
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_control());
    (!bad).then_some(()).ok_or_else(|| {
        format!(
            "{name} `{}` must be one URL path segment: not empty, and no `/`, `..`, `?`, `#`, `%`, `\\` or control characters",
            excerpt(value)
        )
    })
}

/// `owner/repo` as GitHub spells it.
pub fn repository(value: &str) -> Result<(), String> {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value.split_once('/') {
        Some((owner, repo)) if valid_part(owner) && valid_part(repo) => Ok(()),
        _ => Err(format!(
            "repository `{}` must be `owner/repo`",
            excerpt(value)
        )),
    }
}

/// A `pr-<N>` preview directory name → N. Leading zeros are refused so that `pr-07` and
/// `pr-7` cannot both name PR 7.
pub fn preview_dir(dir: &str) -> Result<u64, String> {
    let digits = dir.strip_prefix("pr-").unwrap_or("");
    let number = (!digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0'))
    .then(|| digits.parse::<u64>().ok())
    .flatten();
    number.ok_or_else(|| {
        format!("preview directory `{}` must be named `pr-<number>` (e.g. `pr-42`); it is not skipped, because a skipped preview would be destroyed", excerpt(dir))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version("0.1.5-pr123+build.7").is_ok());
        assert!(version("").is_err());
        assert!(version("1.0 beta").is_err());
        assert!(version(&"1".repeat(129)).is_err());
    }

    #[test]
    fn function_names() {
        assert!(function_name("syrfAppUploadS3Notifier-pr-12").is_ok());
        assert!(function_name("a.b").is_err());
        assert!(function_name(&"f".repeat(65)).is_err());
    }

    #[test]
    fn shas() {
        assert!(commit_sha("abc1234").is_ok());
        assert!(commit_sha("abc123").is_err());
        assert!(commit_sha("xyz1234").is_err());
        assert!(commit_sha(&"a".repeat(41)).is_err());
    }

    #[test]
    fn buckets_and_env_keys_and_repositories() {
        assert!(bucket("syrfapp-uploads").is_ok());
        assert!(bucket("Uploads").is_err());
        assert!(bucket("-x-").is_err());
        assert!(env_key("RabbitMqHost").is_ok());
        assert!(env_key("1X").is_err());
        assert!(env_key("AWS_REGION").is_err());
        assert!(env_key("_HANDLER").is_err());
        assert!(env_key("AWS_LAMBDA_ANYTHING").is_err());
        assert!(env_key("LAMBDA_TASK_ROOT").is_err());
        assert!(env_key("AWS_LAMBDA_EXEC_WRAPPER").is_ok());
        assert!(repository("camaradesuk/syrf").is_ok());
        assert!(repository("syrf").is_err());
        assert!(repository("../x").is_err());
        assert!(repository("a/..").is_err());
    }

    #[test]
    fn release_segments_cannot_leave_their_endpoint() {
        assert!(release_segment("s3-notifier-v1.2.3", "tag").is_ok());
        assert!(release_segment("app+build.zip", "asset").is_ok());
        for bad in [
            "",
            "../../user",
            "a/b",
            "v1?x=1",
            "v1#frag",
            "v%2F",
            "a\u{7f}",
            "a\nb",
            "a\\b",
        ] {
            assert!(release_segment(bad, "tag").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn report_strings_service_names_and_environment_size() {
        assert!(printable("staging/", "s3TriggerPrefix").is_ok());
        assert!(printable("a\nb", "s3TriggerPrefix").is_err());
        assert!(printable("a\u{1b}[2J", "handler").is_err());
        assert!(service_name("s3-notifier").is_ok());
        assert!(service_name(".x").is_err());
        assert!(service_name("a b").is_err());
        assert!(env_size([("K", "v")]).is_ok());
        let big = "v".repeat(ENV_LIMIT_BYTES);
        assert!(env_size([("K", big.as_str())]).is_err());
        assert!(env_size([("", &big[1..])]).is_ok());
    }

    #[test]
    fn preview_dirs() {
        assert_eq!(preview_dir("pr-42"), Ok(42));
        assert!(preview_dir("pr-12abc").is_err());
        assert!(preview_dir("pr-").is_err());
        assert!(preview_dir("pr-007").is_err());
        assert!(preview_dir("feature-x").is_err());
    }
}
