//! State left behind by services that are no longer in the gitops repo: their functions
//! still run, and nothing plans them any more. `plan` and `apply` look where each
//! service's state would be — `<work-dir>/<service>/terraform.tfstate` for the local
//! backend (or a `path` holding `{service}`), the objects under the key template's prefix
//! for an S3 backend whose `key` holds `{service}` — and warn, naming the service and how
//! to destroy it. Only a state that still manages resources counts (a destroyed service's
//! state stays behind empty). Looking is best effort: it never fails a run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::aws::AwsError;
use crate::desired::Repo;
use crate::settings::Settings;
use crate::terraform::backend::{Backend, BackendSettings, SERVICE_PLACEHOLDER};

/// State files are read up to this size.
const MAX_STATE_BYTES: u64 = 64 << 20;
/// Listing pages of an S3 prefix (1000 keys each).
const MAX_LIST_PAGES: usize = 20;
/// The whole look at an S3 backend.
const S3_TIMEOUT: Duration = Duration::from_secs(30);

/// A service's state, found for a service the repo no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub service: String,
    /// Where the state is, for the message.
    pub state: String,
}

/// Warns on stderr about every orphaned state; a failure to look is a warning too.
pub async fn warn(settings: &Settings, repo: &Repo, backend: &BackendSettings) {
    let known: BTreeSet<&str> = repo.services.iter().map(|s| s.name.as_str()).collect();
    let found = match backend.backend {
        Backend::Local => Ok(local(&settings.work_dir, &backend.config, &known)),
        Backend::S3 => {
            let region = setting(&backend.config, "region").unwrap_or(&settings.aws_region);
            match tokio::time::timeout(S3_TIMEOUT, s3(&backend.config, region, &known)).await {
                Ok(found) => found.map_err(|error| error.to_string()),
                Err(_) => Err(format!("no answer within {}s", S3_TIMEOUT.as_secs())),
            }
        }
    };
    match found {
        Ok(orphans) => {
            for orphan in orphans {
                tracing::warn!("{}", message(&orphan));
            }
        }
        Err(error) => {
            tracing::warn!(
                "could not look for the state of services removed from the gitops repo: {error}"
            )
        }
    }
}

pub fn message(orphan: &Orphan) -> String {
    let name = &orphan.service;
    format!(
        "state for `{name}` remains at {}, but the gitops repo has no Lambda service `{name}`: its functions still run and no plan manages them. Destroy them with `lambda-gitops destroy --service {name}`, or restore `services/{name}/config.yaml`",
        orphan.state
    )
}

/// The last value given for `key` in `--backend-config` pairs.
fn setting<'a>(config: &'a [String], key: &str) -> Option<&'a str> {
    config.iter().rev().find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then_some(v)
    })
}

/// `template` split around its one `{service}`.
fn split_template(template: &str) -> Option<(&str, &str)> {
    let (prefix, suffix) = template.split_once(SERVICE_PLACEHOLDER)?;
    (!suffix.contains(SERVICE_PLACEHOLDER)).then_some((prefix, suffix))
}

/// The service a path or key names under a template, when it is one nobody has.
fn orphan_name<'a>(
    name: &'a str,
    (prefix, suffix): (&str, &str),
    known: &BTreeSet<&str>,
) -> Option<&'a str> {
    let service = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (crate::validate::rules::service_name(service).is_ok() && !known.contains(service))
        .then_some(service)
}

/// Local states: `<work-dir>/*/terraform.tfstate`, or the files an absolute `path`
/// template names.
fn local(work_dir: &Path, config: &[String], known: &BTreeSet<&str>) -> Vec<Orphan> {
    let template = match setting(config, "path") {
        None => format!(
            "{}/{SERVICE_PLACEHOLDER}/terraform.tfstate",
            work_dir.display()
        ),
        Some(path) if Path::new(path).is_absolute() => path.to_owned(),
        Some(path) => {
            tracing::debug!(
                "not looking for removed services' states: the local `path={path}` is relative"
            );
            return Vec::new();
        }
    };
    let Some(parts) = split_template(&template) else {
        return Vec::new();
    };
    let pattern = format!(
        "{}*{}",
        glob::Pattern::escape(parts.0),
        glob::Pattern::escape(parts.1)
    );
    let Ok(paths) = glob::glob(&pattern) else {
        return Vec::new();
    };
    let mut orphans = Vec::new();
    for path in paths.filter_map(Result::ok) {
        let shown = path.to_string_lossy().into_owned();
        let Some(service) = orphan_name(&shown, parts, known) else {
            continue;
        };
        if read_local(&path).is_some_and(|bytes| manages_resources(&bytes)) {
            orphans.push(Orphan {
                service: service.to_owned(),
                state: format!("`{shown}`"),
            });
        }
    }
    orphans
}

fn read_local(path: &PathBuf) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// S3 states: the objects under the `key` template's prefix that fit the template.
async fn s3(
    config: &[String],
    region: &str,
    known: &BTreeSet<&str>,
) -> Result<Vec<Orphan>, AwsError> {
    let (Some(bucket), Some(key)) = (setting(config, "bucket"), setting(config, "key")) else {
        return Ok(Vec::new());
    };
    let Some(parts) = split_template(key).filter(|_| !bucket.contains(SERVICE_PLACEHOLDER)) else {
        tracing::debug!("not looking for removed services' states: the S3 `key` has no single `{SERVICE_PLACEHOLDER}`");
        return Ok(Vec::new());
    };
    let client = crate::aws::s3_client(&crate::aws::sdk_config(region).await, false);
    let mut orphans = Vec::new();
    for (service, key) in s3_candidates(&client, bucket, parts, known).await? {
        let Some(bytes) = read_s3_state(&client, bucket, &key).await? else {
            continue;
        };
        if manages_resources(&bytes) {
            orphans.push(Orphan {
                service,
                state: format!("`s3://{bucket}/{key}`"),
            });
        }
    }
    Ok(orphans)
}

/// The keys under the template's prefix that name a service the repo lacks, with that
/// service: `(service, key)`. At most [`MAX_LIST_PAGES`] pages are listed.
async fn s3_candidates(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    parts: (&str, &str),
    known: &BTreeSet<&str>,
) -> Result<Vec<(String, String)>, AwsError> {
    let mut candidates = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_LIST_PAGES {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(parts.0)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError {
                doing: format!("listing `s3://{bucket}/{}`", parts.0),
                reason: crate::aws::S3Error::from_sdk(&e).to_string(),
            })?;
        for object in page.contents() {
            if let Some(service) = object.key().and_then(|k| orphan_name(k, parts, known)) {
                candidates.push((
                    service.to_owned(),
                    object.key().unwrap_or_default().to_owned(),
                ));
            }
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(candidates)
}

/// The bytes of the S3 object `key`; `None` when it is larger than a state is read.
async fn read_s3_state(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<bytes::Bytes>, AwsError> {
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| AwsError {
            doing: format!("reading `s3://{bucket}/{key}`"),
            reason: crate::aws::S3Error::from_sdk(&e).to_string(),
        })?;
    if object.content_length().unwrap_or(0) as u64 > MAX_STATE_BYTES {
        return Ok(None);
    }
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|_| AwsError {
            doing: format!("reading `s3://{bucket}/{key}`"),
            reason: "the body was cut off".to_owned(),
        })?
        .into_bytes();
    Ok(Some(bytes))
}

/// Whether a terraform state (JSON) still holds a managed resource with an instance. A
/// state that cannot be read as one counts as holding resources: better a needless
/// warning than a forgotten service.
fn manages_resources(bytes: &[u8]) -> bool {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return true;
    };
    let Some(resources) = state.get("resources").and_then(|r| r.as_array()) else {
        return !state.is_object();
    };
    resources.iter().any(|resource| {
        resource.get("mode").and_then(|m| m.as_str()) != Some("data")
            && resource
                .get("instances")
                .and_then(|i| i.as_array())
                .is_none_or(|instances| !instances.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
        names.iter().copied().collect()
    }

    #[test]
    fn names_are_taken_from_the_template_and_checked() {
        let parts = split_template("lambda/{service}.tfstate").unwrap();
        let k = known(&["a"]);
        assert_eq!(orphan_name("lambda/old.tfstate", parts, &k), Some("old"));
        assert_eq!(orphan_name("lambda/a.tfstate", parts, &k), None);
        assert_eq!(orphan_name("lambda/x/y.tfstate", parts, &k), None);
        assert_eq!(orphan_name("lambda/.tfstate", parts, &k), None);
        assert_eq!(orphan_name("other/old.tfstate", parts, &k), None);
        assert_eq!(split_template("lambda/{service}/{service}.tfstate"), None);
        assert_eq!(split_template("lambda/state"), None);
    }

    #[test]
    fn only_a_state_managing_resources_is_an_orphan() {
        let empty = br#"{"version":4,"resources":[]}"#;
        let data_only = br#"{"version":4,"resources":[{"mode":"data","instances":[{}]}]}"#;
        let managed = br#"{"version":4,"resources":[{"mode":"managed","type":"aws_lambda_function","instances":[{}]}]}"#;
        assert!(!manages_resources(empty));
        assert!(!manages_resources(data_only));
        assert!(manages_resources(managed));
        assert!(manages_resources(b"not json"));
    }

    #[test]
    fn local_states_of_services_the_repo_lacks_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let managed = r#"{"version":4,"resources":[{"mode":"managed","instances":[{}]}]}"#;
        for (service, state) in [
            ("a", managed),
            ("old", managed),
            ("gone", r#"{"version":4,"resources":[]}"#),
        ] {
            std::fs::create_dir_all(dir.path().join(service)).unwrap();
            std::fs::write(dir.path().join(service).join("terraform.tfstate"), state).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("fresh")).unwrap();
        let orphans = local(dir.path(), &[], &known(&["a"]));
        assert_eq!(orphans.len(), 1, "{orphans:?}");
        assert_eq!(orphans[0].service, "old");
        let path = format!("path={}/states/{{service}}.tfstate", dir.path().display());
        std::fs::create_dir_all(dir.path().join("states")).unwrap();
        std::fs::write(dir.path().join("states/b.tfstate"), managed).unwrap();
        let orphans = local(dir.path(), &[path], &known(&["a"]));
        assert_eq!(
            orphans
                .iter()
                .map(|o| o.service.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert!(local(dir.path(), &["path=rel/{service}".into()], &known(&[])).is_empty());
    }
}
