//! The tailing reader: follows the whole log in an order that never skips an event.
//!
//! Positions come from a sequence, so a transaction can take a lower position and commit after
//! one with a higher position. Reading "everything above my last position" would skip it. The
//! reader therefore orders the log by (writing transaction id, position) and only reads rows whose
//! transaction is older than the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every such transaction has committed or aborted,
//! so nothing can appear below the reader's checkpoint later. No gap timeouts. The price is that
//! one long-running transaction anywhere in the cluster holds every reader back, which is why
//! service connections have an idle-in-transaction timeout and a statement timeout.

use std::collections::HashMap;

use cqrs_es::persist::SerializedEvent;
use ri_domain::EventMetadata;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::StoreError;
use crate::log::EventLog;

/// A reader's place in the log: the last event it has taken, in (transaction id, position) order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checkpoint {
    pub tx_id: u64,
    pub position: i64,
}

/// Written `<tx_id>:<position>`: the read-your-writes token the API hands out and takes back.
impl std::fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.tx_id, self.position)
    }
}

impl std::str::FromStr for Checkpoint {
    type Err = StoreError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::Malformed("checkpoint", "not <tx_id>:<position>".to_owned());
        let (tx, position) = raw.split_once(':').ok_or_else(bad)?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(tx) || !digits(position) {
            return Err(bad());
        }
        Ok(Checkpoint {
            tx_id: tx.parse().map_err(|_| bad())?,
            position: position.parse().map_err(|_| bad())?,
        })
    }
}

impl Checkpoint {
    pub const START: Checkpoint = Checkpoint {
        tx_id: 0,
        position: 0,
    };

    /// The stored checkpoint of `reader`, or the start of the log.
    pub async fn load<'e>(exec: impl PgExecutor<'e>, reader: &str) -> Result<Self, StoreError> {
        let row = sqlx::query(
            "SELECT tx_id::text AS tx_id_text, position FROM reader_checkpoints WHERE reader = $1",
        )
        .bind(reader)
        .fetch_optional(exec)
        .await?;
        match row {
            Some(row) => Ok(Checkpoint {
                tx_id: parse_xid(&row)?,
                position: row.try_get("position")?,
            }),
            None => Ok(Checkpoint::START),
        }
    }

    /// Creates `reader`'s checkpoint at the start of the log if it has none.
    pub async fn ensure<'e>(exec: impl PgExecutor<'e>, reader: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO reader_checkpoints (reader) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(reader)
            .execute(exec)
            .await?;
        Ok(())
    }

    /// Moves `reader` from `from` to `self`, only if it still stands at `from`. Run it first in
    /// the transaction that writes the reader's effects: it locks the checkpoint row, and if
    /// another process moved the reader (a replay, a second instance) it returns false and the
    /// caller rolls back.
    pub async fn advance<'e>(
        self,
        exec: impl PgExecutor<'e>,
        reader: &str,
        from: Checkpoint,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE reader_checkpoints \
             SET tx_id = $2::text::xid8, position = $3, updated_at = now() \
             WHERE reader = $1 AND tx_id = $4::text::xid8 AND position = $5",
        )
        .bind(reader)
        .bind(self.tx_id.to_string())
        .bind(self.position)
        .bind(from.tx_id.to_string())
        .bind(from.position)
        .execute(exec)
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// Sets `reader` to `self` whatever it was (replays).
    pub async fn store<'e>(
        self,
        exec: impl PgExecutor<'e>,
        reader: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO reader_checkpoints (reader, tx_id, position) \
             VALUES ($1, $2::text::xid8, $3) \
             ON CONFLICT (reader) DO UPDATE \
             SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, updated_at = now()",
        )
        .bind(reader)
        .bind(self.tx_id.to_string())
        .bind(self.position)
        .execute(exec)
        .await?;
        Ok(())
    }
}

/// One event as the log holds it, upcast to the current version of its type.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub tx_id: u64,
    pub event_id: Uuid,
    pub tenant: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: OffsetDateTime,
}

impl StoredEvent {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx_id: self.tx_id,
            position: self.position,
        }
    }

    pub fn metadata(&self) -> Result<EventMetadata, StoreError> {
        let map: HashMap<String, String> = serde_json::from_value(self.metadata.clone())
            .map_err(|e| StoreError::Malformed("metadata", e.to_string()))?;
        Ok(EventMetadata::from_map(&map)?)
    }
}

/// The columns [`LogReader::decode`] reads, from `events e`; a statement adds its conditions.
macro_rules! stored_events {
    () => {
        "SELECT e.position, e.tx_id::text AS tx_id_text, e.event_id, e.tenant, \
                e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, \
                e.event_version, e.payload, e.metadata, e.recorded_at \
         FROM events e "
    };
}

/// Reads the log in (transaction id, position) order, only as far as is safe.
#[derive(Debug, Clone)]
pub struct LogReader {
    log: EventLog,
}

impl LogReader {
    pub(crate) fn new(log: EventLog) -> Self {
        Self { log }
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// Up to `limit` events after `after` whose transactions can no longer be overtaken.
    /// Run it outside a writing transaction: an open transaction of the caller's own would
    /// hold back what it may read.
    pub async fn read_after<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        after: Checkpoint,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            // Order by the xid8 column itself: the text form sorts "10" before "9".
            concat!(
                stored_events!(),
                "WHERE (e.tx_id, e.position) > ($1::text::xid8, $2) \
                 AND e.tx_id < (SELECT pg_snapshot_xmin(pg_current_snapshot())) \
                 ORDER BY e.tx_id, e.position \
                 LIMIT $3"
            ),
        )
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .bind(limit)
        .fetch_all(exec)
        .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// One aggregate's events recorded at or before `until`, in its own order, upcast: what
    /// it was folded from then (reading its state as of a moment).
    pub async fn aggregate_until<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        tenant: &str,
        aggregate_type: &str,
        aggregate_id: &str,
        until: OffsetDateTime,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(concat!(
            stored_events!(),
            "WHERE e.tenant = $1 AND e.aggregate_type = $2 AND e.aggregate_id = $3 \
             AND e.recorded_at <= $4 \
             ORDER BY e.sequence"
        ))
        .bind(tenant)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(until)
        .fetch_all(exec)
        .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// One aggregate's events before `before` in the log's order, in its own order, upcast:
    /// what a projection had folded of it when it reached the event at `before` (a watch's
    /// filter when an instrument event made a notice).
    pub async fn aggregate_before<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        tenant: &str,
        aggregate_type: &str,
        aggregate_id: &str,
        before: Checkpoint,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(concat!(
            stored_events!(),
            "WHERE e.tenant = $1 AND e.aggregate_type = $2 AND e.aggregate_id = $3 \
             AND (e.tx_id, e.position) < ($4::text::xid8, $5) \
             ORDER BY e.sequence"
        ))
        .bind(tenant)
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(before.tx_id.to_string())
        .bind(before.position)
        .fetch_all(exec)
        .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// The transaction id below which every transaction has ended (committed or aborted): the
    /// horizon [`LogReader::read_after`] reads below. Fix it once for a read in pages
    /// ([`LogReader::read_until`]) so that every page sees the same log.
    pub async fn horizon<'e>(&self, exec: impl PgExecutor<'e>) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS tx_id_text")
            .fetch_one(exec)
            .await?;
        parse_xid(&row)
    }

    /// The transaction id of the last event committed so far (`None` for an empty log): once
    /// [`LogReader::horizon`] is above it, every event committed before this call lies below
    /// the horizon.
    pub async fn last_tx<'e>(&self, exec: impl PgExecutor<'e>) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query(
            "SELECT tx_id::text AS tx_id_text FROM events ORDER BY tx_id DESC, position DESC \
             LIMIT 1",
        )
        .fetch_optional(exec)
        .await?;
        row.as_ref().map(parse_xid).transpose()
    }

    /// Whether an event of `aggregate_types` recorded at or before `until` has been committed
    /// at or above `horizon`: what a read of the log until `until` below `horizon` has not seen
    /// ([`LogReader::read_until`]).
    pub async fn any_until_above<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        aggregate_types: &[&str],
        until: OffsetDateTime,
        horizon: u64,
    ) -> Result<bool, StoreError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events e WHERE e.tx_id >= $1::text::xid8 \
             AND e.aggregate_type = ANY($2) AND e.recorded_at <= $3)",
        )
        .bind(horizon.to_string())
        .bind(aggregate_types)
        .bind(until)
        .fetch_one(exec)
        .await?;
        Ok(found)
    }

    /// A page of the log as it stood at `until`: up to `limit` events of `aggregate_types`
    /// recorded at or before `until`, after `after` in (transaction id, position) order, of
    /// transactions below `horizon` (from [`LogReader::horizon`], taken once for all pages),
    /// upcast. Page on with the last event's checkpoint until a page comes back empty; the
    /// caller holds one page at a time (a historical search folds the log this way).
    pub async fn read_until<'e>(
        &self,
        exec: impl PgExecutor<'e>,
        aggregate_types: &[&str],
        until: OffsetDateTime,
        horizon: u64,
        after: Checkpoint,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(concat!(
            stored_events!(),
            "WHERE (e.tx_id, e.position) > ($1::text::xid8, $2) \
             AND e.tx_id < $3::text::xid8 \
             AND e.aggregate_type = ANY($4) \
             AND e.recorded_at <= $5 \
             ORDER BY e.tx_id, e.position \
             LIMIT $6"
        ))
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .bind(horizon.to_string())
        .bind(aggregate_types)
        .bind(until)
        .bind(limit)
        .fetch_all(exec)
        .await?;
        rows.iter().map(|row| self.decode(row)).collect()
    }

    /// The highest position written so far (committed or not yet visible), for lag.
    pub async fn head<'e>(&self, exec: impl PgExecutor<'e>) -> Result<i64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
            .fetch_one(exec)
            .await?;
        Ok(head.unwrap_or(0))
    }

    fn decode(&self, row: &PgRow) -> Result<StoredEvent, StoreError> {
        let sequence: i64 = row.try_get("sequence")?;
        let serialized = SerializedEvent {
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: usize::try_from(sequence)
                .map_err(|_| StoreError::Malformed("sequence", sequence.to_string()))?,
            aggregate_type: row.try_get("aggregate_type")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
        };
        let event = self.log.registry().upcast(serialized)?;
        Ok(StoredEvent {
            position: row.try_get("position")?,
            tx_id: parse_xid(row)?,
            event_id: row.try_get("event_id")?,
            tenant: row.try_get("tenant")?,
            aggregate_type: event.aggregate_type,
            aggregate_id: event.aggregate_id,
            sequence,
            event_type: event.event_type,
            event_version: event.event_version,
            payload: event.payload,
            metadata: event.metadata,
            recorded_at: row.try_get("recorded_at")?,
        })
    }
}

pub(crate) fn parse_xid(row: &PgRow) -> Result<u64, StoreError> {
    let raw: String = row.try_get("tx_id_text")?;
    raw.parse()
        .map_err(|_| StoreError::Malformed("tx_id", raw.clone()))
}

#[cfg(test)]
mod tests {
    use super::Checkpoint;

    #[test]
    fn a_checkpoint_reads_back_what_it_writes_and_nothing_else() {
        let at = Checkpoint {
            tx_id: u64::MAX,
            position: i64::MAX,
        };
        assert_eq!(at.to_string().parse::<Checkpoint>().ok(), Some(at));
        assert_eq!(
            "7:12".parse::<Checkpoint>().ok(),
            Some(Checkpoint {
                tx_id: 7,
                position: 12
            })
        );
        for bad in [
            "",
            ":",
            "7",
            "7:",
            ":12",
            "7:-1",
            "-7:1",
            "7:12:1",
            "a:1",
            "7: 1",
            "1:99999999999999999999",
        ] {
            assert!(bad.parse::<Checkpoint>().is_err(), "{bad:?}");
        }
    }
}
