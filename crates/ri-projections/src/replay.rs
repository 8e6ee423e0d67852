//! Rebuilds a projection from the start of the log.
//!
//! The projection is replayed into fresh copies of its tables in a schema of its own while the
//! live one keeps running. Then, in one transaction that holds the live checkpoint's row lock
//! (so the live runner cannot commit a batch meanwhile), the copy catches up with the log, its
//! rows replace the live rows and the checkpoint moves to where the copy stands. The live tables
//! keep their identity, grants and row-level-security policies; readers see the old rows until
//! the commit and the new ones after it.

use std::time::{Duration, Instant};

use ri_eventstore::{Checkpoint, EventLog, LogReader, StoredEvent};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::error::ProjectionError;
use crate::projection::Projection;
use crate::runner::LOCK_NAMESPACE;
use crate::{failures, isolate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub events: u64,
    /// Events the projection could not apply, recorded in `projection_failures` and skipped,
    /// as the live runner does.
    pub failures: u64,
    pub elapsed: Duration,
    pub checkpoint: Checkpoint,
}

/// Replays `projection` from position zero and swaps the result in. `owner` must be a pool of
/// the tables' owner (replay creates and truncates tables); `log` reads the events.
pub async fn replay(
    log: &EventLog,
    owner: &PgPool,
    projection: &dyn Projection,
    batch_size: i64,
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let name = projection.name();
    // One replay of a projection at a time; the lock goes with this connection.
    let mut guard = owner.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
        .bind(LOCK_NAMESPACE + 1)
        .bind(name)
        .execute(&mut *guard)
        .await?;

    let schema = format!("replay_{name}");
    let outcome = rebuild(log, owner, projection, &schema, batch_size).await;
    let cleanup = sqlx::query(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(owner)
    .await;
    sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2))")
        .bind(LOCK_NAMESPACE + 1)
        .bind(name)
        .execute(&mut *guard)
        .await?;
    let (events, failures, checkpoint) = outcome?;
    cleanup?;
    Ok(ReplayReport {
        events,
        failures,
        elapsed: started.elapsed(),
        checkpoint,
    })
}

async fn rebuild(
    log: &EventLog,
    owner: &PgPool,
    projection: &dyn Projection,
    schema: &str,
    batch_size: i64,
) -> Result<(u64, u64, Checkpoint), ProjectionError> {
    let name = projection.name();
    let reader = log.reader();
    let mut setup = owner.begin().await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut *setup)
    .await?;
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut *setup)
        .await?;
    for table in projection.tables() {
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)"
        )))
        .execute(&mut *setup)
        .await?;
    }
    setup.commit().await?;

    // Bulk of the work, outside any lock the live runner needs. The next batch is read while
    // the current one is applied.
    let mut at = Checkpoint::START;
    let mut events = 0u64;
    let mut skipped = 0u64;
    let mut next = reader.read_after(owner, at, batch_size).await?;
    while let Some(cp) = next.last().map(StoredEvent::checkpoint) {
        let batch = next;
        let apply = async {
            let mut tx = owner.begin().await?;
            let skipped = apply_to_copy(&mut tx, projection, schema, &batch).await?;
            tx.commit().await?;
            failures::count(name, skipped);
            Ok::<_, ProjectionError>(skipped)
        };
        let (fetched, applied) = tokio::join!(reader.read_after(owner, cp, batch_size), apply);
        skipped += count(applied?);
        at = cp;
        events += count(batch.len());
        next = fetched?;
    }

    // Swap: lock the live checkpoint, catch up, replace the rows, move the checkpoint.
    Checkpoint::ensure(owner, name).await?;
    let mut tx = owner.begin().await?;
    // Tables under row-level security admit the projector's writes only (the owner is subject
    // to them too: FORCE ROW LEVEL SECURITY).
    sqlx::query("SELECT set_config('app.projector', 'on', true)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT 1 FROM reader_checkpoints WHERE reader = $1 FOR UPDATE")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    let mut skipped_at_swap = 0;
    while let Some((cp, n, failed)) =
        apply_batch(&reader, &mut tx, projection, schema, at, batch_size).await?
    {
        at = cp;
        events += n;
        skipped_at_swap += failed;
    }
    let tables = projection
        .tables()
        .iter()
        .map(|t| format!("public.{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(AssertSqlSafe(format!("TRUNCATE {tables}")))
        .execute(&mut *tx)
        .await?;
    for table in projection.tables() {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO public.{table} OVERRIDING SYSTEM VALUE SELECT * FROM {schema}.{table}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    at.store(&mut *tx, name).await?;
    tx.commit().await?;
    failures::count(name, skipped_at_swap);
    Ok((events, skipped + count(skipped_at_swap), at))
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Reads one batch after `at` and applies it to the copy in `schema`, on `conn`.
async fn apply_batch(
    reader: &LogReader,
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    at: Checkpoint,
    batch_size: i64,
) -> Result<Option<(Checkpoint, u64, usize)>, ProjectionError> {
    let batch = reader.read_after(&mut *conn, at, batch_size).await?;
    let Some(last) = batch.last() else {
        return Ok(None);
    };
    let skipped = apply_to_copy(conn, projection, schema, &batch).await?;
    Ok(Some((last.checkpoint(), count(batch.len()), skipped)))
}

/// Applies `batch` to the copy of the projection's tables in `schema`, skipping (and recording)
/// the events it cannot apply the way the live runner does; returns how many it skipped.
async fn apply_to_copy(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    batch: &[StoredEvent],
) -> Result<usize, ProjectionError> {
    sqlx::query("SELECT set_config('search_path', $1, true)")
        .bind(schema)
        .execute(&mut *conn)
        .await?;
    let skipped = isolate::apply_isolating(&mut *conn, projection, batch).await?;
    sqlx::query("SELECT set_config('search_path', 'public', true)")
        .execute(&mut *conn)
        .await?;
    Ok(skipped)
}
