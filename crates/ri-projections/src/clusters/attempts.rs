//! Rate limiting of feedback attempts, shared by every process of the service: a counter per
//! key and fixed time window in `feedback_attempts`. The API counts every attempt to use a
//! practitioner link (good or bad) under two keys, `token:<sha256>` and `ip:<address>`, and
//! refuses with `RATE_LIMITED` when either is over its limit, before looking the token up.

use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use crate::catalogue::ReadError;

/// At most `max` attempts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub max: u32,
    pub window: Duration,
}

impl AttemptLimit {
    /// Per token: a practitioner rating a whole agenda and correcting a few answers.
    pub const PER_TOKEN: AttemptLimit = AttemptLimit {
        max: 60,
        window: Duration::hours(1),
    };
    /// Per client address: a room of practitioners behind one NAT, not a token-guessing run.
    pub const PER_ADDRESS: AttemptLimit = AttemptLimit {
        max: 300,
        window: Duration::hours(1),
    };
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Allowed {
        /// Attempts left in this window.
        remaining: u32,
    },
    Limited {
        /// When the window ends.
        retry_after: Duration,
    },
}

/// Counts one attempt under `key` at `now` and says whether it is within `limit`. Counters of
/// windows that ended more than a day ago are deleted on the way.
pub async fn record_feedback_attempt(
    pool: &PgPool,
    key: &str,
    limit: AttemptLimit,
    now: OffsetDateTime,
) -> Result<Attempt, ReadError> {
    let window = limit.window.whole_seconds();
    if window <= 0 || key.is_empty() || key.len() > 300 {
        return Err(ReadError::BadInput {
            field: "key",
            reason: "a non-empty key of at most 300 bytes and a positive window".to_owned(),
        });
    }
    let at = now.unix_timestamp();
    let start = at - at.rem_euclid(window);
    let window_start =
        OffsetDateTime::from_unix_timestamp(start).map_err(|e| ReadError::BadInput {
            field: "now",
            reason: e.to_string(),
        })?;
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM feedback_attempts WHERE window_start < $1 - interval '1 day'")
        .bind(window_start)
        .execute(&mut *tx)
        .await?;
    let attempts: i32 = sqlx::query_scalar(
        "INSERT INTO feedback_attempts (key, window_start, attempts) VALUES ($1, $2, 1) \
         ON CONFLICT (key, window_start) \
         DO UPDATE SET attempts = feedback_attempts.attempts + 1 \
         RETURNING attempts",
    )
    .bind(key)
    .bind(window_start)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    Ok(if attempts > limit.max {
        Attempt::Limited {
            retry_after: Duration::seconds(start + window - at),
        }
    } else {
        Attempt::Allowed {
            remaining: limit.max - attempts,
        }
    })
}
