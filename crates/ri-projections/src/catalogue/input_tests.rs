//! Crafted input to the catalogue's readers: cursors and search filters, arbitrary, never
//! panic and are either accepted or refused as bad input naming the argument.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::OffsetDateTime;

use super::super::read::{InstrumentFilter, InstrumentSort, ReadError};
use super::super::search::Search;
use super::Cursor;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad_input(result: Result<impl std::fmt::Debug, ReadError>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) | Err(ReadError::BadInput { .. }) => Ok(()),
        Err(other) => Err(TestCaseError::fail(format!("not bad input: {other:?}"))),
    }
}

/// Cursors as JSON of every shape, with any instant and any id.
fn crafted_json() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("d"), Just("u"), Just("r"), Just("a"), Just("x")],
        -999_999i32..=999_999,
        any::<String>(),
        any::<i64>(),
    )
        .prop_map(|(s, year, id, n)| {
            let k = format!("{year:04}-12-31T23:59:59-23:59");
            serde_json::json!({"s": s, "k": k, "id": id, "p": n}).to_string()
        })
}

proptest! {
    #[test]
    fn any_text_as_a_cursor_is_refused_or_accepted_never_a_panic(raw in "\\PC{0,80}|[0-9a-f]{0,200}") {
        bad_input(Cursor::decode(&raw))?;
    }

    #[test]
    fn any_bytes_as_a_cursor_are_refused_or_accepted(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        bad_input(Cursor::decode(&hex(&bytes)))?;
    }

    #[test]
    fn a_crafted_cursor_never_carries_what_sqlx_or_postgresql_cannot_take(json in crafted_json()) {
        match Cursor::decode(&hex(json.as_bytes())) {
            Err(ReadError::BadInput { field, .. }) => prop_assert_eq!(field, "after"),
            Err(other) => prop_assert!(false, "{other:?}"),
            Ok(Cursor::Deadline { k, id }) => {
                prop_assert!(k.is_none_or(|k| ri_domain::when::instant("k", k).is_ok()));
                prop_assert!(!id.contains('\0'));
            }
            Ok(Cursor::Updated { k, id }) => {
                prop_assert!(ri_domain::when::instant("k", k).is_ok());
                prop_assert!(!id.contains('\0'));
            }
            Ok(Cursor::Relevance { id, .. }) => prop_assert!(!id.contains('\0')),
            Ok(Cursor::Audit { .. }) => {}
        }
    }

    #[test]
    fn any_search_filter_is_checked_never_a_panic(
        text in proptest::option::of("\\PC{0,40}|[\\x00-\\x20a-z]{0,20}"),
        from in proptest::option::of(any::<i64>()),
        to in proptest::option::of(-100_000_000_000i64..100_000_000_000),
        sort in 0u8..3,
    ) {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).ok();
        let filter = InstrumentFilter {
            text: text.clone(),
            deadline_from: from.and_then(at),
            deadline_to: to.and_then(at),
            ..InstrumentFilter::default()
        };
        let sort = match sort {
            0 => InstrumentSort::DeadlineSoonest,
            1 => InstrumentSort::RecentlyUpdated,
            _ => InstrumentSort::Relevance,
        };
        match Search::new(&filter, sort) {
            Ok(_) => prop_assert!(!text.unwrap_or_default().contains('\0')),
            Err(ReadError::BadInput { field, .. }) => {
                prop_assert!(["text", "deadlineFrom", "deadlineTo"].contains(&field));
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }
}

#[test]
fn the_poison_of_issue_11_is_bad_input() {
    let poison = time::macros::datetime!(9999-12-31 23:59:59 -23:59);
    let filter = InstrumentFilter {
        deadline_from: Some(poison),
        ..InstrumentFilter::default()
    };
    match Search::new(&filter, InstrumentSort::DeadlineSoonest) {
        Err(ReadError::BadInput { field, .. }) => assert_eq!(field, "deadlineFrom"),
        other => panic!("{other:?}"),
    }
    let filter = InstrumentFilter {
        text: Some("border\0control".into()),
        ..InstrumentFilter::default()
    };
    match Search::new(&filter, InstrumentSort::Relevance) {
        Err(ReadError::BadInput { field, .. }) => assert_eq!(field, "text"),
        other => panic!("{other:?}"),
    }
}
