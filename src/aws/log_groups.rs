//! Which of a service's log groups exist already. A function that ever ran has
//! `/aws/lambda/<name>` (Lambda creates it on the first invocation), so a module that
//! creates the group would fail with `ResourceAlreadyExistsException`: the runner adopts
//! those with `import` blocks instead.

use std::collections::BTreeSet;

/// The names among `names` that exist as log groups.
pub async fn existing(
    config: &aws_config::SdkConfig,
    names: &[String],
) -> Result<BTreeSet<String>, super::AwsError> {
    let client = aws_sdk_cloudwatchlogs::Client::new(config);
    let mut found = BTreeSet::new();
    for name in names {
        // The prefix also matches longer names (`…/f` and `…/f-pr-7`): page until it is
        // found or the listing ends.
        let mut pages = client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| super::AwsError {
                doing: format!("looking up the log group `{name}`"),
                reason: super::describe(&e),
            })?;
            if page
                .log_groups()
                .iter()
                .any(|group| group.log_group_name() == Some(name.as_str()))
            {
                found.insert(name.clone());
                break;
            }
        }
    }
    Ok(found)
}
