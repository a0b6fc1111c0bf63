//! Version clean-up after an apply. Every deploy publishes a Lambda version, and each one
//! keeps its code in Lambda's code storage (75 GB per region by default): per function,
//! keep the versions any alias points at (routing weights included) and the newest
//! `keepVersions`, and delete the rest. `$LATEST` is never deleted; a version an alias
//! took in the meantime is skipped, not an error.

use std::collections::BTreeSet;

use aws_sdk_lambda::error::ProvideErrorMetadata;

/// The versions of one function to delete: numbered ones that are neither aliased nor
/// among the newest `keep`, newest first. Anything not a number (`$LATEST`) is kept.
pub fn to_delete(versions: &[String], aliased: &BTreeSet<String>, keep: u32) -> Vec<String> {
    let mut numbered: Vec<u64> = versions.iter().filter_map(|v| v.parse().ok()).collect();
    numbered.sort_unstable_by(|a, b| b.cmp(a));
    numbered.dedup();
    numbered
        .into_iter()
        .skip(keep as usize)
        .map(|version| version.to_string())
        .filter(|version| !aliased.contains(version))
        .collect()
}

/// What the clean-up of one function did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub deleted: Vec<String>,
}

/// Cleans one function's versions. A function that is gone has nothing to clean.
pub async fn clean_up(
    client: &aws_sdk_lambda::Client,
    function: &str,
    keep: u32,
) -> Result<Cleaned, super::AwsError> {
    let aliased = match aliased_versions(client, function).await {
        Ok(aliased) => aliased,
        Err(Listing::Missing) => return Ok(Cleaned::default()),
        Err(Listing::Failed(reason)) => {
            return Err(super::AwsError {
                doing: format!("listing the aliases of `{function}`"),
                reason,
            })
        }
    };
    let versions = match published_versions(client, function).await {
        Ok(versions) => versions,
        Err(Listing::Missing) => return Ok(Cleaned::default()),
        Err(Listing::Failed(reason)) => {
            return Err(super::AwsError {
                doing: format!("listing the versions of `{function}`"),
                reason,
            })
        }
    };

    let mut cleaned = Cleaned::default();
    for version in to_delete(&versions, &aliased, keep) {
        let result = client
            .delete_function()
            .function_name(function)
            .qualifier(&version)
            .send()
            .await;
        match result {
            Ok(_) => cleaned.deleted.push(version),
            // Taken by an alias since it was listed, or already gone: not ours to delete.
            Err(error)
                if super::not_found(&error)
                    || error.code() == Some("ResourceConflictException") =>
            {
                tracing::debug!(
                    "{function}: version {version} kept: {}",
                    super::describe(&error)
                );
            }
            Err(error) => {
                return Err(super::AwsError {
                    doing: format!("deleting version {version} of `{function}`"),
                    reason: super::describe(&error),
                })
            }
        }
    }
    Ok(cleaned)
}

enum Listing {
    /// The function does not exist (any more).
    Missing,
    Failed(String),
}

fn listing<E: ProvideErrorMetadata, R>(error: &aws_sdk_lambda::error::SdkError<E, R>) -> Listing {
    if super::not_found(error) {
        Listing::Missing
    } else {
        Listing::Failed(super::describe(error))
    }
}

async fn aliased_versions(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<BTreeSet<String>, Listing> {
    let mut aliased = BTreeSet::new();
    let mut pages = client
        .list_aliases()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing(&e))?;
        for alias in page.aliases() {
            aliased.extend(alias.function_version().map(str::to_owned));
            let weights = alias
                .routing_config()
                .and_then(|routing| routing.additional_version_weights());
            aliased.extend(weights.into_iter().flat_map(|w| w.keys().cloned()));
        }
    }
    Ok(aliased)
}

async fn published_versions(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Vec<String>, Listing> {
    let mut versions = Vec::new();
    let mut pages = client
        .list_versions_by_function()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| listing(&e))?;
        versions.extend(
            page.versions()
                .iter()
                .filter_map(|f| f.version().map(str::to_owned)),
        );
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_newest_and_every_aliased_version_stay_and_latest_is_never_deleted() {
        let versions = strings(&["$LATEST", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]);
        let aliased: BTreeSet<String> = ["2".to_owned(), "10".to_owned()].into();
        assert_eq!(
            to_delete(&versions, &aliased, 3),
            strings(&["7", "6", "5", "4", "3", "1"])
        );
        assert_eq!(
            to_delete(&versions, &aliased, 0),
            strings(&["9", "8", "7", "6", "5", "4", "3", "1"])
        );
        assert_eq!(to_delete(&versions, &aliased, 20), Vec::<String>::new());
        // Numeric, not text, order: 10 is newer than 9.
        assert_eq!(
            to_delete(&strings(&["9", "10"]), &BTreeSet::new(), 1),
            strings(&["9"])
        );
        assert_eq!(
            to_delete(&strings(&["$LATEST"]), &BTreeSet::new(), 0),
            Vec::<String>::new()
        );
    }
}
