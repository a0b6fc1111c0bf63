//! What progress calls each package: the service, the version and the deployments that
//! run it (`s3-notifier 0.1.6 (staging, pr-7)`), so that packages whose sources read
//! alike — the same asset name in several releases, say — never share a label. In: the
//! services about to be staged. Out: a label per distinct package.

use std::collections::BTreeMap;

use crate::desired::{DesiredService, PackageRef};

pub fn of<'a>(
    services: impl IntoIterator<Item = &'a DesiredService>,
) -> BTreeMap<PackageRef, String> {
    // Per package, per (service, version): the deployments, in the service's order.
    let mut users: BTreeMap<&PackageRef, Vec<(&str, &str, Vec<String>)>> = BTreeMap::new();
    for service in services {
        for deployment in service.deployments() {
            let list = users.entry(&deployment.package).or_default();
            let key = (service.name.as_str(), deployment.version.as_str());
            match list.iter_mut().find(|(s, v, _)| (*s, *v) == key) {
                Some((_, _, keys)) => keys.push(deployment.key.to_string()),
                None => list.push((key.0, key.1, vec![deployment.key.to_string()])),
            }
        }
    }
    users
        .into_iter()
        .map(|(package, list)| {
            let label = list
                .iter()
                .map(|(service, version, keys)| {
                    format!("{service} {version} ({})", keys.join(", "))
                })
                .collect::<Vec<_>>()
                .join("; ");
            (package.clone(), label)
        })
        .collect()
}
