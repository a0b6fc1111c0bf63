//! The jobs of a matrix: services grouped, in their order, into at most a given number of
//! jobs of balanced size (sizes differ by one at most), each service in exactly one job.
//! GitHub refuses a matrix of more than 256 jobs.

/// `services` in at most `max_jobs` consecutive groups; the first ones one longer when
/// they cannot all be the same size. No group is empty.
pub fn group(services: &[String], max_jobs: usize) -> Vec<Vec<String>> {
    let jobs = max_jobs.max(1).min(services.len());
    if jobs == 0 {
        return Vec::new();
    }
    let (size, longer) = (services.len() / jobs, services.len() % jobs);
    let mut rest = services;
    (0..jobs)
        .map(|job| {
            let take = size + usize::from(job < longer);
            let (group, tail) = rest.split_at(take);
            rest = tail;
            group.to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i:03}")).collect()
    }

    #[test]
    fn groups_are_balanced_ordered_and_cover_each_service_once() {
        for (n, max) in [(0, 4), (3, 4), (4, 4), (5, 2), (300, 256), (1000, 7)] {
            let services = names(n);
            let groups = group(&services, max);
            assert_eq!(groups.len(), n.min(max), "{n} over {max}");
            let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
            let (least, most) = (sizes.iter().min(), sizes.iter().max());
            assert!(least.zip(most).is_none_or(|(l, m)| m - l <= 1), "{sizes:?}");
            assert_eq!(groups.concat(), services);
        }
    }
}
