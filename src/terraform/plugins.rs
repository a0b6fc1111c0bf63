//! Where terraform's providers come from, and one copy of them for every work dir.
//!
//! In: the cache dir, `--plugin-mirror` and the user's CLI config. Out: the variables every
//! terraform command gets — `TF_PLUGIN_CACHE_DIR=<cache-dir>/terraform-plugins` (a provider
//! is downloaded or copied once, then linked into each service's data dir) and, when
//! lambda-gitops must say where providers come from, `TF_CLI_CONFIG_FILE` naming a config it
//! wrote itself — and the lock that serialises inits (terraform's plugin cache is not safe
//! for two inits filling it at once, and several services, or runs, share it).
//!
//! A `--plugin-mirror` is written as a `provider_installation` block after the user's own CLI
//! config (`TF_CLI_CONFIG_FILE`, else `~/.terraformrc`), so credentials and other settings
//! stay. A mirror the user's config already names is used as it is. A CLI config inside the
//! checkout is never given to terraform: a pull request could point it at any provider.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::TerraformError;
use crate::hash::Hasher;
use crate::process::child_env::ChildEnv;
use crate::process::interrupts::Interrupts;

/// Under the cache dir: the shared plugin cache.
pub const CACHE_DIR: &str = "terraform-plugins";
/// Under the cache dir: held while an init may write to the plugin cache.
const INIT_LOCK: &str = "terraform-plugins.lock";
/// Under the cache dir: the CLI configs lambda-gitops writes, named by their content.
const CONFIG_DIR: &str = "terraform-cli";
/// The variables terraform reads its CLI config and plugin cache from.
pub use crate::env_vars::{TF_CLI_CONFIG_FILE, TF_PLUGIN_CACHE_DIR};

/// The providers' settings of a run.
#[derive(Debug, Clone)]
pub struct Plugins {
    /// `TF_PLUGIN_CACHE_DIR` of every command.
    pub cache_dir: PathBuf,
    /// `TF_CLI_CONFIG_FILE` of every command, when lambda-gitops wrote one.
    pub cli_config: Option<PathBuf>,
    /// What an init depends on here: the cache dir and the config's text.
    pub identity: String,
    lock_path: PathBuf,
}

impl Plugins {
    /// Prepares the plugin cache and, when needed, writes the CLI config: with `mirror`, the
    /// user's config (`env`'s `TF_CLI_CONFIG_FILE`, else `~/.terraformrc`) followed by a
    /// `provider_installation` block for it; without, only when the user's config lies inside
    /// `checkout` (then an empty one takes its place).
    pub fn prepare(
        cache_dir: &Path,
        mirror: Option<&Path>,
        env: &ChildEnv,
        checkout: &Path,
    ) -> Result<Self, TerraformError> {
        let plugin_cache = cache_dir.join(CACHE_DIR);
        std::fs::create_dir_all(&plugin_cache)
            .map_err(|e| TerraformError::io("create the plugin cache", &plugin_cache, e))?;
        let user_config = user_config(env);
        let user_text = user_text(user_config.as_deref(), checkout)?;
        let text = match mirror {
            Some(mirror) => {
                crate::workdir::refuse_inside_checkout("`--plugin-mirror`", mirror, checkout)?;
                let mirror = mirror
                    .canonicalize()
                    .map_err(|e| TerraformError::io("open the plugin mirror", mirror, e))?;
                let own = user_text.unwrap_or_default();
                if declares_installation(&own) {
                    return Err(TerraformError::PluginMirrorConflict {
                        config: user_config.unwrap_or_default(),
                    });
                }
                Some(format!("{own}\n{}", mirror_block(&mirror)))
            }
            None => user_text.filter(|text| text.is_empty()),
        };
        let cli_config = match &text {
            Some(text) => Some(write_config(cache_dir, text)?),
            None => None,
        };
        let mut hasher = Hasher::default();
        hasher.update(plugin_cache.as_os_str().as_encoded_bytes());
        hasher.update(&[0]);
        hasher.update(text.unwrap_or_default().as_bytes());
        Ok(Self {
            identity: hasher.finish().hex(),
            lock_path: cache_dir.join(INIT_LOCK),
            cache_dir: plugin_cache,
            cli_config,
        })
    }

    /// Sets the plugin cache and, when written, the CLI config in a child's environment.
    pub fn apply(&self, env: &mut ChildEnv) {
        env.set(TF_PLUGIN_CACHE_DIR, &self.cache_dir);
        if let Some(config) = &self.cli_config {
            env.set(TF_CLI_CONFIG_FILE, config);
        }
    }

    /// Takes the init lock, waiting while another init (of this run or another) holds it.
    pub async fn lock_for_init(&self, interrupts: &Interrupts) -> Result<InitLock, TerraformError> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(|e| TerraformError::io("open", &self.lock_path, e))?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(InitLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if let Some(signal) = interrupts.first() {
                        return Err(TerraformError::Interrupted(signal));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(TerraformError::io("lock", &self.lock_path, e))
                }
            }
        }
    }
}

/// Held while one init runs; released when dropped.
#[derive(Debug)]
pub struct InitLock {
    _file: std::fs::File,
}

/// The user's CLI config as terraform would read it: empty when it lies inside the
/// checkout (a pull request could write it), `None` when there is none.
fn user_text(path: Option<&Path>, checkout: &Path) -> Result<Option<String>, TerraformError> {
    match path {
        Some(path) if crate::workdir::refuse_inside_checkout("", path, checkout).is_err() => {
            tracing::warn!(
                "not giving terraform the CLI config `{}`: it is inside the checkout",
                path.display()
            );
            Ok(Some(String::new()))
        }
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TerraformError::io("read the terraform CLI config", path, e)),
        },
        None => Ok(None),
    }
}

/// Writes the CLI config under the cache dir, named by its content's hash.
fn write_config(cache_dir: &Path, text: &str) -> Result<PathBuf, TerraformError> {
    let dir = cache_dir.join(CONFIG_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| TerraformError::io("create the CLI config dir", &dir, e))?;
    let mut hasher = Hasher::default();
    hasher.update(text.as_bytes());
    let path = dir.join(format!("{}.tfrc", &hasher.finish().hex()[..16]));
    crate::workdir::write_file(&path, text.as_bytes())?;
    Ok(path)
}

/// The CLI config terraform would read: `TF_CLI_CONFIG_FILE`, else `~/.terraformrc`.
fn user_config(env: &ChildEnv) -> Option<PathBuf> {
    let named = env
        .get(TF_CLI_CONFIG_FILE)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    named.or_else(|| {
        env.get(crate::env_vars::HOME)
            .filter(|value| !value.is_empty())
            .map(|home| Path::new(home).join(".terraformrc"))
    })
}

/// Whether a CLI config says where providers come from (terraform allows one such block).
fn declares_installation(text: &str) -> bool {
    text.lines()
        .map(|line| line.trim_start())
        .filter(|line| !line.starts_with('#') && !line.starts_with("//"))
        .any(|line| line.starts_with("provider_installation"))
}

/// Every `registry.terraform.io` provider from `mirror` (a directory in terraform's mirror
/// layout, packed or unpacked); any other source directly.
fn mirror_block(mirror: &Path) -> String {
    let path = mirror.display().to_string();
    let quoted = serde_json::to_string(&path).expect("a string serializes");
    format!(
        "provider_installation {{\n  filesystem_mirror {{\n    path    = {quoted}\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n"
    )
}

/// Whether every provider a data dir links to is there: an init links providers into the
/// plugin cache or a mirror, and a link whose target went away would fail the next plan.
pub fn providers_present(data_dir: &Path) -> bool {
    fn walk(dir: &Path, depth: usize) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return true;
        };
        entries.flatten().all(|entry| {
            let path = entry.path();
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => path.exists(),
                Ok(meta) if meta.is_dir() && depth > 0 => walk(&path, depth - 1),
                _ => true,
            }
        })
    }
    // providers/<host>/<namespace>/<type>/<version>/<platform>
    walk(&data_dir.join("providers"), 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &Path)]) -> ChildEnv {
        let mut env = ChildEnv::default();
        for (name, value) in pairs {
            env.set(*name, *value);
        }
        env
    }

    #[test]
    fn a_mirror_is_added_after_the_users_own_settings() {
        let temp = tempfile::tempdir().unwrap();
        let home = temp.path().join("home");
        let mirror = temp.path().join("mirror");
        let checkout = temp.path().join("checkout");
        for dir in [&home, &mirror, &checkout] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            home.join(".terraformrc"),
            "credentials \"app.terraform.io\" { token = \"x\" }\n",
        )
        .unwrap();
        let cache = temp.path().join("cache");
        let plugins =
            Plugins::prepare(&cache, Some(&mirror), &env(&[("HOME", &home)]), &checkout).unwrap();
        let text = std::fs::read_to_string(plugins.cli_config.as_ref().unwrap()).unwrap();
        assert!(
            text.starts_with("credentials \"app.terraform.io\""),
            "{text}"
        );
        assert!(text.contains(&format!(
            "path    = \"{}\"",
            mirror.canonicalize().unwrap().display()
        )));
        let mut child = ChildEnv::default();
        plugins.apply(&mut child);
        assert_eq!(
            child.get(TF_PLUGIN_CACHE_DIR),
            Some(cache.join(CACHE_DIR).as_os_str())
        );

        // Without a mirror the user's config is left to terraform.
        let plain = Plugins::prepare(&cache, None, &env(&[("HOME", &home)]), &checkout).unwrap();
        assert_eq!(plain.cli_config, None);
        assert_ne!(plain.identity, plugins.identity);

        // A config that says where providers come from already conflicts with the flag.
        std::fs::write(home.join(".terraformrc"), "provider_installation {\n}\n").unwrap();
        let conflict = Plugins::prepare(&cache, Some(&mirror), &env(&[("HOME", &home)]), &checkout);
        assert!(matches!(
            conflict,
            Err(TerraformError::PluginMirrorConflict { .. })
        ));
    }

    #[test]
    fn a_cli_config_or_mirror_inside_the_checkout_never_reaches_terraform() {
        let temp = tempfile::tempdir().unwrap();
        let checkout = temp.path().join("checkout");
        std::fs::create_dir_all(checkout.join("mirror")).unwrap();
        let planted = checkout.join("planted.tfrc");
        std::fs::write(
            &planted,
            "provider_installation { dev_overrides { \"hashicorp/aws\" = \"/x\" } }\n",
        )
        .unwrap();
        let cache = temp.path().join("cache");
        let plugins = Plugins::prepare(
            &cache,
            None,
            &env(&[(TF_CLI_CONFIG_FILE, &planted)]),
            &checkout,
        )
        .unwrap();
        let written = plugins.cli_config.expect("an empty config takes its place");
        assert_eq!(std::fs::read_to_string(written).unwrap(), "");
        let refused = Plugins::prepare(
            &cache,
            Some(&checkout.join("mirror")),
            &ChildEnv::default(),
            &checkout,
        );
        assert!(matches!(
            refused,
            Err(TerraformError::Workdir(
                crate::workdir::WorkdirError::InsideCheckout { .. }
            ))
        ));
    }

    #[test]
    fn a_provider_link_whose_target_is_gone_is_noticed() {
        let temp = tempfile::tempdir().unwrap();
        let platform = temp
            .path()
            .join("providers/registry.terraform.io/hashicorp/aws/5.100.0");
        std::fs::create_dir_all(&platform).unwrap();
        let target = temp.path().join("cache-entry");
        std::fs::create_dir_all(&target).unwrap();
        std::os::unix::fs::symlink(&target, platform.join("linux_amd64")).unwrap();
        assert!(providers_present(temp.path()));
        std::fs::remove_dir_all(&target).unwrap();
        assert!(!providers_present(temp.path()));
    }
}
