//! The instants, days and time zones the service accepts, wherever they enter: the API, the
//! CSV import and the seed all build commands, and the aggregates check every instant and day
//! of a command here before an event records it.
//!
//! **Bounds.** An instant must lie in the years 1900 to 2199 in UTC (after applying its
//! offset), with an offset of at most ±18:00; a day (a `Date`) must lie in the years 1900 to
//! 2199. Every read model, sqlx's `timestamptz` encoding, PostgreSQL and every "plus the
//! feedback window" or "minus the reminder days" computed from such a value can hold the
//! result, so a command can never store an event that a projection or a replay cannot apply.
//! (`9999-12-31T23:59:59-23:59` is year 10000 in UTC: sqlx panicked encoding it.)
//!
//! **Time zones** are names of the IANA database as `jiff` bundles it in the binary (the
//! `tzdb-bundle-always` feature), so a container without `/usr/share/zoneinfo` checks them too.
//!
//! Every function here is total: no input panics, anything outside is a [`FieldError`] naming
//! the field.

use time::format_description::well_known::Rfc3339;
use time::macros::{datetime, format_description};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::values::FieldError;

/// The first year an instant or day may lie in.
pub const FIRST_YEAR: i32 = 1900;
/// The last year an instant or day may lie in.
pub const LAST_YEAR: i32 = 2199;
/// The widest offset from UTC an instant may be given in (hours).
pub const MAX_OFFSET_HOURS: i8 = 18;

/// The first accepted instant, 1900-01-01T00:00:00Z, as a Unix timestamp.
const FIRST: i64 = datetime!(1900-01-01 0:00 UTC).unix_timestamp();
/// The first instant no longer accepted, 2200-01-01T00:00:00Z, as a Unix timestamp.
const END: i64 = datetime!(2200-01-01 0:00 UTC).unix_timestamp();

/// The easternmost offset in use (Kiribati, UTC+14): the first place a day begins.
const EARLIEST_ZONE_HOURS: i64 = 14;
/// The westernmost offset in use (Baker Island, UTC−12): the last place a day ends.
const LATEST_ZONE_HOURS: i64 = 12;

fn range() -> String {
    format!("must lie in the years {FIRST_YEAR} to {LAST_YEAR} (UTC)")
}

/// `at`, when it lies within the bounds; otherwise an error naming `field`.
pub fn instant(field: &'static str, at: OffsetDateTime) -> Result<OffsetDateTime, FieldError> {
    // `unix_timestamp` and `offset` never panic, whatever the value; conversions might.
    let seconds = at.unix_timestamp();
    if !(FIRST..END).contains(&seconds) {
        return Err(FieldError::new(field, range()));
    }
    if at.offset().whole_seconds().abs() > i32::from(MAX_OFFSET_HOURS) * 3600 {
        return Err(FieldError::new(
            field,
            format!("the offset from UTC must be at most ±{MAX_OFFSET_HOURS}:00"),
        ));
    }
    Ok(at)
}

/// `day`, when it lies within the bounds; otherwise an error naming `field`.
pub fn day(field: &'static str, day: Date) -> Result<Date, FieldError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&day.year()) {
        Ok(day)
    } else {
        Err(FieldError::new(
            field,
            format!("must lie in the years {FIRST_YEAR} to {LAST_YEAR}"),
        ))
    }
}

/// An RFC 3339 instant (`2027-01-31T17:00:00+01:00`) within the bounds.
pub fn parse_instant(field: &'static str, raw: &str) -> Result<OffsetDateTime, FieldError> {
    let raw = raw.trim();
    if raw.len() > 64 {
        return Err(FieldError::new(field, "is not an RFC 3339 instant"));
    }
    let at = OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|e| FieldError::new(field, format!("is not an RFC 3339 instant: {e}")))?;
    instant(field, at)
}

/// A day as `YYYY-MM-DD` within the bounds.
pub fn parse_day(field: &'static str, raw: &str) -> Result<Date, FieldError> {
    let raw = raw.trim();
    if raw.len() > 32 {
        return Err(FieldError::new(field, "is not a day (YYYY-MM-DD)"));
    }
    let parsed = Date::parse(raw, format_description!("[year]-[month]-[day]"))
        .map_err(|e| FieldError::new(field, format!("is not a day (YYYY-MM-DD): {e}")))?;
    day(field, parsed)
}

/// `days` days after `at`, checked: within the bounds or an error naming `field`.
pub fn days_after(
    field: &'static str,
    at: OffsetDateTime,
    days: u16,
) -> Result<OffsetDateTime, FieldError> {
    let later = at
        .checked_add(Duration::days(i64::from(days)))
        .ok_or_else(|| FieldError::new(field, range()))?;
    instant(field, later)
}

/// The latest day it is anywhere on Earth at `now` (in UTC+14), so that "not in the future"
/// holds for a day given in any time zone.
pub fn latest_today(now: OffsetDateTime) -> Date {
    let utc = now.checked_to_offset(UtcOffset::UTC).unwrap_or(now);
    utc.checked_add(Duration::hours(EARLIEST_ZONE_HOURS))
        .unwrap_or(utc)
        .date()
}

/// `day`, when it is not after today anywhere on Earth at `now`; otherwise an error naming
/// `field`.
pub fn not_in_future(
    field: &'static str,
    day: Date,
    now: OffsetDateTime,
) -> Result<Date, FieldError> {
    if day > latest_today(now) {
        return Err(FieldError::new(field, "must not be in the future"));
    }
    Ok(day)
}

/// An IANA time zone name (`Europe/Vilnius`) that the bundled database knows, as the database
/// spells it; otherwise an error naming `field`.
pub fn time_zone(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let zone = raw.trim();
    let unknown = || {
        let shown: String = zone.chars().take(64).collect();
        FieldError::new(
            field,
            format!("{shown:?} is not a time zone of the IANA database"),
        )
    };
    // Names are short ASCII paths (the longest is 32 characters); this also keeps control
    // characters and path tricks away from the database lookup.
    let plausible = !zone.is_empty()
        && zone.len() <= 64
        && zone.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
        });
    if !plausible {
        return Err(unknown());
    }
    let tz = jiff::tz::db().get(zone).map_err(|_| unknown())?;
    Ok(tz.iana_name().unwrap_or(zone).to_owned())
}

/// The earliest day it is anywhere on Earth at `at` (in UTC−12), so that "not before the
/// event" holds for a day given in any time zone.
pub fn earliest_day(at: OffsetDateTime) -> Date {
    let utc = at.checked_to_offset(UtcOffset::UTC).unwrap_or(at);
    utc.checked_sub(Duration::hours(LATEST_ZONE_HOURS))
        .unwrap_or(utc)
        .date()
}

#[cfg(test)]
#[path = "when_tests.rs"]
mod tests;
