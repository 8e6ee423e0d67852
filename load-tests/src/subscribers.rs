//! The subscribers: WebSocket clients (`graphql-transport-ws`) that hold `notifications` and
//! `instrumentEvents` subscriptions (and some a cluster's `clusterActivity`) for the whole
//! attack, counting what they receive and how late: receipt minus the message's
//! `recordedAt` (events) or `createdAt` (notifications), on the same machine's clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::manifest::Manifest;
use crate::ops;

/// What one kind of subscription received.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Received {
    pub(crate) messages: u64,
    /// Milliseconds from the recorded time to receipt, sorted at the end.
    #[serde(skip)]
    pub(crate) latencies_ms: Vec<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub(crate) max_ms: Option<f64>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) sockets: usize,
    pub(crate) connected: usize,
    pub(crate) by_subscription: BTreeMap<String, Received>,
    /// Sockets that failed, subscriptions the server ended, malformed messages.
    pub(crate) errors: Vec<String>,
}

impl Report {
    fn finish(&mut self) {
        for received in self.by_subscription.values_mut() {
            received.latencies_ms.sort_by(f64::total_cmp);
            let at = |q: f64| {
                let n = received.latencies_ms.len();
                if n == 0 {
                    return None;
                }
                let index = ((n as f64 - 1.0) * q).round() as usize;
                received.latencies_ms.get(index.min(n - 1)).copied()
            };
            received.p50_ms = at(0.5);
            received.p99_ms = at(0.99);
            received.max_ms = received.latencies_ms.last().copied();
        }
    }

    /// A Markdown section for the end of goose's report.
    pub(crate) fn markdown(&self) -> String {
        let mut out = format!(
            "\n## Subscribers (WebSocket)\n\n{} sockets opened, {} connected.\n\n\
             | Subscription | Messages | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n",
            self.sockets, self.connected
        );
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        for (name, r) in &self.by_subscription {
            out.push_str(&format!(
                "| {name} | {} | {} | {} | {} |\n",
                r.messages,
                ms(r.p50_ms),
                ms(r.p99_ms),
                ms(r.max_ms)
            ));
        }
        out.push_str(&format!("\nErrors: {}\n", self.errors.len()));
        for error in self.errors.iter().take(20) {
            out.push_str(&format!("- {error}\n"));
        }
        out
    }
}

type Shared = Arc<Mutex<Report>>;

fn record(report: &Shared, f: impl FnOnce(&mut Report)) {
    let mut guard = report.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard);
}

/// Starts `count` subscribers against `ws_url`; they run until `stop` turns true, then the
/// returned handle yields the report.
pub(crate) fn start(
    ws_url: String,
    manifest: &Manifest,
    count: usize,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Report> {
    let report: Shared = Arc::new(Mutex::new(Report::default()));
    let mut tasks = Vec::new();
    let tenants = &manifest.tenants;
    for i in 0..count {
        let Some(tenant) = tenants.get(i % tenants.len().max(1)) else {
            break;
        };
        // One socket holding both subscriptions of a tenant's watcher.
        let subscriptions = vec![
            ("notifications", ops::NOTIFICATIONS.to_owned(), json!({})),
            (
                "instrumentEvents",
                ops::INSTRUMENT_EVENTS.to_owned(),
                json!({}),
            ),
        ];
        tasks.push(tokio::spawn(socket(
            ws_url.clone(),
            tenant.watcher.token.clone(),
            subscriptions,
            Arc::clone(&report),
            stop.clone(),
        )));
        // Every third subscriber is also a follow-up manager watching a cluster.
        if i % 3 == 0
            && let Some(cluster) = manifest
                .clusters
                .iter()
                .filter(|c| c.tenant == tenant.slug)
                .nth(i / tenants.len().max(1))
        {
            tasks.push(tokio::spawn(socket(
                ws_url.clone(),
                tenant.follow_up_manager.token.clone(),
                vec![(
                    "clusterActivity",
                    ops::ClusterActivity.to_owned(),
                    json!({"clusterId": cluster.id}),
                )],
                Arc::clone(&report),
                stop.clone(),
            )));
        }
    }
    tokio::spawn(async move {
        for task in tasks {
            if let Err(e) = task.await {
                record(&report, |r| {
                    r.errors.push(format!("a subscriber task failed: {e}"))
                });
            }
        }
        let mut done = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
        done.finish();
        done
    })
}

/// The recorded time of a subscription message's payload (`data.<field>`).
fn recorded_at(payload: &Value) -> Option<OffsetDateTime> {
    let data = payload["data"].as_object()?;
    let (_, message) = data.iter().next()?;
    let at = message["recordedAt"]
        .as_str()
        .or_else(|| message["createdAt"].as_str())?;
    OffsetDateTime::parse(at, &Rfc3339).ok()
}

async fn socket(
    url: String,
    token: String,
    subscriptions: Vec<(&'static str, String, Value)>,
    report: Shared,
    mut stop: watch::Receiver<bool>,
) {
    record(&report, |r| r.sockets = r.sockets.saturating_add(1));
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => return record(&report, |r| r.errors.push(format!("bad URL {url}: {e}"))),
    };
    if let Ok(protocol) = "graphql-transport-ws".parse() {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol);
    }
    let mut ws = match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            return record(&report, |r| {
                r.errors.push(format!("could not connect: {e}"))
            });
        }
    };
    let init =
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    if let Err(e) = ws.send(Message::Text(init.to_string().into())).await {
        return record(&report, |r| r.errors.push(format!("connection_init: {e}")));
    }
    let mut acknowledged = false;
    let ack_deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let next = tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(ack_deadline), if !acknowledged => {
                record(&report, |r| r.errors.push("no connection_ack within 30 s".to_owned()));
                return;
            }
            next = ws.next() => next,
        };
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                record(&report, |r| {
                    r.errors
                        .push(format!("the server closed a socket: {frame:?}"))
                });
                return;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return record(&report, |r| r.errors.push(format!("socket failed: {e}")));
            }
            None => return record(&report, |r| r.errors.push("socket ended".to_owned())),
        };
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            record(&report, |r| r.errors.push(format!("not JSON: {text}")));
            continue;
        };
        match message["type"].as_str() {
            Some("connection_ack") if !acknowledged => {
                acknowledged = true;
                record(&report, |r| r.connected = r.connected.saturating_add(1));
                for (name, query, variables) in &subscriptions {
                    let subscribe = json!({"id": name, "type": "subscribe",
                        "payload": {"query": query, "variables": variables}});
                    if let Err(e) = ws.send(Message::Text(subscribe.to_string().into())).await {
                        return record(&report, |r| {
                            r.errors.push(format!("subscribe {name}: {e}"))
                        });
                    }
                }
            }
            Some("ping") => {
                let _ = ws
                    .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                    .await;
            }
            Some("next") => {
                let name = message["id"].as_str().unwrap_or("?").to_owned();
                let payload = &message["payload"];
                if payload.get("errors").is_some() {
                    record(&report, |r| r.errors.push(format!("{name}: {payload}")));
                    continue;
                }
                let late = recorded_at(payload)
                    .map(|at| (OffsetDateTime::now_utc() - at).as_seconds_f64() * 1000.0);
                record(&report, |r| {
                    let received = r.by_subscription.entry(name).or_default();
                    received.messages = received.messages.saturating_add(1);
                    if let Some(late) = late {
                        received.latencies_ms.push(late);
                    }
                });
            }
            Some("error" | "complete") => {
                record(&report, |r| {
                    r.errors.push(format!("subscription ended: {message}"))
                });
            }
            _ => {}
        }
    }
    let _ = ws.close(None).await;
}
