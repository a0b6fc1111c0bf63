//! Several services at once: each item's work starts while fewer than `jobs` are running,
//! and none starts once `stop` says so (an interrupt). Results come back in the items'
//! order, whatever order the work finished in; items never started are left out. The work
//! runs on one task: it waits on terraform processes, it does not compute.

use std::future::Future;

use futures_util::StreamExt;

/// Runs `work` over `items`, at most `jobs` (at least 1) at a time.
pub async fn run_all<T, R, Fut>(
    items: impl IntoIterator<Item = T>,
    jobs: usize,
    stop: impl Fn() -> bool,
    mut work: impl FnMut(T) -> Fut,
) -> Vec<R>
where
    Fut: Future<Output = R>,
{
    futures_util::stream::iter(items)
        // `buffered` asks for the next item only when a slot is free: that is when it starts.
        .map(|item| {
            let started = (!stop()).then(|| work(item));
            async move {
                match started {
                    Some(future) => Some(future.await),
                    None => None,
                }
            }
        })
        .buffered(jobs.max(1))
        .filter_map(|result| async move { result })
        .collect()
        .await
}

/// `--jobs`, else the number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_jobs_run_at_once_and_results_keep_the_items_order() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let results = run_all(
            0..7u64,
            3,
            || false,
            |i| {
                let (running, most) = (&running, &most);
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Later items finish first.
                    tokio::time::sleep(Duration::from_millis(5 * (7 - i))).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                }
            },
        )
        .await;
        assert_eq!(results, (0..7).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn nothing_starts_after_stop() {
        let started = AtomicUsize::new(0);
        let results = run_all(
            0..5,
            1,
            || started.load(Ordering::SeqCst) >= 2,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                async move { i }
            },
        )
        .await;
        assert_eq!(results, [0, 1]);
    }
}
