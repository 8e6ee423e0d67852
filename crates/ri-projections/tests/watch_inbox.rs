//! The `watches` projection's notices as users get them: one notice reaching many recipients,
//! each inbox paging and reading on its own, and a text watch adopting what it matches.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod watches_world;

use watches_world::*;

#[tokio::test]
async fn one_notice_reaches_every_recipient_and_each_inbox_pages_and_reads_on_its_own() {
    let w = World::new().await;
    // Four watches on one feature: two of ana's, bob's, and carla's in another tenant.
    w.create_watch(SEEKERS, "ana", "watch-a1", &["T1"]).await;
    w.create_watch(SEEKERS, "ana", "watch-a2", &["T1"]).await;
    w.create_watch(SEEKERS, "bob", "watch-b", &["T1"]).await;
    w.create_watch(CURATORS, "carla", "watch-c", &["T1"]).await;
    w.publish("x-call", "Border call", &["T1"], Duration::days(30))
        .await;
    w.project().await;

    // Each watch is told once, in its owner's inbox only.
    let page = |owner: &'static str, slug: &'static str, first, before| {
        let pool = w.db.app.clone();
        async move {
            watches::notifications(&pool, slug, owner, false, first, before)
                .await
                .unwrap()
        }
    };
    let ana = page("ana", SEEKERS, 1, None).await;
    assert_eq!(ana.items.len(), 1);
    assert!(ana.has_next, "ana has a second notification");
    assert_eq!(ana.unread, 2);
    let ana_next = page("ana", SEEKERS, 1, Some(ana.items[0].seq)).await;
    assert_eq!(ana_next.items.len(), 1);
    assert!(!ana_next.has_next);
    let ana_ids = [ana.items[0].id, ana_next.items[0].id];
    assert_ne!(ana_ids[0], ana_ids[1]);
    let mut ana_watches = [&ana.items[0], &ana_next.items[0]]
        .map(|n| n.watch_id.clone().unwrap_or_default())
        .to_vec();
    ana_watches.sort();
    assert_eq!(ana_watches, ["watch-a1", "watch-a2"]);
    let bob = page("bob", SEEKERS, 10, None).await;
    assert_eq!(
        summary(&bob.items),
        [(NotificationKind::NewMatch, "x-call".to_owned())]
    );
    assert_eq!(bob.items[0].watch_id.as_deref(), Some("watch-b"));
    let carla = page("carla", CURATORS, 10, None).await;
    assert_eq!(carla.items.len(), 1);
    assert!(page("carla", SEEKERS, 10, None).await.items.is_empty());
    assert!(page("ana", CURATORS, 10, None).await.items.is_empty());

    // Reading is each recipient's own: bob cannot mark ana's, ana's mark leaves bob unread.
    let at = OffsetDateTime::now_utc();
    let foreign = watches::mark_notifications_read(&w.db.app, SEEKERS, "bob", Some(&ana_ids), at)
        .await
        .unwrap();
    assert_eq!(foreign, 0);
    let read = watches::mark_notifications_read(&w.db.app, SEEKERS, "ana", Some(&ana_ids[..1]), at)
        .await
        .unwrap();
    assert_eq!(read, 1);
    let again =
        watches::mark_notifications_read(&w.db.app, SEEKERS, "ana", Some(&ana_ids[..1]), at)
            .await
            .unwrap();
    assert_eq!(again, 0, "already read");
    let ana = page("ana", SEEKERS, 10, None).await;
    assert_eq!(ana.unread, 1);
    let read_flags = ana
        .items
        .iter()
        .map(|n| (n.id, n.read_at.is_some()))
        .collect::<Vec<_>>();
    assert!(read_flags.contains(&(ana_ids[0], true)), "{read_flags:?}");
    assert!(read_flags.contains(&(ana_ids[1], false)), "{read_flags:?}");
    let unread_only = watches::notifications(&w.db.app, SEEKERS, "ana", true, 10, None)
        .await
        .unwrap();
    assert_eq!(unread_only.items.len(), 1);
    assert_eq!(unread_only.items[0].id, ana_ids[1]);
    assert_eq!(page("bob", SEEKERS, 10, None).await.unread, 1);

    // The relay sees every recipient of a notice at once, and marks the notice published.
    let unpublished = watches::unpublished_notifications(&w.db.owner, 100)
        .await
        .unwrap();
    assert_eq!(unpublished.len(), 4, "{unpublished:?}");
    watches::mark_notifications_published(&w.db.owner, &unpublished, at)
        .await
        .unwrap();
    assert!(
        watches::unpublished_notifications(&w.db.owner, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_text_watch_adopts_what_matches_both_stored_and_changed_in_the_same_batch() {
    let w = World::new().await;
    // Stored before the watch: matches its text.
    w.publish(
        "a-stored",
        "Drones for borders",
        &["T1"],
        Duration::days(30),
    )
    .await;
    w.project().await;
    // Published in the batch that also makes the watch (batches of 3: its draft, tag and
    // schedule, then its publication with the watch), and one that does not match the text.
    w.publish("b-held", "Drones at sea", &["T1"], Duration::days(30))
        .await;
    w.watch(
        SEEKERS,
        "watch-text",
        WatchCommand::Create {
            owner: "ana".into(),
            name: Title::parse("name", "Drones").unwrap(),
            filter: WatchFilter {
                text: Some(ri_domain::values::SearchText::parse("text", "drones").unwrap()),
                ..WatchFilter::default()
            },
            reminder_days: ReminderDays::default(),
            calendar_token_sha256: TOKEN_SHA256.into(),
        },
    )
    .await;
    w.publish("c-other", "Maritime call", &["T1"], Duration::days(30))
        .await;
    w.project().await;
    assert!(w.inbox(SEEKERS, "ana").await.is_empty());
    let mut followed = watches::watched_instruments(&w.db.app, "watch-text", 10)
        .await
        .unwrap();
    followed.sort();
    assert_eq!(followed, ["a-stored", "b-held"]);

    // Both adopted: a revision is a change, not a new match; the third newly matches.
    for (id, title) in [
        ("a-stored", "Drones for borders 2027"),
        ("b-held", "Drones at sea 2027"),
        ("c-other", "Maritime drones"),
    ] {
        w.instrument(
            id,
            InstrumentCommand::Revise {
                patch: InstrumentPatch {
                    title: Some(Title::parse("title", title).unwrap()),
                    ..InstrumentPatch::default()
                },
            },
        )
        .await;
    }
    w.project().await;
    assert_eq!(
        summary(&w.inbox(SEEKERS, "ana").await),
        [
            (NotificationKind::Changed, "a-stored".to_owned()),
            (NotificationKind::Changed, "b-held".to_owned()),
            (NotificationKind::NewMatch, "c-other".to_owned()),
        ]
    );
}
