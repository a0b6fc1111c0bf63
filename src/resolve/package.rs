//! One deployment's package: the service's source with the deployment's `{version}`
//! substituted. A `githubRelease` tag and asset must stay one URL path segment each (the
//! token-bearing API request is built from them); a `path` must resolve, symlinks followed,
//! inside the package root.

use crate::config::PackageSource;
use crate::desired::PackageRef;
use crate::problem::{excerpt, Problem};
use crate::validate::files::{CheckedService, Source};
use crate::validate::rules;

use super::Roots;

/// `declared_in` is the file that chose the version: it is blamed when the version makes
/// the source invalid.
pub fn resolve(
    service: &CheckedService,
    version: &str,
    declared_in: &Source,
    roots: &Roots<'_>,
    problems: &mut Vec<Problem>,
) -> Option<PackageRef> {
    let PackageSource {
        github_release,
        url,
        path,
    } = &service.config.lambda.package;
    if let Some(release) = github_release {
        return release_ref(service, release, version, declared_in, problems);
    }
    if let Some(url) = url {
        return Some(PackageRef::Url {
            url: substitute(url, version),
        });
    }
    let template = path.as_deref()?;
    match path_ref(service, template, version, declared_in, roots) {
        Ok(package) => Some(package),
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

fn substitute(template: &str, version: &str) -> String {
    template.replace("{version}", version)
}

/// A `githubRelease` source, its tag and asset each one URL path segment.
fn release_ref(
    service: &CheckedService,
    release: &crate::config::GithubReleaseSource,
    version: &str,
    declared_in: &Source,
    problems: &mut Vec<Problem>,
) -> Option<PackageRef> {
    let tag = substitute(&release.tag, version);
    let asset = substitute(&release.asset, version);
    let segments =
        rules::release_segment(&tag, "tag").and_then(|()| rules::release_segment(&asset, "asset"));
    if let Err(message) = segments {
        problems.push(
            declared_in
                .at(
                    &["lambda", "version"],
                    format!("with version `{version}`: {message}"),
                )
                .with_hint(format!(
                    "the release comes from `lambda.package.githubRelease` in `{}`",
                    service.source.path.display()
                )),
        );
        return None;
    }
    Some(PackageRef::GithubRelease {
        repository: release.repository.clone(),
        tag,
        asset,
    })
}

/// A `path` source: the file it names, symlinks followed, which must lie inside the package
/// root.
fn path_ref(
    service: &CheckedService,
    template: &str,
    version: &str,
    declared_in: &Source,
    roots: &Roots<'_>,
) -> Result<PackageRef, Problem> {
    let relative = substitute(template, version);
    let (shown, template) = (excerpt(&relative), excerpt(template));
    let joined = roots.gitops_dir.join(&relative);
    let at_path = ["lambda", "package", "path"];
    match joined.canonicalize() {
        Ok(canonical) if canonical.starts_with(roots.package_root) && canonical.is_file() => {
            Ok(PackageRef::Path { path: canonical })
        }
        Ok(canonical) if !canonical.starts_with(roots.package_root) => Err(
            service.source.at(&at_path, format!(
                "package path `{shown}` resolves to `{}`, outside the package root `{}`",
                canonical.display(),
                roots.package_root.display()
            ))
            .with_hint("configs come from pull requests: a path source may only name files inside the repository (see `--package-root`)"),
        ),
        Ok(_) => Err(service
            .source
            .at(&at_path, format!("package path `{shown}` is not a file"))),
        Err(error) => Err(declared_in
            .at(
                &["lambda", "version"],
                format!(
                    "package `{}` for version `{version}` cannot be read: {error}",
                    joined.display()
                ),
            )
            .with_hint(format!(
                "the path comes from `lambda.package.path: {template}` in `{}`",
                service.source.path.display()
            ))),
    }
}
