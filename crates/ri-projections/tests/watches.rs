//! The `watches` projection against the real PostgreSQL: real Watch and FundingInstrument
//! commands, the runner in small batches, the notifications each change makes (and does not
//! make), deadline reminders, the calendar feed, ownership, and replay.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod watches_world;

use watches_world::*;

#[tokio::test]
async fn a_watch_notifies_once_per_newly_matching_instrument_and_follows_changes() {
    let w = World::new().await;
    // Matching before the watch exists: followed, never announced.
    w.publish("a-known", "Known border call", &["T1"], Duration::days(30))
        .await;
    w.create_watch(SEEKERS, "ana", "watch-1", &["T1"]).await;
    w.project().await;
    assert!(w.inbox(SEEKERS, "ana").await.is_empty());

    // Published so that it matches: one notice.
    w.publish(
        "b-new",
        "New border call",
        &["T1", "D2"],
        Duration::days(30),
    )
    .await;
    // Published without a matching feature: none; tagged later so that it matches: one.
    w.publish("c-later", "Drones call", &["D2"], Duration::days(30))
        .await;
    w.instrument(
        "c-later",
        InstrumentCommand::TagFeatures {
            features: codes(&["T1"]),
        },
    )
    .await;
    // A draft that matches is nobody's business.
    w.draft("d-draft", "Secret border call", &["T1"], Duration::days(30))
        .await;
    // A followed instrument revised: a change notice naming the field.
    w.instrument(
        "a-known",
        InstrumentCommand::Revise {
            patch: InstrumentPatch {
                title: Some(Title::parse("title", "Known border call 2027").unwrap()),
                ..InstrumentPatch::default()
            },
        },
    )
    .await;
    // Leaves the filter: a last change notice; back in it: nothing (it matched before).
    w.instrument(
        "b-new",
        InstrumentCommand::UntagFeatures {
            features: codes(&["T1"]),
        },
    )
    .await;
    w.instrument(
        "b-new",
        InstrumentCommand::TagFeatures {
            features: codes(&["T1"]),
        },
    )
    .await;
    w.project().await;

    let inbox = w.inbox(SEEKERS, "ana").await;
    assert_eq!(
        summary(&inbox),
        vec![
            (NotificationKind::NewMatch, "b-new".to_owned()),
            (NotificationKind::NewMatch, "c-later".to_owned()),
            (NotificationKind::Changed, "a-known".to_owned()),
            (NotificationKind::Changed, "b-new".to_owned()),
        ]
    );
    let retitled = &inbox[2];
    assert_eq!(retitled.changes.len(), 1, "{retitled:?}");
    assert_eq!(retitled.changes[0].field, "title");
    assert_eq!(
        retitled.changes[0].old.as_deref(),
        Some("Known border call")
    );
    assert_eq!(
        retitled.changes[0].new.as_deref(),
        Some("Known border call 2027")
    );
    assert!(retitled.message.contains("revised title"), "{retitled:?}");
    let left = &inbox[3];
    assert_eq!(left.changes[0].field, "features");
    assert_eq!(left.changes[0].old.as_deref(), Some("T1"));
    assert!(left.message.contains("no longer matches"), "{left:?}");
    assert!(
        inbox
            .iter()
            .all(|n| n.recipient == "ana" && n.tenant == SEEKERS)
    );
    assert!(
        inbox
            .iter()
            .all(|n| n.watch_id.as_deref() == Some("watch-1")),
        "{inbox:?}"
    );

    // A replay rebuilds the watches and makes no notification twice.
    let watches: Arc<dyn Projection> = Arc::new(Watches::default());
    replay(&w.log, &w.db.owner, &*watches, 7).await.unwrap();
    assert_eq!(summary(&w.inbox(SEEKERS, "ana").await), summary(&inbox));
    let followed = watches::watched_instruments(&w.db.app, "watch-1", 10)
        .await
        .unwrap();
    assert_eq!(followed, vec!["a-known", "b-new", "c-later"]);
}

#[tokio::test]
async fn a_moved_deadline_and_a_closed_call_are_change_notices_with_old_and_new_values() {
    let w = World::new().await;
    w.publish("call", "Border call", &["T1"], Duration::days(30))
        .await;
    w.create_watch(SEEKERS, "ana", "watch-1", &["T1"]).await;
    let later = OffsetDateTime::now_utc() + Duration::days(60);
    w.instrument(
        "call",
        InstrumentCommand::SetSchedule {
            schedule: Schedule::new(None, Some(later), None).unwrap(),
        },
    )
    .await;
    w.instrument(
        "call",
        InstrumentCommand::Withdraw {
            reason: ri_domain::values::ShortText::parse("reason", "budget cut").unwrap(),
        },
    )
    .await;
    w.project().await;
    let inbox = w.inbox(SEEKERS, "ana").await;
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    let moved = &inbox[0];
    assert_eq!(moved.kind, NotificationKind::Changed);
    let deadline = moved
        .changes
        .iter()
        .find(|c| c.field == "deadline")
        .expect("the deadline change");
    assert!(deadline.old.is_some() && deadline.new.is_some());
    assert_ne!(deadline.old, deadline.new);
    assert!(moved.message.contains("deadline moved"), "{moved:?}");
    let withdrawn = &inbox[1];
    assert_eq!(withdrawn.changes[0].field, "status");
    assert_eq!(withdrawn.changes[0].old.as_deref(), Some("OPEN"));
    assert_eq!(withdrawn.changes[0].new.as_deref(), Some("WITHDRAWN"));
}

#[tokio::test]
async fn deadline_reminders_go_out_once_for_each_reminder_day() {
    let w = World::new().await;
    w.publish("call", "Border call", &["T1"], Duration::days(10))
        .await;
    w.create_watch(SEEKERS, "ana", "watch-1", &["T1"]).await;
    w.project().await;
    let deadline: OffsetDateTime =
        sqlx::query_scalar("SELECT deadline FROM watch_instruments WHERE id = 'call'")
            .fetch_one(&w.db.app)
            .await
            .unwrap();
    let remind = |at: OffsetDateTime| {
        let pool = w.db.app.clone();
        async move { watches::issue_deadline_reminders(&pool, at).await.unwrap() }
    };
    assert_eq!(remind(deadline - Duration::days(8)).await, 0, "too early");
    assert_eq!(
        remind(deadline - Duration::days(6)).await,
        1,
        "a week before"
    );
    assert_eq!(remind(deadline - Duration::days(5)).await, 0, "only once");
    assert_eq!(
        remind(deadline - Duration::hours(12)).await,
        1,
        "the day before"
    );
    assert_eq!(remind(deadline - Duration::hours(1)).await, 0, "only once");
    assert_eq!(remind(deadline + Duration::hours(1)).await, 0, "closed");
    let inbox = w.inbox(SEEKERS, "ana").await;
    assert_eq!(inbox.len(), 2);
    assert!(
        inbox
            .iter()
            .all(|n| n.kind == NotificationKind::DeadlineReminder)
    );
    assert!(inbox[0].message.contains("within 7 days"), "{:?}", inbox[0]);
    assert!(inbox[1].message.contains("within 1 day,"), "{:?}", inbox[1]);
    assert_eq!(inbox[0].deadline, Some(deadline));
    // Its cause: the reminder day that was due, the event that set the deadline, the watch.
    let cause = watches::notification_cause(&w.db.app, &w.log, &inbox[0])
        .await
        .unwrap()
        .expect("a cause");
    assert_eq!(cause.reminder_days, Some(7));
    assert_eq!(cause.events.len(), 1);
    assert_eq!(cause.events[0].event_type, "InstrumentScheduleSet");
    assert_eq!(cause.events[0].aggregate_id, "call");
    assert_eq!(
        cause.watch.as_ref().map(|w| w.filter.features),
        Some(codes(&["T1"]))
    );
    assert_eq!(cause.watch_match, None);

    // A watch made a few hours before the deadline reminds once, not once per setting.
    w.create_watch(SEEKERS, "bob", "watch-2", &["T1"]).await;
    w.project().await;
    assert_eq!(remind(deadline - Duration::hours(2)).await, 1);
    let bobs = w.inbox(SEEKERS, "bob").await;
    assert_eq!(bobs.len(), 1);
    assert!(bobs[0].message.contains("within 1 day,"), "{:?}", bobs[0]);
}

#[tokio::test]
async fn watches_notifications_and_feeds_stay_with_their_owner() {
    let w = World::new().await;
    w.create_watch(SEEKERS, "ana", "watch-ana", &["T1"]).await;
    w.create_watch(SEEKERS, "bob", "watch-bob", &["T1"]).await;
    w.publish("call", "Border call", &["T1"], Duration::days(30))
        .await;
    w.project().await;
    let pool = &w.db.app;

    let anas = watches::watches_of(pool, SEEKERS, "ana").await.unwrap();
    assert_eq!(
        anas.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["watch-ana"]
    );
    assert_eq!(anas[0].filter.features, codes(&["T1"]));
    assert_eq!(anas[0].reminder_days, vec![7, 1]);
    // Another user of the tenant, or the same subject in another tenant, sees nothing.
    assert!(
        watches::watch(pool, SEEKERS, "bob", "watch-ana")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        watches::watch(pool, CURATORS, "ana", "watch-ana")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        watches::watches_of(pool, CURATORS, "ana")
            .await
            .unwrap()
            .is_empty()
    );

    let anas_inbox = w.inbox(SEEKERS, "ana").await;
    assert_eq!(anas_inbox.len(), 1);
    let ana_ids = anas_inbox.iter().map(|n| n.id).collect::<Vec<_>>();
    let now = OffsetDateTime::now_utc();
    // Bob cannot mark Ana's notifications read, by id or all at once.
    assert_eq!(
        watches::mark_notifications_read(pool, SEEKERS, "bob", Some(&ana_ids), now)
            .await
            .unwrap(),
        0
    );
    let page = watches::notifications(pool, SEEKERS, "ana", true, 10, None)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.unread), (1, 1));
    assert_eq!(
        watches::mark_notifications_read(pool, SEEKERS, "ana", None, now)
            .await
            .unwrap(),
        1
    );
    let page = watches::notifications(pool, SEEKERS, "ana", true, 10, None)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.unread), (0, 0));
    assert_eq!(w.inbox(SEEKERS, "bob").await.len(), 1, "bob's stays unread");

    // The calendar feed opens with the token's hash only.
    let feed = watches::calendar_feed(pool, "watch-ana", TOKEN_SHA256)
        .await
        .unwrap()
        .expect("the feed");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].title, "Border call");
    let wrong = "0".repeat(64);
    assert!(
        watches::calendar_feed(pool, "watch-ana", &wrong)
            .await
            .unwrap()
            .is_none()
    );

    // A deleted watch is gone, with its feed.
    w.watch(
        SEEKERS,
        "watch-ana",
        WatchCommand::Delete { by: "ana".into() },
    )
    .await;
    w.project().await;
    assert!(
        watches::watches_of(pool, SEEKERS, "ana")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        watches::calendar_feed(pool, "watch-ana", TOKEN_SHA256)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_changed_filter_follows_what_now_matches_without_announcing_it() {
    let w = World::new().await;
    w.publish("border", "Border call", &["T1"], Duration::days(30))
        .await;
    w.publish("drones", "Drones call", &["D2"], Duration::days(30))
        .await;
    w.create_watch(SEEKERS, "ana", "watch-1", &["T1"]).await;
    w.watch(
        SEEKERS,
        "watch-1",
        WatchCommand::Update {
            by: "ana".into(),
            name: None,
            filter: Some(WatchFilter {
                features: codes(&["D2"]),
                ..WatchFilter::default()
            }),
            reminder_days: None,
        },
    )
    .await;
    w.project().await;
    assert_eq!(
        watches::watched_instruments(&w.db.app, "watch-1", 10)
            .await
            .unwrap(),
        vec!["drones"]
    );
    // A change to what it no longer follows says nothing.
    w.instrument(
        "border",
        InstrumentCommand::Revise {
            patch: InstrumentPatch {
                title: Some(Title::parse("title", "Border call II").unwrap()),
                ..InstrumentPatch::default()
            },
        },
    )
    .await;
    w.project().await;
    assert!(w.inbox(SEEKERS, "ana").await.is_empty());
}

fn project_details(acronym: &str, country: &str) -> ri_domain::project::ProjectDetails {
    use ri_domain::project::{Acronym, Consortium, ProjectDetails, Stage};
    ProjectDetails {
        acronym: Acronym::parse("acronym", acronym).unwrap(),
        title: Title::parse("title", acronym).unwrap(),
        open_call: None,
        stage: Some(Stage::Prototyping),
        security_domain: None,
        consortium: Consortium::default(),
        lead_country: Some(CountryCode::parse("leadCountry", country).unwrap()),
        summary: Summary::parse("summary", "").unwrap(),
    }
}

#[tokio::test]
async fn follow_up_managers_hear_once_when_an_instrument_newly_scores_above_a_project_s_threshold()
{
    let w = World::new().await;
    let owners = "delta-hub";
    managed_project(&w, owners, &["T1", "T8"]).await;
    // Half of the project's features: 0.5 (a national call in its country).
    w.publish("half", "Half call", &["T1"], Duration::days(30))
        .await;
    // None of them: never.
    w.publish("none", "Other call", &["G3"], Duration::days(30))
        .await;
    // Below first, then tagged above: one alert, at the revision.
    w.publish("later", "Later call", &["G3"], Duration::days(30))
        .await;
    w.instrument(
        "later",
        InstrumentCommand::TagFeatures {
            features: codes(&["T1", "T8"]),
        },
    )
    .await;
    // Revised again while above: nothing more.
    w.instrument(
        "later",
        InstrumentCommand::Revise {
            patch: InstrumentPatch {
                title: Some(Title::parse("title", "Later call II").unwrap()),
                ..InstrumentPatch::default()
            },
        },
    )
    .await;
    w.project().await;

    let inbox = w.inbox(owners, "mia").await;
    assert_eq!(
        summary(&inbox),
        vec![
            (NotificationKind::ProjectMatch, "half".to_owned()),
            (NotificationKind::ProjectMatch, "later".to_owned()),
        ]
    );
    assert!(inbox.iter().all(|n| n.project_id.as_deref() == Some("p-1")));
    assert!(inbox[0].message.contains("SHIELD"), "{:?}", inbox[0]);
    assert!(
        w.inbox(owners, "cur").await.is_empty(),
        "curators are not told"
    );
}

/// Tenant `owners` with follow-up manager "mia" and curator "cur", and its project "p-1"
/// (SHIELD, prototyping, Lithuanian lead) with `features` and a match threshold of 0.45.
async fn managed_project(w: &World, owners: &str, features: &[&str]) {
    managers_tenant(w, owners).await;
    tenant_project(w, owners, "p-1", "SHIELD", features).await;
}

/// Tenant `owners` with follow-up manager "mia" and curator "cur".
async fn managers_tenant(w: &World, owners: &str) {
    use ri_domain::Role;
    use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile};

    let register = TenantCommand::Register {
        slug: tenant(owners),
        profile: TenantProfile {
            name: Title::parse("name", "Delta hub").unwrap(),
            kind: TenantKind::AmbassadorCluster,
            country: CountryCode::parse("country", "LT").unwrap(),
            website: None,
            domains: vec![],
            member_count: None,
        },
    };
    for command in [
        register,
        TenantCommand::GrantRole {
            subject: "mia".into(),
            role: Role::FollowUpManager,
        },
        TenantCommand::GrantRole {
            subject: "cur".into(),
            role: Role::Curator,
        },
    ] {
        w.log
            .execute::<Tenant>(&tenant(owners), owners, command, &metadata(owners), ())
            .await
            .unwrap();
    }
}

/// Project `id` of `owners` (prototyping, Lithuanian lead) with `features` and a match
/// threshold of 0.45.
async fn tenant_project(w: &World, owners: &str, id: &str, acronym: &str, features: &[&str]) {
    use ri_domain::project::{MatchThreshold, Project, ProjectCommand};

    let project = |command| async {
        w.log
            .execute::<Project>(&tenant(owners), id, command, &metadata(owners), ())
            .await
            .unwrap()
    };
    project(ProjectCommand::Register {
        tenant: tenant(owners),
        details: project_details(acronym, "LT"),
    })
    .await;
    project(ProjectCommand::DeclareFeatures {
        features: codes(features),
    })
    .await;
    project(ProjectCommand::SetMatchThreshold {
        threshold: MatchThreshold::parse("threshold", 0.45).unwrap(),
    })
    .await;
}

#[tokio::test]
async fn one_notice_per_tenant_names_every_project_the_change_made_match_best_first() {
    let w = World::new().await;
    managers_tenant(&w, "delta-hub").await;
    managers_tenant(&w, "gamma-net").await;
    // The call funds T1: all of p-a's need (1.0), half of p-b's (0.5), none of p-c's; all of
    // p-d's in the other tenant.
    tenant_project(&w, "delta-hub", "p-b", "HALF", &["T1", "T8"]).await;
    tenant_project(&w, "delta-hub", "p-a", "FULL", &["T1"]).await;
    tenant_project(&w, "delta-hub", "p-c", "NONE", &["G3"]).await;
    tenant_project(&w, "gamma-net", "p-d", "OTHER", &["T1"]).await;
    w.publish("call", "Technique call", &["T1"], Duration::days(30))
        .await;
    w.project().await;

    let delta = w.inbox("delta-hub", "mia").await;
    assert_eq!(delta.len(), 1, "{delta:?}");
    let notice = &delta[0];
    assert_eq!(notice.kind, NotificationKind::ProjectMatch);
    assert_eq!(
        notice
            .matches
            .iter()
            .map(|m| (m.project_id.as_str(), m.acronym.as_str(), m.score))
            .collect::<Vec<_>>(),
        vec![("p-a", "FULL", 1.0), ("p-b", "HALF", 0.5)]
    );
    assert!(notice.matches.iter().all(|m| m.threshold == 0.45));
    assert_eq!(notice.project_id.as_deref(), Some("p-a"), "the best one");
    assert!(
        notice.message.contains("FULL (1.00), HALF (0.50)"),
        "{}",
        notice.message
    );

    // The other tenant hears of its own project only.
    let gamma = w.inbox("gamma-net", "mia").await;
    assert_eq!(gamma.len(), 1, "{gamma:?}");
    assert_eq!(
        gamma[0]
            .matches
            .iter()
            .map(|m| m.project_id.as_str())
            .collect::<Vec<_>>(),
        vec!["p-d"]
    );
    assert_ne!(gamma[0].id, notice.id);
}

#[tokio::test]
async fn the_configured_weights_decide_which_instruments_alert() {
    // SHIELD needs T1 and G3; the call funds T1 only. With the default weights (T 1, G 0.5)
    // that is 1 / 1.5 of the project, above its 0.45; with general features weighing five
    // times a technique, 0.2 / 1.2, below.
    let mut alerts = Vec::new();
    for (technique, general) in [(1.0, 0.5), (0.2, 1.0)] {
        let mut w = World::new().await;
        let mut config = *w.weights.config();
        config.categories.technique = technique;
        config.categories.general = general;
        w.weights = ri_matching::Weights::new(config).unwrap();
        managed_project(&w, "delta-hub", &["T1", "G3"]).await;
        w.publish("call", "Technique call", &["T1"], Duration::days(30))
            .await;
        w.project().await;
        alerts.push(summary(&w.inbox("delta-hub", "mia").await));
    }
    assert_eq!(
        alerts,
        vec![
            vec![(NotificationKind::ProjectMatch, "call".to_owned())],
            vec![]
        ]
    );
}

#[tokio::test]
async fn a_project_is_alerted_once_per_instrument_across_batches_and_replays() {
    let w = World::new().await;
    managed_project(&w, "delta-hub", &["T1", "G3"]).await;
    w.publish(
        "first",
        "First technique call",
        &["T1", "D2"],
        Duration::days(30),
    )
    .await;
    w.project().await;
    // In later runs, so the alerted set is read back from the table: the call drops below the
    // threshold and comes back (no second alert); another call matches (its own alert).
    w.instrument(
        "first",
        InstrumentCommand::UntagFeatures {
            features: codes(&["T1"]),
        },
    )
    .await;
    w.project().await;
    w.instrument(
        "first",
        InstrumentCommand::TagFeatures {
            features: codes(&["T1"]),
        },
    )
    .await;
    w.publish(
        "second",
        "Second technique call",
        &["T1"],
        Duration::days(30),
    )
    .await;
    w.project().await;
    let expected = vec![
        (NotificationKind::ProjectMatch, "first".to_owned()),
        (NotificationKind::ProjectMatch, "second".to_owned()),
    ];
    assert_eq!(summary(&w.inbox("delta-hub", "mia").await), expected);

    // A replay in small batches rebuilds the sets and alerts nobody twice.
    let watches: Arc<dyn Projection> = Arc::new(Watches::default());
    replay(&w.log, &w.db.owner, &*watches, 3).await.unwrap();
    assert_eq!(summary(&w.inbox("delta-hub", "mia").await), expected);
}
