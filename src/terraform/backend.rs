//! Where a service's state lives: the backend block written beside the module, the
//! `--backend-config` settings with `{service}` replaced by the service's name, and the rule
//! that two services never share one state (the second service's plan would destroy
//! everything the first one created).

use super::TerraformError;

/// Replaced by the service's name in every `--backend-config` value.
pub const SERVICE_PLACEHOLDER: &str = "{service}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// State in each service's work dir (`terraform.tfstate`).
    Local,
    /// State in S3; configure it with `--backend-config` (bucket, key, region, use_lockfile…).
    S3,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Local, Backend::S3];

    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
        }
    }

    /// The backend file's contents; the settings come from `-backend-config`.
    pub fn block(self) -> String {
        format!("terraform {{\n  backend \"{}\" {{}}\n}}\n", self.name())
    }

    /// The settings that together name one state, the first being the one to template.
    fn state_settings(self) -> &'static [&'static str] {
        match self {
            Self::Local => &["path"],
            Self::S3 => &["key", "bucket", "workspace_key_prefix"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct BackendSettings {
    pub backend: Backend,
    /// `KEY=VALUE` pairs as given, `{service}` not yet substituted.
    pub config: Vec<String>,
}

impl BackendSettings {
    /// The `-backend-config` pairs for `service`.
    pub fn for_service(&self, service: &str) -> Vec<String> {
        self.config
            .iter()
            .map(|pair| pair.replace(SERVICE_PLACEHOLDER, service))
            .collect()
    }

    /// The last value given for `key`, as typed.
    fn value(&self, key: &str) -> Option<&str> {
        self.config.iter().rev().find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == key).then_some(v)
        })
    }

    /// Several services may run only when each gets its own state: the local backend
    /// without a shared `path`, or a remote one whose key (or bucket) holds `{service}`.
    pub fn check_one_state_per_service(&self, services: &[&str]) -> Result<(), TerraformError> {
        if services.len() < 2 {
            return Ok(());
        }
        let settings = self.backend.state_settings();
        let templated = settings.iter().any(|key| {
            self.value(key)
                .is_some_and(|value| value.contains(SERVICE_PLACEHOLDER))
        });
        let primary = settings[0];
        let shared = match self.backend {
            Backend::Local => self.value(primary).is_some() && !templated,
            Backend::S3 => !templated,
        };
        if !shared {
            return Ok(());
        }
        Err(TerraformError::SharedState {
            backend: self.backend.name(),
            setting: primary,
            value: self.value(primary).map(str::to_owned),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Where `service`'s state is, for messages: `key=lambda/a.tfstate` or `the work dir`.
    pub fn state_location(&self, service: &str) -> String {
        let primary = self.backend.state_settings()[0];
        match self.value(primary) {
            Some(value) => format!(
                "{} backend {primary}={}",
                self.backend.name(),
                value.replace(SERVICE_PLACEHOLDER, service)
            ),
            None if self.backend == Backend::Local => "the local state in the work dir".to_owned(),
            None => format!("{} backend (no {primary} given)", self.backend.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(config: &[&str]) -> BackendSettings {
        BackendSettings {
            backend: Backend::S3,
            config: config.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_service_name_replaces_the_placeholder_in_every_value() {
        let settings = s3(&["bucket=state", "key=lambda/{service}.tfstate"]);
        assert_eq!(
            settings.for_service("a"),
            ["bucket=state", "key=lambda/a.tfstate"]
        );
        assert_eq!(
            settings.state_location("a"),
            "s3 backend key=lambda/a.tfstate"
        );
    }

    #[test]
    fn several_services_need_a_templated_key_on_a_remote_backend() {
        let two = ["a", "b"];
        assert!(s3(&["key=lambda/{service}.tfstate"])
            .check_one_state_per_service(&two)
            .is_ok());
        assert!(s3(&["bucket={service}-state", "key=lambda.tfstate"])
            .check_one_state_per_service(&two)
            .is_ok());
        assert!(s3(&["key=lambda/terraform.tfstate"])
            .check_one_state_per_service(&["a"])
            .is_ok());
        for config in [
            &["key=lambda/terraform.tfstate"][..],
            &[][..],
            &["key=lambda/{service}.tfstate", "key=fixed"][..],
        ] {
            let error = s3(config).check_one_state_per_service(&two).unwrap_err();
            assert!(
                matches!(error, TerraformError::SharedState { ref services, .. } if services == &["a", "b"]),
                "{config:?}: {error}"
            );
        }
        let local = |config: &[&str]| BackendSettings {
            backend: Backend::Local,
            config: config.iter().map(|s| (*s).to_owned()).collect(),
        };
        assert!(local(&[]).check_one_state_per_service(&two).is_ok());
        assert!(local(&["path=/s/{service}.tfstate"])
            .check_one_state_per_service(&two)
            .is_ok());
        assert!(local(&["path=/s/one.tfstate"])
            .check_one_state_per_service(&two)
            .is_err());
    }
}
