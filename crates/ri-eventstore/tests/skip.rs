//! The skip test: a transaction that takes a lower position but commits later must not be
//! skipped by a reader that polls in between.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use ri_eventstore::Checkpoint;
use ri_testkit::{TestDb, metadata, read_at_least};
use sqlx::{Acquire, PgConnection};

async fn insert(conn: &mut PgConnection, aggregate_id: &str) -> i64 {
    let meta = serde_json::to_value(metadata("alpha").to_map()).unwrap();
    sqlx::query_scalar(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) VALUES (gen_random_uuid(), 'alpha', 'Ledger', $1, 1, \
         'Opened', '1', '{\"Opened\": {\"owner\": \"x\"}}', $2) RETURNING position",
    )
    .bind(aggregate_id)
    .bind(&meta)
    .fetch_one(conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_late_committing_lower_position_is_never_skipped() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let reader = log.reader();

    let mut conn_a = db.app.acquire().await.unwrap();
    let mut conn_b = db.app.acquire().await.unwrap();
    let mut tx_a = conn_a.begin().await.unwrap();
    let pos_a = insert(&mut tx_a, "a").await;
    let mut tx_b = conn_b.begin().await.unwrap();
    let pos_b = insert(&mut tx_b, "b").await;
    tx_b.commit().await.unwrap();
    assert!(pos_a < pos_b);

    // A reader by position alone would now see B and move past A's position for good.
    let visible: Vec<i64> = sqlx::query_scalar("SELECT position FROM events ORDER BY position")
        .fetch_all(&db.app)
        .await
        .unwrap();
    assert_eq!(visible, vec![pos_b]);

    // The tailing reader does not advance past A's event while A is open.
    let polled = reader
        .read_after(&db.app, Checkpoint::START, 100)
        .await
        .unwrap();
    assert!(polled.is_empty(), "read {polled:?} while A was open");

    tx_a.commit().await.unwrap();
    let polled = read_at_least(&log, 2).await;
    let positions: Vec<i64> = polled.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![pos_a, pos_b], "both, in order");

    // And exactly once: after the last one, nothing more.
    let after = polled.last().unwrap().checkpoint();
    assert!(
        reader
            .read_after(&db.app, after, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_transaction_that_started_first_but_wrote_last_comes_first_and_nothing_is_lost() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let reader = log.reader();
    let mut conn_a = db.app.acquire().await.unwrap();
    let mut tx_a = conn_a.begin().await.unwrap();
    // A gets its transaction id first, then B writes and commits, then A writes.
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *tx_a)
        .await
        .unwrap();
    let mut conn_b = db.app.acquire().await.unwrap();
    let pos_b = insert(&mut conn_b, "b").await;
    let pos_a = insert(&mut tx_a, "a").await;
    assert!(pos_b < pos_a);
    assert!(
        reader
            .read_after(&db.app, Checkpoint::START, 100)
            .await
            .unwrap()
            .is_empty()
    );
    tx_a.commit().await.unwrap();
    let got: Vec<i64> = read_at_least(&log, 2)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(got, vec![pos_a, pos_b], "log order is transaction order");
}

#[tokio::test]
async fn transaction_ids_are_read_in_numeric_order_across_a_power_of_ten() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let meta = serde_json::to_value(metadata("alpha").to_map()).unwrap();
    // Two long-finished transactions, 9 and 10: as text, "10" sorts before "9".
    sqlx::query(
        "INSERT INTO events (tx_id, event_id, tenant, aggregate_type, aggregate_id, sequence, \
         event_type, event_version, payload, metadata) VALUES \
         ('10', gen_random_uuid(), 'alpha', 'Ledger', 'b', 1, 'Opened', '1', '{\"Opened\": {\"owner\": \"x\"}}', $1), \
         ('9', gen_random_uuid(), 'alpha', 'Ledger', 'a', 1, 'Opened', '1', '{\"Opened\": {\"owner\": \"x\"}}', $1)",
    )
    .bind(&meta)
    .execute(&db.owner)
    .await
    .unwrap();
    let reader = log.reader();
    let first = reader
        .read_after(&db.app, Checkpoint::START, 1)
        .await
        .unwrap();
    assert_eq!((first[0].tx_id, first[0].aggregate_id.as_str()), (9, "a"));
    let second = reader
        .read_after(&db.app, first[0].checkpoint(), 1)
        .await
        .unwrap();
    assert_eq!(
        (second[0].tx_id, second[0].aggregate_id.as_str()),
        (10, "b")
    );
}
