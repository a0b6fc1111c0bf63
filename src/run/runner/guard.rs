//! The foreign-resource guard: a plan that would change a resource of another service
//! (one its state names as someone else's) is refused before anything is applied.
//!
//! In: the plan's [`PlanFacts`] (their `foreign` changes). Out: nothing, or
//! [`Error::ForeignResources`] naming the owners, the changes and this service's state.

use super::Runner;
use crate::error::Error;
use crate::report::PlanFacts;

impl Runner {
    /// Refuses a plan that changes another service's resources.
    pub(super) fn refuse_foreign(&self, service: &str, summary: &PlanFacts) -> Result<(), Error> {
        if summary.foreign.is_empty() {
            return Ok(());
        }
        let mut owners: Vec<String> = summary.foreign.iter().map(|f| f.owner.clone()).collect();
        owners.sort();
        owners.dedup();
        Err(Error::ForeignResources {
            service: service.to_owned(),
            owners,
            changes: summary
                .foreign
                .iter()
                .map(|f| (f.action.as_str().to_owned(), f.address.clone()))
                .collect(),
            state: self.settings.backend.state_location(service),
        })
    }
}
