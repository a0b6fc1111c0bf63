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
use crate::validate::checked::ServiceKind;
use crate::validate::near_miss::{guess, Guess};
use crate::yaml::probe::Look;

/// Where Lambda files go, for a stray with no better guess.
const LAYOUT: &str = "Lambda files go at `services/<service>/config.yaml`, `environments/{staging,production}/<service>/config.yaml` and `environments/preview/pr-<N>/services/<service>.values.yaml`";

const LINK: &str = "is a symlink under the layout's directories; refused: it could give a file two paths, or hide a Lambda file";

/// What each `services/<service>/config.yaml` says its service is.
type Kinds<'a> = BTreeMap<&'a str, ServiceKind>;

/// A problem for each stray of `tree` that must not be left unseen.
pub fn check(tree: &Tree, kinds: &Kinds, problems: &mut Vec<Problem>) {
    for stray in &tree.strays {
        if let Some(problem) = judge(stray, &tree.shown, kinds) {
            problems.push(problem);
        }
    }
}

fn judge(stray: &Stray, shown: &Path, kinds: &Kinds) -> Option<Problem> {
    let parts: Vec<&str> = stray.parts.iter().map(String::as_str).collect();
    let guess = guess(&parts);
    let look = match &stray.kind {
        StrayKind::Yaml(look) => look.as_ref(),
        _ => None,
    };
    let says_lambda = look.is_some_and(Look::is_lambda);
    let left_alone =
        look.is_some_and(Look::declares_other) || owned_by_other(&parts, guess.as_ref(), kinds);
    if left_alone && !says_lambda {
        return None;
    }
    let lambda_name = guess
        .as_ref()
        .and_then(|g| lambda_service(&g.service, kinds));
    let reason = match &stray.kind {
        StrayKind::Link => LINK.to_owned(),
        StrayKind::Unreadable(error) => format!(
            "could not read the file ({error}), so nobody can tell whether it is a Lambda file off the layout"
        ),
        StrayKind::Yaml(_) => near_miss_reason(says_lambda, lambda_name, guess.as_ref())?,
    };
    let problem = Problem::new(&stray.path, None, reason);
    Some(with_suggestion(problem, guess, lambda_name, shown))
}

/// Whether the stray lies in the folder of a service another tool deploys, or the path it
/// probably meant belongs to one.
fn owned_by_other(parts: &[&str], guess: Option<&Guess>, kinds: &Kinds) -> bool {
    let other = |service: &str| kinds.get(service) == Some(&ServiceKind::Other);
    owner(parts).is_some_and(other) || guess.is_some_and(|g| other(&g.service))
}

/// The Lambda service `name` names, in any case.
fn lambda_service<'a>(name: &str, kinds: &Kinds<'a>) -> Option<&'a str> {
    kinds
        .iter()
        .find(|(service, kind)| **kind == ServiceKind::Lambda && service.eq_ignore_ascii_case(name))
        .map(|(service, _)| *service)
}

/// Why a YAML file off the layout looks like a Lambda file, when it does.
fn near_miss_reason(
    says_lambda: bool,
    lambda_name: Option<&str>,
    guess: Option<&Guess>,
) -> Option<String> {
    // Another tool's service is left alone before this.
    let respelt = guess.is_some_and(|g| g.respelt && g.parts[0] == "environments");
    let why = if says_lambda {
        "it says `deploymentType: lambda` or has a `lambda:` key".to_owned()
    } else if let Some(name) = lambda_name {
        format!("it is named after the Lambda service `{name}`")
    } else if respelt {
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
    lambda_name: Option<&str>,
    shown: &Path,
) -> Problem {
    let Some(guess) = guess else {
        return problem.with_hint(LAYOUT);
    };
    // Spelt as the service spells itself (`Thumbnailer.yaml` meant `thumbnailer`).
    let name = lambda_name.unwrap_or(&guess.service).to_owned();
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
