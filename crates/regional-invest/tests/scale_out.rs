//! Three `serve` replicas behind Debian's haproxy, on a three-node NATS JetStream cluster with
//! R3 streams and Debian's PgBouncer in transaction mode, all on this machine (issue 15).
//! Curators draft, tag, schedule and publish calls and the public searches, all through the
//! balancer, while the replica leading the relay and the NATS node leading the event stream are
//! SIGKILLed, then another replica is stopped with SIGTERM. Then:
//! - every write the balancer acknowledged is in the log, and in the read model read back
//!   through the balancer; every acknowledged publication is found at once by a search
//!   through the balancer, on whichever replica answers it, with the publication's log position;
//! - every event of the log is in the JetStream stream exactly once, by `Nats-Msg-Id`, after
//!   the relay has published the whole log a second time (its checkpoint moved back: the worst
//!   case of a relay dying between publishing and recording);
//! - the survivors took over the projections, the relay and expiry (how long that took is
//!   printed, not asserted: timing decides nothing here but the run's overall deadline);
//! - every read model equals its replay from the log;
//! - the balancer sent the dead replicas nothing once their `/readyz` failed, and no request
//!   through it failed after that, the drain included.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::load::{Traffic, curate, gql, grant, search, token};
use common::pgbouncer::{POOLED_ROLE, PgBouncer, ensure_pooled_role};
use common::scale::{
    Haproxy, NatsCluster, Replica, Scratch, dump, duplicates_dropped, readers, wait_caught_up,
    wait_relay_past,
};
use common::{GraphqlSocket, call, operation};
use futures_util::StreamExt;
use regional_invest::Config;
use regional_invest::startup::log_head;
use ri_domain::Role;
use ri_eventstore::Checkpoint;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

const REPLICAS: usize = 3;
/// Connections of each of a replica's two pools (direct, and through PgBouncer).
const POOL: u32 = 4;
/// The whole run's bound: past it the test fails (and its children are killed) rather than hang.
const DEADLINE: Duration = Duration::from_secs(240);
/// How long a replica keeps serving after SIGTERM (the default): much longer than haproxy
/// needs to see it unready (2 failed checks 200 ms apart).
const DRAIN_DELAY_MS: u64 = 3_000;

const INSTRUMENT_EVENTS: &str = "subscription Events($filter: InstrumentEventFilter) {
  instrumentEvents(filter: $filter) { eventId type }
}";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_behind_haproxy_lose_nothing_when_a_replica_and_a_nats_node_die() {
    tokio::time::timeout(DEADLINE, scenario())
        .await
        .expect("the run passed its deadline");
}

async fn scenario() {
    let scratch = Scratch::new("ri-scale");
    let dir = scratch.path.as_path();
    let mut nats = NatsCluster::start(dir, 3);
    let jetstream = NatsCluster::jetstream(&nats.urls()).await;

    let database_url = format!(
        "{}/ri_test_{}",
        ri_testkit::server_url(),
        uuid::Uuid::new_v4().simple()
    );
    let config = Config {
        database_url: database_url.clone(),
        db_max_connections: POOL,
        ..Config::default()
    };
    regional_invest::migrate(&config).await.unwrap();
    let owner = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .unwrap();
    ensure_pooled_role(&owner).await;
    let bouncer = PgBouncer::start(&database_url);
    let deployment = ri_relay::Deployment::parse(&format!(
        "scale-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
    .unwrap();
    let env = [
        ("DATABASE_URL", database_url.clone()),
        (
            "RI_DATABASE_POOLED_URL",
            bouncer.url(&database_url, POOLED_ROLE),
        ),
        ("NATS_URL", nats.urls()),
        ("RI_DEPLOYMENT", deployment.as_str().to_owned()),
        ("RI_STREAM_REPLICAS", "3".to_owned()),
        ("RI_DB_MAX_CONNECTIONS", POOL.to_string()),
        ("RI_EXPIRY_INTERVAL_MS", "500".to_owned()),
        ("RI_DRAIN_DELAY_MS", DRAIN_DELAY_MS.to_string()),
        ("RI_PLATFORM_ADMINS", "admin".to_owned()),
    ];
    let names: Vec<String> = (0..REPLICAS).map(|i| format!("r{i}")).collect();
    let mut replicas: Vec<Replica> = names.iter().map(|n| Replica::start(n, &env, dir)).collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    for replica in &mut replicas {
        let deadline = Instant::now() + Duration::from_secs(60);
        while replica.readyz(&http).await != Some(200) {
            assert!(
                replica.proc.exited().is_none(),
                "{} exited",
                replica.proc.name
            );
            assert!(
                Instant::now() < deadline,
                "{} never ready",
                replica.proc.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let servers: Vec<(&str, u16)> = names
        .iter()
        .zip(&replicas)
        .map(|(n, r)| (n.as_str(), r.port))
        .collect();
    let haproxy = Haproxy::start(dir, &servers);
    for name in &names {
        haproxy.wait_for(&http, name, "UP").await;
    }
    let url = haproxy.url();

    // Two tenants, registered through the balancer.
    let admin = token("admin", "platform");
    let tenants = ["north-hub", "south-hub"];
    for (slug, country) in tenants.iter().zip(["LT", "DK"]) {
        let input = json!({"input": {"slug": slug, "name": format!("{slug} cluster"), "kind": "AMBASSADOR_CLUSTER", "country": country}});
        gql(
            &http,
            &url,
            Some(&admin),
            &operation("RegisterTenant"),
            input,
        )
        .await
        .unwrap();
        let query = format!("query {{ tenant(slug: \"{slug}\") {{ slug }} }}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while gql(&http, &url, None, &query, json!({})).await.ok()
            != Some(json!({"tenant": {"slug": slug}}))
        {
            assert!(Instant::now() < deadline, "tenant {slug} never showed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The curators: three writers, one who drafts the expiring call, one who reads back.
    for (slug, subject) in [
        (tenants[0], "curator0"),
        (tenants[0], "curator1"),
        (tenants[1], "curator2"),
        (tenants[0], "expiry"),
        (tenants[0], "reader"),
        (tenants[1], "reader"),
    ] {
        grant(&http, &url, &admin, slug, subject, Role::Curator).await;
    }

    // Every projection and the relay have a leader before the load starts.
    let all_roles = readers();
    let deadline = Instant::now() + Duration::from_secs(30);
    let leads = loop {
        let mut leads = Vec::new();
        for replica in &replicas {
            leads.push(replica.leads(&http).await);
        }
        let mut led: Vec<String> = leads.concat();
        led.sort();
        if led == all_roles {
            break leads;
        }
        assert!(Instant::now() < deadline, "leaders: {leads:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let traffic = Arc::new(Traffic::default());
    let stop = CancellationToken::new();
    let mut load = tokio::task::JoinSet::new();
    for (writer, tenant) in [tenants[0], tenants[0], tenants[1]].into_iter().enumerate() {
        let curate = curate(
            traffic.clone(),
            url.clone(),
            tenant.to_owned(),
            writer,
            stop.clone(),
        );
        load.spawn(curate);
    }
    for _ in 0..2 {
        load.spawn(search(traffic.clone(), url.clone(), stop.clone()));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;

    // A call whose deadline passes after the kill: a survivor's expiry must close it.
    let curator = token("expiry", tenants[0]);
    let data = gql(
        &http,
        &url,
        Some(&curator),
        &operation("DraftInstrument"),
        json!({"input": call("Closes after the kill", "LT")}),
    )
    .await
    .unwrap();
    let expiring = data["draftInstrument"]["id"].as_str().unwrap().to_owned();
    let deadline_at = time::OffsetDateTime::now_utc() + Duration::from_secs(4);
    for (op, variables) in [
        (
            "TagInstrumentFeatures",
            json!({"id": expiring, "features": ["T1"]}),
        ),
        (
            "SetInstrumentDeadline",
            json!({"id": expiring, "deadline": deadline_at.format(&Rfc3339).unwrap()}),
        ),
        ("PublishInstrument", json!({"id": expiring})),
    ] {
        gql(&http, &url, Some(&curator), &operation(op), variables)
            .await
            .unwrap();
    }

    // Kill the replica leading the relay, and the NATS node leading the event stream.
    let victim = leads
        .iter()
        .position(|l| l.contains(&"relay".to_owned()))
        .unwrap();
    let victim_name = names[victim].clone();
    let stream = jetstream
        .get_stream(deployment.event_stream())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stream_leader = loop {
        let info = stream.get_info().await.unwrap();
        assert_eq!(info.config.num_replicas, 3);
        if let Some(leader) = info.cluster.and_then(|c| c.leader) {
            break leader;
        }
        assert!(Instant::now() < deadline, "the event stream has no leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let node = nats
        .nodes
        .iter()
        .position(|n| n.server_name == stream_leader)
        .unwrap();
    let killed_at = Instant::now();
    replicas[victim].proc.kill();
    nats.nodes[node].proc.kill();
    // Read after the kill: a checkpoint past it shows events appended after the kill applied.
    let head_at_kill = log_head(&owner).await.unwrap().unwrap();
    eprintln!(
        "killed {victim_name} (leading {:?}) and NATS node {stream_leader} (leading the stream)",
        leads[victim]
    );

    // Measure the takeover: the balancer marks the dead replica down; survivors take over
    // every role it led; every reader moves past the log's head at the kill; the call closes.
    let survivors: Vec<usize> = (0..REPLICAS).filter(|i| *i != victim).collect();
    let mut down_after = None;
    let mut taken_over: BTreeMap<String, Duration> = BTreeMap::new();
    let mut resumed: BTreeMap<String, Duration> = BTreeMap::new();
    let mut closed_after_deadline = None;
    let measuring = Instant::now() + Duration::from_secs(60);
    loop {
        if down_after.is_none() && haproxy.server(&http, &victim_name).await.status == "DOWN" {
            down_after = Some(killed_at.elapsed());
        }
        for i in &survivors {
            for role in replicas[*i].leads(&http).await {
                if leads[victim].contains(&role) {
                    taken_over
                        .entry(role)
                        .or_insert_with(|| killed_at.elapsed());
                }
            }
        }
        for reader in &all_roles {
            if !resumed.contains_key(reader)
                && Checkpoint::load(&owner, reader).await.unwrap() > head_at_kill
            {
                resumed.insert(reader.clone(), killed_at.elapsed());
            }
        }
        if closed_after_deadline.is_none() {
            let closes: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'InstrumentClosed'")
                .bind(&expiring)
                .fetch_one(&owner)
                .await
                .unwrap();
            if closes > 0 {
                closed_after_deadline = Some(time::OffsetDateTime::now_utc() - deadline_at);
            }
        }
        if down_after.is_some()
            && taken_over.len() == leads[victim].len()
            && resumed.len() == all_roles.len()
            && closed_after_deadline.is_some()
        {
            break;
        }
        assert!(
            Instant::now() < measuring,
            "no takeover within 60 s: down after {down_after:?}, taken over {taken_over:?}, \
             resumed {resumed:?}, expiry closed {closed_after_deadline:?} after the deadline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let down_after = down_after.unwrap();
    eprintln!("haproxy marked {victim_name} down {down_after:?} after the kill");
    eprintln!("roles taken over after the kill: {taken_over:?}");
    eprintln!("readers past the log's head at the kill: {resumed:?}");
    eprintln!("the expiring call closed {closed_after_deadline:?} after its deadline");
    // The worst case of a relay's death, made sure of: it published everything but recorded
    // nothing. With its checkpoint moved back to the start, the relay leading now publishes the
    // whole log again, messages stored under the old stream leader included; JetStream must
    // drop every copy (the stream is checked below).
    let head = log_head(&owner).await.unwrap().unwrap();
    wait_relay_past(&owner, head).await;
    let before = duplicates_dropped(&http, &replicas, &survivors).await;
    let published: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE (tx_id, position) <= ($1::text::xid8, $2)",
    )
    .bind(head.tx_id.to_string())
    .bind(head.position)
    .fetch_one(&owner)
    .await
    .unwrap();
    sqlx::query("UPDATE reader_checkpoints SET tx_id = '0', position = 0 WHERE reader = $1")
        .bind(ri_relay::READER)
        .execute(&owner)
        .await
        .unwrap();
    wait_relay_past(&owner, head).await;
    let dropped = duplicates_dropped(&http, &replicas, &survivors).await - before;
    eprintln!("{published} events published again: JetStream dropped {dropped} copies");
    assert!(
        dropped >= u64::try_from(published).unwrap(),
        "{dropped} of {published}"
    );
    let victim_down = killed_at + down_after;
    let victim_sessions = haproxy.server(&http, &victim_name).await.sessions;
    let last_name = names[survivors[1]].clone();
    let last_sessions = haproxy.server(&http, &last_name).await.sessions;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Graceful drain of a survivor while a subscription is open on it and a request is sent
    // to it: the request is answered, the socket closed with 1012, the balancer serves on.
    let drained = survivors[0];
    let drained_name = names[drained].clone();
    let ws = format!("ws://127.0.0.1:{}/graphql", replicas[drained].port);
    let mut socket = GraphqlSocket::signed_in_at(&ws, &curator).await;
    socket
        .subscribe(
            "drain",
            INSTRUMENT_EVENTS,
            json!({"filter": {"tenant": tenants[0]}}),
        )
        .await;
    let direct = format!("{}/graphql", replicas[drained].base());
    let in_flight = {
        let (http, direct) = (http.clone(), direct.clone());
        tokio::spawn(async move {
            gql(
                &http,
                &direct,
                None,
                &operation("SearchInstruments"),
                json!({"first": 1}),
            )
            .await
        })
    };
    let drain_started = Instant::now();
    replicas[drained].proc.terminate();
    assert_eq!(socket.closed().await, 1012);
    in_flight.await.unwrap().unwrap();
    assert_eq!(replicas[drained].readyz(&http).await, Some(503), "draining");
    // Unready, yet still answering what reaches it before the listener closes.
    let query = operation("SearchInstruments");
    gql(&http, &direct, None, &query, json!({"first": 1}))
        .await
        .unwrap();
    haproxy.wait_for(&http, &drained_name, "DOWN").await;
    eprintln!(
        "haproxy marked {drained_name} down {:?} after SIGTERM",
        drain_started.elapsed()
    );
    let drained_sessions = haproxy.server(&http, &drained_name).await.sessions;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = replicas[drained].proc.exited() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{drained_name} did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{drained_name} after SIGTERM: {status:?}");
    eprintln!(
        "{drained_name} drained and exited {:?} after SIGTERM",
        drain_started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    while load.join_next().await.is_some() {}

    // The balancer: nothing failed once the dead replica was marked down (the drain included),
    // and neither stopped replica got a request after it was marked down.
    let failed_after = traffic.failures_after(victim_down);
    assert!(
        failed_after.is_empty(),
        "failed after {victim_name} was down: {failed_after:?}"
    );
    let missed = traffic.missed.lock().unwrap().clone();
    assert!(missed.is_empty(), "read-your-writes: {missed:?}");
    let failed_at_kill = traffic.failures_after(killed_at);
    let total = traffic.outcomes.lock().unwrap().len();
    eprintln!(
        "{total} requests through haproxy; failed between the kill and {victim_name} down: \
         {failed_at_kill:?}"
    );
    assert_eq!(
        haproxy.server(&http, &victim_name).await.sessions,
        victim_sessions
    );
    assert_eq!(
        haproxy.server(&http, &drained_name).await.sessions,
        drained_sessions
    );
    let servers = haproxy.servers(&http).await;
    eprintln!("haproxy at the end: {servers:?}");
    assert!(haproxy.server(&http, &last_name).await.sessions > last_sessions);

    // No acknowledged write lost: in the log, and in the read model through the balancer.
    wait_caught_up(&owner).await;
    let acked = traffic.acked.lock().unwrap().clone();
    let published = acked.values().filter(|(_, p)| *p).count();
    eprintln!(
        "{} drafts and {published} publications acknowledged",
        acked.len()
    );
    assert!(published > 0);
    let logged: Vec<(String, String)> =
        sqlx::query_as("SELECT aggregate_id, event_type FROM events")
            .fetch_all(&owner)
            .await
            .unwrap();
    let logged: BTreeSet<(String, String)> = logged.into_iter().collect();
    for (id, (_, was_published)) in &acked {
        assert!(
            logged.contains(&(id.clone(), "InstrumentDrafted".to_owned())),
            "{id} drafted"
        );
        if *was_published {
            assert!(
                logged.contains(&(id.clone(), "InstrumentPublished".to_owned())),
                "{id} published"
            );
        }
    }
    let curators: BTreeMap<&str, String> =
        tenants.iter().map(|t| (*t, token("reader", t))).collect();
    let read_back =
        futures_util::stream::iter(acked.iter().map(|(id, (tenant, was_published))| {
            let (http, url, token) = (&http, &url, curators[tenant.as_str()].as_str());
            async move {
                let data = gql(
                    http,
                    url,
                    Some(token),
                    &operation("Instrument"),
                    json!({"id": id}),
                )
                .await
                .unwrap();
                let status = data["instrument"]["status"].as_str().map(str::to_owned);
                // A publication whose answer was lost may have happened all the same.
                let expected: &[&str] = if *was_published {
                    &["OPEN"]
                } else {
                    &["DRAFT", "OPEN"]
                };
                assert!(
                    status.as_deref().is_some_and(|s| expected.contains(&s)),
                    "{id}: {data}"
                );
            }
        }))
        .buffer_unordered(8)
        .collect::<Vec<()>>();
    read_back.await;
    let closes: Vec<String> = sqlx::query_scalar("SELECT metadata->>'actor' FROM events WHERE aggregate_id = $1 AND event_type = 'InstrumentClosed'")
        .bind(&expiring)
        .fetch_all(&owner)
        .await
        .unwrap();
    assert_eq!(closes, ["system"]);

    // Every event on NATS exactly once, by message id, read from the surviving NATS nodes.
    let survivors_urls = nats
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != node)
        .map(|(_, n)| n.url())
        .collect::<Vec<_>>()
        .join(",");
    let jetstream = NatsCluster::jetstream(&survivors_urls).await;
    let stream = jetstream
        .get_stream(deployment.event_stream())
        .await
        .unwrap();
    let info = stream.get_info().await.unwrap();
    eprintln!("event stream after the kill: {:?}", info.cluster);
    let mut on_nats: BTreeMap<String, u32> = BTreeMap::new();
    for sequence in info.state.first_sequence..=info.state.last_sequence {
        let message = stream.get_raw_message(sequence).await.unwrap();
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .unwrap()
            .as_str()
            .to_owned();
        *on_nats.entry(id).or_default() += 1;
    }
    let copies: Vec<_> = on_nats.iter().filter(|(_, n)| **n > 1).collect();
    assert!(copies.is_empty(), "stored more than once: {copies:?}");
    let event_ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT event_id FROM events")
        .fetch_all(&owner)
        .await
        .unwrap();
    let event_ids: BTreeSet<String> = event_ids.iter().map(ToString::to_string).collect();
    let on_nats: BTreeSet<String> = on_nats.into_keys().collect();
    assert_eq!(
        on_nats, event_ids,
        "the stream's message ids and the log's event ids"
    );
    eprintln!("{} events, each on NATS once", event_ids.len());

    // Every read model equals its replay, with the last replica stopped.
    let last = survivors[1];
    replicas[last].proc.terminate();
    let deadline = Instant::now() + Duration::from_secs(30);
    while replicas[last].proc.exited().is_none() {
        assert!(Instant::now() < deadline, "the last replica did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for projection in ri_projections::all() {
        let live = dump(&owner, projection.tables()).await;
        regional_invest::replay(&config, projection.name())
            .await
            .unwrap();
        let replayed = dump(&owner, projection.tables()).await;
        assert!(
            live == replayed,
            "{} differs from its replay",
            projection.name()
        );
    }
    owner.close().await;
}
