//! What a plan would create that exists in AWS already, and may be adopted. A first apply
//! that was interrupted while terraform created the functions leaves them in AWS and out of
//! the state (the provider's wait for each was cancelled): creating them again fails with
//! `ResourceConflictException`. A function that is provably this deployment's — this
//! service's `service`, `environment` and `lambda_gitops_version` tags, and the execution role
//! the plan gives it — is adopted with an `import` block, and so is the `live` alias of a
//! function the service owns; any other is an error naming it, never taken over. Log groups
//! are adopted as before, without tags (Lambda itself creates a function's log group on its
//! first invocation). Where the provider kept such a function in the state marked tainted,
//! terraform would replace it — creating one of the same name first, which fails — so an
//! approved apply untaints a tainted function of this service's instead.

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

/// A function the plan would create (or replace), with what this run would give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub key: DeploymentKey,
    pub function: String,
    /// The execution role the plan gives it; `None` while unknown (the role is created in the
    /// same apply), and then nothing is adopted.
    pub role: Option<String>,
}

/// Why a function was not adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("the function `{function}` exists, is not in this service's state and is not provably its `{key}` deployment ({found})")]
    NotOurs {
        function: String,
        key: DeploymentKey,
        found: String,
    },
    #[error("could not look up the function `{function}`: {message}")]
    Lookup { function: String, message: String },
}

/// What AWS says of an existing function: its tags and its execution role.
struct Existing {
    tags: HashMap<String, String>,
    role: Option<String>,
}

/// The function `name` as it exists; `None` when it does not.
async fn look_up(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> Result<Option<Existing>, AdoptError> {
    match client.get_function().function_name(name).send().await {
        Ok(found) => Ok(Some(Existing {
            tags: found.tags().cloned().unwrap_or_default(),
            role: found
                .configuration()
                .and_then(|c| c.role())
                .map(str::to_owned),
        })),
        Err(error) if super::not_found(&error) => Ok(None),
        Err(error) => Err(AdoptError::Lookup {
            function: name.to_owned(),
            message: super::describe(&error),
        }),
    }
}

/// Whether an existing function is provably this deployment's, as the bundled module made
/// it: this service's `service` and `environment` tags, the `lambda_gitops_version` tag, and
/// the execution role this plan gives it. Tags alone prove nothing (anyone allowed
/// `lambda:TagResource` sets them); the role takes `lambda:UpdateFunctionConfiguration` and
/// `iam:PassRole` on this service's role to set.
fn ours(existing: &Existing, service: &str, candidate: &Candidate) -> Result<(), AdoptError> {
    let tag = |name: &str| existing.tags.get(name).map(String::as_str);
    let key = candidate.key.to_string();
    let tagged = tag("service") == Some(service)
        && tag("environment") == Some(key.as_str())
        && tag("lambda_gitops_version").is_some();
    let role = candidate.role.is_some() && existing.role == candidate.role;
    if tagged && role {
        return Ok(());
    }
    let shown = |value: Option<&str>| {
        value.map_or("none".to_owned(), |v| {
            format!("`{}`", crate::problem::excerpt(v))
        })
    };
    Err(AdoptError::NotOurs {
        function: candidate.function.clone(),
        key: candidate.key,
        found: format!(
            "service: {}, environment: {}, {}",
            shown(tag("service")),
            shown(tag("environment")),
            match (tagged, &candidate.role) {
                (_, None) => "its role is not known yet".to_owned(),
                (_, Some(_)) if !role => "another execution role".to_owned(),
                _ => "no `lambda_gitops_version` tag".to_owned(),
            }
        ),
    })
}

/// The functions among `candidates` that exist and are provably this service's (see
/// [`ours`]); any that exists and is not is an error.
pub async fn functions(
    client: &aws_sdk_lambda::Client,
    service: &str,
    candidates: &[Candidate],
) -> Result<Vec<(DeploymentKey, String)>, AdoptError> {
    let mut adopted = Vec::new();
    for candidate in candidates {
        if let Some(existing) = look_up(client, &candidate.function).await? {
            ours(&existing, service, candidate)?;
            adopted.push((candidate.key, candidate.function.clone()));
        }
    }
    Ok(adopted)
}

/// The `live` aliases among `candidates` (deployments whose alias the plan creates, on a
/// function `owned` says is this service's: in its state, or adopted now) that exist.
pub async fn aliases(
    client: &aws_sdk_lambda::Client,
    candidates: &[(DeploymentKey, String)],
    owned: impl Fn(&DeploymentKey) -> bool,
) -> Result<Vec<(DeploymentKey, String)>, AdoptError> {
    let mut existing = Vec::new();
    for (key, function) in candidates.iter().filter(|(key, _)| owned(key)) {
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
    Ok(existing)
}

/// Whether any of the functions `names` exists (an apply that would adopt must not start
/// before its plan is read).
pub async fn any_function_exists(client: &aws_sdk_lambda::Client, names: &[String]) -> bool {
    for name in names {
        match look_up(client, name).await {
            Ok(None) => {}
            // Exists, or cannot be told: either way, not an apply to start unread.
            Ok(Some(_)) | Err(_) => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(tags: &[(&str, &str)], role: &str) -> Existing {
        Existing {
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            role: Some(role.to_owned()),
        }
    }

    #[test]
    fn only_a_function_with_this_deployments_tags_and_role_is_ours() {
        let candidate = Candidate {
            key: DeploymentKey::Staging,
            function: "thumb-staging".into(),
            role: Some("arn:aws:iam::1:role/thumb-lambda-execution".into()),
        };
        let tags = [
            ("service", "thumb"),
            ("environment", "staging"),
            ("lambda_gitops_version", "0.1.0"),
        ];
        let role = "arn:aws:iam::1:role/thumb-lambda-execution";
        assert!(ours(&existing(&tags, role), "thumb", &candidate).is_ok());
        // Tags anyone may set, on another team's function with its own role: not ours.
        let error = ours(
            &existing(&tags, "arn:aws:iam::1:role/payments"),
            "thumb",
            &candidate,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("another execution role"),
            "{error}"
        );
        assert!(ours(&existing(&tags[..2], role), "thumb", &candidate).is_err());
        assert!(ours(&existing(&tags, role), "other", &candidate).is_err());
        let unknown = Candidate {
            role: None,
            ..candidate.clone()
        };
        assert!(ours(&existing(&tags, role), "thumb", &unknown).is_err());
    }
}
