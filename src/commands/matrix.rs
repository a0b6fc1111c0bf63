//! `lambda-gitops matrix`: the Lambda services of a validated gitops dir as a GitHub
//! Actions matrix, `{"include":[{"service":"a"},{"service":"b"}]}`, on one line, for
//! `echo "matrix=$(lambda-gitops matrix)" >> "$GITHUB_OUTPUT"` and
//! `strategy.matrix: ${{ fromJSON(needs.<job>.outputs.matrix) }}`. No network. An invalid
//! repo fails as `scan` does; with `--allow-empty`, no service gives an empty `include`
//! (a workflow should skip the fan-out then: GitHub refuses an empty matrix).
//!
//! `--changed-since REV` lists only the services that changed since a git revision
//! ([`crate::run::changes`]); `--max-jobs N` groups them into at most N jobs,
//! `{"include":[{"services":"a b"},…]}` ([`crate::run::jobs`]); `--max-services N` refuses
//! a longer list.

use serde::Serialize;

use crate::error::Error;
use crate::process::child_env::ChildEnv;
use crate::settings::{MatrixSettings, Settings};

#[derive(Debug, Serialize)]
pub struct Matrix<E> {
    pub include: Vec<E>,
}

/// A job of one service.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub service: String,
}

/// A job of several services, space-separated (as `--service` takes them).
#[derive(Debug, Serialize)]
pub struct Group {
    pub services: String,
}

pub fn run(settings: &Settings, matrix: MatrixSettings) -> Result<(), Error> {
    let repo = super::load_repo(settings)?;
    let services = match &matrix.changed_since {
        None => super::known(&repo),
        Some(rev) => {
            let env = ChildEnv::inherit(settings.github.token.iter());
            let changed = crate::run::changes::since(settings, &repo, rev, &env)?;
            if !changed.invalid_at_rev.is_empty() {
                tracing::warn!(
                    "the gitops dir at `{rev}` does not pass validation ({} problem(s), the first: {}), so every service is listed",
                    changed.invalid_at_rev.len(),
                    changed.invalid_at_rev[0]
                );
            }
            tracing::info!(
                "{} service(s) changed since `{rev}`",
                changed.services.len()
            );
            changed.services
        }
    };
    if let Some(max) = matrix.max_services.filter(|max| services.len() > *max) {
        return Err(Error::TooManyServices {
            listed: services.len(),
            max,
        });
    }
    let line = match matrix.max_jobs {
        None => to_line(&Matrix {
            include: services
                .into_iter()
                .map(|service| Entry { service })
                .collect(),
        }),
        Some(max_jobs) => to_line(&Matrix {
            include: crate::run::jobs::group(&services, max_jobs)
                .into_iter()
                .map(|group| Group {
                    services: group.join(" "),
                })
                .collect(),
        }),
    };
    crate::run::print(&line)
}

fn to_line(matrix: &impl Serialize) -> String {
    let mut line = serde_json::to_string(matrix).expect("the matrix serializes");
    line.push('\n');
    line
}
