//! Where a path under the gitops dir sits in the layout: a layout file (and which), a
//! directory on the way to one, or neither. Pure: path parts in, an answer out.

use crate::desired::Environment;

/// A file of the layout, by kind, with the names its path gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutFile {
    /// `services/<dir>/config.yaml`.
    Service { dir: String },
    /// `environments/<env>/<dir>/config.yaml`.
    Env { env: Environment, dir: String },
    /// `environments/preview/<dir>/services/<service>.values.yaml`.
    Preview { dir: String, service: String },
}

/// The environment `name` is, exactly.
fn env(name: &str) -> Option<Environment> {
    Environment::ALL
        .into_iter()
        .find(|env| env.as_str() == name)
}

/// The layout file at `parts`, when it is one.
pub fn layout_file(parts: &[&str]) -> Option<LayoutFile> {
    match parts {
        ["services", dir, "config.yaml"] => Some(LayoutFile::Service {
            dir: (*dir).to_owned(),
        }),
        ["environments", name, dir, "config.yaml"] => env(name).map(|env| LayoutFile::Env {
            env,
            dir: (*dir).to_owned(),
        }),
        ["environments", "preview", dir, "services", file] => file
            .strip_suffix(".values.yaml")
            .filter(|service| !service.is_empty())
            .map(|service| LayoutFile::Preview {
                dir: (*dir).to_owned(),
                service: service.to_owned(),
            }),
        _ => None,
    }
}

/// Whether `parts` is a directory of the layout, or where one would be.
pub fn is_layout_dir(parts: &[&str]) -> bool {
    match parts {
        ["services" | "environments"] | ["services", _] => true,
        ["environments", name] => *name == "preview" || env(name).is_some(),
        ["environments", name, _] => *name == "preview" || env(name).is_some(),
        ["environments", "preview", _, "services"] => true,
        _ => false,
    }
}

/// Whether a file named `name` is YAML by its extension (`.yaml`, `.yml`, any case).
pub fn is_yaml_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(path: &str) -> Vec<&str> {
        path.split('/').collect()
    }

    #[test]
    fn layout_files_are_named_by_their_parts() {
        assert_eq!(
            layout_file(&parts("services/a/config.yaml")),
            Some(LayoutFile::Service { dir: "a".into() })
        );
        assert_eq!(
            layout_file(&parts("environments/production/a/config.yaml")),
            Some(LayoutFile::Env {
                env: Environment::Production,
                dir: "a".into()
            })
        );
        assert_eq!(
            layout_file(&parts("environments/preview/pr-7/services/a.values.yaml")),
            Some(LayoutFile::Preview {
                dir: "pr-7".into(),
                service: "a".into()
            })
        );
        for off in [
            "services/a/config.yml",
            "services/a.yaml",
            "environments/dev/a/config.yaml",
            "environments/Staging/a/config.yaml",
            "environments/preview/pr-7/service/a.values.yaml",
            "environments/preview/pr-7/services/a.values.yml",
            "environments/preview/pr-7/a.values.yaml",
        ] {
            assert_eq!(layout_file(&parts(off)), None, "{off}");
        }
    }

    #[test]
    fn the_directories_on_the_way_are_layout_dirs() {
        for dir in [
            "services",
            "services/a",
            "environments",
            "environments/staging",
            "environments/staging/a",
            "environments/preview/pr-42",
            "environments/preview/pr-42/services",
        ] {
            assert!(is_layout_dir(&parts(dir)), "{dir}");
        }
        for off in [
            "services/a/chart",
            "environments/dev",
            "environments/staging/a/overlays",
            "environments/preview/pr-42/other",
        ] {
            assert!(!is_layout_dir(&parts(off)), "{off}");
        }
        assert!(is_yaml_name("a.YML") && !is_yaml_name("README.md"));
    }
}
