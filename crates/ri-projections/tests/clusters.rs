//! The `clusters` projection and its read API against the real PostgreSQL: real Project,
//! EndUserArea and ProjectCluster commands, the runner in small batches; a cluster's dashboard
//! checked against numbers computed by hand; every read isolated between tenants (and the
//! tables themselves under row-level security); the practitioner's token lookup; bad input
//! refused with nothing stored; suggestions explained by shared features; the audit trail; and
//! replay equal to the live projection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::sync::Arc;

use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain, Attendees, ClusterCommand, ClusterError,
    ClusterServices, DemoEventStatus, Email, EndUserArea, Feedback, FeedbackWindow, Invitation,
    NextStepPlan, Practitioner, PractitionerSector, ProjectCluster, ProjectRef, Rating,
    Stakeholder, StakeholderKind, TimeZoneName, TokenHash, Venue,
};
use ri_domain::instrument::{Clock, SystemClock};
use ri_domain::project::{
    Acronym, Consortium, MilestoneDescription, Project, ProjectCommand, ProjectDetails,
    SuccessCriterion,
};
use ri_domain::values::{CountryCode, Link, ShortText, Summary, Title};
use ri_eventstore::EventLog;
use ri_projections::catalogue::{Viewer, audit_trail};
use ri_projections::clusters::{
    self, Attempt, AttemptLimit, ClusterDashboard, CountShare, InvitationState,
};
use ri_projections::{
    Audit, Clusters, Projection, ProjectionRunner, Projects, RunnerConfig, replay,
};
use ri_taxonomy::{FeatureCode, FeatureSet};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use sqlx::AssertSqlSafe;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

const ALPHA: &str = "alpha-cluster";
const BETA: &str = "beta-hub";
const CLUSTER: &str = "c-1";

const PAST_EVENT: Uuid = Uuid::from_u128(0xe1);
const NEXT_EVENT: Uuid = Uuid::from_u128(0xe2);
const CANCELLED_EVENT: Uuid = Uuid::from_u128(0xe3);
const ONA: Uuid = Uuid::from_u128(0x11);
const JEAN: Uuid = Uuid::from_u128(0x12);
const MARIE: Uuid = Uuid::from_u128(0x13);
const REVOKED: Uuid = Uuid::from_u128(0x14);
const LATE: Uuid = Uuid::from_u128(0x15);
const SHEET: Uuid = Uuid::from_u128(0x5e);
const SESSION: Uuid = Uuid::from_u128(0x55);
const STEP_OVERDUE: Uuid = Uuid::from_u128(0x57a);
const STEP_OPEN: Uuid = Uuid::from_u128(0x57b);
const STEP_DONE: Uuid = Uuid::from_u128(0x57c);

/// A clock at a fixed time.
#[derive(Debug)]
struct At(OffsetDateTime);

impl Clock for At {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

fn now_services() -> ClusterServices {
    ClusterServices {
        clock: Arc::new(SystemClock),
    }
}

fn services_at(at: OffsetDateTime) -> ClusterServices {
    ClusterServices {
        clock: Arc::new(At(at)),
    }
}

fn codes(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn code(raw: &str) -> FeatureCode {
    raw.parse().unwrap()
}

fn aref(raw: &str) -> AggregateRef {
    AggregateRef::parse("projectId", raw).unwrap()
}

/// The token of each invitation: a fixed string, hashed as the API would.
fn token(n: u128) -> TokenHash {
    TokenHash::parse("token", &format!("{:064x}", n * 0x1_0000_0001 + 7)).unwrap()
}

fn practitioner(organisation: &str, country: &str, sector: PractitionerSector) -> Practitioner {
    Practitioner {
        organisation: Title::parse("organisation", organisation).unwrap(),
        country: CountryCode::parse("country", country).unwrap(),
        sector,
    }
}

fn feedback(relevance: i64, usability: i64, would_pilot: bool, features: &[&str]) -> Feedback {
    Feedback {
        relevance: Rating::parse("relevance", relevance).unwrap(),
        usability: Rating::parse("usability", usability).unwrap(),
        would_pilot,
        relevant_features: codes(features),
        comment: Summary::parse("comment", "").unwrap(),
    }
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

struct World {
    db: TestDb,
    log: EventLog,
    /// When the past event was scheduled (ten days ago).
    then: OffsetDateTime,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let log = db.log_with(ri_domain::event_registry(), 5);
        World {
            db,
            log,
            // Whole seconds: the tables keep microseconds.
            then: (OffsetDateTime::now_utc() - Duration::days(10))
                .replace_nanosecond(0)
                .unwrap(),
        }
    }

    fn pool(&self) -> &sqlx::PgPool {
        &self.db.app
    }

    async fn project(&self, slug: &str, id: &str, acronym: &str, features: &[&str]) {
        let commands = [
            ProjectCommand::Register {
                tenant: tenant(slug),
                details: ProjectDetails {
                    acronym: Acronym::parse("acronym", acronym).unwrap(),
                    title: Title::parse("title", &format!("{acronym} project")).unwrap(),
                    open_call: None,
                    stage: None,
                    security_domain: None,
                    consortium: Consortium::default(),
                    lead_country: None,
                    summary: Summary::parse("summary", "").unwrap(),
                },
            },
            ProjectCommand::DeclareFeatures {
                features: codes(features),
            },
        ];
        for command in commands {
            if matches!(command, ProjectCommand::DeclareFeatures { features } if features.is_empty())
            {
                continue;
            }
            self.log
                .execute::<Project>(&tenant(slug), id, command, &metadata(slug), ())
                .await
                .unwrap_or_else(|e| panic!("{slug}/{id}: {e:?}"));
        }
    }

    async fn try_cluster(
        &self,
        slug: &str,
        command: ClusterCommand,
        services: ClusterServices,
    ) -> Result<(), ClusterError> {
        self.log
            .execute::<ProjectCluster>(&tenant(slug), CLUSTER, command, &metadata(slug), services)
            .await
            .map_err(|e| match e {
                cqrs_es::AggregateError::UserError(e) => e,
                other => panic!("not a domain error: {other:?}"),
            })
    }

    async fn cluster(&self, command: ClusterCommand, services: ClusterServices) {
        let shown = format!("{command:?}");
        self.try_cluster(ALPHA, command, services)
            .await
            .unwrap_or_else(|e| panic!("{shown}: {e:?}"));
    }

    /// The project as the API would find it: in the caller's tenant's projects read model.
    async fn project_ref(&self, slug: &str, id: &str) -> Option<ProjectRef> {
        let row = ri_projections::projects::project(self.pool(), &tenant(slug), id)
            .await
            .unwrap()?;
        Some(ProjectRef {
            id: aref(&row.id),
            tenant: row.tenant,
            acronym: Acronym::parse("acronym", &row.acronym).unwrap(),
            shared: false,
        })
    }

    async fn catch_up(&self) {
        read_at_least(&self.log, self.event_count().await as usize).await;
        for projection in [
            Arc::new(Projects) as Arc<dyn Projection>,
            Arc::new(Clusters),
            Arc::new(Audit),
        ] {
            let config = RunnerConfig {
                batch_size: 4,
                ..RunnerConfig::default()
            };
            ProjectionRunner::new(self.log.clone(), projection, config)
                .catch_up()
                .await
                .unwrap();
        }
    }

    async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.owner)
            .await
            .unwrap()
    }

    async fn dashboard(&self, slug: &str) -> Option<ClusterDashboard> {
        clusters::cluster_dashboard(
            self.pool(),
            &tenant(slug),
            CLUSTER,
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
    }
}

fn invitation(id: Uuid, email: &str, who: Practitioner) -> ClusterCommand {
    ClusterCommand::InvitePractitioner {
        event_id: PAST_EVENT,
        invitation: Invitation {
            id,
            practitioner: who,
            email: Email::parse("email", email).unwrap(),
            token_sha256: token(id.as_u128()),
            expires_at: None,
        },
    }
}

fn submit(invitation: Uuid, project: &str, feedback: Feedback) -> ClusterCommand {
    ClusterCommand::SubmitDemoFeedback {
        invitation_id: invitation,
        token_sha256: token(invitation.as_u128()),
        project_id: aref(project),
        feedback,
    }
}

fn schedule(id: Uuid, starts_at: OffsetDateTime, agenda: &[&str]) -> ClusterCommand {
    ClusterCommand::ScheduleDemoEvent {
        id,
        title: Title::parse("title", &format!("Demo day {}", id.as_u128())).unwrap(),
        starts_at,
        time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
        venue: Venue::new(
            Some(ShortText::parse("place", "Vilnius").unwrap()),
            Some(Link::parse("onlineLink", "https://meet.example.eu/demo").unwrap()),
        )
        .unwrap(),
        agenda: agenda.iter().map(|p| aref(p)).collect(),
        feedback_window: FeedbackWindow::default(),
    }
}

fn step(id: Uuid, project: &str, due: Date) -> NextStepPlan {
    NextStepPlan {
        id,
        project_id: aref(project),
        action: Title::parse("action", "Prepare a pilot").unwrap(),
        owner: Title::parse("owner", "Consortium lead").unwrap(),
        due,
    }
}

/// ALPHA's cluster with two projects, three demo events (one past with feedback, one coming,
/// one cancelled), invitations, feedback on line and on paper, a follow-up session, stakeholders
/// and a milestone; projects of ALPHA outside the cluster and one of BETA.
async fn scenario(w: &World) {
    w.project(ALPHA, "p-safe", "Safe Festivals", &["T1", "P2", "P3"])
        .await;
    w.project(ALPHA, "p-errata", "ERRATA", &["T1", "P4"]).await;
    w.project(ALPHA, "p-cmd", "CMD BOX", &["T1", "P2", "G3"])
        .await;
    w.project(ALPHA, "p-far", "Far away", &["D5"]).await;
    w.project(ALPHA, "p-empty", "No features", &[]).await;
    w.project(BETA, "p-beta", "Beta's own", &["T1", "P2", "P3"])
        .await;
    w.log
        .execute::<Project>(
            &tenant(ALPHA),
            "p-safe",
            ProjectCommand::RecordMilestone {
                id: Uuid::from_u128(0x3115),
                criterion: SuccessCriterion::Recognition,
                date: time::macros::date!(2026 - 01 - 10),
                description: MilestoneDescription::parse("description", "Award at a fair").unwrap(),
                evidence_link: None,
            },
            &metadata(ALPHA),
            (),
        )
        .await
        .unwrap();
    w.log
        .execute::<Project>(
            &tenant(ALPHA),
            "p-cmd",
            ProjectCommand::RecordMilestone {
                id: Uuid::from_u128(0x3116),
                criterion: SuccessCriterion::Recognition,
                date: time::macros::date!(2026 - 01 - 11),
                description: MilestoneDescription::parse("description", "Not in the cluster")
                    .unwrap(),
                evidence_link: None,
            },
            &metadata(ALPHA),
            (),
        )
        .await
        .unwrap();
    w.log
        .execute::<EndUserArea>(
            &tenant(ALPHA),
            "area-1",
            AreaCommand::Name {
                tenant: tenant(ALPHA),
                name: Title::parse("name", "Public event security").unwrap(),
                domain: AreaDomain::PublicSpaceProtection,
                description: Summary::parse("description", "Festivals and crowds").unwrap(),
            },
            &metadata(ALPHA),
            (),
        )
        .await
        .unwrap();
    w.catch_up().await; // the API reads projects before assigning them

    w.cluster(
        ClusterCommand::Form {
            tenant: tenant(ALPHA),
            area_id: aref("area-1"),
            name: Title::parse("name", "Public event security").unwrap(),
            description: Summary::parse("description", "").unwrap(),
        },
        now_services(),
    )
    .await;
    for id in ["p-safe", "p-errata"] {
        let project = w.project_ref(ALPHA, id).await.expect("ALPHA's project");
        w.cluster(ClusterCommand::AssignProject { project }, now_services())
            .await;
    }
    w.cluster(
        ClusterCommand::AssignFollowUpManager {
            subject: "ona".into(),
        },
        now_services(),
    )
    .await;
    for (n, kind, name) in [
        (1, StakeholderKind::Eactda, "EACTDA"),
        (2, StakeholderKind::Investor, "Baltic Angels"),
    ] {
        w.cluster(
            ClusterCommand::EngageStakeholder {
                stakeholder: Stakeholder {
                    id: Uuid::from_u128(n),
                    kind,
                    name: Title::parse("name", name).unwrap(),
                    note: ShortText::parse("note", "interested").unwrap(),
                },
            },
            now_services(),
        )
        .await;
    }

    // The past event: scheduled ten days ago for five days ago; its window is still open.
    let then = services_at(w.then);
    w.cluster(
        schedule(
            PAST_EVENT,
            w.then + Duration::days(5),
            &["p-safe", "p-errata"],
        ),
        then.clone(),
    )
    .await;
    for (id, email, who) in [
        (
            ONA,
            "ona@vpgt.lt",
            practitioner(
                "Vilnius fire and rescue",
                "LT",
                PractitionerSector::FireAndRescue,
            ),
        ),
        (
            JEAN,
            "jean@police.fr",
            practitioner("Police nationale", "FR", PractitionerSector::LawEnforcement),
        ),
        (
            MARIE,
            "marie@lyon.fr",
            practitioner("Ville de Lyon", "FR", PractitionerSector::Municipality),
        ),
        (
            REVOKED,
            "wrong@example.eu",
            practitioner("Wrong address", "DE", PractitionerSector::Other),
        ),
    ] {
        w.cluster(invitation(id, email, who), then.clone()).await;
    }
    w.cluster(
        ClusterCommand::RevokeInvitation {
            invitation_id: REVOKED,
            reason: ShortText::parse("reason", "sent to the wrong person").unwrap(),
        },
        now_services(),
    )
    .await;
    // An invitation that expired yesterday, within the event's window.
    w.cluster(
        ClusterCommand::InvitePractitioner {
            event_id: PAST_EVENT,
            invitation: Invitation {
                id: LATE,
                practitioner: practitioner("Late office", "LV", PractitionerSector::Defence),
                email: Email::parse("email", "late@example.lv").unwrap(),
                token_sha256: token(LATE.as_u128()),
                expires_at: Some(OffsetDateTime::now_utc() - Duration::days(1)),
            },
        },
        then,
    )
    .await;

    // Ona first rates Safe Festivals 5, then edits it to 4.
    for command in [
        submit(ONA, "p-safe", feedback(5, 4, true, &["T1", "P2"])),
        submit(ONA, "p-safe", feedback(4, 4, true, &["T1", "P2"])),
        submit(JEAN, "p-safe", feedback(3, 2, false, &["T1"])),
        submit(MARIE, "p-safe", feedback(5, 5, true, &["P2", "P3"])),
        ClusterCommand::RecordPaperFeedback {
            event_id: PAST_EVENT,
            sheet_id: SHEET,
            practitioner: practitioner(
                "Kaunas municipality",
                "LT",
                PractitionerSector::Municipality,
            ),
            project_id: aref("p-safe"),
            feedback: feedback(2, 1, true, &["T1"]),
        },
        submit(ONA, "p-errata", feedback(4, 3, false, &["P4"])),
        ClusterCommand::MarkDemoEventHeld { id: PAST_EVENT },
    ] {
        w.cluster(command, now_services()).await;
    }

    // A coming event, and a cancelled one.
    let soon = OffsetDateTime::now_utc() + Duration::days(7);
    w.cluster(schedule(NEXT_EVENT, soon, &["p-errata"]), now_services())
        .await;
    w.cluster(
        schedule(CANCELLED_EVENT, soon + Duration::days(1), &["p-safe"]),
        now_services(),
    )
    .await;
    w.cluster(
        ClusterCommand::CancelDemoEvent {
            id: CANCELLED_EVENT,
            reason: ShortText::parse("reason", "merged with the other").unwrap(),
        },
        now_services(),
    )
    .await;

    // A follow-up session three days ago: one step overdue, one open, one done.
    w.cluster(
        ClusterCommand::RecordFollowUpSession {
            id: SESSION,
            date: today() - Duration::days(3),
            demo_event_id: Some(PAST_EVENT),
            attendees: Attendees::parse("attendees", &["Ona", "Jonas"]).unwrap(),
            notes: Summary::parse("notes", "Pilots discussed").unwrap(),
            next_steps: vec![
                step(STEP_OVERDUE, "p-safe", today() - Duration::days(1)),
                step(STEP_OPEN, "p-errata", today() + Duration::days(10)),
                step(STEP_DONE, "p-safe", today() - Duration::days(2)),
            ],
        },
        now_services(),
    )
    .await;
    w.cluster(
        ClusterCommand::CompleteNextStep { step_id: STEP_DONE },
        now_services(),
    )
    .await;
    w.catch_up().await;
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_numbers_computed_by_hand() {
    let w = World::new().await;
    scenario(&w).await;
    let d = w.dashboard(ALPHA).await.expect("ALPHA's cluster");

    assert_eq!(d.cluster.name, "Public event security");
    assert_eq!(
        d.cluster.area_name.as_deref(),
        Some("Public event security")
    );
    assert_eq!(
        d.cluster.area_domain,
        Some(AreaDomain::PublicSpaceProtection)
    );
    assert_eq!(d.cluster.follow_up_manager.as_deref(), Some("ona"));
    assert_eq!(
        (
            d.cluster.projects,
            d.cluster.upcoming_events,
            d.cluster.open_steps,
            d.cluster.overdue_steps
        ),
        (2, 1, 2, 1)
    );
    assert_eq!(
        d.projects
            .iter()
            .map(|p| (p.acronym.as_str(), p.registered, p.features))
            .collect::<Vec<_>>(),
        [
            ("Safe Festivals", true, codes(&["T1", "P2", "P3"])),
            ("ERRATA", true, codes(&["T1", "P4"]))
        ]
    );
    assert_eq!(
        d.stakeholders
            .iter()
            .map(|s| (s.kind, s.name.as_str()))
            .collect::<Vec<_>>(),
        [
            (StakeholderKind::Eactda, "EACTDA"),
            (StakeholderKind::Investor, "Baltic Angels")
        ]
    );

    // Events: the coming one and the cancelled one are upcoming (soonest first); the held one
    // is past, with 3 live invitations (one revoked is not counted, the late one is), 4
    // respondents (Ona, Jean, Marie, the paper sheet) and 5 feedback.
    assert_eq!(
        d.upcoming_events
            .iter()
            .map(|e| (e.id, e.status))
            .collect::<Vec<_>>(),
        [
            (NEXT_EVENT, DemoEventStatus::Scheduled),
            (CANCELLED_EVENT, DemoEventStatus::Cancelled)
        ]
    );
    let [past] = d.past_events.as_slice() else {
        panic!("{:?}", d.past_events)
    };
    assert_eq!(past.id, PAST_EVENT);
    assert_eq!(past.status, DemoEventStatus::Held);
    assert_eq!(
        (past.invitations, past.respondents, past.feedback),
        (4, 4, 5)
    );
    assert_eq!(
        past.agenda
            .iter()
            .map(|a| a.acronym.as_str())
            .collect::<Vec<_>>(),
        ["Safe Festivals", "ERRATA"]
    );
    assert_eq!(past.starts_at, w.then + Duration::days(5));
    assert_eq!(past.feedback_closes_at, w.then + Duration::days(19));

    // Safe Festivals: Ona (4, 4, pilot, T1 P2), Jean (3, 2, no, T1), Marie (5, 5, pilot, P2
    // P3), Kaunas on paper (2, 1, pilot, T1).
    let [safe, errata] = d.feedback.as_slice() else {
        panic!("{:?}", d.feedback)
    };
    assert_eq!((safe.acronym.as_str(), safe.count), ("Safe Festivals", 4));
    assert!(close(safe.mean_relevance, 3.5), "{safe:?}"); // (4 + 3 + 5 + 2) / 4
    assert!(close(safe.mean_usability, 3.0), "{safe:?}"); // (4 + 2 + 5 + 1) / 4
    assert!(close(safe.would_pilot_share, 0.75), "{safe:?}"); // 3 of 4
    assert_eq!(
        safe.top_features,
        [
            CountShare {
                value: code("T1"),
                count: 3
            },
            CountShare {
                value: code("P2"),
                count: 2
            },
            CountShare {
                value: code("P3"),
                count: 1
            },
        ]
    );
    assert_eq!(
        safe.by_country
            .iter()
            .map(|c| (c.value.as_str(), c.count))
            .collect::<Vec<_>>(),
        [("FR", 2), ("LT", 2)]
    );
    assert_eq!(
        safe.by_sector
            .iter()
            .map(|c| (c.value, c.count))
            .collect::<Vec<_>>(),
        [
            (PractitionerSector::Municipality, 2),
            (PractitionerSector::FireAndRescue, 1),
            (PractitionerSector::LawEnforcement, 1)
        ]
    );
    assert_eq!((errata.acronym.as_str(), errata.count), ("ERRATA", 1));
    assert!(close(errata.mean_relevance, 4.0) && close(errata.mean_usability, 3.0));
    assert!(close(errata.would_pilot_share, 0.0));

    // Steps: open ones by due date; the overdue one flagged; the done one only in its session.
    assert_eq!(
        d.open_steps
            .iter()
            .map(|s| (s.id, s.overdue))
            .collect::<Vec<_>>(),
        [(STEP_OVERDUE, true), (STEP_OPEN, false)]
    );
    assert_eq!(
        d.overdue_steps.iter().map(|s| s.id).collect::<Vec<_>>(),
        [STEP_OVERDUE]
    );
    let [session] = d.sessions.as_slice() else {
        panic!("{:?}", d.sessions)
    };
    assert_eq!(session.attendees, ["Ona", "Jonas"]);
    let done = session
        .next_steps
        .iter()
        .find(|s| s.id == STEP_DONE)
        .expect("the done step");
    assert_eq!(done.completed_on, Some(today()));
    assert!(!done.overdue);

    // Milestones of the cluster's projects only.
    assert_eq!(
        d.milestones
            .iter()
            .map(|m| (m.acronym.as_str(), m.criterion))
            .collect::<Vec<_>>(),
        [("Safe Festivals", SuccessCriterion::Recognition)]
    );

    // The list of clusters and areas agree.
    let list = clusters::clusters(w.pool(), &tenant(ALPHA), OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(list, std::slice::from_ref(&d.cluster));
    let areas = clusters::areas(w.pool(), &tenant(ALPHA)).await.unwrap();
    assert_eq!(areas.len(), 1);
    assert_eq!(
        (areas[0].name.as_str(), areas[0].clusters),
        ("Public event security", 1)
    );

    // The manager's view of invitations and feedback.
    let invitations = clusters::invitations(w.pool(), &tenant(ALPHA), CLUSTER, PAST_EVENT)
        .await
        .unwrap();
    assert_eq!(invitations.len(), 5);
    let ona = invitations.iter().find(|i| i.id == ONA).unwrap();
    assert_eq!((ona.feedback, ona.links_issued, ona.revoked), (2, 1, false));
    assert!(
        invitations
            .iter()
            .find(|i| i.id == REVOKED)
            .unwrap()
            .revoked
    );
    let entries = clusters::feedback_entries(w.pool(), &tenant(ALPHA), CLUSTER, Some(PAST_EVENT))
        .await
        .unwrap();
    assert_eq!(entries.len(), 5);
    let edited = entries
        .iter()
        .find(|f| f.respondent_id == ONA && f.project_id == "p-safe")
        .unwrap();
    assert_eq!((edited.relevance, edited.revisions), (4, 1));
    assert!(
        entries
            .iter()
            .any(|f| f.paper && f.organisation == "Kaunas municipality")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_sees_nothing_through_any_read_nor_the_tables() {
    let w = World::new().await;
    scenario(&w).await;
    let beta = tenant(BETA);
    let pool = w.pool();
    let now = OffsetDateTime::now_utc();
    assert!(clusters::areas(pool, &beta).await.unwrap().is_empty());
    assert!(
        clusters::area(pool, &beta, "area-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        clusters::clusters(pool, &beta, now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        clusters::cluster_dashboard(pool, &beta, CLUSTER, now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        clusters::invitations(pool, &beta, CLUSTER, PAST_EVENT)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        clusters::feedback_entries(pool, &beta, CLUSTER, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        clusters::suggested_projects(pool, &beta, CLUSTER, 10)
            .await
            .unwrap()
            .is_none()
    );
    let trail = audit_trail(pool, &Viewer::member_of(beta.clone()), CLUSTER, 100, None)
        .await
        .unwrap();
    assert_eq!(trail.total_count, 0);

    // Row-level security: a query naming no tenant, run as BETA, sees none of ALPHA's rows.
    for table in Clusters.tables() {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT set_config('app.tenant', $1, true)")
            .bind(BETA)
            .execute(&mut *tx)
            .await
            .unwrap();
        let seen: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen, 0, "{table}");
        tx.rollback().await.unwrap();
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
        assert!(total > 0, "{table} holds ALPHA's rows");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_nothing_stored() {
    let w = World::new().await;
    scenario(&w).await;
    let before = w.event_count().await;

    // Another tenant's project: the API finds nothing to assign; a forged reference is refused.
    assert!(w.project_ref(ALPHA, "p-beta").await.is_none());
    let forged = w.project_ref(BETA, "p-beta").await.expect("BETA's project");
    assert_eq!(
        w.try_cluster(
            ALPHA,
            ClusterCommand::AssignProject { project: forged },
            now_services()
        )
        .await,
        Err(ClusterError::ForeignProject("p-beta".into()))
    );

    // A follow-up manager of BETA acting on ALPHA's cluster finds no cluster.
    assert_eq!(
        w.try_cluster(
            BETA,
            ClusterCommand::AssignFollowUpManager {
                subject: "intruder".into()
            },
            now_services()
        )
        .await,
        Err(ClusterError::NotFound)
    );
    assert_eq!(
        w.try_cluster(
            BETA,
            submit(ONA, "p-safe", feedback(1, 1, false, &[])),
            now_services()
        )
        .await,
        Err(ClusterError::NotFound)
    );

    // An event in the past.
    let err = w
        .try_cluster(
            ALPHA,
            schedule(
                Uuid::from_u128(0xe9),
                OffsetDateTime::now_utc() - Duration::hours(1),
                &["p-safe"],
            ),
            now_services(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::Invalid(f) if f.field == "startsAt"),
        "{err:?}"
    );

    // Ratings outside 1 to 5 never make a command.
    for bad in [0, 6] {
        assert_eq!(
            Rating::parse("relevance", bad).unwrap_err().field,
            "relevance"
        );
    }

    // Expired, revoked, replaced (already used) links.
    assert_eq!(
        w.try_cluster(
            ALPHA,
            submit(LATE, "p-safe", feedback(3, 3, true, &[])),
            now_services()
        )
        .await,
        Err(ClusterError::InvitationExpired)
    );
    assert_eq!(
        w.try_cluster(
            ALPHA,
            submit(REVOKED, "p-safe", feedback(3, 3, true, &[])),
            now_services()
        )
        .await,
        Err(ClusterError::InvitationRevoked)
    );
    assert_eq!(w.event_count().await, before, "nothing was stored");

    w.cluster(
        ClusterCommand::ReissueInvitation {
            invitation_id: JEAN,
            token_sha256: token(0x99),
            expires_at: None,
        },
        now_services(),
    )
    .await;
    assert_eq!(
        w.try_cluster(
            ALPHA,
            submit(JEAN, "p-safe", feedback(1, 1, false, &[])),
            now_services()
        )
        .await,
        Err(ClusterError::TokenSuperseded)
    );
    assert_eq!(w.event_count().await, before + 1, "only the reissue");
    w.catch_up().await;

    // What the token lookup tells the API about each link.
    let now = OffsetDateTime::now_utc();
    let state = |n: u128| {
        let pool = w.pool().clone();
        async move {
            clusters::invitation_by_token_hash(&pool, token(n).as_str(), now)
                .await
                .unwrap()
                .map(|a| a.state)
        }
    };
    assert_eq!(state(ONA.as_u128()).await, Some(InvitationState::Open));
    assert_eq!(state(JEAN.as_u128()).await, Some(InvitationState::Replaced));
    assert_eq!(state(0x99).await, Some(InvitationState::Open));
    assert_eq!(
        state(REVOKED.as_u128()).await,
        Some(InvitationState::Revoked)
    );
    assert_eq!(state(LATE.as_u128()).await, Some(InvitationState::Expired));
    assert_eq!(state(0x4242).await, None, "a wrong token");
    let malformed = clusters::invitation_by_token_hash(w.pool(), "not-a-hash", now).await;
    assert!(matches!(
        malformed,
        Err(ri_projections::catalogue::ReadError::BadInput { field: "token", .. })
    ));

    // Attempts are rate-limited per key, in fixed windows.
    let limit = AttemptLimit {
        max: 3,
        window: Duration::minutes(10),
    };
    let key = format!("token:{}", token(0x4242).as_str());
    for remaining in [2, 1, 0] {
        assert_eq!(
            clusters::record_feedback_attempt(w.pool(), &key, limit, now)
                .await
                .unwrap(),
            Attempt::Allowed { remaining }
        );
    }
    let Attempt::Limited { retry_after } =
        clusters::record_feedback_attempt(w.pool(), &key, limit, now)
            .await
            .unwrap()
    else {
        panic!("the fourth attempt in ten minutes goes through")
    };
    assert!(retry_after > Duration::ZERO && retry_after <= Duration::minutes(10));
    assert!(matches!(
        clusters::record_feedback_attempt(w.pool(), "ip:192.0.2.7", limit, now)
            .await
            .unwrap(),
        Attempt::Allowed { remaining: 2 }
    ));
    assert!(matches!(
        clusters::record_feedback_attempt(w.pool(), &key, limit, now + Duration::minutes(10))
            .await
            .unwrap(),
        Attempt::Allowed { remaining: 2 }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practitioner_link_opens_its_own_agenda_and_feedback_only() {
    let w = World::new().await;
    scenario(&w).await;
    let access = clusters::invitation_by_token_hash(
        w.pool(),
        token(ONA.as_u128()).as_str(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .expect("Ona's link");
    assert_eq!(access.tenant, tenant(ALPHA));
    assert_eq!(access.cluster_id, CLUSTER);
    assert_eq!(access.event_id, PAST_EVENT);
    assert_eq!(access.organisation, "Vilnius fire and rescue");
    assert_eq!(
        access
            .agenda
            .iter()
            .map(|a| (a.acronym.as_str(), a.title.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("Safe Festivals", Some("Safe Festivals project")),
            ("ERRATA", Some("ERRATA project"))
        ]
    );
    assert_eq!(
        access
            .feedback
            .iter()
            .map(|f| (f.project_id.as_str(), f.relevance))
            .collect::<Vec<_>>(),
        [("p-safe", 4), ("p-errata", 4)]
    );
    assert!(access.feedback.iter().all(|f| f.respondent_id == ONA));
    // A revoked link shows no agenda and no feedback.
    let revoked = clusters::invitation_by_token_hash(
        w.pool(),
        token(REVOKED.as_u128()).as_str(),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(revoked.agenda.is_empty() && revoked.feedback.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_are_explained_by_shared_features() {
    let w = World::new().await;
    scenario(&w).await;
    let suggestions = clusters::suggested_projects(w.pool(), &tenant(ALPHA), CLUSTER, 10)
        .await
        .unwrap()
        .expect("ALPHA's cluster");
    // CMD BOX {T1, P2, G3} against Safe Festivals {T1, P2, P3}: 2/4, and ERRATA {T1, P4}: 1/4;
    // the mean is 0.375. "Far away" {D5} shares nothing; BETA's project is never proposed.
    let [cmd] = suggestions.as_slice() else {
        panic!("{suggestions:?}")
    };
    assert_eq!(cmd.project_id, "p-cmd");
    assert!((cmd.score - 0.375).abs() < 1e-9, "{cmd:?}");
    assert_eq!(
        cmd.shared_features
            .iter()
            .map(|s| (s.feature.as_str(), s.members))
            .collect::<Vec<_>>(),
        [("T1", 2), ("P2", 1)]
    );
    assert_eq!(cmd.closest_member.as_deref(), Some("Safe Festivals"));

    // Once assigned it is no longer suggested.
    let project = w.project_ref(ALPHA, "p-cmd").await.unwrap();
    w.cluster(ClusterCommand::AssignProject { project }, now_services())
        .await;
    w.catch_up().await;
    assert!(
        clusters::suggested_projects(w.pool(), &tenant(ALPHA), CLUSTER, 10)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_in_the_audit_trail() {
    let w = World::new().await;
    scenario(&w).await;
    let viewer = Viewer::member_of(tenant(ALPHA));
    let trail = audit_trail(w.pool(), &viewer, CLUSTER, 100, None)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'ProjectCluster' AND aggregate_id = $1",
    )
    .bind(CLUSTER)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(trail.total_count, events, "one entry per event");
    let revised = trail
        .items
        .iter()
        .find(|e| e.event_type == "DemoFeedbackRevised")
        .expect("the edit");
    assert_eq!(
        revised
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref()))
            .collect::<Vec<_>>(),
        [("feedback.relevance", Some("5"), Some("4"))]
    );
    assert!(
        revised
            .summary
            .as_deref()
            .is_some_and(|s| s.contains("Safe Festivals") && s.ends_with("revised: relevance")),
        "{revised:?}"
    );
    let scheduled = trail
        .items
        .iter()
        .find(|e| e.event_type == "DemoEventScheduled")
        .unwrap();
    assert!(
        scheduled
            .summary
            .as_deref()
            .is_some_and(|s| s.starts_with("scheduled demo event \"Demo day 225\"")
                && s.contains("Europe/Vilnius")),
        "{scheduled:?}"
    );
    let assigned = trail
        .items
        .iter()
        .find(|e| e.event_type == "ProjectAssignedToCluster")
        .unwrap();
    assert_eq!(
        assigned.summary.as_deref(),
        Some("assigned project Safe Festivals")
    );
    let area = audit_trail(w.pool(), &viewer, "area-1", 10, None)
        .await
        .unwrap();
    assert_eq!(
        area.items[0].summary.as_deref(),
        Some("named end-user area \"Public event security\" in Public Space Protection")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_equals_the_live_projection() {
    let w = World::new().await;
    scenario(&w).await;
    let dump = |table: &'static str| {
        let pool = w.db.owner.clone();
        async move {
            sqlx::query_scalar::<_, String>(AssertSqlSafe(format!(
                "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
            )))
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let mut live = Vec::new();
    for table in Clusters.tables() {
        live.push(dump(table).await);
    }
    let audit_live = dump("audit_entries").await;
    assert!(live.iter().all(|rows| !rows.is_empty()), "{live:?}");
    replay(&w.log, &w.db.owner, &Clusters, 7).await.unwrap();
    replay(&w.log, &w.db.owner, &Audit, 7).await.unwrap();
    let mut replayed = Vec::new();
    for table in Clusters.tables() {
        replayed.push(dump(table).await);
    }
    assert_eq!(replayed, live);
    assert_eq!(dump("audit_entries").await, audit_live);
    // And the dashboard reads the same.
    let d = w.dashboard(ALPHA).await.unwrap();
    assert_eq!(d.feedback[0].count, 4);
}
