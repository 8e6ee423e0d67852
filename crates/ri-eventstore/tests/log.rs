//! The event log's invariants, against the real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::sync::Arc;

use cqrs_es::AggregateError;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use ri_eventstore::{Checkpoint, StoreError};
use ri_testkit::ledger::{Ledger, LedgerCommand, LedgerError};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use serde_json::{Value, json};
use tokio::sync::Barrier;

async fn count_events(db: &TestDb, aggregate_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
        .bind(aggregate_id)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

fn credited(aggregate_id: &str, sequence: usize, tenant_slug: &str) -> SerializedEvent {
    SerializedEvent::new(
        aggregate_id.into(),
        sequence,
        "Ledger".into(),
        "Credited".into(),
        "2".into(),
        json!({"Credited": {"amount": 5, "currency": "EUR"}}),
        serde_json::to_value(metadata(tenant_slug).to_map()).unwrap(),
    )
}

#[tokio::test]
async fn two_writers_racing_on_one_sequence_one_wins_and_the_other_writes_nothing() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let t = tenant("alpha");
    log.execute::<Ledger>(
        &t,
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();

    let barrier = Arc::new(Barrier::new(2));
    let writers = (0..2)
        .map(|_| {
            let repo = log.for_tenant(t.clone());
            let barrier = barrier.clone();
            tokio::spawn(async move {
                // Both loaded version 1 and both write sequences 2 and 3 in one command.
                let events = [credited("l1", 2, "alpha"), credited("l1", 3, "alpha")];
                barrier.wait().await;
                repo.persist::<Ledger>(&events, None).await
            })
        })
        .collect::<Vec<_>>();
    let mut wins = 0;
    let mut conflicts = 0;
    for w in writers {
        match w.await.unwrap() {
            Ok(()) => wins += 1,
            Err(PersistenceError::OptimisticLockError) => conflicts += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 1));
    let sequences: Vec<i64> = sqlx::query_scalar(
        "SELECT sequence FROM events WHERE aggregate_id = 'l1' ORDER BY position",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert_eq!(sequences, vec![1, 2, 3], "one set of events, contiguous");
}

#[tokio::test]
async fn concurrent_commands_never_interleave_their_events() {
    let db = TestDb::new().await;
    let log = db.log(4);
    let t = tenant("alpha");
    log.execute::<Ledger>(
        &t,
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    let tasks = (0..16)
        .map(|_| {
            let log = log.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let cmd = LedgerCommand::CreditMany {
                    amounts: vec![1, 2, 3],
                };
                log.execute::<Ledger>(&t, "l1", cmd, &metadata("alpha"), ())
                    .await
            })
        })
        .collect::<Vec<_>>();
    let mut wins = 0i64;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(AggregateError::AggregateConflict) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(wins >= 1);
    // Every accepted command stored its three events; no rejected one stored any.
    assert_eq!(count_events(&db, "l1").await, 1 + 3 * wins);
    let by_command: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = 'l1' AND event_type = 'Credited' \
         GROUP BY metadata->>'command_id'",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    assert!(by_command.iter().all(|n| *n == 3), "{by_command:?}");
}

#[tokio::test]
async fn each_event_carries_its_identity_position_transaction_and_metadata() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let meta = metadata("alpha");
    log.execute::<Ledger>(
        &tenant("alpha"),
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &meta,
        (),
    )
    .await
    .unwrap();
    log.execute::<Ledger>(
        &tenant("alpha"),
        "l1",
        LedgerCommand::CreditMany {
            amounts: vec![1, 2],
        },
        &meta,
        (),
    )
    .await
    .unwrap();
    let events = read_at_least(&log, 3).await;
    assert_eq!(events.len(), 3);
    let ids: std::collections::HashSet<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), 3, "event ids are unique");
    assert!(
        events
            .windows(2)
            .all(|w| w[0].checkpoint() < w[1].checkpoint())
    );
    // The two events of one command share their transaction.
    assert_eq!(events[1].tx_id, events[2].tx_id);
    assert_ne!(events[0].tx_id, events[1].tx_id);
    for e in &events {
        assert_eq!(e.tenant, "alpha");
        assert_eq!(e.metadata().unwrap().actor, "tester");
        assert_eq!(e.metadata().unwrap().tenant, tenant("alpha"));
        assert_eq!(e.metadata().unwrap().traceparent, meta.traceparent);
    }
}

#[tokio::test]
async fn an_event_whose_metadata_names_another_tenant_is_refused_and_nothing_is_stored() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let err = log
        .execute::<Ledger>(
            &tenant("alpha"),
            "l1",
            LedgerCommand::Open { owner: "a".into() },
            &metadata("beta"),
            (),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(StoreError::find(&err), Some(StoreError::TenantMismatch { aggregate, metadata })
            if aggregate == "alpha" && metadata == "beta"),
        "{err:?}"
    );
    assert_eq!(count_events(&db, "l1").await, 0);
}

#[tokio::test]
async fn tenants_cannot_see_each_others_aggregates() {
    let db = TestDb::new().await;
    let log = db.log(50);
    log.execute::<Ledger>(
        &tenant("alpha"),
        "shared-id",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    // The same id under another tenant is another aggregate: it is not open there.
    let err = log
        .execute::<Ledger>(
            &tenant("beta"),
            "shared-id",
            LedgerCommand::Credit { amount: 1 },
            &metadata("beta"),
            (),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, AggregateError::UserError(LedgerError::NotOpen)),
        "{err:?}"
    );
    let beta = log.for_tenant(tenant("beta"));
    assert!(
        beta.get_events::<Ledger>("shared-id")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unknown_event_type_is_a_clear_error_on_load_and_on_read() {
    let db = TestDb::new().await;
    let log = db.log(50);
    log.execute::<Ledger>(
        &tenant("alpha"),
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    let meta = serde_json::to_value(metadata("alpha").to_map()).unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) VALUES (gen_random_uuid(), 'alpha', 'Ledger', 'l1', 2, \
         'Exploded', '1', '{}', $1)",
    )
    .bind(&meta)
    .execute(&db.owner)
    .await
    .unwrap();

    let err = log
        .execute::<Ledger>(
            &tenant("alpha"),
            "l1",
            LedgerCommand::Credit { amount: 1 },
            &metadata("alpha"),
            (),
        )
        .await
        .unwrap_err();
    let found = StoreError::find(&err)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(found.contains("unknown event type \"Exploded\""), "{err:?}");

    // Once visible, the reader stops at it with the same error rather than skip it.
    let read = loop {
        match log
            .reader()
            .read_after(log.pool(), Checkpoint::START, 10)
            .await
        {
            Err(e) => break e,
            Ok(events) => {
                assert!(events.len() <= 1, "read past the unknown event: {events:?}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    assert!(read.to_string().contains("Exploded"), "{read}");
}

#[tokio::test]
async fn an_older_event_version_is_upcast_on_load_and_on_read() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let t = tenant("alpha");
    log.execute::<Ledger>(
        &t,
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    let meta = serde_json::to_value(metadata("alpha").to_map()).unwrap();
    // Version 1 of Credited had no currency.
    sqlx::query(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) VALUES (gen_random_uuid(), 'alpha', 'Ledger', 'l1', 2, \
         'Credited', '1', '{\"Credited\": {\"amount\": 7}}', $1)",
    )
    .bind(&meta)
    .execute(&db.owner)
    .await
    .unwrap();

    // Loading applies it: the balance of 7 can be debited, and not one more.
    log.execute::<Ledger>(
        &t,
        "l1",
        LedgerCommand::Debit { amount: 7 },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    let err = log
        .execute::<Ledger>(
            &t,
            "l1",
            LedgerCommand::Debit { amount: 1 },
            &metadata("alpha"),
            (),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        AggregateError::UserError(LedgerError::Insufficient)
    ));

    let events = read_at_least(&log, 2).await;
    assert_eq!(events[1].event_version, "2");
    assert_eq!(
        events[1].payload,
        json!({"Credited": {"amount": 7, "currency": "EUR"}})
    );
}

#[tokio::test]
async fn snapshots_hold_the_true_state_and_loading_from_them_matches_the_events() {
    let db = TestDb::new().await;
    let log = db.log(3);
    let t = tenant("alpha");
    let meta = metadata("alpha");
    let run = |cmd| log.execute::<Ledger>(&t, "l1", cmd, &meta, ());
    run(LedgerCommand::Open { owner: "a".into() })
        .await
        .unwrap();
    for amount in 1..=5 {
        run(LedgerCommand::Credit { amount }).await.unwrap();
    }
    run(LedgerCommand::CreditMany {
        amounts: vec![10, 20, 30, 40],
    })
    .await
    .unwrap();
    // 10 events: snapshots at 3, 6 and 9; the newest is kept.
    let (last_sequence, state): (i64, Value) =
        sqlx::query_as("SELECT last_sequence, payload FROM snapshots WHERE aggregate_id = 'l1'")
            .fetch_one(&db.owner)
            .await
            .unwrap();
    assert_eq!(last_sequence, 9);
    let snapshot: Ledger = serde_json::from_value(state).unwrap();
    let expected = Ledger {
        owner: Some("a".into()),
        balance: 1 + 2 + 3 + 4 + 5 + 10 + 20 + 30,
        entries: 9,
        closed: false,
    };
    assert_eq!(snapshot, expected);

    // Loaded from the snapshot plus event 10: exactly the full balance can be debited.
    let balance = expected.balance + 40;
    run(LedgerCommand::Debit {
        amount: balance + 1,
    })
    .await
    .unwrap_err();
    run(LedgerCommand::Debit { amount: balance }).await.unwrap();
}

#[tokio::test]
async fn the_service_role_can_only_append_to_the_log() {
    let db = TestDb::new().await;
    let log = db.log(50);
    log.execute::<Ledger>(
        &tenant("alpha"),
        "l1",
        LedgerCommand::Open { owner: "a".into() },
        &metadata("alpha"),
        (),
    )
    .await
    .unwrap();
    for sql in ["UPDATE events SET payload = '{}'", "DELETE FROM events"] {
        let err = sqlx::query(sql).execute(&db.app).await.unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
        // Not even the owner may rewrite history.
        let err = sqlx::query(sql).execute(&db.owner).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(count_events(&db, "l1").await, 1);
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_stores_nothing() {
    let db = TestDb::new().await;
    let log = db.log(3);
    let t = tenant("alpha");
    let meta = metadata("alpha");
    let v = log
        .execute_at::<Ledger>(
            &t,
            "l1",
            LedgerCommand::Open { owner: "a".into() },
            &meta,
            (),
            Some(0),
        )
        .await
        .unwrap();
    assert_eq!(v.version, 1);
    let opened = v.committed;
    let v = log
        .execute_at::<Ledger>(
            &t,
            "l1",
            LedgerCommand::CreditMany {
                amounts: vec![1, 2, 3],
            },
            &meta,
            (),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(
        v.version, 4,
        "the new version is returned, across a snapshot"
    );
    // Where each command's last event went, as the tailing reader sees it (one statement
    // without a snapshot, a transaction with one).
    let events = read_at_least(&log, 4).await;
    let at = |sequence| {
        events
            .iter()
            .find(|e| e.aggregate_id == "l1" && e.sequence == sequence)
            .map(|e| e.checkpoint())
    };
    assert_eq!(opened, at(1));
    assert_eq!(v.committed, at(4));
    assert!(opened < v.committed);
    let err = log
        .execute_at::<Ledger>(
            &t,
            "l1",
            LedgerCommand::Credit { amount: 1 },
            &meta,
            (),
            Some(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AggregateError::AggregateConflict), "{err:?}");
    assert_eq!(count_events(&db, "l1").await, 4);
    // Without an expectation the command applies to whatever version is current.
    let v = log
        .execute_at::<Ledger>(
            &t,
            "l1",
            LedgerCommand::Credit { amount: 1 },
            &meta,
            (),
            None,
        )
        .await
        .unwrap();
    assert_eq!(v.version, 5);
}

#[tokio::test]
async fn the_log_as_it_stood_at_a_moment_reads_in_pages_of_the_types_asked_for() {
    let db = TestDb::new().await;
    let log = db.log(50);
    let t = tenant("alpha");
    let run = |id: &'static str, command| {
        let (log, t) = (log.clone(), t.clone());
        async move {
            log.execute::<Ledger>(&t, id, command, &metadata("alpha"), ())
                .await
                .unwrap();
        }
    };
    run("l1", LedgerCommand::Open { owner: "a".into() }).await;
    run("l2", LedgerCommand::Open { owner: "b".into() }).await;
    run("l1", LedgerCommand::Credit { amount: 5 }).await;
    // An aggregate type not asked for (and unknown to the registry: decoding it would fail).
    sqlx::query(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                             event_type, event_version, payload, metadata) \
         VALUES (gen_random_uuid(), 'alpha', 'Other', 'o1', 1, 'Happened', '1', '{}', $1)",
    )
    .bind(serde_json::to_value(metadata("alpha").to_map()).unwrap())
    .execute(&db.owner)
    .await
    .unwrap();
    let moment: time::OffsetDateTime = sqlx::query_scalar("SELECT max(recorded_at) FROM events")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    run("l2", LedgerCommand::Credit { amount: 7 }).await;

    let reader = log.reader();
    let horizon = reader.horizon(log.pool()).await.unwrap();
    let read = async |until| {
        let mut after = Checkpoint::START;
        let mut seen = Vec::new();
        loop {
            let page = reader
                .read_until(log.pool(), &["Ledger"], until, horizon, after, 2)
                .await
                .unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else {
                return seen;
            };
            after = last.checkpoint();
            seen.extend(page.iter().map(|e| (e.aggregate_id.clone(), e.sequence)));
        }
    };
    let then = read(moment).await;
    assert_eq!(
        then,
        [
            ("l1".to_owned(), 1),
            ("l2".to_owned(), 1),
            ("l1".to_owned(), 2)
        ]
    );
    let now = read(time::OffsetDateTime::now_utc()).await;
    assert_eq!(now.len(), 4, "{now:?}");
    assert_eq!(now.last(), Some(&("l2".to_owned(), 2)));
    // Nothing lies below the first transaction id.
    let earlier = reader
        .read_until(
            log.pool(),
            &["Ledger"],
            time::OffsetDateTime::now_utc(),
            0,
            Checkpoint::START,
            10,
        )
        .await
        .unwrap();
    assert!(earlier.is_empty());
}
