//! Applying a batch so that no event in it can halt the projection.
//!
//! The batch is applied under a savepoint. If it fails with a failure of the events (see
//! [`crate::failures`]) or panics, the savepoint is rolled back and the events are applied one
//! at a time, each under a savepoint of its own; an event that fails on its own is rolled back,
//! recorded in `projection_failures` and skipped. A failure of the environment is returned: the
//! caller's transaction is abandoned and the batch retried, never skipped. The live runner and
//! replay both go through here, so a replay skips exactly what the live projection skipped.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;

use crate::error::ProjectionError;
use crate::failures;
use crate::projection::Projection;

/// Applies `batch` on `conn` (inside the caller's transaction); returns how many events it
/// recorded as failures and skipped.
pub(crate) async fn apply_isolating(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    batch: &[StoredEvent],
) -> Result<usize, ProjectionError> {
    let whole = match under_savepoint(conn, projection, batch).await? {
        None => return Ok(0),
        Some(error) => error,
    };
    if let [only] = batch {
        failures::record(conn, projection.name(), only, &whole).await?;
        return Ok(1);
    }
    tracing::warn!(
        projection = projection.name(),
        events = batch.len(),
        error = %whole,
        "batch failed; applying its events one at a time"
    );
    let mut skipped = 0;
    for e in batch {
        if let Some(error) = under_savepoint(conn, projection, std::slice::from_ref(e)).await? {
            failures::record(conn, projection.name(), e, &error).await?;
            skipped += 1;
        }
    }
    Ok(skipped)
}

/// Applies `events` under a savepoint: `Ok(None)` when they were applied, `Ok(Some(error))`
/// when they failed on their own and were rolled back, `Err` when the failure is the
/// environment's.
async fn under_savepoint(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    events: &[StoredEvent],
) -> Result<Option<ProjectionError>, ProjectionError> {
    sqlx::query("SAVEPOINT ri_apply")
        .execute(&mut *conn)
        .await?;
    match guarded(conn, projection, events).await {
        Ok(()) => {
            sqlx::query("RELEASE SAVEPOINT ri_apply")
                .execute(&mut *conn)
                .await?;
            Ok(None)
        }
        Err(error) if error.is_transient() => Err(error),
        Err(error) => {
            sqlx::query("ROLLBACK TO SAVEPOINT ri_apply")
                .execute(&mut *conn)
                .await?;
            sqlx::query("RELEASE SAVEPOINT ri_apply")
                .execute(&mut *conn)
                .await?;
            Ok(Some(error))
        }
    }
}

/// The projection's `apply`, with a panic turned into [`ProjectionError::Panicked`]. A panic
/// leaves nothing behind that matters: the rows it wrote are rolled back with the savepoint,
/// and the projections keep no state across calls.
pub(crate) async fn guarded(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    events: &[StoredEvent],
) -> Result<(), ProjectionError> {
    match AssertUnwindSafe(projection.apply(conn, events))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(ProjectionError::Panicked(message))
        }
    }
}
