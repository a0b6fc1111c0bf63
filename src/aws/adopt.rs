//! What a plan would create that exists in AWS already, and may be adopted. A first apply
//! that was interrupted while terraform created the functions leaves them in AWS and out of
//! the state (the provider's wait for each was cancelled): creating them again fails with
//! `ResourceConflictException`. A function that carries this service's ownership tags
//! (`service` and `environment`, which the bundled module sets at creation) is adopted with
//! an `import` block, and so is its `live` alias; one without them is an error naming it —
//! never taken over. Log groups are adopted as before, without tags (Lambda itself creates a
//! function's log group on its first invocation). Where the provider kept such a function in
//! the state marked tainted, terraform would replace it — creating one of the same name first,
//! which fails — so a tainted function of this service's is untainted instead.

use std::collections::HashMap;

use crate::desired::DeploymentKey;

/// The objects a plan creates that exist already, per deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adoption {
    /// `(key, log group name)`.
    pub log_groups: Vec<(DeploymentKey, String)>,
    /// `(key, function name)`.
    pub functions: Vec<(DeploymentKey, String)>,
    /// `(key, function name)`: its `live` alias.
    pub aliases: Vec<(DeploymentKey, String)>,
    /// `(key, function name)`: functions in the state marked tainted by an apply that stopped
    /// while creating them. Replacing one cannot work — its name is taken until the old one
    /// is gone, and the new one is created first — so it is untainted instead.
    pub untainted: Vec<(DeploymentKey, String)>,
}

impl Adoption {
    pub fn is_empty(&self) -> bool {
        self.log_groups.is_empty()
            && self.functions.is_empty()
            && self.aliases.is_empty()
            && self.untainted.is_empty()
    }

    /// Every adopted object's name, for the log.
    pub fn names(&self) -> Vec<String> {
        let aliases = self.aliases.iter().map(|(_, f)| format!("{f}:live"));
        self.log_groups
            .iter()
            .chain(&self.functions)
            .chain(&self.untainted)
            .map(|(_, name)| name.clone())
            .chain(aliases)
            .collect()
    }
}

/// Why a function was not adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("the function `{function}` exists, is not in this service's state and is not tagged as its `{key}` deployment ({found})")]
    NotOurs {
        function: String,
        key: DeploymentKey,
        found: String,
    },
    #[error("could not look up the function `{function}`: {message}")]
    Lookup { function: String, message: String },
}

/// Whether the function `name` exists and whose it is: `None` when it does not exist, else
/// its tags.
async fn tags_of(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<Option<HashMap<String, String>>, AdoptError> {
    match client.get_function().function_name(name).send().await {
        Ok(found) => Ok(Some(found.tags().cloned().unwrap_or_default())),
        Err(error) if super::not_found(&error) => Ok(None),
        Err(error) => Err(AdoptError::Lookup {
            function: name.to_owned(),
            message: super::describe(&error),
        }),
    }
}

/// The functions among `candidates` (deployments whose function the plan creates) that
/// exist with this service's tags for that deployment; any that exists without them is an
/// error.
pub async fn functions(
    client: &aws_sdk_lambda::Client,
    service: &str,
    candidates: &[(DeploymentKey, String)],
) -> Result<Vec<(DeploymentKey, String)>, AdoptError> {
    let mut adopted = Vec::new();
    for (key, function) in candidates {
        let Some(tags) = tags_of(client, function).await? else {
            continue;
        };
        let tag = |name: &str| tags.get(name).map(String::as_str);
        if tag("service") != Some(service) || tag("environment") != Some(&key.to_string()) {
            return Err(AdoptError::NotOurs {
                function: function.clone(),
                key: *key,
                found: format!(
                    "service: {}, environment: {}",
                    tag("service").map_or("none".into(), |s| format!(
                        "`{}`",
                        crate::problem::excerpt(s)
                    )),
                    tag("environment").map_or("none".into(), |s| format!(
                        "`{}`",
                        crate::problem::excerpt(s)
                    )),
                ),
            });
        }
        adopted.push((*key, function.clone()));
    }
    Ok(adopted)
}

/// The `live` aliases among `candidates` (deployments whose alias the plan creates) that
/// exist on a function of this service's.
pub async fn aliases(
    client: &aws_sdk_lambda::Client,
    service: &str,
    candidates: &[(DeploymentKey, String)],
) -> Result<Vec<(DeploymentKey, String)>, AdoptError> {
    let mut existing = Vec::new();
    for (key, function) in candidates {
        match client
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
        {
            Ok(_) => existing.push((*key, function.clone())),
            Err(error) if super::not_found(&error) => {}
            Err(error) => {
                return Err(AdoptError::Lookup {
                    function: function.clone(),
                    message: super::describe(&error),
                })
            }
        }
    }
    // An alias is its function's: adopted only on a function that is this service's.
    functions(client, service, &existing).await
}

/// Whether any of the functions `names` exists (an apply that would adopt must not start
/// before its plan is read).
pub async fn any_function_exists(client: &aws_sdk_lambda::Client, names: &[String]) -> bool {
    for name in names {
        match tags_of(client, name).await {
            Ok(None) => {}
            // Exists, or cannot be told: either way, not an apply to start unread.
            Ok(Some(_)) | Err(_) => return true,
        }
    }
    false
}
