//! `lambda-gitops matrix`: the Lambda services of a validated gitops dir as a GitHub
//! Actions matrix, `{"include":[{"service":"a"},{"service":"b"}]}`, on one line, for
//! `echo "matrix=$(lambda-gitops matrix)" >> "$GITHUB_OUTPUT"` and
//! `strategy.matrix: ${{ fromJSON(needs.<job>.outputs.matrix) }}`. No network. An invalid
//! repo fails as `scan` does; with `--allow-empty`, no service gives an empty `include`
//! (a workflow should skip the fan-out then: GitHub refuses an empty matrix).

use std::io::Write;

use serde::Serialize;

use crate::error::Error;
use crate::settings::Settings;

#[derive(Debug, Serialize)]
pub struct Matrix {
    pub include: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub service: String,
}

pub fn run(settings: &Settings) -> Result<(), Error> {
    let repo = super::load_repo(settings)?;
    let matrix = Matrix {
        include: repo
            .services
            .iter()
            .map(|service| Entry {
                service: service.name.clone(),
            })
            .collect(),
    };
    let mut line = serde_json::to_string(&matrix).expect("the matrix serializes");
    line.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Stdout)
}
