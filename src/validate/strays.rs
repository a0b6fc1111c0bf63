//! Files and symlinks under `services/` and `environments/` that are not on the layout
//! ([`Stray`]s): what must not stay unseen is a problem.
//!
//! A stray is left alone when it provably belongs to another tool: it declares another
//! `deploymentType` itself, or it lies in the folder of a service whose config declares
//! another type (`services/<service>/…`, `environments/{staging,production}/<service>/…`),
//! or the layout path it probably meant belongs to such a service — unless it says it is a
//! Lambda file. Otherwise it is an error naming the path it probably meant
//! ([`near_miss::guess`]) when:
//!
//! 1. it says `deploymentType: lambda` or has a top-level `lambda:` key;
//! 2. it is named after a Lambda service (any case): `pr-7/thumbnailer.values.yaml`,
//!    `services/thumbnailer.yaml`, `environments/staging/thumbnailer/config.yml`;
//! 3. it has the shape of an `environments/` layout path, spelt otherwise (`Staging`,
//!    `prod`, `previews`, `pr-7/service/`, `config.yml`, `<service>.yaml`) — at the path it
//!    meant it would be read as a possible Lambda file;
//! 4. it cannot be read at all (so nobody can tell).
//!
//! A symlink is refused unless it is left alone by the rules above: following it would give
//! one file two paths, and not following it could hide a Lambda file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::problem::Problem;
use crate::scan::{Stray, StrayKind, Tree};
use crate::validate::files::ServiceKind;
use crate::validate::near_miss::{guess, Guess};

/// Where Lambda files go, for a stray with no better guess.
const LAYOUT: &str = "Lambda files go at `services/<service>/config.yaml`, `environments/{staging,production}/<service>/config.yaml` and `environments/preview/pr-<N>/services/<service>.values.yaml`";

/// A problem for each stray of `tree` that must not be left unseen.
pub fn check(tree: &Tree, kinds: &BTreeMap<&str, ServiceKind>, problems: &mut Vec<Problem>) {
    for stray in &tree.strays {
        if let Some(problem) = judge(stray, &tree.shown, kinds) {
            problems.push(problem);
        }
    }
}

fn judge(stray: &Stray, shown: &Path, kinds: &BTreeMap<&str, ServiceKind>) -> Option<Problem> {
    let parts: Vec<&str> = stray.parts.iter().map(String::as_str).collect();
    let guess = guess(&parts);
    let kind_of = |service: &str| kinds.get(service).copied();
    let lambda_name = guess.as_ref().and_then(|guess| {
        kinds
            .iter()
            .find(|(name, kind)| {
                **kind == ServiceKind::Lambda && name.eq_ignore_ascii_case(&guess.service)
            })
            .map(|(name, _)| (*name).to_owned())
    });
    let says_lambda = matches!(&stray.kind, StrayKind::Yaml(Some(look)) if look.is_lambda());
    let other_owner = owner(&parts)
        .or(guess.as_ref().map(|g| g.service.as_str()))
        .is_some_and(|service| kind_of(service) == Some(ServiceKind::Other))
        && lambda_name.is_none();
    let declares_other =
        matches!(&stray.kind, StrayKind::Yaml(Some(look)) if look.declares_other());
    if !says_lambda && (declares_other || other_owner) {
        return None;
    }
    let reason = match &stray.kind {
        StrayKind::Link => Some("is a symlink under the layout's directories; refused: it could give a file two paths, or hide a Lambda file".to_owned()),
        StrayKind::Unreadable(error) => Some(format!(
            "could not read the file ({error}), so nobody can tell whether it is a Lambda file off the layout"
        )),
        StrayKind::Yaml(look) => near_miss_reason(look.as_ref().is_some_and(|l| l.is_lambda()), lambda_name.as_deref(), guess.as_ref(), &parts, kind_of),
    }?;
    Some(with_suggestion(
        Problem::new(&stray.path, None, reason),
        guess,
        lambda_name,
        shown,
    ))
}

/// Why a YAML file off the layout looks like a Lambda file, when it does.
fn near_miss_reason(
    says_lambda: bool,
    lambda_name: Option<&str>,
    guess: Option<&Guess>,
    parts: &[&str],
    kind_of: impl Fn(&str) -> Option<ServiceKind>,
) -> Option<String> {
    let why = if says_lambda {
        "it says `deploymentType: lambda` or has a `lambda:` key".to_owned()
    } else if let Some(name) = lambda_name {
        format!("it is named after the Lambda service `{name}`")
    } else if guess.is_some_and(|g| {
        g.respelt && parts[0] == "environments" && kind_of(&g.service) != Some(ServiceKind::Other)
    }) {
        "its path is a misspelling of a layout path, where it would be read as a possible Lambda file".to_owned()
    } else {
        return None;
    };
    Some(format!(
        "is not on the layout, so lambda-gitops would not read it (a deployment it declares would be destroyed), yet it looks like a Lambda file: {why}"
    ))
}

/// The service whose folder the stray lies in, when it lies in one.
fn owner<'a>(parts: &[&'a str]) -> Option<&'a str> {
    match parts {
        ["services", service, _, ..] => Some(service),
        ["environments", "staging" | "production", service, _, ..] => Some(service),
        _ => None,
    }
}

fn with_suggestion(
    problem: Problem,
    guess: Option<Guess>,
    lambda_name: Option<String>,
    shown: &Path,
) -> Problem {
    let Some(guess) = guess else {
        return problem.with_hint(LAYOUT);
    };
    // Spelt as the service spells itself (`Thumbnailer.yaml` meant `thumbnailer`).
    let name = lambda_name.unwrap_or_else(|| guess.service.clone());
    let values = format!("{}.values.yaml", guess.service);
    let path = guess.parts.iter().fold(shown.to_path_buf(), |path, part| {
        if *part == guess.service {
            path.join(&name)
        } else if *part == values {
            path.join(format!("{name}.values.yaml"))
        } else {
            path.join(part)
        }
    });
    problem.with_hint(format!("did you mean `{}`?", path.display()))
}
