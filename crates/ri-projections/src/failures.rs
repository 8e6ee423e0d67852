//! Events a projection could not apply: which failures skip an event, and the
//! `projection_failures` table where skipped events are recorded for operators.
//!
//! A batch that fails is re-applied event by event (see [`crate::isolate`]); an event that fails
//! on its own is recorded here, counted in `ri_projection_failures_total{projection}`, logged at
//! error level and skipped, so one poison event never halts a read model every tenant shares.
//!
//! Which failures skip. Only a failure caused by the event itself may skip it; anything about
//! the environment must stall and retry, or a database restart or a bad deploy would silently
//! skip every event it touched. The classification is by cause, not by a list of known
//! transients, and errs towards retrying:
//! - skipped: the projection refused the event ([`ProjectionError::BadEvent`]), panicked on it,
//!   or PostgreSQL refused a value it carries: SQLSTATE class 22 (data exception: out-of-range
//!   date, invalid text), 23 (integrity constraint), 54 (program limit: an index row too big),
//!   P0 (raised by a trigger); and sqlx failing to encode or decode a value;
//! - retried: everything else — I/O, TLS and protocol failures, pool time-outs and closed pools,
//!   class 08 (connection exception), 40 (serialization failure, deadlock), 53 (insufficient
//!   resources, too many connections), 55 (lock not available), 57 (admin shutdown, query
//!   cancelled), 58 (system I/O error), 25 (idle-in-transaction time-out), 42 (undefined
//!   table or column, permission denied: a bad deploy, not a bad event), XX (internal error),
//!   and any error sqlx may add later.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ProjectionError;
use ri_eventstore::StoredEvent;

/// SQLSTATE classes whose errors are caused by the values a statement carries.
const DATA_CLASSES: [&str; 4] = ["22", "23", "54", "P0"];

/// Whether `e` is about the environment (retry the batch) rather than the data (skip the event).
pub(crate) fn sqlx_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let class = code.as_deref().and_then(|c| c.get(..2));
            !class.is_some_and(|class| DATA_CLASSES.contains(&class))
        }
        sqlx::Error::Encode(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::RowNotFound => false,
        _ => true,
    }
}

/// One event a projection skipped.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectionFailure {
    pub projection: String,
    pub event_id: Uuid,
    pub position: i64,
    pub tenant: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub error: String,
    pub recorded_at: OffsetDateTime,
}

/// Records that `projection` skipped `e` because of `error`, in the caller's transaction. The
/// table is named with its schema: during a replay the search path holds only the copies.
pub(crate) async fn record(
    conn: &mut PgConnection,
    projection: &str,
    e: &StoredEvent,
    error: &ProjectionError,
) -> Result<(), ProjectionError> {
    tracing::error!(
        projection,
        position = e.position,
        event_id = %e.event_id,
        tenant = e.tenant,
        aggregate_type = e.aggregate_type,
        aggregate_id = e.aggregate_id,
        event_type = e.event_type,
        error = %error,
        "event cannot be projected; recorded in projection_failures and skipped"
    );
    sqlx::query(
        "INSERT INTO public.projection_failures (projection, event_id, position, tenant, \
             aggregate_type, aggregate_id, event_type, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (projection, event_id) DO UPDATE \
         SET position = EXCLUDED.position, error = EXCLUDED.error",
    )
    .bind(projection)
    .bind(e.event_id)
    .bind(e.position)
    .bind(&e.tenant)
    .bind(&e.aggregate_type)
    .bind(&e.aggregate_id)
    .bind(&e.event_type)
    .bind(storable_text(&error.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

/// `text` as a `text` column holds it: without NUL (which PostgreSQL refuses, and an error
/// may quote it from the event) and at most 4,000 characters.
fn storable_text(text: &str) -> String {
    text.chars()
        .take(4_000)
        .map(|c| if c == '\0' { '\u{fffd}' } else { c })
        .collect()
}

/// Counts `n` skipped events of `projection`; call it once their transaction committed.
pub(crate) fn count(projection: &'static str, n: usize) {
    metrics::counter!("ri_projection_failures_total", "projection" => projection)
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
}

/// Up to `limit` recorded failures, of `projection` or of all, in log order.
pub async fn failures(
    pool: &PgPool,
    projection: Option<&str>,
    limit: i64,
) -> Result<Vec<ProjectionFailure>, ProjectionError> {
    let mut tx = pool.begin().await?;
    let value = sqlx::query_as(
        "SELECT projection, event_id, position, tenant, aggregate_type, aggregate_id, \
             event_type, error, recorded_at \
         FROM projection_failures \
         WHERE $1::text IS NULL OR projection = $1 \
         ORDER BY position, projection \
         LIMIT $2",
    )
    .bind(projection)
    .bind(limit.clamp(0, 10_000))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error with just a SQLSTATE, as PostgreSQL sends it.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> ProjectionError {
        ProjectionError::Database(sqlx::Error::Database(Box::new(Coded(code))))
    }

    #[test]
    fn error_texts_are_stored_without_nul_and_bounded() {
        assert_eq!(storable_text("a\0b"), "a\u{fffd}b");
        assert_eq!(storable_text(&"x".repeat(10_000)).chars().count(), 4_000);
    }

    #[test]
    fn failures_of_the_environment_are_retried() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        for e in [
            ProjectionError::Database(sqlx::Error::Io(io)),
            ProjectionError::Database(sqlx::Error::PoolTimedOut),
            ProjectionError::Database(sqlx::Error::PoolClosed),
            ProjectionError::Database(sqlx::Error::Protocol("eof".into())),
            ProjectionError::Store(ri_eventstore::StoreError::Database(
                sqlx::Error::PoolTimedOut,
            )),
            db("08006"), // connection failure
            db("08003"), // connection does not exist
            db("57P01"), // admin shutdown (pg_terminate_backend)
            db("57P03"), // cannot connect now
            db("57014"), // query cancelled (statement timeout)
            db("53300"), // too many connections
            db("40001"), // serialization failure
            db("40P01"), // deadlock
            db("55P03"), // lock not available (lock timeout)
            db("25P03"), // idle-in-transaction timeout
            db("42P01"), // undefined table: a bad deploy, not a bad event
            db("42501"), // insufficient privilege
            db("XX000"), // internal error
        ] {
            assert!(e.is_transient(), "{e} must be retried");
        }
    }

    #[test]
    fn failures_of_the_event_skip_it() {
        for e in [
            ProjectionError::bad(7, "deadline out of range"),
            ProjectionError::Panicked("local datetime out of valid range".into()),
            ProjectionError::Database(sqlx::Error::Encode("too big".into())),
            ProjectionError::Database(sqlx::Error::Decode("bad".into())),
            ProjectionError::Store(ri_eventstore::StoreError::Malformed("payload", "x".into())),
            db("22008"), // datetime field overflow
            db("22P02"), // invalid text representation
            db("23505"), // unique violation
            db("54000"), // index row too big
            db("P0001"), // raised by a trigger
        ] {
            assert!(!e.is_transient(), "{e} must skip the event");
        }
    }
}
