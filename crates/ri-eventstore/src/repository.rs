//! cqrs-es's `PersistedEventRepository` on the event log, scoped to one tenant.
//!
//! Unlike postgres-es, every event gets an id, a global position and its writing transaction's
//! id; all events of one command go in one `INSERT` (one statement, one transaction, with the
//! snapshot when one is due); a concurrent writer surfaces as `OptimisticLockError` with nothing
//! written; and each event is checked against its metadata and the event registry first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cqrs_es::Aggregate;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use futures_util::TryStreamExt;
use ri_domain::{EventMetadata, TenantSlug};
use serde_json::Value;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::StoreError;
use crate::log::EventLog;
use crate::reader::{Checkpoint, parse_xid};

const STREAM_KEY: &str = "events_stream_key";
const METADATA_TENANT_CHECK: &str = "events_metadata_tenant";

#[derive(Debug)]
struct Snapshot {
    aggregate_id: String,
    state: Value,
    sequence: i64,
    version: i64,
}

/// Events read together with the snapshot, handed out by the `get_last_events` call that
/// cqrs-es makes right after `get_snapshot`: loading an aggregate is one round trip.
#[derive(Debug)]
struct Prefetched {
    aggregate_type: &'static str,
    aggregate_id: String,
    after: usize,
    events: Vec<SerializedEvent>,
}

/// The versions one command saw and left: what it loaded and what it wrote, and where in the
/// log its last event went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub loaded: Option<usize>,
    pub persisted: Option<usize>,
    /// The checkpoint of the command's last event: a reader at or past it has read the command
    /// (the token of read-your-writes).
    pub committed: Option<Checkpoint>,
}

/// The events and snapshots of the aggregates one tenant owns. Build one per command
/// ([`EventLog::execute_at`] does).
#[derive(Debug)]
pub struct TenantRepository {
    log: EventLog,
    tenant: TenantSlug,
    prefetched: Mutex<Option<Prefetched>>,
    /// The version the caller expects the aggregate to be at; loading another is a conflict.
    expected: Option<usize>,
    versions: Arc<Mutex<Versions>>,
}

impl TenantRepository {
    pub(crate) fn new(log: EventLog, tenant: TenantSlug) -> Self {
        Self::expecting(log, tenant, None, Arc::default())
    }

    pub(crate) fn expecting(
        log: EventLog,
        tenant: TenantSlug,
        expected: Option<usize>,
        versions: Arc<Mutex<Versions>>,
    ) -> Self {
        Self {
            log,
            tenant,
            prefetched: Mutex::new(None),
            expected,
            versions,
        }
    }

    fn record(&self, f: impl FnOnce(&mut Versions)) {
        if let Ok(mut v) = self.versions.lock() {
            f(&mut v);
        }
    }

    pub fn tenant(&self) -> &TenantSlug {
        &self.tenant
    }

    fn pool(&self) -> &PgPool {
        self.log.pool()
    }

    /// Refuses an event this store must not write: metadata that is incomplete or names
    /// another tenant, or an event type or version the registry does not know as current.
    fn check(&self, event: &SerializedEvent) -> Result<(), StoreError> {
        let map: HashMap<String, String> = serde_json::from_value(event.metadata.clone())
            .map_err(|e| StoreError::Malformed("metadata", e.to_string()))?;
        let metadata = EventMetadata::from_map(&map)?;
        if metadata.tenant != self.tenant {
            return Err(StoreError::TenantMismatch {
                aggregate: self.tenant.to_string(),
                metadata: metadata.tenant.to_string(),
            });
        }
        let registry = self.log.registry();
        match registry.current_version(&event.aggregate_type, &event.event_type) {
            Some(v) if v.to_string() == event.event_version => Ok(()),
            Some(current) => Err(ri_domain::RegistryError::UnsupportedVersion {
                aggregate_type: event.aggregate_type.clone(),
                event_type: event.event_type.clone(),
                found: event.event_version.clone(),
                current,
            }
            .into()),
            None => Err(ri_domain::RegistryError::UnknownEventType {
                aggregate_type: event.aggregate_type.clone(),
                event_type: event.event_type.clone(),
            }
            .into()),
        }
    }

    /// Runs a read, in a transaction of its own behind a pooler in transaction mode.
    async fn fetch_all(
        &self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<sqlx::postgres::PgRow>, sqlx::Error> {
        if !self.log.is_through_pooler() {
            return query.fetch_all(self.pool()).await;
        }
        let mut tx = self.pool().begin().await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn load(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after_sequence: i64,
    ) -> Result<Vec<SerializedEvent>, StoreError> {
        // Metadata is not read back: aggregates are rebuilt from payloads alone.
        let query = sqlx::query(
            "SELECT aggregate_id, sequence, event_type, event_version, payload, \
                    '{}'::jsonb AS metadata \
             FROM events \
             WHERE tenant = $1 AND aggregate_type = $2 AND aggregate_id = $3 AND sequence > $4 \
             ORDER BY sequence",
        )
        .bind(self.tenant.as_str())
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(after_sequence);
        let rows = self.fetch_all(query).await?;
        rows.iter()
            .map(|row| {
                Ok(self
                    .log
                    .registry()
                    .upcast(row_to_event(row, aggregate_type)?)?)
            })
            .collect()
    }

    /// The newest snapshot and the events after it, in one query.
    async fn load_with_snapshot(
        &self,
        aggregate_type: &'static str,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, StoreError> {
        let query = sqlx::query(
            "WITH s AS (SELECT last_sequence, snapshot_version, payload FROM snapshots \
                        WHERE tenant = $1 AND aggregate_type = $2 AND aggregate_id = $3) \
             SELECT true AS is_snapshot, $3 AS aggregate_id, last_sequence AS sequence, \
                    snapshot_version, NULL::text AS event_type, NULL::text AS event_version, \
                    payload, NULL::jsonb AS metadata FROM s \
             UNION ALL \
             SELECT false, aggregate_id, sequence, NULL, event_type, event_version, payload, \
                    '{}'::jsonb FROM events \
             WHERE tenant = $1 AND aggregate_type = $2 AND aggregate_id = $3 \
               AND sequence > COALESCE((SELECT last_sequence FROM s), 0) \
             ORDER BY is_snapshot DESC, sequence",
        )
        .bind(self.tenant.as_str())
        .bind(aggregate_type)
        .bind(aggregate_id);
        let rows = self.fetch_all(query).await?;
        let mut snapshot = None;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<bool, _>("is_snapshot")? {
                snapshot = Some(SerializedSnapshot {
                    aggregate_id: aggregate_id.to_owned(),
                    aggregate: row.try_get("payload")?,
                    current_sequence: to_usize(row.try_get("sequence")?)?,
                    current_snapshot: to_usize(row.try_get("snapshot_version")?)?,
                });
            } else {
                let event = row_to_event(row, aggregate_type)?;
                events.push(self.log.registry().upcast(event)?);
            }
        }
        let current = events
            .last()
            .map(|e| e.sequence)
            .or(snapshot.as_ref().map(|s| s.current_sequence))
            .unwrap_or(0);
        if self.expected.is_some_and(|expected| expected != current) {
            return Err(StoreError::Conflict);
        }
        self.record(|v| v.loaded = Some(current));
        let prefetched = Prefetched {
            aggregate_type,
            aggregate_id: aggregate_id.to_owned(),
            after: snapshot.as_ref().map_or(0, |s| s.current_sequence),
            events,
        };
        if let Ok(mut slot) = self.prefetched.lock() {
            *slot = Some(prefetched);
        }
        Ok(snapshot)
    }

    /// The events `load_with_snapshot` read, if they are the ones asked for.
    fn take_prefetched(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after: usize,
    ) -> Option<Vec<SerializedEvent>> {
        let mut slot = self.prefetched.lock().ok()?;
        match slot.take() {
            Some(p)
                if p.aggregate_type == aggregate_type
                    && p.aggregate_id == aggregate_id
                    && p.after == after =>
            {
                Some(p.events)
            }
            _ => None,
        }
    }

    async fn append(
        &self,
        events: &[SerializedEvent],
        snapshot: Option<Snapshot>,
    ) -> Result<(), StoreError> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        for event in events {
            self.check(event)?;
            if event.aggregate_id != first.aggregate_id
                || event.aggregate_type != first.aggregate_type
            {
                return Err(StoreError::Malformed(
                    "batch",
                    "one command's events must belong to one aggregate".to_owned(),
                ));
            }
        }
        let started = Instant::now();
        let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
        let sequences = events
            .iter()
            .map(|e| to_i64(e.sequence))
            .collect::<Result<Vec<_>, _>>()?;
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let versions: Vec<&str> = events.iter().map(|e| e.event_version.as_str()).collect();
        let payloads: Vec<&Value> = events.iter().map(|e| &e.payload).collect();
        let metadata: Vec<&Value> = events.iter().map(|e| &e.metadata).collect();

        let insert = sqlx::query(
            "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                                 event_type, event_version, payload, metadata) \
             SELECT e.event_id, $1, $2, $3, e.sequence, e.event_type, e.event_version, \
                    e.payload, e.metadata \
             FROM UNNEST($4::uuid[], $5::int8[], $6::text[], $7::text[], $8::jsonb[], $9::jsonb[]) \
                  WITH ORDINALITY AS e(event_id, sequence, event_type, event_version, payload, metadata, n) \
             ORDER BY e.n \
             RETURNING tx_id::text AS tx_id_text, position",
        )
        .bind(self.tenant.as_str())
        .bind(&first.aggregate_type)
        .bind(&first.aggregate_id)
        .bind(&ids)
        .bind(&sequences)
        .bind(&types)
        .bind(&versions)
        .bind(&payloads)
        .bind(&metadata);

        if snapshot.is_none() && !self.log.is_through_pooler() {
            // One statement: atomic on its own, and one round trip.
            let written = insert.fetch_all(self.pool()).await.map_err(classify)?;
            self.appended(
                events.last().map_or(0, |e| e.sequence),
                events.len(),
                committed(&written)?,
                started,
            );
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        let written = insert.fetch_all(&mut *tx).await.map_err(classify)?;
        let at = committed(&written)?;
        if let Some(snapshot) = snapshot {
            sqlx::query(
                "INSERT INTO snapshots (tenant, aggregate_type, aggregate_id, last_sequence, \
                                        snapshot_version, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant, aggregate_type, aggregate_id) DO UPDATE \
                 SET last_sequence = EXCLUDED.last_sequence, \
                     snapshot_version = EXCLUDED.snapshot_version, \
                     payload = EXCLUDED.payload, taken_at = now() \
                 WHERE snapshots.last_sequence < EXCLUDED.last_sequence",
            )
            .bind(self.tenant.as_str())
            .bind(&first.aggregate_type)
            .bind(&snapshot.aggregate_id)
            .bind(snapshot.sequence)
            .bind(snapshot.version)
            .bind(&snapshot.state)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.map_err(classify)?;
        self.appended(
            events.last().map_or(0, |e| e.sequence),
            events.len(),
            at,
            started,
        );
        Ok(())
    }

    fn appended(
        &self,
        last_sequence: usize,
        count: usize,
        at: Option<Checkpoint>,
        started: Instant,
    ) {
        self.record(|v| {
            v.persisted = Some(last_sequence);
            v.committed = at;
        });
        self.log.notify_appended();
        metrics::counter!("ri_events_appended_total").increment(count as u64);
        metrics::histogram!("ri_append_seconds").record(started.elapsed().as_secs_f64());
    }

    /// The aggregate's state after `sequence`, rebuilt from the newest snapshot, the stored
    /// events and the ones being committed. cqrs-es 0.5 hands the repository a snapshot with the
    /// new events applied twice (once by `EventSink::write`, again when it snapshots), so the
    /// state is rebuilt here instead. Runs once every `snapshot_every` events.
    async fn snapshot_state<A: Aggregate>(
        &self,
        aggregate_id: &str,
        committing: &[SerializedEvent],
        sequence: i64,
    ) -> Result<Value, PersistenceError> {
        let mut aggregate = A::default();
        let mut from = 0;
        if let Some(snapshot) = self.get_snapshot::<A>(aggregate_id).await? {
            // A snapshot of an older shape of the aggregate is ignored: replay from the start.
            if let Ok(state) = serde_json::from_value::<A>(snapshot.aggregate) {
                aggregate = state;
                from = to_i64(snapshot.current_sequence)?;
            }
        }
        let stored = match self.take_prefetched(A::TYPE, aggregate_id, to_usize(from)?) {
            Some(events) => events,
            None => self.load(A::TYPE, aggregate_id, from).await?,
        };
        for event in stored.iter().chain(committing) {
            if to_i64(event.sequence)? > sequence {
                break;
            }
            aggregate.apply(serde_json::from_value(event.payload.clone())?);
        }
        Ok(serde_json::to_value(&aggregate)?)
    }

    fn stream(&self, aggregate_type: &str, aggregate_id: Option<&str>) -> ReplayStream {
        let (mut feed, stream) = ReplayStream::new(256);
        let log = self.log.clone();
        let tenant = self.tenant.clone();
        let aggregate_type = aggregate_type.to_owned();
        let aggregate_id = aggregate_id.map(str::to_owned);
        tokio::spawn(async move {
            let mut rows = sqlx::query(
                "SELECT aggregate_id, sequence, event_type, event_version, payload, metadata \
                 FROM events WHERE tenant = $1 AND aggregate_type = $2 \
                 AND ($3::text IS NULL OR aggregate_id = $3) ORDER BY tx_id, position",
            )
            .bind(tenant.as_str())
            .bind(&aggregate_type)
            .bind(aggregate_id.as_deref())
            .fetch(log.pool());
            loop {
                let item = match rows.try_next().await {
                    Ok(Some(row)) => row_to_event(&row, &aggregate_type)
                        .and_then(|e| Ok(log.registry().upcast(e)?))
                        .map_err(PersistenceError::from),
                    Ok(None) => break,
                    Err(e) => Err(StoreError::from(e).into()),
                };
                let failed = item.is_err();
                if feed.push(item).await.is_err() || failed {
                    break;
                }
            }
        });
        stream
    }
}

fn row_to_event(
    row: &sqlx::postgres::PgRow,
    aggregate_type: &str,
) -> Result<SerializedEvent, StoreError> {
    Ok(SerializedEvent {
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: to_usize(row.try_get::<i64, _>("sequence")?)?,
        aggregate_type: aggregate_type.to_owned(),
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
    })
}

/// cqrs-es snapshots at the multiples of the snapshot interval: the newest multiple reached by
/// this commit is the sequence the snapshot it hands us reflects.
fn snapshot_sequence(current: i64, count: i64, every: i64) -> i64 {
    (current + count) / every * every
}

fn classify(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.constraint() {
            Some(STREAM_KEY) => return StoreError::Conflict,
            Some(METADATA_TENANT_CHECK) => {
                return StoreError::Malformed("metadata", db.message().to_owned());
            }
            _ => {}
        }
    }
    StoreError::Database(err)
}

/// The checkpoint of the last of the rows an append returned (all of one transaction).
fn committed(rows: &[sqlx::postgres::PgRow]) -> Result<Option<Checkpoint>, StoreError> {
    let mut last: Option<Checkpoint> = None;
    for row in rows {
        let at = Checkpoint {
            tx_id: parse_xid(row)?,
            position: row.try_get("position")?,
        };
        last = last.max(Some(at));
    }
    Ok(last)
}

fn to_i64(n: usize) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Malformed("sequence", n.to_string()))
}

fn to_usize(n: i64) -> Result<usize, StoreError> {
    usize::try_from(n).map_err(|_| StoreError::Malformed("sequence", n.to_string()))
}

impl PersistedEventRepository for TenantRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        Ok(self.load(A::TYPE, aggregate_id, 0).await?)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        if let Some(events) = self.take_prefetched(A::TYPE, aggregate_id, last_sequence) {
            return Ok(events);
        }
        Ok(self
            .load(A::TYPE, aggregate_id, to_i64(last_sequence)?)
            .await?)
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        Ok(self.load_with_snapshot(A::TYPE, aggregate_id).await?)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let snapshot = match snapshot_update {
            Some((aggregate_id, _double_applied, version)) => {
                let sequence = snapshot_sequence(
                    to_i64(events.first().map_or(1, |e| e.sequence))? - 1,
                    to_i64(events.len())?,
                    to_i64(self.log.snapshot_every())?,
                );
                let state = self
                    .snapshot_state::<A>(&aggregate_id, events, sequence)
                    .await?;
                Some(Snapshot {
                    aggregate_id,
                    state,
                    sequence,
                    version: to_i64(version)?,
                })
            }
            None => None,
        };
        Ok(self.append(events, snapshot).await?)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        Ok(self.stream(A::TYPE, Some(aggregate_id)))
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        Ok(self.stream(A::TYPE, None))
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_sequence;

    #[test]
    fn snapshot_sequence_is_the_newest_multiple_reached() {
        // Matches cqrs-es's SourceOfTruth::commit_snapshot_with_addl_events.
        assert_eq!(snapshot_sequence(5, 3, 4), 8);
        assert_eq!(snapshot_sequence(5, 8, 4), 12);
        assert_eq!(snapshot_sequence(0, 50, 50), 50);
        assert_eq!(snapshot_sequence(49, 1, 50), 50);
    }
}
