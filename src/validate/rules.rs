//! Rules for single values. Each returns `Err(message)` saying what a valid value looks like.

/// `[0-9A-Za-z._+-]{1,128}`: safe in tags, file names and release tags.
pub fn version(value: &str) -> Result<(), String> {
    let ok = (1..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "version `{value}` must be 1–128 characters of letters, digits, `.`, `_`, `+` or `-`"
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
        format!("function name `{value}` must be 1–64 characters of letters, digits, `_` or `-`")
    })
}

/// A git commit SHA, abbreviated or full: 7–40 hex digits.
pub fn commit_sha(value: &str) -> Result<(), String> {
    let ok = (7..=40).contains(&value.len()) && value.chars().all(|c| c.is_ascii_hexdigit());
    ok.then_some(())
        .ok_or_else(|| format!("commit SHA `{value}` must be 7–40 hexadecimal digits"))
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
        format!("bucket `{value}` is not a valid S3 bucket name (3–63 of a-z, 0-9, `.`, `-`)")
    })
}

/// Lambda environment variable names: a letter, then letters, digits or `_`; and not one
/// of the keys Lambda reserves for itself.
pub fn env_key(value: &str) -> Result<(), String> {
    const RESERVED: [&str; 4] = [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ];
    let mut chars = value.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "environment variable name `{value}` must start with a letter and hold only letters, digits or `_`"
        ));
    }
    if RESERVED.contains(&value) || value.starts_with("AWS_LAMBDA_") {
        return Err(format!(
            "environment variable `{value}` is reserved by Lambda"
        ));
    }
    Ok(())
}

/// `owner/repo` as GitHub spells it.
pub fn repository(value: &str) -> Result<(), String> {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match value.split_once('/') {
        Some((owner, repo)) if valid_part(owner) && valid_part(repo) => Ok(()),
        _ => Err(format!("repository `{value}` must be `owner/repo`")),
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
        format!("preview directory `{dir}` must be named `pr-<number>` (e.g. `pr-42`); it is not skipped, because a skipped preview would be destroyed")
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
        assert!(repository("camaradesuk/syrf").is_ok());
        assert!(repository("syrf").is_err());
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
