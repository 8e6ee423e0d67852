//! The world of the `watches` projection tests: real Watch and FundingInstrument commands,
//! the runner in small batches, and a user's inbox.

#![allow(dead_code, unused_imports)] // each test file uses a part of this prelude
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

pub(crate) use std::sync::Arc;

pub(crate) use ri_domain::instrument::{
    CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentPatch, InstrumentServices, Schedule, SystemClock,
};
pub(crate) use ri_domain::values::{CountryCode, Summary, Title};
pub(crate) use ri_domain::watch::{ReminderDays, Watch, WatchCommand, WatchFilter};
pub(crate) use ri_eventstore::EventLog;
pub(crate) use ri_projections::watches::{self, Notification, NotificationKind};
pub(crate) use ri_projections::{Projection, ProjectionRunner, RunnerConfig, Watches, replay};
pub(crate) use ri_taxonomy::FeatureSet;
pub(crate) use ri_testkit::{TestDb, metadata, read_at_least, tenant};
pub(crate) use time::{Duration, OffsetDateTime};

pub(crate) const CURATORS: &str = "alpha-cluster";
pub(crate) const SEEKERS: &str = "beta-hub";
/// SHA-256 of "token".
pub(crate) const TOKEN_SHA256: &str =
    "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0";

pub(crate) fn services() -> InstrumentServices {
    InstrumentServices {
        clock: Arc::new(SystemClock),
    }
}

pub(crate) fn details(title: &str) -> InstrumentDetails {
    InstrumentDetails {
        title: Title::parse("title", title).unwrap(),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::National,
        countries: vec![CountryCode::parse("countries", "LT").unwrap()],
        programme: None,
        link: None,
        summary: Summary::parse("summary", "").unwrap(),
        target_organisations: vec![],
        funding: None,
        periodicity: None,
        languages: vec![],
    }
}

pub(crate) fn codes(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

pub(crate) struct World {
    pub(crate) db: TestDb,
    pub(crate) log: EventLog,
    pub(crate) weights: ri_matching::Weights,
}

impl World {
    pub(crate) async fn new() -> Self {
        let db = TestDb::new().await;
        let log = db.log_with(ri_domain::event_registry(), 20);
        World {
            db,
            log,
            weights: ri_matching::Weights::default(),
        }
    }

    pub(crate) async fn instrument(&self, id: &str, command: InstrumentCommand) {
        self.log
            .execute::<FundingInstrument>(
                &tenant(CURATORS),
                id,
                command,
                &metadata(CURATORS),
                services(),
            )
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
    }

    pub(crate) async fn publish(
        &self,
        id: &str,
        title: &str,
        features: &[&str],
        deadline_in: Duration,
    ) {
        self.draft(id, title, features, deadline_in).await;
        self.instrument(id, InstrumentCommand::Publish).await;
    }

    pub(crate) async fn draft(
        &self,
        id: &str,
        title: &str,
        features: &[&str],
        deadline_in: Duration,
    ) {
        self.instrument(
            id,
            InstrumentCommand::Draft {
                tenant: tenant(CURATORS),
                details: details(title),
            },
        )
        .await;
        self.instrument(
            id,
            InstrumentCommand::TagFeatures {
                features: codes(features),
            },
        )
        .await;
        let deadline = OffsetDateTime::now_utc() + deadline_in;
        self.instrument(
            id,
            InstrumentCommand::SetSchedule {
                schedule: Schedule::new(None, Some(deadline), None).unwrap(),
            },
        )
        .await;
    }

    pub(crate) async fn watch(&self, slug: &str, id: &str, command: WatchCommand) {
        self.log
            .execute::<Watch>(&tenant(slug), id, command, &metadata(slug), ())
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
    }

    pub(crate) async fn create_watch(&self, slug: &str, owner: &str, id: &str, features: &[&str]) {
        self.watch(
            slug,
            id,
            WatchCommand::Create {
                owner: owner.into(),
                name: Title::parse("name", "Border technology").unwrap(),
                filter: WatchFilter {
                    features: codes(features),
                    ..WatchFilter::default()
                },
                reminder_days: ReminderDays::default(),
                calendar_token_sha256: TOKEN_SHA256.into(),
            },
        )
        .await;
    }

    /// Runs the projection over everything written so far, in small batches.
    pub(crate) async fn project(&self) {
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.owner)
            .await
            .unwrap();
        read_at_least(&self.log, written as usize).await;
        let config = RunnerConfig {
            batch_size: 3,
            ..RunnerConfig::default()
        };
        let watches = Watches::with_weights(self.weights.clone());
        ProjectionRunner::new(self.log.clone(), Arc::new(watches), config)
            .catch_up()
            .await
            .unwrap();
    }

    pub(crate) async fn inbox(&self, slug: &str, owner: &str) -> Vec<Notification> {
        let mut items = watches::notifications(&self.db.app, slug, owner, false, 100, None)
            .await
            .unwrap()
            .items;
        items.reverse(); // oldest first reads like the story
        items
    }
}

pub(crate) fn summary(items: &[Notification]) -> Vec<(NotificationKind, String)> {
    items
        .iter()
        .map(|n| (n.kind, n.instrument_id.clone().unwrap_or_default()))
        .collect()
}
