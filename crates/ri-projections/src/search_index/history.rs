//! The public search as it was answered at a past moment (issue 16): `instruments(filter,
//! asOf)`. The FundingInstrument and Tenant events recorded until then are folded, in the
//! log's order, with the catalogue's own rules (`catalogue::instruments::Row::drafted/apply`,
//! `catalogue::tenants::Row::fold_one`, the same folds as `instrument_as_of`), the rows made
//! into documents with their curator as of then, and what was public then (published once and
//! not a draft) put into a fresh [`Index`], searched with "now" = then: an open call whose
//! deadline had passed by then reads (and is filtered and counted) as closed.
//!
//! It costs what loading the live index costs, from the log instead of the catalogue table:
//! every instrument event until the moment is read and folded (docs/performance.md), so it is
//! bounded:
//!
//! - one build at a time per process ([`History`] holds one permit; the build's thread holds
//!   it until it has ended, even when its caller has gone). Others wait for it, within the
//!   time limit, so two requests for one moment build it once;
//! - a time limit for the whole search, waiting included ([`HistoryConfig::timeout`]): then
//!   [`HistoryError::TimedOut`] and the build stops at its next page or chunk;
//! - at most [`HistoryConfig::max_instruments`] instruments folded, else
//!   [`HistoryError::TooLarge`];
//! - the log is read in pages of [`HistoryConfig::page_size`] events, at most two pages
//!   waiting for the fold: memory is the fold's rows and the new index, not the log;
//! - folding and indexing run on a thread of their own at the lowest priority (nice 19), never
//!   on the async workers: live searches get the CPU first. The new index has a line of its own
//!   (one search at a time), so historical searches never take the live index's places
//!   ([`ri_search::IndexConfig::concurrent_searches`]);
//! - the last [`HistoryConfig::cache_entries`] indexes are kept by moment, so the next page of
//!   an answer does not build it again. A moment less than [`SETTLED`] ago may still gain
//!   events (a transaction that began before it and commits after): its index is reused only
//!   while no such event has been committed.
//!
//! The log is read below one horizon (below which every transaction has ended), taken once it
//! has passed every event committed before the search began: what was written before the
//! question is in the answer, with or without `consistentWith`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ri_domain::instrument::{INSTRUMENT, InstrumentEvent, InstrumentStatus};
use ri_domain::tenant::TENANT;
use ri_eventstore::{Checkpoint, EventLog, StoreError, StoredEvent};
use ri_search::{Change, Index, IndexConfig, InstrumentDoc, TextConfig};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::convert::{TenantInfo, Unreadable, to_doc};
use crate::catalogue::ReadError;
use crate::catalogue::codes::decode;
use crate::catalogue::instruments::Row;
use crate::catalogue::tenants;

/// How long after a moment every transaction that began before it has ended, for sure: the
/// service's statements are stopped after 30 s and idle transactions after 60 s.
pub const SETTLED: Duration = Duration::from_secs(90);

/// Documents put into the new index per batch (the live index's load uses the same).
const CHUNK: usize = 10_000;

/// The aggregates a historical search folds.
const AGGREGATES: [&str; 2] = [INSTRUMENT, TENANT];

/// Bounds of historical searches (`instruments(…, asOf)`).
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// How long one historical search may take, waiting for another build included, before it
    /// is answered UNAVAILABLE. Keep it below the request's own limit (`graphql_timeout_ms`),
    /// or that one answers first, with a less useful message.
    pub timeout: Duration,
    /// Instruments (drafts included) the log may have held at the moment; a search of a moment
    /// with more is refused.
    pub max_instruments: usize,
    /// Historical indexes kept for the next pages (each about as large as the live index of
    /// that moment); 0 keeps none.
    pub cache_entries: usize,
    /// Events read from the log per page.
    pub page_size: i64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(9),
            max_instruments: 150_000,
            cache_entries: 1,
            page_size: 5_000,
        }
    }
}

/// Why a historical search gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The filter or cursor: BAD_USER_INPUT naming the field (`asOf` for a moment in the
    /// future or a search for drafts).
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "asOf: another search as of a past moment was being built on this replica and did not \
         finish within {} ms; try again",
        .waited.as_millis()
    )]
    Busy { waited: Duration },
    #[error(
        "asOf: the search as of that moment could not be built within {} ms; try again later",
        .limit.as_millis()
    )]
    TimedOut { limit: Duration },
    #[error(
        "asOf: at that moment the log held more than {max} instruments, more than this \
         service searches the past of (search_history_max_instruments)"
    )]
    TooLarge { max: usize },
    /// The caller went away; nobody sees this.
    #[error("asOf: the search was abandoned")]
    Abandoned,
    #[error("reading the log: {0}")]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Index(String),
}

/// The catalogue and the tenant directory as the log made them, folded one page at a time.
#[derive(Debug, Default)]
pub(crate) struct Past {
    instruments: HashMap<String, Row>,
    tenants: HashMap<String, Option<tenants::Row>>,
    /// Events the projections could not apply, skipped as they skip them (decision 0004).
    pub(crate) skipped: u64,
}

impl Past {
    /// Folds `events`, a page of the log in its order: instrument events as the `catalogue`
    /// projection folds them (an instrument id's first tenant keeps it; an event that fails
    /// changes nothing), tenant events as `tenant_as_of` does.
    pub(crate) fn fold(&mut self, events: &[StoredEvent]) {
        for e in events {
            let applied = if e.aggregate_type == INSTRUMENT {
                self.instrument(e)
            } else if e.aggregate_type == TENANT {
                let row = self.tenants.entry(e.aggregate_id.clone()).or_default();
                tenants::Row::fold_one(row, e)
            } else {
                true
            };
            if !applied {
                self.skipped = self.skipped.saturating_add(1);
            }
        }
    }

    fn instrument(&mut self, e: &StoredEvent) -> bool {
        let id = e.aggregate_id.as_str();
        let applied = decode::<InstrumentEvent>(e).and_then(|event| {
            match (self.instruments.get_mut(id), event) {
                (Some(row), _) if row.tenant != e.tenant => Ok(()),
                (Some(row), event) => {
                    // On a copy: the projection rolls a failed event back whole.
                    let mut next = row.clone();
                    next.apply(e, event)?;
                    *row = next;
                    Ok(())
                }
                (None, InstrumentEvent::InstrumentDrafted { details, .. }) => {
                    self.instruments
                        .insert(id.to_owned(), Row::drafted(e, &details)?);
                    Ok(())
                }
                (None, _) => Ok(()),
            }
        });
        match applied {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(position = e.position, %error, "event skipped in a historical search");
                false
            }
        }
    }

    /// Instruments folded so far, drafts included.
    pub(crate) fn instruments(&self) -> usize {
        self.instruments.len()
    }

    /// The documents of what was public, with their curator's name and state then; each row
    /// is let go as it is converted. Rows that make no document are counted in `unreadable`.
    pub(crate) fn into_public(self, unreadable: &mut u64) -> impl Iterator<Item = InstrumentDoc> {
        let directory: HashMap<String, TenantInfo> = self
            .tenants
            .into_iter()
            .filter_map(|(slug, row)| {
                let row = row?;
                let info = TenantInfo {
                    name: Some(row.name().to_owned()),
                    suspended: row.is_suspended(),
                    version: 0,
                };
                Some((slug, info))
            })
            .collect();
        self.instruments.into_values().filter_map(move |row| {
            match to_doc(&row, directory.get(&row.tenant)) {
                Ok(doc) => doc.is_public().then_some(doc),
                Err(Unreadable(reason)) => {
                    *unreadable = unreadable.saturating_add(1);
                    tracing::warn!(id = row.id, reason, "left out of a historical search");
                    None
                }
            }
        })
    }
}

/// When a build gives up: past its deadline, or when its caller has gone.
#[derive(Debug, Clone)]
struct Stop {
    deadline: Instant,
    limit: Duration,
    abandoned: Arc<AtomicBool>,
}

impl Stop {
    fn check(&self) -> Result<(), HistoryError> {
        if self.abandoned.load(Ordering::Acquire) {
            return Err(HistoryError::Abandoned);
        }
        if Instant::now() >= self.deadline {
            return Err(HistoryError::TimedOut { limit: self.limit });
        }
        Ok(())
    }
}

/// Marks the build abandoned when its caller's future is dropped (or returns).
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// What the reader hands the fold.
enum Page {
    Events(Vec<StoredEvent>),
    /// The whole log until the moment has been handed over.
    End,
}

/// A fresh index of `docs`, built in batches; gives up when `stop` says so.
fn index_of(docs: impl Iterator<Item = InstrumentDoc>, stop: &Stop) -> Result<Index, HistoryError> {
    let index = Index::new(IndexConfig {
        // Historical searches wait in a line of their own, never in the live index's.
        concurrent_searches: Some(1),
        text: TextConfig {
            threads: 1,
            memory_bytes: 32_000_000,
            cache_bytes: 16_000_000,
        },
        ..IndexConfig::default()
    })
    .map_err(|e| HistoryError::Index(e.to_string()))?;
    let mut docs = docs.peekable();
    while docs.peek().is_some() {
        stop.check()?;
        let chunk: Vec<Change> = docs
            .by_ref()
            .take(CHUNK)
            .map(|doc| Change::Upsert(Arc::new(doc)))
            .collect();
        index
            .apply(chunk, None)
            .map_err(|e| HistoryError::Index(e.to_string()))?;
    }
    Ok(index)
}

/// Lowers the calling thread to the lowest priority (nice 19; tantivy's threads it starts
/// inherit it): while a build runs, live searches and requests get the CPU first, and the build
/// gets what is left. Best effort: where it cannot, the build runs at normal priority.
fn yield_to_others() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::debug!(%error, "a historical search's build keeps its priority");
    }
}

/// The blocking half of a build: folds the pages as they come, then indexes what was public.
fn fold_and_index(
    mut pages: mpsc::Receiver<Page>,
    stop: &Stop,
    max_instruments: usize,
) -> Result<Index, HistoryError> {
    let mut past = Past::default();
    let (mut events_folded, mut folding) = (0_usize, Duration::ZERO);
    loop {
        match pages.blocking_recv() {
            Some(Page::Events(events)) => {
                stop.check()?;
                let started = Instant::now();
                past.fold(&events);
                folding += started.elapsed();
                events_folded = events_folded.saturating_add(events.len());
                if past.instruments() > max_instruments {
                    return Err(HistoryError::TooLarge {
                        max: max_instruments,
                    });
                }
            }
            Some(Page::End) => break,
            None => return Err(HistoryError::Abandoned),
        }
    }
    drop(pages);
    if past.skipped > 0 {
        metrics::counter!("ri_search_history_skipped_events_total").increment(past.skipped);
    }
    let instruments = past.instruments();
    let started = Instant::now();
    let mut unreadable = 0_u64;
    let index = index_of(past.into_public(&mut unreadable), stop)?;
    if unreadable > 0 {
        tracing::warn!(unreadable, "instruments left out of a historical search");
    }
    tracing::info!(
        events = events_folded,
        instruments,
        public = index.snapshot().len(),
        fold_ms = folding.as_millis() as u64,
        index_ms = started.elapsed().as_millis() as u64,
        "historical search index built"
    );
    Ok(index)
}

/// A horizon of the log above every event committed so far: the reader's horizon once it has
/// passed the last committed event (a few milliseconds while transactions that began before
/// it are still running). Below it, nothing can commit any more.
async fn settled_horizon(log: &EventLog, stop: &Stop) -> Result<u64, HistoryError> {
    let (reader, pool) = (log.reader(), log.pool());
    let last = reader.last_tx(pool).await?;
    loop {
        let horizon = reader.horizon(pool).await?;
        if last.is_none_or(|last| horizon > last) {
            return Ok(horizon);
        }
        stop.check()?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads the log until `at` in pages below one horizon and hands them to a blocking thread
/// that folds and indexes them; `permit` is released when that thread ends. Returns the index
/// and the horizon it was read below.
async fn build(
    log: &EventLog,
    at: OffsetDateTime,
    permit: OwnedSemaphorePermit,
    stop: Stop,
    config: &HistoryConfig,
) -> Result<(Arc<Index>, u64), HistoryError> {
    let _abandon = AbandonOnDrop(Arc::clone(&stop.abandoned));
    let (pages, received) = mpsc::channel::<Page>(2);
    let (done, folding) = oneshot::channel();
    {
        let (stop, max) = (stop.clone(), config.max_instruments);
        std::thread::Builder::new()
            .name("ri-search-history".to_owned())
            .spawn(move || {
                // Held until this thread ends, even when the caller has gone.
                let _permit = permit;
                yield_to_others();
                let _ = done.send(fold_and_index(received, &stop, max));
            })
            .map_err(|e| HistoryError::Index(format!("cannot start a build: {e}")))?;
    }
    let (reader, pool) = (log.reader(), log.pool());
    let read = async {
        let horizon = settled_horizon(log, &stop).await?;
        let mut after = Checkpoint::START;
        loop {
            stop.check()?;
            let page = reader
                .read_until(pool, &AGGREGATES, at, horizon, after, config.page_size)
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.checkpoint();
            if pages.send(Page::Events(page)).await.is_err() {
                // The fold stopped; its result says why.
                return Ok(horizon);
            }
        }
        // Fails only when the fold has stopped, which its result says.
        let _ = pages.send(Page::End).await;
        Ok::<_, HistoryError>(horizon)
    };
    let horizon = tokio::time::timeout_at(stop.deadline.into(), read)
        .await
        .map_err(|_| HistoryError::TimedOut { limit: stop.limit })??;
    let index = folding.await.map_err(|_| {
        HistoryError::Index("the build's thread ended without a result".to_owned())
    })??;
    Ok((Arc::new(index), horizon))
}

/// One cached historical index.
struct Kept {
    /// The moment, in microseconds (the log's resolution).
    key: i128,
    /// `None` once settled; else the horizon it was read below.
    horizon: Option<u64>,
    index: Arc<Index>,
}

/// Historical searches of one process: one build at a time, and the last few indexes.
pub(crate) struct History {
    config: HistoryConfig,
    builds: Arc<Semaphore>,
    kept: Mutex<VecDeque<Kept>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// `at` truncated to the log's microseconds: moments that read the same log are one key.
pub(crate) fn micros(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos().div_euclid(1_000)
}

fn truncated(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond() % 1_000;
    at - time::Duration::nanoseconds(i64::from(nanos))
}

impl History {
    pub(crate) fn new(config: HistoryConfig) -> Self {
        Self {
            config,
            builds: Arc::new(Semaphore::new(1)),
            kept: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether an index of moment `key` is kept: `Some(None)` settled, `Some(Some(h))` read
    /// below horizon `h`, reusable only while nothing recorded until the moment has been
    /// committed at or above `h` since.
    fn kept_below(&self, key: i128) -> Option<Option<u64>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter().find(|k| k.key == key).map(|k| k.horizon)
    }

    /// The kept index of moment `key`, made the most recent; an unsettled one that is not
    /// `still_whole` (the log has gained events of its moment) is dropped instead.
    fn take_kept(&self, key: i128, still_whole: bool) -> Option<Arc<Index>> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let at = kept.iter().position(|k| k.key == key)?;
        let entry = kept.remove(at)?;
        if entry.horizon.is_some() && !still_whole {
            return None;
        }
        let index = Arc::clone(&entry.index);
        kept.push_back(entry);
        Some(index)
    }

    /// [`History::take_kept`], asking the log only about an unsettled index.
    async fn kept(
        &self,
        key: i128,
        log: &EventLog,
        at: OffsetDateTime,
    ) -> Result<Option<Arc<Index>>, HistoryError> {
        let still_whole = match self.kept_below(key) {
            None => return Ok(None),
            Some(None) => true,
            Some(Some(horizon)) => {
                !log.reader()
                    .any_until_above(log.pool(), &AGGREGATES, truncated(at), horizon)
                    .await?
            }
        };
        Ok(self.take_kept(key, still_whole))
    }

    fn keep(&self, entry: Kept) {
        if self.config.cache_entries == 0 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|k| k.key != entry.key);
        while kept.len() >= self.config.cache_entries {
            kept.pop_front();
        }
        kept.push_back(entry);
    }

    /// The index of what was public at `at` (`now`: the server's clock), kept or built.
    pub(crate) async fn index_at(
        &self,
        log: &EventLog,
        at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Arc<Index>, HistoryError> {
        let started = Instant::now();
        let limit = self.config.timeout;
        let stop = Stop {
            deadline: started + limit,
            limit,
            abandoned: Arc::new(AtomicBool::new(false)),
        };
        let key = micros(at);
        if let Some(index) = self.kept(key, log, at).await? {
            metrics::counter!("ri_search_history_builds_total", "outcome" => "kept").increment(1);
            return Ok(index);
        }
        let permit = tokio::time::timeout_at(
            stop.deadline.into(),
            Arc::clone(&self.builds).acquire_owned(),
        )
        .await;
        let Ok(Ok(permit)) = permit else {
            metrics::counter!("ri_search_history_builds_total", "outcome" => "busy").increment(1);
            return Err(HistoryError::Busy {
                waited: started.elapsed(),
            });
        };
        // Built meanwhile by the search this one waited for?
        if let Some(index) = self.kept(key, log, at).await? {
            metrics::counter!("ri_search_history_builds_total", "outcome" => "kept").increment(1);
            return Ok(index);
        }
        let building = Instant::now();
        let built = build(log, truncated(at), permit, stop, &self.config).await;
        let outcome = match &built {
            Ok(_) => "built",
            Err(HistoryError::TimedOut { .. }) => "timed_out",
            Err(HistoryError::TooLarge { .. }) => "too_large",
            Err(_) => "failed",
        };
        metrics::counter!("ri_search_history_builds_total", "outcome" => outcome).increment(1);
        let (index, read_below) = built?;
        metrics::histogram!("ri_search_history_build_seconds")
            .record(building.elapsed().as_secs_f64());
        let settled = now - at >= SETTLED;
        self.keep(Kept {
            key,
            horizon: (!settled).then_some(read_below),
            index: Arc::clone(&index),
        });
        Ok(index)
    }
}

/// Whether `statuses` asks for drafts, which a historical search does not show.
pub(crate) fn asks_for_drafts(statuses: &[InstrumentStatus]) -> bool {
    statuses.contains(&InstrumentStatus::Draft)
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
