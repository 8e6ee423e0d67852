//! Writes and reads: batches, snapshots, removals, paging across blocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{all_pages, doc};
use ri_domain::instrument::InstrumentStatus;
use ri_search::{Change, Index, IndexConfig, Query, Sort};
use time::Duration;
use time::macros::datetime;

fn catalogue(n: usize, spread: u32) -> Index {
    let index = Index::new(IndexConfig {
        spread,
        ..IndexConfig::default()
    })
    .unwrap();
    let start = datetime!(2027-01-01 0:00 UTC);
    index
        .apply(
            (0..n).map(|i| {
                let mut d = doc(&format!("d{i:03}"), "Call");
                // Every third shares a deadline with the one before: ties go by id.
                d.deadline = Some(start + Duration::days((i - i % 3 / 2) as i64));
                d.updated_at = start - Duration::days((i % 7) as i64);
                Change::Upsert(std::sync::Arc::new(d))
            }),
            Some(7),
        )
        .unwrap();
    index
}

#[test]
fn pages_follow_each_other_across_blocks() {
    for spread in [1, 3] {
        let index = catalogue(40, spread);
        let now = datetime!(2026-12-01 0:00 UTC);
        for sort in [Sort::DeadlineSoonest, Sort::RecentlyUpdated] {
            for first in [1, 2, 7, 40, 100] {
                let q = Query {
                    sort,
                    first,
                    ..Query::default()
                };
                let (ids, total, _, _) = all_pages(&index.snapshot(), &q, now);
                assert_eq!(total, 40);
                let mut want: Vec<String> = (0..40).map(|i| format!("d{i:03}")).collect();
                if sort == Sort::RecentlyUpdated {
                    let start = datetime!(2027-01-01 0:00 UTC);
                    want.sort_by_key(|id| {
                        let i: i64 = id[1..].parse().unwrap();
                        std::cmp::Reverse((start - Duration::days(i % 7), id.clone()))
                    });
                }
                assert_eq!(ids, want, "{sort:?} by {first}, spread {spread}");
            }
        }
    }
}

#[test]
fn a_snapshot_does_not_change_under_its_reader() {
    let index = catalogue(10, 1);
    let now = datetime!(2026-12-01 0:00 UTC);
    let before = index.snapshot();
    index.remove("d003").unwrap();
    let mut closed = doc("d004", "Call");
    closed.status = InstrumentStatus::Closed;
    index.upsert(closed).unwrap();
    let mut draft = doc("d005", "Call");
    draft.status = InstrumentStatus::Draft;
    draft.published_at = None;
    index.upsert(draft).unwrap();
    let q = Query {
        first: 100,
        ..Query::default()
    };
    assert_eq!(before.search(&q, now).unwrap().total, 10);
    assert_eq!(before.position(), Some(7));
    let after = index.search(&q, now).unwrap();
    assert_eq!(after.total, 7);
    let ids: Vec<&str> = after.hits.iter().map(|h| h.doc.id.as_str()).collect();
    assert!(!ids.contains(&"d003") && !ids.contains(&"d004") && !ids.contains(&"d005"));
    // Positions move only when the feeder gives one.
    assert_eq!(index.snapshot().position(), Some(7));
    assert_eq!(index.snapshot().len(), 8);
}

#[test]
fn an_open_call_reads_closed_the_moment_its_deadline_passes() {
    let index = catalogue(3, 1);
    let deadline = datetime!(2027-01-01 0:00 UTC);
    let open = Query {
        first: 10,
        ..Query::default()
    };
    let closed = Query {
        statuses: vec![InstrumentStatus::Closed],
        ..open.clone()
    };
    let before = deadline - Duration::nanoseconds(1);
    assert_eq!(index.search(&open, before).unwrap().total, 3);
    assert_eq!(index.search(&closed, before).unwrap().total, 0);
    let page = index.search(&open, deadline).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(
        page.facets.statuses,
        [(InstrumentStatus::Open, 2), (InstrumentStatus::Closed, 1)]
    );
    assert_eq!(index.search(&closed, deadline).unwrap().total, 1);
}

#[test]
fn a_cursor_of_another_order_is_refused() {
    let index = catalogue(3, 1);
    let now = datetime!(2026-12-01 0:00 UTC);
    let page = index
        .search(
            &Query {
                first: 1,
                ..Query::default()
            },
            now,
        )
        .unwrap();
    let q = Query {
        sort: Sort::RecentlyUpdated,
        after: page.hits.last().map(|h| h.position.clone()),
        ..Query::default()
    };
    match index.search(&q, now) {
        Err(ri_search::SearchError::BadInput { field, .. }) => assert_eq!(field, "after"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn compacting_keeps_every_answer_and_writes_go_on() {
    let index = catalogue(30, 2);
    let now = datetime!(2026-12-01 0:00 UTC);
    let text = Query {
        text: Some("call".to_owned()),
        sort: Sort::Relevance,
        first: 100,
        ..Query::default()
    };
    let before: Vec<String> = index
        .search(&text, now)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.doc.id.clone())
        .collect();
    assert_eq!(before.len(), 30);
    index.compact().unwrap();
    let after: Vec<String> = index
        .search(&text, now)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.doc.id.clone())
        .collect();
    assert_eq!(after, before);
    assert_eq!(index.snapshot().position(), Some(7));
    index.upsert(doc("late", "Late call")).unwrap();
    index.remove("d000").unwrap();
    let page = index.search(&text, now).unwrap();
    assert_eq!(page.total, 30);
    assert!(page.hits.iter().any(|h| h.doc.id == "late"));
    assert!(page.hits.iter().all(|h| h.doc.id != "d000"));
}
