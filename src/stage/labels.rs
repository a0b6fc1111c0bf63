//! What progress calls each package: the service, the version and the deployments that
//! run it (`s3-notifier 0.1.6 (staging, pr-7)`), so that packages whose sources read
//! alike — the same asset name in several releases, say — never share a label. In: the
//! services about to be staged. Out: a label per distinct package.

use std::collections::BTreeMap;

use crate::desired::{DesiredService, PackageRef};

/// One service's deployments running a package at one version.
struct Users<'a> {
    service: &'a str,
    version: &'a str,
    keys: Vec<String>,
}

pub fn of<'a>(
    services: impl IntoIterator<Item = &'a DesiredService>,
) -> BTreeMap<PackageRef, String> {
    let mut users: BTreeMap<&PackageRef, Vec<Users>> = BTreeMap::new();
    for service in services {
        for deployment in service.deployments() {
            let list = users.entry(&deployment.package).or_default();
            let key = deployment.key.to_string();
            let same =
                |u: &&mut Users| u.service == service.name && u.version == deployment.version;
            match list.iter_mut().find(same) {
                Some(found) => found.keys.push(key),
                None => list.push(Users {
                    service: &service.name,
                    version: &deployment.version,
                    keys: vec![key],
                }),
            }
        }
    }
    users
        .into_iter()
        .map(|(package, list)| {
            let label = list
                .iter()
                .map(|u| format!("{} {} ({})", u.service, u.version, u.keys.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            (package.clone(), label)
        })
        .collect()
}
