//! The public search served from memory (issue 12): every `serve` process keeps an
//! [`ri_search::Index`] of the published instruments, loaded from a consistent snapshot of the
//! catalogue and then fed from the log by the gap-safe reader, so every replica converges on the
//! same index without coordination (decision 0006).
//!
//! - [`SearchIndex::run`] is the feed: snapshot, then tail; `/readyz` waits for
//!   [`SearchIndex::is_ready`] (the index has read the log as far as it was visible after the
//!   snapshot). A failed text commit poisons the index: it is rebuilt from a fresh snapshot
//!   while searches keep answering from the last good state.
//! - [`SearchIndex::search`] answers `instruments(filter…)` for the public statuses with the SQL
//!   path's page, cursors and totals, facets counted sideways; [`SearchIndex::wait_for`] is
//!   read-your-writes: a checkpoint a mutation returned, reached or not within a bound.
//! - [`SearchIndex::search_as_of`] answers the same search as it was answered at a past moment,
//!   from an index of that moment folded from the log (`history`, bounded there).

pub(crate) mod convert;
mod feed;
mod history;
mod search;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use ri_eventstore::{Checkpoint, EventLog, backoff};
use ri_search::{Index, IndexConfig};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::ProjectionError;
use feed::Feed;

pub use history::{HistoryConfig, HistoryError, SETTLED};
pub use search::{Suggestion, SuggestionKind};

#[derive(Debug, Clone)]
pub struct SearchIndexConfig {
    /// Searches that run at once (the cores given to searching); others wait in line.
    pub concurrent_searches: Option<usize>,
    /// Events read per step of the feed.
    pub batch_size: i64,
    /// How often to look for events other processes appended (this process's own wake it).
    pub idle_poll: Duration,
    /// Upper bound of the back-off after failures.
    pub max_backoff: Duration,
    /// Bounds of searches as of a past moment.
    pub history: HistoryConfig,
}

impl Default for SearchIndexConfig {
    fn default() -> Self {
        Self {
            concurrent_searches: std::thread::available_parallelism().ok().map(Into::into),
            batch_size: 2000,
            idle_poll: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            history: HistoryConfig::default(),
        }
    }
}

/// The replica's search index and where in the log it stands. Share it behind an `Arc`.
pub struct SearchIndex {
    index: ArcSwap<Index>,
    reached: watch::Sender<Option<Checkpoint>>,
    ready: AtomicBool,
    config: SearchIndexConfig,
    history: history::History,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("reached", &*self.reached.borrow())
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

/// Why a read-your-writes wait ended without the checkpoint.
#[derive(Debug, thiserror::Error)]
#[error("this replica's search has read the log to {reached}, not yet to {wanted}")]
pub struct NotYet {
    pub wanted: Checkpoint,
    /// Where it stands (`-` before its first snapshot).
    pub reached: String,
}

impl SearchIndex {
    pub fn new(config: SearchIndexConfig) -> Result<Arc<Self>, ProjectionError> {
        let index = Self::empty(&config)?;
        Ok(Arc::new(Self {
            index: ArcSwap::from_pointee(index),
            reached: watch::channel(None).0,
            ready: AtomicBool::new(false),
            history: history::History::new(config.history.clone()),
            config,
        }))
    }

    fn empty(config: &SearchIndexConfig) -> Result<Index, ProjectionError> {
        Index::new(IndexConfig {
            concurrent_searches: config.concurrent_searches,
            ..IndexConfig::default()
        })
        .map_err(|e| ProjectionError::Index(e.to_string()))
    }

    /// Whether the index has caught up with the log as it was visible after its snapshot:
    /// until then searches take the SQL path and `/readyz` says so.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The checkpoint of the last event the index reflects.
    pub fn reached(&self) -> Option<Checkpoint> {
        *self.reached.borrow()
    }

    /// Waits until the index reflects the event at `at` (a mutation's `logPosition`), at most
    /// `within`.
    pub async fn wait_for(&self, at: Checkpoint, within: Duration) -> Result<(), NotYet> {
        let mut reached = self.reached.subscribe();
        let waited =
            tokio::time::timeout(within, reached.wait_for(|r| r.is_some_and(|r| r >= at))).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(NotYet {
                wanted: at,
                reached: self
                    .reached()
                    .map_or_else(|| "-".to_owned(), |r| r.to_string()),
            }),
        }
    }

    pub(crate) fn index(&self) -> Arc<Index> {
        self.index.load_full()
    }

    /// Feeds the index until `shutdown`: a snapshot of the catalogue, then the log. Runs in
    /// every process (no lock): each replica keeps its own index.
    pub async fn run(&self, log: EventLog, shutdown: CancellationToken) {
        let mut failures = 0_u32;
        while !shutdown.is_cancelled() {
            match self.feed(&log, &shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics::counter!("ri_search_index_failures_total").increment(1);
                    tracing::warn!(error = %e, "search index feed failed; starting again");
                    let pause = backoff(self.config.idle_poll, self.config.max_backoff, failures);
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }

    /// One life of the feed: load, then tail until shutdown (`Ok`) or a failure of the load or
    /// of the index (`Err`: the caller starts again from a fresh snapshot into a fresh index).
    /// Reads of the log that fail are retried in place.
    async fn feed(
        &self,
        log: &EventLog,
        shutdown: &CancellationToken,
    ) -> Result<(), ProjectionError> {
        let pool = log.pool();
        let started = std::time::Instant::now();
        let loaded = feed::load(pool).await?;
        let index = Arc::new(Self::empty(&self.config)?);
        let documents = loaded.public.len();
        for chunk in loaded.public.chunks(10_000) {
            index
                .apply(chunk.iter().cloned(), None)
                .map_err(|e| ProjectionError::Index(e.to_string()))?;
        }
        index
            .compact()
            .map_err(|e| ProjectionError::Index(e.to_string()))?;
        let mut feed: Feed = loaded.feed;
        let mut at = loaded.from;
        tracing::info!(
            instruments = feed.len(),
            public = documents,
            unreadable = loaded.unreadable,
            from = %at,
            ms = started.elapsed().as_millis() as u64,
            "search index loaded from the catalogue"
        );
        // Searches keep the previous index (if any) until this one has caught up.
        let mut installed = false;
        let reader = log.reader();
        let mut appends = log.appends();
        let mut gauges = Gauges::default();
        let mut failures = 0_u32;
        loop {
            // A failed read is retried where it stands: reloading a large catalogue for a
            // dropped connection would keep the index behind for seconds.
            let batch = match reader.read_after(pool, at, self.config.batch_size).await {
                Ok(batch) => {
                    failures = 0;
                    batch
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics::counter!("ri_search_index_failures_total").increment(1);
                    tracing::warn!(error = %e, "search index cannot read the log; retrying");
                    let pause = backoff(self.config.idle_poll, self.config.max_backoff, failures);
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(pause) => {}
                    }
                    continue;
                }
            };
            let Some(last) = batch.last() else {
                if !installed {
                    self.install(Arc::clone(&index), at);
                    installed = true;
                }
                gauges.set(log, &index, at).await;
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    _ = appends.changed() => {}
                    () = tokio::time::sleep(self.config.idle_poll) => {}
                }
                continue;
            };
            let to = last.checkpoint();
            let folded = feed.fold(&batch);
            if folded.skipped > 0 {
                metrics::counter!("ri_search_index_skipped_events_total").increment(folded.skipped);
            }
            index
                .apply(folded.changes, u64::try_from(to.position).ok())
                .map_err(|e| ProjectionError::Index(e.to_string()))?;
            at = to;
            if installed {
                self.reached.send_replace(Some(at));
            }
        }
    }

    /// Makes `index` the one searches use, at `at`, and the replica ready.
    fn install(&self, index: Arc<Index>, at: Checkpoint) {
        self.index.store(index);
        // Ready first: whoever sees the position may search the index at once.
        self.ready.store(true, Ordering::Release);
        self.reached.send_replace(Some(at));
    }
}

/// The index's gauges in `/metrics`: documents and position at every idle turn, memory and
/// lag (which cost a walk of the documents and a query) every few seconds.
#[derive(Debug, Default)]
struct Gauges {
    last_full: Option<std::time::Instant>,
}

impl Gauges {
    const FULL_EVERY: Duration = Duration::from_secs(5);

    async fn set(&mut self, log: &EventLog, index: &Index, at: Checkpoint) {
        let snapshot = index.snapshot();
        metrics::gauge!("ri_search_index_documents").set(snapshot.len() as f64);
        metrics::gauge!("ri_search_index_position").set(at.position as f64);
        if self
            .last_full
            .is_some_and(|t| t.elapsed() < Self::FULL_EVERY)
        {
            return;
        }
        self.last_full = Some(std::time::Instant::now());
        let memory = snapshot.memory();
        metrics::gauge!("ri_search_index_bytes", "part" => "blocks").set(memory.blocks as f64);
        metrics::gauge!("ri_search_index_bytes", "part" => "documents").set(memory.docs as f64);
        metrics::gauge!("ri_search_index_bytes", "part" => "text").set(memory.text as f64);
        if let Ok(head) = log.reader().head(log.pool()).await {
            // Positions behind the log's head (approximate: positions commit out of order).
            metrics::gauge!("ri_search_index_lag_events")
                .set(head.saturating_sub(at.position).max(0) as f64);
        }
    }
}
