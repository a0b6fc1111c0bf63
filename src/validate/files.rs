//! Each file on its own: decide whether it is about Lambda, parse it strictly and check its
//! values.
//!
//! A file is left alone only when it provably belongs to something else: its service's
//! config declares another `deploymentType` (Kubernetes services share the tree), or the
//! file itself does. Every other file is read as a possible Lambda one, and a file that is
//! wrong — or that cannot be told apart from a Lambda one — is a problem, never skipped:
//! a skipped preview would be destroyed.

use std::collections::BTreeMap;

use crate::problem::Problem;
use crate::scan::{EnvFile, PreviewFile, SourceFile, Tree};
use crate::validate::yaml::{closest, document, typed};
use crate::validate::{checks, rules, strays};
use crate::yaml::{probe, Document};

pub use super::checked::{
    Checked, CheckedEnv, CheckedPreview, CheckedService, ServiceKind, Source,
};

pub fn check(tree: &Tree, problems: &mut Vec<Problem>) -> Checked {
    let mut checked = Checked::default();
    let kinds = check_services(tree, &mut checked, problems);
    let lambda_names: Vec<&str> = kinds
        .iter()
        .filter(|(_, kind)| **kind == ServiceKind::Lambda)
        .map(|(name, _)| *name)
        .collect();
    for env_file in &tree.environments {
        check_environment(env_file, &kinds, &lambda_names, &mut checked, problems);
    }
    for preview in &tree.previews {
        check_preview(preview, &kinds, &lambda_names, &mut checked, problems);
    }
    strays::check(tree, &kinds, problems);
    checked
}

/// Each `services/<dir>/config.yaml`: what it says the service is, and the Lambda ones
/// checked.
fn check_services<'a>(
    tree: &'a Tree,
    checked: &mut Checked,
    problems: &mut Vec<Problem>,
) -> BTreeMap<&'a str, ServiceKind> {
    let mut kinds = BTreeMap::new();
    for service in &tree.services {
        let doc = match document(&service.file) {
            Ok(doc) => doc,
            Err(problem) => {
                let kind = lenient_kind(&service.file);
                if kind == ServiceKind::Unreadable {
                    problems.push(problem);
                }
                kinds.insert(service.dir.as_str(), kind);
                continue;
            }
        };
        match deployment_type(&doc) {
            Some("lambda") => {
                kinds.insert(service.dir.as_str(), ServiceKind::Lambda);
                let source = Source {
                    path: service.file.path.clone(),
                    doc,
                };
                if let Some(config) = parse_checked(&service.file, &source, problems, |config| {
                    checks::service(&source, &service.dir, config)
                }) {
                    checked
                        .services
                        .insert(service.dir.clone(), CheckedService { source, config });
                }
            }
            declared => {
                if let Some(declared) = declared.filter(|d| closest(d, &["lambda"]).is_some()) {
                    problems.push(
                        Problem::new(
                            &service.file.path,
                            doc.line_of(&["deploymentType"]),
                            format!("deploymentType `{declared}` is not a known type"),
                        )
                        .with_hint("did you mean `lambda`?"),
                    );
                }
                kinds.insert(service.dir.as_str(), ServiceKind::Other);
            }
        }
    }
    kinds
}

fn check_environment(
    env_file: &EnvFile,
    kinds: &BTreeMap<&str, ServiceKind>,
    lambda_names: &[&str],
    checked: &mut Checked,
    problems: &mut Vec<Problem>,
) {
    let EnvFile { env, dir, file } = env_file;
    let kind = kinds.get(dir.as_str()).copied();
    if kind == Some(ServiceKind::Other) {
        return;
    }
    if kind == Some(ServiceKind::Lambda) {
        checked.env_files.insert((dir.clone(), *env));
    }
    let doc = match kind {
        Some(ServiceKind::Lambda) => document(file).map_err(|p| problems.push(p)).ok(),
        _ => unclaimed(
            file,
            dir,
            kind,
            "an environment config",
            lambda_names,
            problems,
        ),
    };
    let Some(doc) = doc else { return };
    let source = Source {
        path: file.path.clone(),
        doc,
    };
    let config = parse_checked(file, &source, problems, |config| {
        checks::environment(&source, *env, dir, config)
    });
    if let (Some(config), Some(ServiceKind::Lambda)) = (config, kind) {
        checked.environments.push(CheckedEnv {
            env: *env,
            source,
            config,
        });
    }
}

fn check_preview(
    preview: &PreviewFile,
    kinds: &BTreeMap<&str, ServiceKind>,
    lambda_names: &[&str],
    checked: &mut Checked,
    problems: &mut Vec<Problem>,
) {
    let PreviewFile { dir, service, file } = preview;
    let kind = kinds.get(service.as_str()).copied();
    if kind == Some(ServiceKind::Other) {
        return;
    }
    let doc = match kind {
        Some(ServiceKind::Lambda) => document(file).map_err(|p| problems.push(p)).ok(),
        _ => unclaimed(file, service, kind, "a preview", lambda_names, problems),
    };
    let pr = match rules::preview_dir(dir) {
        Ok(pr) => Some(pr),
        Err(message) => {
            if kind == Some(ServiceKind::Lambda) || doc.is_some() {
                problems.push(Problem::new(&file.path, None, message));
            }
            None
        }
    };
    let Some(doc) = doc else { return };
    let source = Source {
        path: file.path.clone(),
        doc,
    };
    let config = parse_checked(file, &source, problems, |config| {
        checks::preview(&source, service, config)
    });
    if let (Some(config), Some(pr), Some(ServiceKind::Lambda)) = (config, pr, kind) {
        checked.previews.push(CheckedPreview { pr, source, config });
    }
}

/// What a service config that only the strict reading refuses (a Latin-1 comment, a
/// byte-order mark, a duplicate key) says it is, read leniently: another `deploymentType`,
/// or — read to its end — none and no `lambda:` key, is not Lambda's; anything else could be
/// a Lambda config and stays a problem.
fn lenient_kind(file: &SourceFile) -> ServiceKind {
    let Ok(bytes) = file.bytes() else {
        return ServiceKind::Unreadable;
    };
    let not_lambda = |kind: &str| kind != "lambda" && closest(kind, &["lambda"]).is_none();
    let other = match probe::look(bytes) {
        Some(look) => match look.deployment_type.as_deref() {
            Some(kind) => !kind.is_empty() && not_lambda(kind),
            None => !look.lambda_key,
        },
        None => probe::top_level_scalar(bytes, "deploymentType").is_some_and(|k| not_lambda(&k)),
    };
    if other {
        ServiceKind::Other
    } else {
        ServiceKind::Unreadable
    }
}

/// The top-level `deploymentType`, when it is a scalar.
fn deployment_type(doc: &Document) -> Option<&str> {
    doc.root
        .get(&["deploymentType"])
        .and_then(|node| node.as_scalar())
        .map(|scalar| scalar.value.as_str())
}

/// Deserializes `source` as `T` and runs `rules` on it: the config when both pass.
fn parse_checked<T: serde::de::DeserializeOwned>(
    file: &SourceFile,
    source: &Source,
    problems: &mut Vec<Problem>,
    rules: impl FnOnce(&T) -> Vec<Problem>,
) -> Option<T> {
    match typed::<T>(file, &source.doc) {
        Ok(config) => {
            let found = rules(&config);
            let clean = found.is_empty();
            problems.extend(found);
            clean.then_some(config)
        }
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

/// A file of `service` when `services/<service>/config.yaml` is missing (`kind` `None`) or
/// unreadable. Left alone when it declares another `deploymentType`; read as a Lambda file
/// (its own problems reported, never deployed) when it looks like one and the config is
/// unreadable; otherwise a problem, because nobody can tell it is not a Lambda file.
fn unclaimed(
    file: &SourceFile,
    service: &str,
    kind: Option<ServiceKind>,
    what: &str,
    lambda_names: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<Document> {
    let config = format!("services/{service}/config.yaml");
    let doc = match document(file) {
        Ok(doc) => doc,
        Err(problem) => {
            problems.extend(unreadable(file, problem, service, &config));
            return None;
        }
    };
    let declared = deployment_type(&doc);
    if declared.is_some_and(|d| d != "lambda") {
        return None;
    }
    let looks_lambda = declared.is_some() || doc.root.entry("lambda").is_some();
    match (kind, looks_lambda) {
        // The config's own problem fails the run; this file's problems are worth knowing too.
        (Some(_), true) => Some(doc),
        (Some(_), false) => None,
        (None, true) => {
            problems.push(not_a_lambda_service(
                file,
                &doc,
                service,
                what,
                &config,
                lambda_names,
            ));
            None
        }
        (None, false) => {
            problems.push(
                Problem::new(
                    &file.path,
                    None,
                    format!("cannot tell whether this is a Lambda file: there is no `{config}` to say what `{service}` is"),
                )
                .with_hint(format!(
                    "add `{config}` with its `deploymentType`, or declare `deploymentType` (e.g. `kubernetes`) in this file"
                )),
            );
            None
        }
    }
}

/// The problem of an unclaimed file that cannot be read, unless its `deploymentType` (read
/// without a full parse) says it is not a Lambda file.
fn unreadable(file: &SourceFile, problem: Problem, service: &str, config: &str) -> Option<Problem> {
    let declared = file
        .bytes()
        .ok()
        .and_then(|bytes| probe::top_level_scalar(bytes, "deploymentType"));
    if declared.is_some_and(|d| d != "lambda") {
        return None;
    }
    Some(problem.with_hint(format!(
        "no readable `{config}` says what `{service}` is, so this may be a Lambda file"
    )))
}

/// A Lambda-looking file of a service that has no config: the service is not a Lambda
/// service (perhaps a misspelt directory).
fn not_a_lambda_service(
    file: &SourceFile,
    doc: &Document,
    service: &str,
    what: &str,
    config: &str,
    lambda_names: &[&str],
) -> Problem {
    let line = doc
        .line_of(&["deploymentType"])
        .or_else(|| doc.line_of(&["lambda"]));
    let problem = Problem::new(
        &file.path,
        line,
        format!("{what} of `{service}`, which is not a Lambda service: there is no `{config}`"),
    );
    match closest(service, lambda_names) {
        Some(best) => problem.with_hint(format!("did you mean the directory `{best}`?")),
        None => problem,
    }
}
