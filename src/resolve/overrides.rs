//! A deployment's settings: the service's, with the environment's (or the preview
//! template's) overrides over them, then the rules only the merged result can break —
//! Lambda's 4 KB environment limit and provisioned concurrency within the reserved.

use std::collections::BTreeMap;

use crate::config::{EnvValue, LambdaService, Overrides};
use crate::desired::{
    Architecture, FunctionSettings, Tracing, Vpc, DEFAULT_EPHEMERAL_STORAGE_MIB,
    DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_SECONDS,
};
use crate::problem::Problem;
use crate::validate::files::Source;
use crate::validate::rules;

/// The service's own settings, defaults applied. Validation has checked every value, so
/// the enums parse.
pub fn service(lambda: &LambdaService) -> FunctionSettings {
    FunctionSettings {
        runtime: lambda.runtime.clone(),
        handler: lambda.handler.clone(),
        architecture: lambda
            .architecture
            .as_deref()
            .and_then(Architecture::parse)
            .unwrap_or(Architecture::X86_64),
        layers: lambda.layers.clone().unwrap_or_default(),
        ephemeral_storage: lambda
            .ephemeral_storage
            .unwrap_or(DEFAULT_EPHEMERAL_STORAGE_MIB),
        memory_size: lambda.memory_size.unwrap_or(DEFAULT_MEMORY_MIB),
        timeout: lambda.timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        environment: text(&lambda.environment),
        reserved_concurrency: lambda.reserved_concurrency,
        provisioned_concurrency: lambda.provisioned_concurrency.unwrap_or(0),
        tracing: lambda
            .tracing
            .as_deref()
            .and_then(Tracing::parse)
            .unwrap_or(Tracing::PassThrough),
        vpc: lambda.vpc.as_ref().map(|vpc| Vpc {
            subnet_ids: vpc.subnet_ids.clone(),
            security_group_ids: vpc.security_group_ids.clone(),
        }),
        log_retention_days: lambda
            .log_retention_days
            .unwrap_or(DEFAULT_LOG_RETENTION_DAYS),
        description: lambda.description.clone().unwrap_or_default(),
        tags: text(&lambda.tags),
    }
}

/// What a preview starts from: the service's settings without its provisioned
/// concurrency (a preview gets none unless the template asks for it).
pub fn preview_base(service: &FunctionSettings) -> FunctionSettings {
    FunctionSettings {
        provisioned_concurrency: 0,
        ..service.clone()
    }
}

/// `base` with `overrides` and `environment` (over the base's variables) applied.
pub fn overridden(
    base: &FunctionSettings,
    overrides: &Overrides,
    environment: &BTreeMap<String, EnvValue>,
) -> FunctionSettings {
    let mut merged = base.environment.clone();
    merged.extend(text(environment));
    FunctionSettings {
        memory_size: overrides.memory_size.unwrap_or(base.memory_size),
        timeout: overrides.timeout.unwrap_or(base.timeout),
        reserved_concurrency: overrides.reserved_concurrency.or(base.reserved_concurrency),
        provisioned_concurrency: overrides
            .provisioned_concurrency
            .unwrap_or(base.provisioned_concurrency),
        environment: merged,
        ..base.clone()
    }
}

/// Where the keys of one deployment's settings are written: the file and key path of its
/// overrides (`None` for a deployment without any), and the service's file.
pub struct Origins<'a> {
    pub service: &'a Source,
    /// The environment config with its `lambda` path, or the service file with
    /// `lambda.preview`.
    pub overrides: Option<(&'a Source, &'a [&'a str])>,
    /// Names the deployment in messages, e.g. `staging` or `pr-7`.
    pub what: String,
}

impl<'a> Origins<'a> {
    /// The file and key path that set `key` (a path under `lambda`) for this deployment:
    /// its overrides when they write it, else the service's file.
    pub fn origin<'k>(&self, key: &[&'k str]) -> (&'a Source, Vec<&'k str>)
    where
        'a: 'k,
    {
        if let Some((source, prefix)) = self.overrides {
            let path = [prefix, key].concat();
            if source.doc.line_of(&path).is_some() {
                return (source, path);
            }
        }
        (self.service, [&["lambda"], key].concat())
    }

    /// A problem at `key` where this deployment sets it, else where the service does.
    pub fn at(&self, key: &[&str], message: String) -> Problem {
        let (source, path) = self.origin(key);
        source.at(&path, message)
    }
}

/// The rules of the merged settings; each problem points at the key that set the value.
pub fn check(settings: &FunctionSettings, origins: &Origins<'_>, problems: &mut Vec<Problem>) {
    let pairs = settings
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    if let Err(message) = rules::env_size(pairs) {
        problems.push(origins.at(
            &["environment"],
            format!(
                "{}: with the service's variables merged in, {message}",
                origins.what
            ),
        ));
    }
    if let Some(reserved) = settings.reserved_concurrency {
        if settings.provisioned_concurrency > reserved {
            problems.push(origins.at(
                &["provisionedConcurrency"],
                format!(
                    "{}: provisionedConcurrency {} exceeds reservedConcurrency {reserved}: Lambda provisions only within the reserved concurrency",
                    origins.what, settings.provisioned_concurrency
                ),
            ));
        }
    }
}

/// Environment variables and tags as AWS takes them: text, exactly as written.
fn text(values: &BTreeMap<String, EnvValue>) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(key, value)| (key.clone(), value.0.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> FunctionSettings {
        FunctionSettings {
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            architecture: Architecture::Arm64,
            layers: vec![],
            ephemeral_storage: 512,
            memory_size: 256,
            timeout: 10,
            environment: [("A".to_owned(), "service".to_owned())].into(),
            reserved_concurrency: Some(10),
            provisioned_concurrency: 2,
            tracing: Tracing::Active,
            vpc: None,
            log_retention_days: 30,
            description: String::new(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn overrides_win_and_environments_merge_over_the_services() {
        let environment = [
            ("B".to_owned(), EnvValue("env".into())),
            ("A".to_owned(), EnvValue("env".into())),
        ]
        .into();
        let merged = overridden(
            &base(),
            &Overrides {
                memory_size: Some(1024),
                timeout: None,
                reserved_concurrency: None,
                provisioned_concurrency: Some(5),
            },
            &environment,
        );
        assert_eq!(merged.memory_size, 1024);
        assert_eq!(merged.timeout, 10);
        assert_eq!(merged.reserved_concurrency, Some(10));
        assert_eq!(merged.provisioned_concurrency, 5);
        assert_eq!(merged.architecture, Architecture::Arm64);
        assert_eq!(
            merged.environment,
            [
                ("A".to_owned(), "env".to_owned()),
                ("B".to_owned(), "env".to_owned())
            ]
            .into()
        );
    }

    #[test]
    fn previews_get_no_provisioned_concurrency_unless_their_template_asks() {
        let preview = preview_base(&base());
        assert_eq!(preview.provisioned_concurrency, 0);
        assert_eq!(preview.reserved_concurrency, Some(10));
        let asked = overridden(
            &preview,
            &Overrides {
                provisioned_concurrency: Some(1),
                ..Overrides::default()
            },
            &BTreeMap::new(),
        );
        assert_eq!(asked.provisioned_concurrency, 1);
    }
}
