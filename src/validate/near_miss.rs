//! The layout path a file off the layout probably meant: path parts in, a [`Guess`] out.
//! Pure; [`super::strays`] decides what the guess means for the file.
//!
//! Folders are matched against the layout's by case and spelling (`Staging`, `prod`,
//! `previews`, `service`), file names by stem (`config.yml`, `<service>.values.yml`,
//! `<service>.yaml`), and a PR folder by its number (`PR-7`, `pr7`, `7`).

use crate::validate::yaml::closest;

/// Where a file probably belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guess {
    /// The layout path it probably meant (`pr-<N>` when no folder gives the number).
    pub parts: Vec<String>,
    /// The service that path belongs to.
    pub service: String,
    /// The path has the layout's shape and differs from the guess only in spelling (a
    /// folder or a file name): were it spelt right, it would be read.
    pub respelt: bool,
}

impl Guess {
    pub fn path(&self) -> String {
        self.parts.join("/")
    }
}

/// The layout path `parts` (under `services/` or `environments/`) probably meant.
pub fn guess(parts: &[&str]) -> Option<Guess> {
    let (file, folders) = parts.split_last()?;
    let name = FileName::of(file);
    // A config file belongs to its folder's service; any other file to the one it names.
    let service = match (name.config, folders.last()) {
        (true, Some(folder)) if folders.len() > 1 => (*folder).to_owned(),
        (true, _) => return None,
        (false, _) => name.stem.to_owned(),
    };
    if service.is_empty() {
        return None;
    }
    match folders {
        ["services", ..] => Some(Guess {
            parts: vec!["services".into(), service.clone(), "config.yaml".into()],
            service,
            respelt: folders.len() == 2 && name.config,
        }),
        ["environments", env, rest @ ..] if !rest.is_empty() || !name.config => {
            match environment(env)? {
                ("preview", exact) => preview(folders, &name, service, exact),
                (env, exact) => Some(Guess {
                    parts: vec![
                        "environments".into(),
                        env.into(),
                        service.clone(),
                        "config.yaml".into(),
                    ],
                    service,
                    respelt: folders.len() == 3 && name.config && (!exact || name.respelt),
                }),
            }
        }
        _ => None,
    }
}

/// `environments/<preview-ish>/…/<file>`.
fn preview(folders: &[&str], name: &FileName, service: String, exact: bool) -> Option<Guess> {
    if name.config {
        return None;
    }
    let pr = folders[2..].iter().find_map(|folder| pr_dir(folder));
    let services = folders.get(3).map(|folder| services_dir(folder));
    let shaped = folders.len() == 4 && pr.is_some() && pr_dir(folders[2]).is_some();
    let respelt = shaped
        && services.is_some_and(|s| s.is_some())
        && (!exact || services == Some(Some(false)) || name.respelt || !name.values);
    Some(Guess {
        parts: vec![
            "environments".into(),
            "preview".into(),
            pr.unwrap_or_else(|| "pr-<N>".into()),
            "services".into(),
            format!("{service}.values.yaml"),
        ],
        service,
        respelt,
    })
}

/// A file name taken apart.
struct FileName<'a> {
    /// Without its extension and a `.values` (or `-values`, `.value`) suffix.
    stem: &'a str,
    /// The stem is `config` (any case).
    config: bool,
    /// It had a `.values`-like suffix.
    values: bool,
    /// Spelt otherwise than the layout spells it (`.yml`, `Config`, `-values`, any case).
    respelt: bool,
}

impl<'a> FileName<'a> {
    fn of(file: &'a str) -> Self {
        let lower = file.to_ascii_lowercase();
        let extension = [".yaml", ".yml"]
            .into_iter()
            .find(|ext| lower.ends_with(ext))
            .map_or(0, str::len);
        let base = &file[..file.len() - extension];
        let lower_base = &lower[..lower.len() - extension];
        let suffix = [".values", "-values", "_values", ".value"]
            .into_iter()
            .find(|suffix| lower_base.ends_with(suffix))
            .map_or(0, str::len);
        let stem = &base[..base.len() - suffix];
        let config = stem.eq_ignore_ascii_case("config");
        let layout = if config {
            "config.yaml"
        } else {
            ".values.yaml"
        };
        Self {
            stem,
            config,
            values: suffix > 0,
            respelt: !file.ends_with(layout) || (config && stem != "config"),
        }
    }
}

/// The environment folder `name` spells, and whether exactly.
fn environment(name: &str) -> Option<(&'static str, bool)> {
    const ALIASES: [(&str, &str); 6] = [
        ("stage", "staging"),
        ("stg", "staging"),
        ("prod", "production"),
        ("prd", "production"),
        ("previews", "preview"),
        ("prs", "preview"),
    ];
    let envs = ["staging", "production", "preview"];
    if let Some(env) = envs.into_iter().find(|env| *env == name) {
        return Some((env, true));
    }
    let lower = name.to_ascii_lowercase();
    ALIASES
        .into_iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, env)| env)
        .or_else(|| closest(name, &envs))
        .map(|env| (env, false))
}

/// Whether `name` spells `services`: `Some(true)` exactly, `Some(false)` as a variant.
fn services_dir(name: &str) -> Option<bool> {
    if name == "services" {
        return Some(true);
    }
    let variant = ["svc", "svcs"].contains(&name.to_ascii_lowercase().as_str())
        || closest(name, &["services"]).is_some();
    variant.then_some(false)
}

/// `pr-<N>` when `name` is a PR folder however spelt (`pr-7`, `PR_7`, `pr7`, `7`).
fn pr_dir(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("pr")
        .or_else(|| lower.strip_prefix("pull"))
        .unwrap_or(&lower);
    let digits = rest.trim_start_matches(['-', '_', ' ']);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("pr-{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(path: &str) -> Option<(String, String, bool)> {
        let parts: Vec<&str> = path.split('/').collect();
        guess(&parts).map(|g| (g.path(), g.service, g.respelt))
    }

    fn meant(path: &str, expected: &str, respelt: bool) {
        let (guessed, _, was_respelt) = of(path).unwrap_or_else(|| panic!("no guess for {path}"));
        assert_eq!(
            (guessed.as_str(), was_respelt),
            (expected, respelt),
            "{path}"
        );
    }

    #[test]
    fn near_misses_of_the_issue_find_the_path_they_meant() {
        let preview = "environments/preview/pr-7/services/thumbnailer.values.yaml";
        meant(
            "environments/preview/pr-7/service/thumbnailer.values.yaml",
            preview,
            true,
        );
        meant(
            "environments/preview/pr-7/thumbnailer.values.yaml",
            preview,
            false,
        );
        meant(
            "environments/preview/pr-7/services/thumbnailer.values.yml",
            preview,
            true,
        );
        meant(
            "environments/preview/pr-7/services/thumbnailer.yaml",
            preview,
            true,
        );
        meant(
            "environments/Preview/pr-7/services/thumbnailer.values.yaml",
            preview,
            true,
        );
        meant(
            "environments/previews/pr-7/services/thumbnailer.values.yaml",
            preview,
            true,
        );
        meant(
            "environments/preview/thumbnailer.values.yaml",
            "environments/preview/pr-<N>/services/thumbnailer.values.yaml",
            false,
        );
        meant(
            "services/thumbnailer.yaml",
            "services/thumbnailer/config.yaml",
            false,
        );
        meant(
            "services/thumbnailer/config.yml",
            "services/thumbnailer/config.yaml",
            true,
        );
        meant(
            "services/lambdas/thumbnailer/config.yaml",
            "services/thumbnailer/config.yaml",
            false,
        );
        let staging = "environments/staging/thumbnailer/config.yaml";
        meant(
            "environments/Staging/thumbnailer/config.yaml",
            staging,
            true,
        );
        meant("environments/stage/thumbnailer/config.yaml", staging, true);
        meant("environments/staging/thumbnailer/config.yml", staging, true);
        meant("environments/staging/thumbnailer.yaml", staging, false);
        let production = "environments/production/thumbnailer/config.yaml";
        meant(
            "environments/prod/thumbnailer/config.yaml",
            production,
            true,
        );
        meant(
            "environments/Production/thumbnailer/Config.YAML",
            production,
            true,
        );
    }

    #[test]
    fn folders_of_other_tools_are_no_environment() {
        for folder in [
            "dev",
            "development",
            "qa",
            "test",
            "base",
            "common",
            "overlays",
            "apps",
            "argocd",
            "uat",
            "sandbox",
            "demo",
            "clusters",
            "charts",
        ] {
            assert_eq!(environment(folder), None, "{folder}");
        }
        let path = "environments/dev/thumbnailer/config.yaml";
        assert_eq!(of(path), None);
        // A config without a service folder names no service.
        assert_eq!(of("environments/staging/config.yaml"), None);
        assert_eq!(of("services/config.yaml"), None);
    }

    #[test]
    fn pr_folders_are_read_however_spelt() {
        for name in ["pr-7", "PR-7", "pr7", "pr_7", "7", "pull-7"] {
            assert_eq!(pr_dir(name).as_deref(), Some("pr-7"), "{name}");
        }
        for name in ["pr-", "prod", "services", "pr-7a"] {
            assert_eq!(pr_dir(name), None, "{name}");
        }
    }
}
