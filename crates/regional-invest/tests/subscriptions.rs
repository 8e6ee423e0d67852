//! GraphQL subscriptions over `graphql-transport-ws`: fed from NATS, so a subscription on one
//! server process receives what another committed; another tenant's drafts stay hidden; a
//! socket without a valid token is closed with 4403.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{GraphqlSocket, TestApp, WS_WAIT, call, operation, until_live};
use ri_domain::Role;
use serde_json::{Value, json};

const FUTURE: &str = "2030-03-31T17:00:00+02:00";

const INSTRUMENT_EVENTS: &str = "subscription Events($filter: InstrumentEventFilter) {
  instrumentEvents(filter: $filter) {
    eventId tenant instrumentId type version recordedAt payload
  }
}";

/// A tenant slug no other test (nor another run, on the shared NATS) uses.
fn unique_slug() -> String {
    format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

async fn draft(app: &TestApp, token: &str, title: &str) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await;
    data["draftInstrument"]["id"].as_str().unwrap().to_owned()
}

/// Drafts, tags, schedules and publishes a call (versions 1 to 4); returns its id.
async fn publish(app: &TestApp, token: &str, title: &str) -> String {
    let id = draft(app, token, title).await;
    app.ok(
        Some(token),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": FUTURE, "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("PublishInstrument"),
        json!({"id": id}),
    )
    .await;
    id
}

async fn revise(app: &TestApp, token: &str, id: &str, version: i64, title: &str) {
    app.ok(
        Some(token),
        &operation("ReviseInstrument"),
        json!({"id": id, "expectedVersion": version, "input": {"title": title}}),
    )
    .await;
}

/// The events subscription `id` delivers until (and with) `last` of `instrument`, each
/// checked to be an event, not an error.
async fn events_until(
    socket: &mut GraphqlSocket,
    id: &str,
    instrument: &str,
    last: &str,
) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let Some(payload) = socket.next(id, WS_WAIT).await else {
            panic!("no {last} of {instrument} within {WS_WAIT:?}; got {events:#?}");
        };
        assert!(payload.get("errors").is_none(), "{payload}");
        let event = payload["data"]["instrumentEvents"].clone();
        let done = event["instrumentId"] == instrument && event["type"] == last;
        events.push(event);
        if done {
            return events;
        }
    }
}

fn of(events: &[Value], instrument: &str) -> Vec<(String, i64)> {
    events
        .iter()
        .filter(|e| e["instrumentId"] == instrument)
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_subscription_on_one_process_receives_what_another_committed_in_order() {
    let writer = TestApp::start().await;
    let reader = writer.start_beside().await;
    let slug = unique_slug();
    writer.tenant(&slug, "LT").await;
    let curator = writer.token("ana", &slug, &[Role::Curator]).await;

    // The subscriber is connected to the process that commits nothing.
    let mut socket = GraphqlSocket::signed_in(&reader, &curator).await;
    socket
        .subscribe("1", INSTRUMENT_EVENTS, json!({"filter": {"tenant": slug}}))
        .await;
    until_live(&mut socket, "1", async || {
        draft(&writer, &curator, "Probe").await;
    })
    .await;

    let id = publish(&writer, &curator, "Border security call").await;
    let events = events_until(&mut socket, "1", &id, "InstrumentPublished").await;
    let mine: Vec<&Value> = events.iter().filter(|e| e["instrumentId"] == id).collect();
    assert_eq!(
        of(&events, &id),
        [
            ("InstrumentDrafted".to_owned(), 1),
            ("InstrumentFeaturesTagged".to_owned(), 2),
            ("InstrumentScheduleSet".to_owned(), 3),
            ("InstrumentPublished".to_owned(), 4),
        ]
    );
    // Each message is the stored event: its id, tenant, time and payload.
    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT event_id::text, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') \
         FROM events WHERE aggregate_id = $1 ORDER BY sequence",
    )
    .bind(&id)
    .fetch_all(writer.app.log.pool())
    .await
    .unwrap();
    assert_eq!(stored.len(), 4);
    for (event, (event_id, day)) in mine.iter().zip(&stored) {
        assert_eq!(event["eventId"], json!(event_id));
        assert_eq!(event["tenant"], json!(slug));
        assert!(
            event["recordedAt"]
                .as_str()
                .unwrap()
                .starts_with(day.as_str()),
            "{event}"
        );
    }
    assert_eq!(
        mine[0]["payload"]["InstrumentDrafted"]["details"]["title"],
        "Border security call"
    );
    assert_eq!(mine[3]["payload"], "InstrumentPublished");

    // Filters are checked: an unknown event type is BAD_USER_INPUT naming the field.
    socket
        .subscribe(
            "2",
            INSTRUMENT_EVENTS,
            json!({"filter": {"types": ["InstrumentDeleted"]}}),
        )
        .await;
    let refused = loop {
        let message = socket
            .message(WS_WAIT)
            .await
            .expect("no answer to subscribe 2");
        if message["id"] == "2" {
            break message;
        }
    };
    assert_eq!(refused["type"], "next", "{refused}");
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    assert_eq!(error["extensions"]["field"], "filter.types", "{refused}");

    reader.app.stop().await;
    writer.app.stop().await;
}

/// The event relay of a test, run step by step: the test holds the relay's advisory lock, so the
/// service's own relay never leads, and events reach NATS only when the test pumps them.
struct HeldRelay {
    relay: ri_relay::Relay,
    pool: sqlx::PgPool,
    _lock: sqlx::PgConnection,
}

impl HeldRelay {
    /// Takes the relay's lock in `config`'s database (migrated first), before a service starts.
    async fn hold(config: &regional_invest::Config) -> sqlx::PgConnection {
        use sqlx::Connection;
        regional_invest::migrate(config).await.unwrap();
        let mut lock = sqlx::PgConnection::connect(&config.database_url)
            .await
            .unwrap();
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(ri_relay::LOCK_NAMESPACE)
            .bind(ri_relay::READER)
            .fetch_one(&mut lock)
            .await
            .unwrap();
        assert!(won, "the relay's lock is free before the service starts");
        lock
    }

    async fn new(app: &TestApp, lock: sqlx::PgConnection) -> Self {
        let nats = async_nats::connect(&app.config.nats_url).await.unwrap();
        let config = ri_relay::RelayConfig::for_deployment(&app.deployment());
        let relay = ri_relay::Relay::new(app.app.log.clone(), nats, config);
        relay.ensure_stream().await.unwrap();
        Self {
            relay,
            pool: app.app.log.pool().clone(),
            _lock: lock,
        }
    }

    /// Publishes every event committed so far, in log order.
    async fn pump(&self) {
        let pool = &self.pool;
        let head: Option<(String, i64)> = sqlx::query_as(
            "SELECT tx_id::text, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await
        .unwrap();
        let Some((tx_id, position)) = head else {
            return;
        };
        let head = ri_eventstore::Checkpoint {
            tx_id: tx_id.parse().unwrap(),
            position,
        };
        let deadline = std::time::Instant::now() + WS_WAIT;
        loop {
            self.relay.catch_up().await.unwrap();
            let at = ri_eventstore::Checkpoint::load(pool, ri_relay::READER)
                .await
                .unwrap();
            if at >= head {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "relay stuck at {at:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn another_tenant_s_drafts_are_not_delivered_its_published_instruments_events_are() {
    // The relay is held, so that an instrument can be drafted, published and shown public by
    // the catalogue before its draft events reach NATS: the race under load that a gate asking
    // "is it public now?" loses (issue 11). Visibility is as of each event's version.
    let database_url = format!(
        "{}/ri_test_{}",
        ri_testkit::server_url(),
        uuid::Uuid::new_v4().simple()
    );
    let lock = HeldRelay::hold(&regional_invest::Config {
        database_url: database_url.clone(),
        ..regional_invest::Config::default()
    })
    .await;
    let app = TestApp::start_with(|c| c.database_url = database_url).await;
    let relay = HeldRelay::new(&app, lock).await;
    let (x, y) = (unique_slug(), unique_slug());
    app.tenant(&x, "LT").await;
    app.tenant(&y, "DK").await;
    let curator_x = app.token("ana", &x, &[Role::Curator]).await;
    let curator_y = app.token("ben", &y, &[Role::Curator]).await;

    // Y watches X's instruments; X watches its own, as a control.
    let filter = json!({"filter": {"tenant": x}});
    let mut theirs = GraphqlSocket::signed_in(&app, &curator_y).await;
    theirs
        .subscribe("y", INSTRUMENT_EVENTS, filter.clone())
        .await;
    let mut own = GraphqlSocket::signed_in(&app, &curator_x).await;
    own.subscribe("x", INSTRUMENT_EVENTS, filter).await;
    let probe = until_live(&mut theirs, "y", async || {
        publish(&app, &curator_x, "Probe").await;
        relay.pump().await;
    })
    .await;
    assert_eq!(
        probe["data"]["instrumentEvents"]["type"], "InstrumentPublished",
        "{probe}"
    );
    until_live(&mut own, "x", async || {
        draft(&app, &curator_x, "Probe").await;
        relay.pump().await;
    })
    .await;

    // Drafted, published and public in the catalogue before the relay sends any of it.
    let hidden = draft(&app, &curator_x, "Never published").await;
    let id = publish(&app, &curator_x, "Published call").await;
    app.eventually_with(
        |body| body["data"]["instrument"]["status"] == "OPEN",
        "query ($id: ID!) { instrument(id: $id) { status } }",
        json!({"id": id}),
        None,
    )
    .await;
    revise(&app, &curator_x, &id, 4, "Published call 2030").await;
    relay.pump().await;

    // Messages arrive in the order they were recorded: when the revision has arrived, so has
    // everything recorded before it, the hidden draft's events included, had they been sent.
    let seen_by_y = events_until(&mut theirs, "y", &id, "InstrumentRevised").await;
    assert_eq!(
        of(&seen_by_y, &id),
        [
            ("InstrumentPublished".to_owned(), 4),
            ("InstrumentRevised".to_owned(), 5),
        ]
    );
    assert!(of(&seen_by_y, &hidden).is_empty(), "{seen_by_y:#?}");
    assert!(
        seen_by_y
            .iter()
            .all(|e| e["type"] == "InstrumentPublished" || e["type"] == "InstrumentRevised"),
        "{seen_by_y:#?}"
    );

    let seen_by_x = events_until(&mut own, "x", &id, "InstrumentRevised").await;
    assert_eq!(
        of(&seen_by_x, &hidden),
        [("InstrumentDrafted".to_owned(), 1)]
    );
    assert_eq!(
        of(&seen_by_x, &id),
        [
            ("InstrumentDrafted".to_owned(), 1),
            ("InstrumentFeaturesTagged".to_owned(), 2),
            ("InstrumentScheduleSet".to_owned(), 3),
            ("InstrumentPublished".to_owned(), 4),
            ("InstrumentRevised".to_owned(), 5),
        ]
    );

    // A subscription opened after the publication: the published one's next event arrives,
    // the draft's does not; nor does a draft archived without ever being published.
    let mut late = GraphqlSocket::signed_in(&app, &curator_y).await;
    late.subscribe("late", INSTRUMENT_EVENTS, json!({"filter": {"tenant": x}}))
        .await;
    until_live(&mut late, "late", async || {
        publish(&app, &curator_x, "Probe").await;
        relay.pump().await;
    })
    .await;
    revise(&app, &curator_x, &hidden, 1, "Still a draft").await;
    app.ok(
        Some(&curator_x),
        &operation("ArchiveInstrument"),
        json!({"id": hidden}),
    )
    .await;
    revise(&app, &curator_x, &id, 5, "Published call 2031").await;
    relay.pump().await;
    let seen_late = events_until(&mut late, "late", &id, "InstrumentRevised").await;
    assert_eq!(of(&seen_late, &id), [("InstrumentRevised".to_owned(), 6)]);
    assert!(of(&seen_late, &hidden).is_empty(), "{seen_late:#?}");
    app.app.stop().await;
}

#[tokio::test]
async fn a_socket_without_a_valid_token_is_closed_with_4403() {
    let app = TestApp::start().await;
    let valid = app.token("ana", "l3ce", &[Role::Curator]).await;
    let forged = {
        let other = regional_invest::Config {
            jwt_secret: regional_invest::config::Secret::new(
                "another-secret-of-at-least-32-bytes!!",
            ),
            ..app.config.clone()
        };
        ri_api::mint_token(
            &other.auth().unwrap(),
            "ana",
            &ri_domain::TenantSlug::parse("l3ce").unwrap(),
            Duration::from_secs(600),
        )
        .unwrap()
    };
    let refusals = [
        ("no payload", None),
        ("no token", Some(json!({}))),
        (
            "not a JWT",
            Some(json!({"authorization": "Bearer nonsense"})),
        ),
        (
            "not bearer",
            Some(json!({"authorization": format!("Basic {valid}")})),
        ),
        ("forged", Some(json!({"token": forged}))),
    ];
    for (what, payload) in refusals {
        let mut socket = GraphqlSocket::open(&app, payload).await;
        assert_eq!(socket.closed().await, 4403, "{what}");
    }

    // Each accepted spelling of the token signs in.
    for payload in [
        json!({"authorization": format!("Bearer {valid}")}),
        json!({"Authorization": format!("bearer {valid}")}),
        json!({"token": valid}),
    ] {
        let mut socket = GraphqlSocket::open(&app, Some(payload.clone())).await;
        let ack = socket.message(WS_WAIT).await;
        assert_eq!(
            ack.as_ref().map(|m| &m["type"]),
            Some(&json!("connection_ack")),
            "{payload}"
        );
    }
    app.app.stop().await;
}

#[tokio::test]
async fn subscribing_before_connection_ack_is_closed_with_4401() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let app = TestApp::start().await;
    let mut request = app.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({"id": "1", "type": "subscribe", "payload": {"query": INSTRUMENT_EVENTS}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let code = loop {
        use futures_util::StreamExt;
        let next = tokio::time::timeout(WS_WAIT, ws.next())
            .await
            .expect("not closed");
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) = next {
            break frame.map(|f| u16::from(f.code));
        }
        assert!(next.is_some(), "the socket ended without a close frame");
    };
    assert_eq!(code, Some(4401));
    app.app.stop().await;
}

#[tokio::test]
async fn subscribing_while_nats_is_down_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::start_with(|c| c.nats_url = format!("nats://{closed}")).await;
    let token = app.token("ana", "l3ce", &[Role::Curator]).await;
    let mut socket = GraphqlSocket::signed_in(&app, &token).await;
    socket.subscribe("1", INSTRUMENT_EVENTS, json!({})).await;
    let answer = socket.message(WS_WAIT).await.expect("no answer");
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{answer}"
    );
    let end = socket.message(WS_WAIT).await.expect("no complete");
    assert_eq!(end["type"], "complete", "{end}");
    app.app.stop().await;
}
