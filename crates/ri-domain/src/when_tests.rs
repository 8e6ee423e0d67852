#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;

#[test]
fn instants_are_bounded_in_utc_after_their_offset() {
    assert!(instant("deadline", datetime!(2027-01-31 17:00 +1)).is_ok());
    assert!(instant("deadline", datetime!(1900-01-01 0:00 UTC)).is_ok());
    assert!(instant("deadline", datetime!(2199-12-31 23:59:59 UTC)).is_ok());
    for bad in [
        datetime!(9999-12-31 23:59:59 -23:59),
        datetime!(2200-01-01 0:00 UTC),
        // 2199 locally, 2200 in UTC.
        datetime!(2199-12-31 23:00 -2),
        datetime!(1899-12-31 23:59:59 UTC),
        datetime!(-9999-01-01 0:00 UTC),
    ] {
        let err = instant("deadline", bad).unwrap_err();
        assert_eq!(err.field, "deadline", "{bad}");
    }
    let far = instant("startsAt", datetime!(2027-01-31 17:00 +19)).unwrap_err();
    assert_eq!(far.field, "startsAt");
    assert!(far.reason.contains("offset"), "{far}");
    assert!(instant("startsAt", datetime!(2027-01-31 17:00 -18)).is_ok());
}

#[test]
fn days_are_bounded() {
    assert!(day("date", date!(2026 - 12 - 02)).is_ok());
    assert_eq!(
        day("date", date!(2200 - 01 - 01)).unwrap_err().field,
        "date"
    );
    assert_eq!(day("due", date!(1899 - 12 - 31)).unwrap_err().field, "due");
    assert_eq!(parse_day("date", "2026-12-02"), Ok(date!(2026 - 12 - 02)));
    assert_eq!(parse_day("date", "9999-12-31").unwrap_err().field, "date");
    assert_eq!(parse_day("date", "2026-02-30").unwrap_err().field, "date");
}

#[test]
fn parsed_instants_are_rfc_3339_and_bounded() {
    assert_eq!(
        parse_instant("deadlineFrom", "2027-01-31T17:00:00+01:00"),
        Ok(datetime!(2027-01-31 17:00 +1))
    );
    for bad in [
        "9999-12-31T23:59:59-23:59",
        "2027-01-31",
        "yesterday",
        "",
        "2027-01-31T17:00:00\u{0}+01:00",
    ] {
        assert_eq!(
            parse_instant("deadlineFrom", bad).unwrap_err().field,
            "deadlineFrom",
            "{bad:?}"
        );
    }
}

#[test]
fn adding_days_is_checked() {
    assert_eq!(
        days_after("startsAt", datetime!(2027-01-31 17:00 +1), 14),
        Ok(datetime!(2027-02-14 17:00 +1))
    );
    assert_eq!(
        days_after("startsAt", datetime!(2199-12-31 12:00 UTC), 14)
            .unwrap_err()
            .field,
        "startsAt"
    );
    // The largest value `time` holds: adding overflows, and is refused, not a panic.
    let max = time::PrimitiveDateTime::MAX.assume_offset(UtcOffset::UTC);
    assert_eq!(
        days_after("startsAt", max, 90).unwrap_err().field,
        "startsAt"
    );
}

#[test]
fn the_future_starts_after_today_anywhere_on_earth() {
    let now = datetime!(2026-12-02 12:00 UTC);
    assert!(not_in_future("date", date!(2026 - 12 - 02), now).is_ok());
    // Already 3 December in Kiribati (UTC+14) at 12:00 UTC.
    assert!(not_in_future("date", date!(2026 - 12 - 03), now).is_ok());
    assert_eq!(
        not_in_future("date", date!(2026 - 12 - 04), now)
            .unwrap_err()
            .field,
        "date"
    );
    assert_eq!(
        not_in_future("date", date!(2031 - 01 - 01), now)
            .unwrap_err()
            .field,
        "date"
    );
}

#[test]
fn time_zones_are_names_of_the_iana_database() {
    assert_eq!(
        time_zone("timeZone", "Europe/Vilnius"),
        Ok("Europe/Vilnius".into())
    );
    assert_eq!(time_zone("timeZone", " UTC "), Ok("UTC".into()));
    // Stored as the database spells it, whatever the case given.
    assert_eq!(
        time_zone("timeZone", "europe/vilnius"),
        Ok("Europe/Vilnius".into())
    );
    for bad in [
        "Mars/Olympus",
        "Europe/Dubln",
        "Europe//Vilnius",
        "../etc/passwd",
        "Europe/Vilnius\u{0}",
        "",
        "Europe/./Vilnius",
    ] {
        assert_eq!(
            time_zone("timeZone", bad).unwrap_err().field,
            "timeZone",
            "{bad:?}"
        );
    }
}

#[test]
fn the_earliest_day_is_the_day_in_utc_minus_12() {
    assert_eq!(
        earliest_day(datetime!(2027-01-31 23:30 UTC)),
        date!(2027 - 01 - 31)
    );
    assert_eq!(
        earliest_day(datetime!(2027-02-01 11:30 UTC)),
        date!(2027 - 01 - 31)
    );
    assert_eq!(
        earliest_day(datetime!(2027-02-01 12:00 UTC)),
        date!(2027 - 02 - 01)
    );
    assert_eq!(
        earliest_day(datetime!(2027-02-01 00:30 +2)),
        date!(2027 - 01 - 31)
    );
}

/// Any `OffsetDateTime` `time` can hold: from its components, whatever they are.
fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    (
        -9999i32..=9999,
        1u16..=366,
        0u8..24,
        0u8..60,
        0u8..60,
        -25i8..=25,
        -59i8..=59,
    )
        .prop_filter_map("representable", |(y, d, h, m, s, oh, om)| {
            let date = Date::from_ordinal_date(y, d).ok()?;
            let time = time::Time::from_hms(h, m, s).ok()?;
            let om = if oh < 0 { -om.abs() } else { om.abs() };
            let offset = UtcOffset::from_hms(oh, om, 0).ok()?;
            Some(date.with_time(time).assume_offset(offset))
        })
}

proptest! {
    #[test]
    fn no_instant_panics_and_accepted_ones_fit_a_timestamptz(at in any_instant(), days in 0u16..=u16::MAX) {
        if let Ok(at) = instant("deadline", at) {
            // What sqlx does when it encodes a `timestamptz`: convert to UTC.
            let utc = at.checked_to_offset(UtcOffset::UTC);
            prop_assert!(utc.is_some_and(|u| (FIRST_YEAR..=LAST_YEAR).contains(&u.year())));
        }
        if let Ok(later) = days_after("startsAt", at, days) {
            prop_assert!(instant("startsAt", later).is_ok());
        }
        let _ = earliest_day(at);
        let _ = latest_today(at);
        let _ = not_in_future("date", at.date(), at);
    }

    #[test]
    fn no_text_panics_the_parsers(raw in "\\PC*|[0-9T:+\\-Z.]{0,40}") {
        for result in [
            parse_instant("deadline", &raw).map(|_| ()),
            parse_day("date", &raw).map(|_| ()),
            time_zone("timeZone", &raw).map(|_| ()),
        ] {
            if let Err(e) = result {
                prop_assert!(["deadline", "date", "timeZone"].contains(&e.field));
            }
        }
    }

    #[test]
    fn no_bytes_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let raw = String::from_utf8_lossy(&bytes);
        let _ = parse_instant("deadline", &raw);
        let _ = parse_day("date", &raw);
        let _ = time_zone("timeZone", &raw);
    }

    #[test]
    fn every_accepted_day_is_in_range(y in -9999i32..=9999, d in 1u16..=366) {
        if let Ok(date) = Date::from_ordinal_date(y, d) {
            prop_assert_eq!(day("date", date).is_ok(), (FIRST_YEAR..=LAST_YEAR).contains(&y));
        }
    }
}
