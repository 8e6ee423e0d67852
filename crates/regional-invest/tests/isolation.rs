//! Two deployments on one NATS server (issue 15): each has its own streams and subjects, named
//! after its deployment name, so a subscription on one never receives the other's events or
//! notifications, while its own arrive, even with the same tenants and users in both.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{GraphqlSocket, TestApp, WS_WAIT, call, operation, until_live};
use ri_domain::Role;
use serde_json::json;

const EVENTS: &str = "subscription Events($filter: InstrumentEventFilter) {
  instrumentEvents(filter: $filter) { eventId instrumentId type }
}";
const NOTIFICATIONS: &str = "subscription { notifications { kind instrumentId title } }";

/// One deployment with the same tenants, users and watch as the other, and a socket for each
/// subscription (a socket's `next` skips other subscriptions' messages).
struct Side {
    app: TestApp,
    curator: String,
    events: GraphqlSocket,
    notifications: GraphqlSocket,
}

impl Side {
    async fn start() -> Self {
        let app = TestApp::start().await;
        app.tenant("l3ce", "LT").await;
        app.tenant("cluj-it", "RO").await;
        let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
        let seeker = app.token("sme-1", "cluj-it", &[]).await;
        app.ok(
            Some(&seeker),
            &operation("CreateWatch"),
            json!({"input": {"name": "Border", "filter": {"features": ["T1"]}}}),
        )
        .await;
        let mut events = GraphqlSocket::signed_in(&app, &curator).await;
        events
            .subscribe("e", EVENTS, json!({"filter": {"tenant": "l3ce"}}))
            .await;
        let mut notifications = GraphqlSocket::signed_in(&app, &seeker).await;
        notifications.subscribe("n", NOTIFICATIONS, json!({})).await;
        Self {
            app,
            curator,
            events,
            notifications,
        }
    }

    /// Waits until both subscriptions deliver something of this deployment, publishing calls
    /// until they do (core NATS delivers only what is published after the server subscribed).
    async fn live(&mut self, name: &str) {
        let Side {
            app,
            curator,
            events,
            notifications,
        } = self;
        let mut n = 0;
        until_live(events, "e", async || {
            n += 1;
            publish(app, curator, &format!("{name} probe {n}")).await;
        })
        .await;
        until_live(notifications, "n", async || {
            n += 1;
            publish(app, curator, &format!("{name} probe {n}")).await;
        })
        .await;
    }

    /// What the events subscription delivers up to the publication of `instrument`: the
    /// instrument ids it named.
    async fn events_until_published(&mut self, instrument: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        loop {
            let payload = self
                .events
                .next("e", WS_WAIT)
                .await
                .unwrap_or_else(|| panic!("no InstrumentPublished of {instrument}"));
            let event = &payload["data"]["instrumentEvents"];
            assert!(event.is_object(), "{payload}");
            let id = event["instrumentId"].as_str().unwrap().to_owned();
            seen.insert(id.clone());
            if id == instrument && event["type"] == "InstrumentPublished" {
                return seen;
            }
        }
    }

    /// What the notifications subscription delivers up to the new match of `instrument`: the
    /// instrument ids it named.
    async fn notifications_until(&mut self, instrument: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        loop {
            let payload = self
                .notifications
                .next("n", WS_WAIT)
                .await
                .unwrap_or_else(|| panic!("no notification of {instrument}"));
            let notice = &payload["data"]["notifications"];
            assert!(notice.is_object(), "{payload}");
            let id = notice["instrumentId"].as_str().unwrap().to_owned();
            seen.insert(id.clone());
            if id == instrument {
                assert_eq!(notice["kind"], "NEW_MATCH", "{payload}");
                return seen;
            }
        }
    }
}

/// Drafts, tags (T1, which the watch matches), schedules and publishes a call; returns its id.
async fn publish(app: &TestApp, curator: &str, title: &str) -> String {
    let token = Some(curator);
    let data = app
        .ok(
            token,
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await;
    let id = data["draftInstrument"]["id"].as_str().unwrap().to_owned();
    app.ok(
        token,
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    app.ok(
        token,
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": "2030-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(token, &operation("PublishInstrument"), json!({"id": id}))
        .await;
    id
}

/// Every `Nats-Msg-Id` in `stream`, once it holds `expected` messages.
async fn message_ids(stream_name: &str, expected: usize) -> BTreeSet<String> {
    let nats = async_nats::connect(regional_invest::Config::default().nats_url)
        .await
        .unwrap();
    let jetstream = async_nats::jetstream::new(nats);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = jetstream.get_stream(stream_name).await.unwrap();
    loop {
        let info = stream.info().await.unwrap().clone();
        if usize::try_from(info.state.messages).unwrap() >= expected {
            let mut ids = BTreeSet::new();
            for seq in info.state.first_sequence..=info.state.last_sequence {
                let message = stream.get_raw_message(seq).await.unwrap();
                let id = message.headers.get("Nats-Msg-Id").unwrap().as_str();
                assert!(ids.insert(id.to_owned()), "{id} twice in {stream_name}");
            }
            return ids;
        }
        assert!(
            Instant::now() < deadline,
            "{stream_name} holds {} of {expected} messages",
            info.state.messages
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ids `query` reads from `app`'s database, as its owner (no row-level security).
async fn ids(app: &TestApp, query: &'static str) -> BTreeSet<String> {
    let owner = sqlx::PgPool::connect(&app.config.database_url)
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar(query).fetch_all(&owner).await.unwrap();
    owner.close().await;
    ids.into_iter().collect()
}

#[tokio::test]
async fn two_deployments_on_one_nats_never_see_each_other_s_events_or_notifications() {
    let mut a = Side::start().await;
    let mut b = Side::start().await;
    assert_ne!(a.app.config.deployment, b.app.config.deployment);
    a.live("A").await;
    b.live("B").await;

    // B's call reaches B's own subscriptions...
    let b_call = publish(&b.app, &b.curator, "Only in B").await;
    assert!(b.events_until_published(&b_call).await.contains(&b_call));
    assert!(b.notifications_until(&b_call).await.contains(&b_call));
    // ...and was on NATS before A's next call was even made: A's subscriptions, on the same
    // tenant, user and watch, deliver that one and never B's.
    let a_call = publish(&a.app, &a.curator, "Only in A").await;
    let seen = a.events_until_published(&a_call).await;
    assert!(!seen.contains(&b_call), "A's instrumentEvents had B's call");
    let seen = a.notifications_until(&a_call).await;
    assert!(!seen.contains(&b_call), "A's notifications had B's call");
    // B, in turn, shows nothing of A's.
    let b_last = publish(&b.app, &b.curator, "Last in B").await;
    assert!(!b.events_until_published(&b_last).await.contains(&a_call));
    assert!(!b.notifications_until(&b_last).await.contains(&a_call));

    // Each deployment's streams hold exactly its own events and notifications, each once.
    for side in [&a, &b] {
        let deployment = side.app.deployment();
        let events = ids(&side.app, "SELECT event_id::text FROM events").await;
        assert_eq!(
            message_ids(&deployment.event_stream(), events.len()).await,
            events,
            "{}",
            deployment.event_stream()
        );
        let notices = ids(&side.app, "SELECT id::text FROM notifications").await;
        assert!(!notices.is_empty());
        assert_eq!(
            message_ids(&deployment.notification_stream(), notices.len()).await,
            notices,
            "{}",
            deployment.notification_stream()
        );
    }
    a.app.app.stop().await;
    b.app.app.stop().await;
}
