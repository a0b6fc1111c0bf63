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

/// A service name: it names directories, state keys and tags. 1–64 of letters, digits, `_`
/// or `-` — the characters a Lambda function name allows. No dot: every name lambda-gitops
/// keeps beside the per-service dirs in the work root (`lambda-gitops.lock`) has one, so a
/// service can never be given one of them as its work dir, and `<service>.values.yaml` reads
/// one way only.
pub fn service_name(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        format!(
            "service name `{}` must be 1–64 characters of letters, digits, `_` or `-`",
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

/// `min..=max`, naming the setting and its unit.
pub fn in_range(value: u32, min: u32, max: u32, name: &str) -> Result<(), String> {
    (min..=max)
        .contains(&value)
        .then_some(())
        .ok_or_else(|| format!("{name} {value} must be between {min} and {max}"))
}

/// One of `allowed`, with a "did you mean" when the value is close to one.
pub fn one_of(value: &str, allowed: &[&str], name: &str) -> Result<(), String> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let listed: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
    let mut message = format!(
        "{name} `{}` must be one of {}",
        excerpt(value),
        listed.join(", ")
    );
    if let Some(best) = crate::validate::yaml::closest(value, allowed) {
        message.push_str(&format!(" (did you mean `{best}`?)"));
    }
    Err(message)
}

/// The retention periods CloudWatch Logs accepts (`PutRetentionPolicy`), in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn log_retention_days(value: u32) -> Result<(), String> {
    LOG_RETENTION_DAYS
        .contains(&value)
        .then_some(())
        .ok_or_else(|| {
            let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
            format!(
                "logRetentionDays {value} is not a retention CloudWatch Logs accepts: one of {}",
                allowed.join(", ")
            )
        })
}

/// An ARN's colon-separated parts when it has exactly `count` of them and starts with
/// `arn:<partition>:<service>:`.
fn arn_parts<'a>(value: &'a str, service: &str, count: usize) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = value.split(':').collect();
    let partition = parts.get(1)?;
    let valid = parts.len() == count
        && parts[0] == "arn"
        && partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && parts[2] == service;
    valid.then_some(parts)
}

fn account_id(value: &str) -> bool {
    value.len() == 12 && value.chars().all(|c| c.is_ascii_digit())
}

fn region(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A layer version ARN: `arn:aws:lambda:<region>:<account>:layer:<name>:<version>`.
pub fn layer_arn(value: &str) -> Result<(), String> {
    let valid = arn_parts(value, "lambda", 8).is_some_and(|parts| {
        region(parts[3])
            && account_id(parts[4])
            && parts[5] == "layer"
            && (1..=140).contains(&parts[6].len())
            && parts[6]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            && !parts[7].is_empty()
            && parts[7].chars().all(|c| c.is_ascii_digit())
    });
    valid.then_some(()).ok_or_else(|| {
        format!(
            "layer `{}` is not a layer version ARN (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`)",
            excerpt(value)
        )
    })
}

/// An IAM role ARN: `arn:aws:iam::<account>:role/<path/><name>`.
pub fn role_arn(value: &str) -> Result<(), String> {
    let valid = arn_parts(value, "iam", 6).is_some_and(|parts| {
        let name_chars = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
        parts[3].is_empty()
            && account_id(parts[4])
            && parts[5].strip_prefix("role/").is_some_and(|name| {
                !name.is_empty() && !name.ends_with('/') && name.chars().all(name_chars)
            })
    });
    valid.then_some(()).ok_or_else(|| {
        format!(
            "roleArn `{}` is not an IAM role ARN (`arn:aws:iam::<account>:role/<name>`)",
            excerpt(value)
        )
    })
}

/// `<prefix>-` and 8 or 17 lowercase hex digits: an EC2 resource ID.
fn ec2_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            matches!(hex.len(), 8 | 17)
                && hex
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

pub fn subnet_id(value: &str) -> Result<(), String> {
    ec2_id(value, "subnet").then_some(()).ok_or_else(|| {
        format!(
            "subnet `{}` is not a subnet ID (`subnet-` and 8 or 17 hex digits)",
            excerpt(value)
        )
    })
}

pub fn security_group_id(value: &str) -> Result<(), String> {
    ec2_id(value, "sg").then_some(()).ok_or_else(|| {
        format!(
            "security group `{}` is not a security group ID (`sg-` and 8 or 17 hex digits)",
            excerpt(value)
        )
    })
}

/// The tags lambda-gitops sets itself on every function.
pub const OWN_TAGS: [&str; 5] = [
    "service",
    "environment",
    "version",
    "commit_sha",
    "lambda_gitops_version",
];

/// AWS allows 50 tags on a resource; lambda-gitops uses [`OWN_TAGS`].
pub const MAX_TAGS: usize = 50 - OWN_TAGS.len();

/// What AWS accepts in tag keys and values: letters, digits, spaces and `_ . : / = + - @`.
fn tag_chars(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
}

pub fn tag_key(key: &str) -> Result<(), String> {
    if OWN_TAGS.contains(&key) {
        return Err(format!(
            "tag `{key}` is set by lambda-gitops itself (it tags {})",
            OWN_TAGS.join(", ")
        ));
    }
    if key.len() >= 4 && key[..4].eq_ignore_ascii_case("aws:") {
        return Err(format!(
            "tag `{}`: the `aws:` prefix is reserved by AWS",
            excerpt(key)
        ));
    }
    ((1..=128).contains(&key.chars().count()) && tag_chars(key))
        .then_some(())
        .ok_or_else(|| {
            format!(
                "tag key `{}` must be 1–128 letters, digits, spaces or `_ . : / = + - @`",
                excerpt(key)
            )
        })
}

pub fn tag_value(key: &str, value: &str) -> Result<(), String> {
    (value.chars().count() <= 256 && tag_chars(value))
        .then_some(())
        .ok_or_else(|| {
            format!(
                "the value of tag `{}` must be at most 256 letters, digits, spaces or `_ . : / = + - @`",
                excerpt(key)
            )
        })
}

/// Lambda's limit on a function description.
pub fn description(value: &str) -> Result<(), String> {
    printable(value, "description")?;
    let count = value.chars().count();
    (count <= 256)
        .then_some(())
        .ok_or_else(|| format!("description is {count} characters; Lambda allows 256"))
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
        assert!(service_name(crate::workdir::LOCK_FILE).is_err());
        assert!(service_name("a.b").is_err());
        assert!(service_name("A_b-9").is_ok());
        assert!(service_name("a b").is_err());
        assert!(env_size([("K", "v")]).is_ok());
        let big = "v".repeat(ENV_LIMIT_BYTES);
        assert!(env_size([("K", big.as_str())]).is_err());
        assert!(env_size([("", &big[1..])]).is_ok());
    }

    #[test]
    fn arns_and_ids_have_their_aws_shapes() {
        assert!(layer_arn("arn:aws:lambda:eu-west-2:123456789012:layer:deps:3").is_ok());
        assert!(layer_arn("arn:aws-cn:lambda:cn-north-1:123456789012:layer:a_b-c:10").is_ok());
        for bad in [
            "arn:aws:lambda:eu-west-2:123456789012:layer:deps",
            "arn:aws:lambda:eu-west-2:12345:layer:deps:3",
            "arn:aws:lambda:eu-west-2:123456789012:function:deps:3",
            "arn:aws:s3:eu-west-2:123456789012:layer:deps:3",
            "arn:aws:lambda:eu-west-2:123456789012:layer:de ps:3",
            "arn:aws:lambda:eu-west-2:123456789012:layer:deps:latest",
        ] {
            assert!(layer_arn(bad).is_err(), "{bad}");
        }
        assert!(role_arn("arn:aws:iam::123456789012:role/service-role/x").is_ok());
        for bad in [
            "arn:x",
            "arn:aws:iam::1:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(role_arn(bad).is_err(), "{bad}");
        }
        assert!(subnet_id("subnet-0123abcd").is_ok());
        assert!(subnet_id("subnet-0123456789abcdef0").is_ok());
        assert!(subnet_id("subnet-0123ABCD").is_err());
        assert!(subnet_id("subnet-123").is_err());
        assert!(subnet_id("sg-0123abcd").is_err());
        assert!(security_group_id("sg-0123abcd").is_ok());
        assert!(security_group_id("sg-0123456789abcdef0").is_ok());
        assert!(security_group_id("sg-xyz").is_err());
    }

    #[test]
    fn retention_tags_and_choices() {
        assert!(log_retention_days(30).is_ok());
        assert!(log_retention_days(3653).is_ok());
        for bad in [0, 2, 13, 31, 10_000] {
            assert!(log_retention_days(bad).is_err(), "{bad}");
        }
        assert!(tag_key("team").is_ok());
        assert!(tag_key("cost center:a/b=c+d-e@f").is_ok());
        assert!(tag_key("service").is_err());
        assert!(tag_key("AWS:x").is_err());
        assert!(tag_key("").is_err());
        assert!(tag_key(&"k".repeat(129)).is_err());
        assert!(tag_key("a#b").is_err());
        assert!(tag_value("k", "").is_ok());
        assert!(tag_value("k", &"v".repeat(257)).is_err());
        assert!(tag_value("k", "a\nb").is_err());
        let message = one_of("arm", &["x86_64", "arm64"], "architecture").unwrap_err();
        assert!(message.contains("did you mean `arm64`"), "{message}");
        assert!(one_of("arm64", &["x86_64", "arm64"], "architecture").is_ok());
        assert!(description(&"d".repeat(256)).is_ok());
        assert!(description(&"d".repeat(257)).is_err());
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
