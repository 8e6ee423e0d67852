//! The pure parts of historical searches: the fold, the documents of what was public, the
//! kept indexes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;

fn event(
    position: i64,
    tenant: &str,
    aggregate_type: &str,
    id: &str,
    sequence: i64,
    payload: Value,
) -> StoredEvent {
    let event_type = payload
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .or_else(|| payload.as_str().map(str::to_owned))
        .unwrap();
    StoredEvent {
        position,
        tx_id: 1,
        event_id: uuid::Uuid::new_v4(),
        tenant: tenant.to_owned(),
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: id.to_owned(),
        sequence,
        event_type,
        event_version: "1".to_owned(),
        payload,
        metadata: json!({}),
        recorded_at: datetime!(2026-01-01 12:00 UTC) + time::Duration::seconds(position),
    }
}

fn registered(position: i64, slug: &str, name: &str) -> StoredEvent {
    event(
        position,
        slug,
        TENANT,
        slug,
        1,
        json!({"TenantRegistered": {"slug": slug, "profile": {
            "name": name, "kind": "AMBASSADOR_CLUSTER", "country": "LT", "website": null,
            "domains": [], "member_count": null}}}),
    )
}

fn drafted(position: i64, tenant: &str, id: &str, title: &str) -> StoredEvent {
    event(
        position,
        tenant,
        INSTRUMENT,
        id,
        1,
        json!({"InstrumentDrafted": {"tenant": tenant, "details": {
            "title": title, "kind": "CALL", "cover_level": "NATIONAL", "countries": ["LT"],
            "programme": null, "link": null, "summary": "About drones.",
            "target_organisations": [], "funding": null, "periodicity": null, "languages": []}}}),
    )
}

fn published(position: i64, tenant: &str, id: &str, sequence: i64) -> StoredEvent {
    event(
        position,
        tenant,
        INSTRUMENT,
        id,
        sequence,
        json!("InstrumentPublished"),
    )
}

fn public(past: Past) -> Vec<InstrumentDoc> {
    let mut unreadable = 0;
    let mut docs: Vec<_> = past.into_public(&mut unreadable).collect();
    assert_eq!(unreadable, 0);
    docs.sort_by(|a, b| a.id.cmp(&b.id));
    docs
}

#[test]
fn only_what_was_published_is_searched_with_its_curator_as_it_was() {
    let mut past = Past::default();
    past.fold(&[
        registered(1, "l3ce", "L3CE"),
        drafted(2, "l3ce", "a", "Drones"),
        drafted(3, "l3ce", "b", "Still a draft"),
    ]);
    past.fold(&[published(4, "l3ce", "a", 2)]);
    assert_eq!(past.instruments(), 2);
    let docs = public(past);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].id, "a");
    assert_eq!(docs[0].tenant_name.as_deref(), Some("L3CE"));
    assert!(!docs[0].tenant_suspended);
    assert_eq!(docs[0].version, 2);
    assert_eq!(
        docs[0].published_at,
        Some(datetime!(2026-01-01 12:00:04 UTC))
    );
}

#[test]
fn a_suspension_and_a_rename_show_on_the_curators_instruments() {
    let mut past = Past::default();
    past.fold(&[
        registered(1, "l3ce", "L3CE"),
        drafted(2, "l3ce", "a", "Drones"),
        published(3, "l3ce", "a", 2),
        event(
            4,
            "l3ce",
            TENANT,
            "l3ce",
            2,
            json!({"TenantProfileUpdated": {"name": {"old": "L3CE", "new": "Renamed"},
                "kind": null, "country": null, "website": null, "domains": null,
                "member_count": null}}),
        ),
        event(
            5,
            "l3ce",
            TENANT,
            "l3ce",
            3,
            json!({"TenantSuspended": {"reason": "Audit."}}),
        ),
    ]);
    assert_eq!(past.skipped, 0);
    let docs = public(past);
    assert_eq!(docs[0].tenant_name.as_deref(), Some("Renamed"));
    assert!(docs[0].tenant_suspended);
}

#[test]
fn what_the_catalogue_skips_is_skipped_and_an_id_stays_its_first_tenants() {
    let mut past = Past::default();
    past.fold(&[
        drafted(1, "l3ce", "a", "Drones"),
        // Another tenant's events on the same id: the first tenant keeps it.
        drafted(2, "safe", "a", "Taken"),
        published(3, "safe", "a", 2),
        // A payload that does not decode: skipped, the row unchanged.
        event(
            4,
            "l3ce",
            INSTRUMENT,
            "a",
            2,
            json!({"InstrumentRevised": {"changes": 7}}),
        ),
        // Events of an instrument never drafted, and of other aggregates: nothing.
        published(5, "l3ce", "ghost", 2),
        event(6, "l3ce", "Watch", "w", 1, json!({"WatchDeleted": {}})),
    ]);
    assert_eq!(past.skipped, 1);
    assert_eq!(past.instruments(), 1);
    // Never published by its own tenant: nothing public, and no curator known (no tenant
    // events), which the document shows as no name.
    assert!(public(past).is_empty());
}

#[test]
fn a_moment_is_kept_to_the_microsecond() {
    let at = datetime!(2026-05-01 10:00:00.123_456_789 UTC);
    assert_eq!(
        micros(at),
        micros(datetime!(2026-05-01 10:00:00.123_456 UTC))
    );
    assert_eq!(truncated(at), datetime!(2026-05-01 10:00:00.123_456 UTC));
    let before = datetime!(1969-12-31 23:59:59.999_999_5 UTC);
    assert_eq!(micros(before), -1);
    assert_eq!(
        truncated(before),
        datetime!(1969-12-31 23:59:59.999_999 UTC)
    );
}

fn empty_index() -> Arc<Index> {
    Arc::new(Index::new(IndexConfig::default()).unwrap())
}

#[test]
fn the_last_indexes_are_kept_and_an_unsettled_one_only_while_its_moment_is_whole() {
    let history = History::new(HistoryConfig {
        cache_entries: 2,
        ..HistoryConfig::default()
    });
    let (one, two, three) = (empty_index(), empty_index(), empty_index());
    history.keep(Kept {
        key: 1,
        horizon: None,
        index: Arc::clone(&one),
    });
    history.keep(Kept {
        key: 2,
        horizon: Some(50),
        index: Arc::clone(&two),
    });
    assert_eq!(history.kept_below(1), Some(None));
    assert_eq!(history.kept_below(2), Some(Some(50)));
    // Used: 1 becomes the most recent, so 2 goes first.
    assert!(Arc::ptr_eq(&history.take_kept(1, true).unwrap(), &one));
    history.keep(Kept {
        key: 3,
        horizon: None,
        index: Arc::clone(&three),
    });
    assert_eq!(history.kept_below(2), None);
    assert!(history.take_kept(1, true).is_some());
    assert!(history.take_kept(3, false).is_some());

    // An unsettled index while the log has not gained events of its moment, then not.
    history.keep(Kept {
        key: 4,
        horizon: Some(50),
        index: empty_index(),
    });
    assert!(history.take_kept(4, true).is_some());
    assert!(history.take_kept(4, false).is_none());
    assert_eq!(history.kept_below(4), None);

    let none = History::new(HistoryConfig {
        cache_entries: 0,
        ..HistoryConfig::default()
    });
    none.keep(Kept {
        key: 1,
        horizon: None,
        index: one,
    });
    assert_eq!(none.kept_below(1), None);
}

#[test]
fn a_build_stops_past_its_deadline_or_once_abandoned() {
    let stop = Stop {
        deadline: Instant::now() + Duration::from_secs(60),
        limit: Duration::from_secs(60),
        abandoned: Arc::new(AtomicBool::new(false)),
    };
    assert!(stop.check().is_ok());
    drop(AbandonOnDrop(Arc::clone(&stop.abandoned)));
    assert!(matches!(stop.check(), Err(HistoryError::Abandoned)));
    let late = Stop {
        deadline: Instant::now(),
        limit: Duration::from_millis(5),
        abandoned: Arc::new(AtomicBool::new(false)),
    };
    assert!(matches!(late.check(), Err(HistoryError::TimedOut { .. })));
}

#[test]
fn an_open_call_past_its_deadline_then_reads_closed_in_the_index_of_then() {
    let mut past = Past::default();
    past.fold(&[
        registered(1, "l3ce", "L3CE"),
        drafted(2, "l3ce", "a", "Drones"),
        event(
            3,
            "l3ce",
            INSTRUMENT,
            "a",
            2,
            json!({"InstrumentScheduleSet": {
                "old": {"opening_date": null, "deadline": null, "time_zone": null},
                "new": {"opening_date": null, "deadline": "2026-02-01T12:00:00Z", "time_zone": null}}}),
        ),
        published(4, "l3ce", "a", 3),
    ]);
    let stop = Stop {
        deadline: Instant::now() + Duration::from_secs(60),
        limit: Duration::from_secs(60),
        abandoned: Arc::new(AtomicBool::new(false)),
    };
    let mut unreadable = 0;
    let index = index_of(past.into_public(&mut unreadable), &stop).unwrap();
    let open = ri_search::Query {
        statuses: vec![InstrumentStatus::Open],
        ..ri_search::Query::default()
    };
    let before: OffsetDateTime = datetime!(2026-01-31 12:00 UTC);
    let after: OffsetDateTime = datetime!(2026-02-02 12:00 UTC);
    assert_eq!(index.search(&open, before).unwrap().total, 1);
    assert_eq!(index.search(&open, after).unwrap().total, 0);
}
