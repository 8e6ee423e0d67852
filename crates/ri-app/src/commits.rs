//! Where one request's commands went in the log: the read-your-writes token.
//!
//! A request (a GraphQL operation, an import) runs inside [`Commits::scope`]; every command
//! [`App::execute`](crate::App::execute) appends inside it records the checkpoint of its last
//! event, and the adapter hands the latest one back to the caller (issue 12: a search passed it
//! answers only once it has read that far). A task-local rather than an argument, so that the
//! twenty-odd resolvers that run commands need not each carry it; outside a scope (the seed,
//! the expiry runner) nothing is recorded.

use std::sync::{Arc, Mutex};

use ri_eventstore::Checkpoint;

tokio::task_local! {
    static COMMITS: Commits;
}

/// The latest checkpoint the commands of one request committed at. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Commits(Arc<Mutex<Option<Checkpoint>>>);

impl Commits {
    /// Runs `work` with its commands recorded here.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        COMMITS.scope(self.clone(), work).await
    }

    /// The latest checkpoint recorded, in the log's (transaction, position) order.
    pub fn last(&self) -> Option<Checkpoint> {
        self.0.lock().ok().and_then(|last| *last)
    }

    fn note(&self, at: Checkpoint) {
        if let Ok(mut last) = self.0.lock() {
            *last = (*last).max(Some(at));
        }
    }
}

/// Records `at` in the current request's [`Commits`], if there is one.
pub(crate) fn record(at: Option<Checkpoint>) {
    if let Some(at) = at {
        let _ = COMMITS.try_with(|commits| commits.note(at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_keeps_the_latest_commit_and_nothing_leaks_outside_it() {
        let commits = Commits::default();
        let at = |tx_id, position| Checkpoint { tx_id, position };
        commits
            .scope(async {
                record(Some(at(9, 40)));
                record(Some(at(12, 31)));
                record(Some(at(10, 50)));
                record(None);
            })
            .await;
        assert_eq!(commits.last(), Some(at(12, 31)));
        record(Some(at(99, 1)));
        assert_eq!(commits.last(), Some(at(12, 31)));
    }
}
