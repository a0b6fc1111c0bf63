//! The `live` alias as a rollout moves it: which published version it points at and how
//! much traffic goes to another (`RoutingConfig.AdditionalVersionWeights`), set in one
//! `UpdateAlias`; and the newest published version of a function, the one an apply just
//! published.

use std::collections::BTreeMap;

use super::status::LIVE_ALIAS;
use super::AwsError;

/// The `live` alias: its version and the weights of the other versions it routes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Live {
    pub version: String,
    /// Version → share of traffic (0–1).
    pub weights: BTreeMap<String, f64>,
}

/// `function`'s `live` alias; `None` when it has none.
pub async fn live(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Option<Live>, AwsError> {
    let request = client.get_alias().function_name(function).name(LIVE_ALIAS);
    match request.send().await {
        Ok(alias) => Ok(Some(Live {
            version: alias.function_version().unwrap_or_default().to_owned(),
            weights: alias
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default(),
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new(
            format!("read `{function}:{LIVE_ALIAS}`"),
            &error,
        )),
    }
}

/// Points `live` at `version`, with `weight` (a version and its share, 0–1) routed to
/// another, or no routing at all.
pub async fn point(
    client: &aws_sdk_lambda::Client,
    function: &str,
    version: &str,
    weight: Option<(&str, f64)>,
) -> Result<(), AwsError> {
    use aws_sdk_lambda::types::AliasRoutingConfiguration;
    let routing = AliasRoutingConfiguration::builder()
        .set_additional_version_weights(
            weight.map(|(version, share)| [(version.to_owned(), share)].into()),
        )
        .build();
    client
        .update_alias()
        .function_name(function)
        .name(LIVE_ALIAS)
        .function_version(version)
        .routing_config(routing)
        .send()
        .await
        .map(drop)
        .map_err(|error| AwsError::new(format!("update `{function}:{LIVE_ALIAS}`"), &error))
}

/// A published version and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    /// Base64 SHA-256, Lambda's `CodeSha256`.
    pub code_sha256: String,
}

/// The newest published version of `function` (not `$LATEST`); `None` when it has none.
pub async fn newest(
    client: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Option<Published>, AwsError> {
    let mut pages = client
        .list_versions_by_function()
        .function_name(function)
        .into_paginator()
        .items()
        .send();
    let mut newest: Option<(u64, Published)> = None;
    while let Some(item) = pages.next().await {
        let item = item
            .map_err(|error| AwsError::new(format!("list the versions of `{function}`"), &error))?;
        let Some(number) = item.version().and_then(|v| v.parse::<u64>().ok()) else {
            continue;
        };
        if newest.as_ref().is_none_or(|(n, _)| number > *n) {
            newest = Some((
                number,
                Published {
                    version: number.to_string(),
                    code_sha256: item.code_sha256().unwrap_or_default().to_owned(),
                },
            ));
        }
    }
    Ok(newest.map(|(_, published)| published))
}
