//! Helpers shared by the relay's integration tests: the NATS connection, a relay configuration
//! of a test's own, the stream's messages, and the exactly-once, in-order check.
//!
//! Each test binary uses only some of them.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use ri_eventstore::{Checkpoint, EventLog, StoredEvent};
use ri_relay::RelayConfig;
use ri_testkit::ledger::{Ledger, LedgerCommand};
use ri_testkit::{metadata, tenant};
use time::format_description::well_known::Rfc3339;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen soon.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) fn nats_url() -> String {
    std::env::var("RI_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".to_owned())
}

pub(crate) async fn nats() -> async_nats::Client {
    async_nats::connect(nats_url())
        .await
        .expect("connect to NATS (is nats-server -js running?)")
}

/// A stream and subject prefix no other test uses; small batches so that several are needed.
pub(crate) fn config() -> RelayConfig {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    RelayConfig {
        stream: format!("RI_TEST_{}", tag.to_uppercase()),
        subject_prefix: format!("ritest.{tag}"),
        batch_size: 7,
        ack_timeout: Duration::from_secs(5),
        idle_poll: Duration::from_millis(20),
        takeover_poll: Duration::from_millis(50),
        ..RelayConfig::default()
    }
}

#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) subject: String,
    pub(crate) headers: HashMap<String, String>,
    pub(crate) payload: serde_json::Value,
}

/// Every message of the stream, in stream order.
pub(crate) async fn stream_messages(js: &jetstream::Context, stream: &str) -> Vec<Received> {
    let mut stream = js.get_stream(stream).await.unwrap();
    let info = stream.info().await.unwrap();
    let (first, last) = (info.state.first_sequence, info.state.last_sequence);
    let mut out = Vec::new();
    if info.state.messages == 0 {
        return out;
    }
    for seq in first..=last {
        let m = stream.get_raw_message(seq).await.unwrap();
        let headers = m
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.first().unwrap().to_string()))
            .collect();
        out.push(Received {
            subject: m.subject.to_string(),
            headers,
            payload: serde_json::from_slice(&m.payload).unwrap(),
        });
    }
    out
}

/// How many messages the stream holds (0 while it cannot be asked).
pub(crate) async fn stream_len(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

pub(crate) async fn wait_for_messages(js: &jetstream::Context, stream: &str, n: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let have = stream_len(js, stream).await;
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} messages never arrived in {stream} (have {have} after {PATIENCE:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `reader`'s checkpoint stands at `to` (the relay has published everything up to
/// it and recorded so).
pub(crate) async fn wait_for_checkpoint(log: &EventLog, reader: &str, to: Checkpoint) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let at = Checkpoint::load(log.pool(), reader).await.unwrap();
        if at == to {
            return;
        }
        assert!(
            at < to,
            "checkpoint {at:?} went past the log's last event {to:?}"
        );
        assert!(
            Instant::now() < deadline,
            "the relay's checkpoint stayed at {at:?}, never reached {to:?} within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each event exactly once, in log order per aggregate, with its headers and payload.
pub(crate) fn assert_exactly_once(received: &[Received], events: &[StoredEvent], prefix: &str) {
    assert_eq!(received.len(), events.len(), "one message per event");
    let by_id: HashMap<String, &StoredEvent> =
        events.iter().map(|e| (e.event_id.to_string(), e)).collect();
    let mut seen = HashSet::new();
    let mut last_sequence: HashMap<(String, String), i64> = HashMap::new();
    for m in received {
        let id = &m.headers["Nats-Msg-Id"];
        assert!(seen.insert(id.clone()), "event {id} published twice");
        let e = by_id.get(id).expect("a message for an event of the log");
        assert_eq!(
            m.subject,
            format!(
                "{prefix}.{}.{}.{}",
                e.tenant,
                e.aggregate_type.to_lowercase(),
                e.event_type.to_lowercase()
            )
        );
        let h = |k: &str| m.headers.get(k).map(String::as_str);
        assert_eq!(h("ce-specversion"), Some("1.0"));
        assert_eq!(h("ce-id"), Some(id.as_str()));
        assert_eq!(
            h("ce-source").unwrap(),
            format!(
                "/regional-invest/{}/{}/{}",
                e.tenant, e.aggregate_type, e.aggregate_id
            )
        );
        assert_eq!(
            h("ce-type").unwrap(),
            format!(
                "eu.regional-invest.ledger.{}.v{}",
                e.event_type.to_lowercase(),
                e.event_version
            )
        );
        assert_eq!(
            h("ce-time").unwrap(),
            e.recorded_at.format(&Rfc3339).unwrap()
        );
        assert_eq!(h("ce-subject"), Some(e.aggregate_id.as_str()));
        assert_eq!(h("ce-sequence").unwrap(), e.sequence.to_string());
        assert_eq!(h("content-type"), Some("application/json"));
        assert_eq!(
            h("traceparent"),
            e.metadata.get("traceparent").and_then(|v| v.as_str())
        );
        assert!(h("traceparent").is_some());
        assert_eq!(m.payload, e.payload);
        let key = (e.tenant.clone(), e.aggregate_id.clone());
        let previous = last_sequence.insert(key, e.sequence).unwrap_or(0);
        assert_eq!(
            e.sequence,
            previous + 1,
            "log order per aggregate ({}/{})",
            e.tenant,
            e.aggregate_id
        );
    }
}

/// Tasks appending to ledgers of their own (writer `i` owns ledger `w<i>` of tenant "alpha" or
/// "beta"): an Open, then one Credit after another, `pace` apart, until stopped.
#[derive(Debug)]
pub(crate) struct Writers {
    written: Arc<AtomicU64>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<Result<u64, String>>>,
}

impl Writers {
    pub(crate) fn start(log: &EventLog, writers: usize, pace: Duration) -> Self {
        let written = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let tasks = (0..writers)
            .map(|i| {
                let (log, written, stop) = (log.clone(), written.clone(), stop.clone());
                tokio::spawn(async move {
                    let t = if i % 2 == 0 { "alpha" } else { "beta" };
                    let ledger = format!("w{i}");
                    let mut n = 0u64;
                    while !stop.is_cancelled() {
                        let command = if n == 0 {
                            LedgerCommand::Open {
                                owner: "ann".to_owned(),
                            }
                        } else {
                            LedgerCommand::Credit { amount: 1 }
                        };
                        log.execute::<Ledger>(&tenant(t), &ledger, command, &metadata(t), ())
                            .await
                            .map_err(|e| format!("write {n} to {t}/{ledger} failed: {e}"))?;
                        n += 1;
                        written.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(pace).await;
                    }
                    Ok(n)
                })
            })
            .collect();
        Self {
            written,
            stop,
            tasks,
        }
    }

    /// Events written so far (each write is one event).
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` events have been written in all.
    pub(crate) async fn wait_written(&self, n: u64) {
        let deadline = Instant::now() + PATIENCE;
        while self.written() < n {
            assert!(
                !self.tasks.iter().any(JoinHandle::is_finished),
                "a writer stopped early (a write failed?)"
            );
            assert!(
                Instant::now() < deadline,
                "only {} of {n} events written within {PATIENCE:?}",
                self.written()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the writers; panics if any write failed. Returns how many events they wrote.
    pub(crate) async fn stop(self) -> u64 {
        self.stop.cancel();
        let mut total = 0;
        for task in self.tasks {
            match task.await.expect("writer task") {
                Ok(n) => total += n,
                Err(e) => panic!("a write failed: {e}"),
            }
        }
        total
    }
}
