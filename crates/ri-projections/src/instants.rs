//! Instants from events, checked before they reach a table.
//!
//! sqlx 0.9 panics when it binds an `OffsetDateTime` whose UTC value lies outside the `time`
//! crate's range (`9999-12-31T23:59:59-23:59` is year 10000 in UTC), and a `timestamptz`
//! beyond year 9999 that PostgreSQL accepted through JSON panics every reader that decodes it.
//! So every instant a projection stores from an event's payload goes through [`storable`]:
//! an instant outside years 1 to 9999 in UTC is a failure of that event (recorded in
//! `projection_failures` and skipped, see docs/decisions/0004-poison-events.md), never a
//! panic and never a row no reader can read.

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::error::ProjectionError;

/// `at` in UTC, if every reader can hold it; otherwise the failure of the event at `position`,
/// naming `what`.
pub(crate) fn storable(
    position: i64,
    what: &str,
    at: OffsetDateTime,
) -> Result<OffsetDateTime, ProjectionError> {
    at.checked_to_offset(UtcOffset::UTC)
        .filter(|utc| (1..=9999).contains(&utc.year()))
        .ok_or_else(|| out_of_range(position, what, at))
}

/// [`storable`] for an optional instant.
pub(crate) fn storable_opt(
    position: i64,
    what: &str,
    at: Option<OffsetDateTime>,
) -> Result<Option<OffsetDateTime>, ProjectionError> {
    at.map(|at| storable(position, what, at)).transpose()
}

/// `at + days`, if storable.
pub(crate) fn plus_days(
    position: i64,
    what: &str,
    at: OffsetDateTime,
    days: i64,
) -> Result<OffsetDateTime, ProjectionError> {
    let later = days
        .checked_mul(86_400)
        .and_then(|seconds| at.checked_add(Duration::seconds(seconds)))
        .ok_or_else(|| out_of_range(position, what, at))?;
    storable(position, what, later)
}

fn out_of_range(position: i64, what: &str, at: OffsetDateTime) -> ProjectionError {
    ProjectionError::bad(
        position,
        format!("{what} {at} is outside the years 1 to 9999 (UTC) the read models can hold"),
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn instants_beyond_year_9999_in_utc_are_refused_not_bound() {
        let poison = datetime!(9999-12-31 23:59:59 -23:59);
        let err = storable(42, "deadline", poison).unwrap_err();
        assert!(
            matches!(&err, ProjectionError::BadEvent { position: 42, reason } if reason.contains("deadline")),
            "{err}"
        );
        assert!(storable(1, "x", datetime!(-0001-01-01 0:00 UTC)).is_err());
        assert!(storable(1, "x", datetime!(0001-01-01 0:00 +01:00)).is_err());
        assert_eq!(
            storable(1, "x", datetime!(9999-12-31 23:59:59 UTC)).ok(),
            Some(datetime!(9999-12-31 23:59:59 UTC))
        );
        assert_eq!(
            storable(1, "x", datetime!(2026-12-03 10:00 +02:00)).ok(),
            Some(datetime!(2026-12-03 08:00 UTC))
        );
        assert_eq!(storable_opt(1, "x", None).ok(), Some(None));
    }

    #[test]
    fn adding_days_past_the_range_is_refused_not_overflowed() {
        let start = datetime!(9999-12-31 12:00 UTC);
        assert!(plus_days(3, "feedback closes", start, 14).is_err());
        assert!(plus_days(3, "x", start, i64::MAX).is_err());
        assert_eq!(
            plus_days(3, "x", datetime!(2026-12-03 10:00 UTC), 14).ok(),
            Some(datetime!(2026-12-17 10:00 UTC))
        );
    }
}
