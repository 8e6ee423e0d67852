//! Given/when/then tests of project clusters: every rule of the aggregate, against a fixed
//! clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use ri_taxonomy::FeatureSet;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::cluster::values::{
    AggregateRef, AssignedProject, Attendees, Email, Feedback, FeedbackSource, FeedbackWindow,
    Practitioner, PractitionerSector, ProjectRef, Rating, Stakeholder, StakeholderKind,
    TimeZoneName, TokenHash, Venue,
};
use crate::project::Acronym;
use crate::values::{CountryCode, Link, Summary};

#[derive(Debug)]
struct Fixed(OffsetDateTime);

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);
const STARTS: OffsetDateTime = datetime!(2026-12-03 10:00 +2);
const EVENT: Uuid = Uuid::from_u128(0xe1);
const INVITE: Uuid = Uuid::from_u128(0x11);
const SHEET: Uuid = Uuid::from_u128(0x5e);
const SESSION: Uuid = Uuid::from_u128(0x55);
const STEP: u128 = 0x57;
const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER_TOKEN: &str = "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0";

fn at(now: OffsetDateTime) -> TestFramework<ProjectCluster> {
    TestFramework::with(ClusterServices {
        clock: Arc::new(Fixed(now)),
    })
}

fn cluster() -> TestFramework<ProjectCluster> {
    at(NOW)
}

fn tenant(slug: &str) -> TenantSlug {
    TenantSlug::parse(slug).unwrap()
}

fn id(raw: &str) -> AggregateRef {
    AggregateRef::parse("projectId", raw).unwrap()
}

fn assigned_project(raw: &str, acronym: &str) -> AssignedProject {
    AssignedProject {
        id: id(raw),
        acronym: Acronym::parse("acronym", acronym).unwrap(),
    }
}

fn token(raw: &str) -> TokenHash {
    TokenHash::parse("token", raw).unwrap()
}

fn formed() -> ClusterEvent {
    ClusterEvent::ClusterFormed {
        tenant: tenant("l3ce"),
        area_id: id("area-1"),
        name: Title::parse("name", "Public event security").unwrap(),
        description: Summary::parse("description", "").unwrap(),
    }
}

fn assigned(raw: &str, acronym: &str) -> ClusterEvent {
    ClusterEvent::ProjectAssignedToCluster {
        project: assigned_project(raw, acronym),
        owner: None,
    }
}

fn venue() -> Venue {
    Venue::new(
        Some(ShortText::parse("place", "Vilnius, LT").unwrap()),
        Some(Link::parse("onlineLink", "https://meet.example.eu/demo").unwrap()),
    )
    .unwrap()
}

fn demo_event() -> DemoEvent {
    DemoEvent {
        id: EVENT,
        title: Title::parse("title", "Public event security demo day").unwrap(),
        starts_at: STARTS,
        time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
        venue: venue(),
        agenda: vec![
            assigned_project("p-safe", "Safe Festivals"),
            assigned_project("p-errata", "ERRATA"),
        ],
        feedback_window: FeedbackWindow::default(),
    }
}

fn scheduled() -> ClusterEvent {
    ClusterEvent::DemoEventScheduled {
        event: demo_event(),
    }
}

fn practitioner() -> Practitioner {
    Practitioner {
        organisation: Title::parse("organisation", "Vilnius fire and rescue").unwrap(),
        country: CountryCode::parse("country", "LT").unwrap(),
        sector: PractitionerSector::FireAndRescue,
    }
}

fn invitation(expires_at: Option<OffsetDateTime>) -> Invitation {
    Invitation {
        id: INVITE,
        practitioner: practitioner(),
        email: Email::parse("email", "ona@vpgt.lt").unwrap(),
        token_sha256: token(TOKEN),
        expires_at,
    }
}

fn invited() -> ClusterEvent {
    ClusterEvent::PractitionerInvited {
        event_id: EVENT,
        invitation: invitation(None),
    }
}

/// Formed, two projects assigned (and a third not on the agenda), the event scheduled.
fn with_event() -> Vec<ClusterEvent> {
    vec![
        formed(),
        assigned("p-safe", "Safe Festivals"),
        assigned("p-errata", "ERRATA"),
        assigned("p-cmd", "CMD BOX"),
        scheduled(),
    ]
}

fn with_invitation() -> Vec<ClusterEvent> {
    let mut events = with_event();
    events.push(invited());
    events
}

fn feedback(relevance: i64, usability: i64) -> Feedback {
    Feedback {
        relevance: Rating::parse("relevance", relevance).unwrap(),
        usability: Rating::parse("usability", usability).unwrap(),
        would_pilot: true,
        relevant_features: FeatureSet::parse(["T1", "P2"]).unwrap(),
        comment: Summary::parse("comment", "Useful for festivals").unwrap(),
    }
}

fn submit(project: &str, feedback: Feedback) -> ClusterCommand {
    ClusterCommand::SubmitDemoFeedback {
        invitation_id: INVITE,
        token_sha256: token(TOKEN),
        project_id: id(project),
        feedback,
    }
}

fn submitted(project: &str, acronym: &str, feedback: Feedback) -> ClusterEvent {
    ClusterEvent::DemoFeedbackSubmitted {
        event_id: EVENT,
        source: FeedbackSource::Invitation {
            invitation_id: INVITE,
        },
        project: assigned_project(project, acronym),
        feedback,
    }
}

/// During the event's feedback window.
const DURING: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);
/// After the window (14 days from the start) closed.
const AFTER: OffsetDateTime = datetime!(2026-12-17 08:00 UTC);

fn field(result: Result<Vec<ClusterEvent>, ClusterError>) -> &'static str {
    match result {
        Err(ClusterError::Invalid(e)) => e.field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn schedule(starts_at: OffsetDateTime, agenda: &[&str]) -> ClusterCommand {
    ClusterCommand::ScheduleDemoEvent {
        id: EVENT,
        title: Title::parse("title", "Public event security demo day").unwrap(),
        starts_at,
        time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
        venue: venue(),
        agenda: agenda.iter().map(|p| id(p)).collect(),
        feedback_window: FeedbackWindow::default(),
    }
}

#[test]
fn a_cluster_is_formed_once_and_nothing_else_happens_before() {
    let ClusterEvent::ClusterFormed {
        tenant,
        area_id,
        name,
        description,
    } = formed()
    else {
        unreachable!()
    };
    let form = ClusterCommand::Form {
        tenant,
        area_id,
        name,
        description,
    };
    cluster()
        .given_no_previous_events()
        .when(form.clone())
        .then_expect_events(vec![formed()]);
    cluster()
        .given(vec![formed()])
        .when(form)
        .then_expect_error(ClusterError::AlreadyExists);
    cluster()
        .given_no_previous_events()
        .when(ClusterCommand::AssignFollowUpManager {
            subject: "ona".into(),
        })
        .then_expect_error(ClusterError::NotFound);
}

#[test]
fn only_the_tenants_own_projects_are_assigned_and_each_once() {
    let project = |slug: &str| ProjectRef {
        id: id("p-safe"),
        tenant: tenant(slug),
        acronym: Acronym::parse("acronym", "Safe Festivals").unwrap(),
        shared: false,
    };
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::AssignProject {
            project: project("l3ce"),
        })
        .then_expect_events(vec![assigned("p-safe", "Safe Festivals")]);
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::AssignProject {
            project: project("safe"),
        })
        .then_expect_error(ClusterError::ForeignProject("p-safe".into()));
    cluster()
        .given(vec![formed(), assigned("p-safe", "Safe Festivals")])
        .when(ClusterCommand::AssignProject {
            project: project("l3ce"),
        })
        .then_expect_error(ClusterError::ProjectAlreadyAssigned("p-safe".into()));
    // Another tenant's project that it shared with the cluster's: assigned, naming its owner.
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::AssignProject {
            project: ProjectRef {
                shared: true,
                ..project("safe")
            },
        })
        .then_expect_events(vec![ClusterEvent::ProjectAssignedToCluster {
            project: assigned_project("p-safe", "Safe Festivals"),
            owner: Some(tenant("safe")),
        }]);
}

#[test]
fn an_assignment_of_version_1_reads_as_the_cluster_s_own_project() {
    let registry = crate::event_registry();
    let v1 = cqrs_es::persist::SerializedEvent {
        aggregate_id: "c-1".into(),
        sequence: 2,
        aggregate_type: CLUSTER.into(),
        event_type: "ProjectAssignedToCluster".into(),
        event_version: "1".into(),
        payload: serde_json::json!({"ProjectAssignedToCluster": {
            "project": {"id": "p-safe", "acronym": "Safe Festivals"}
        }}),
        metadata: serde_json::json!({}),
    };
    let upcast = registry.upcast(v1).unwrap();
    assert_eq!(upcast.event_version, "2");
    let event: ClusterEvent = serde_json::from_value(upcast.payload).unwrap();
    assert_eq!(event, assigned("p-safe", "Safe Festivals"));
    // Version 2 as written today: the owner is there only for another tenant's project.
    let shared = ClusterEvent::ProjectAssignedToCluster {
        project: assigned_project("p-safe", "Safe Festivals"),
        owner: Some(tenant("safe")),
    };
    assert_eq!(shared.event_version(), "2");
    assert_eq!(
        serde_json::to_value(&shared).unwrap(),
        serde_json::json!({"ProjectAssignedToCluster": {
            "project": {"id": "p-safe", "acronym": "Safe Festivals"}, "owner": "safe"
        }})
    );
}

#[test]
fn a_project_on_a_coming_agenda_stays_in_the_cluster() {
    cluster()
        .given(with_event())
        .when(ClusterCommand::RemoveProject {
            project_id: id("p-safe"),
        })
        .then_expect_error(ClusterError::ProjectOnAgenda {
            project_id: "p-safe".into(),
            event_id: EVENT,
        });
    cluster()
        .given(with_event())
        .when(ClusterCommand::RemoveProject {
            project_id: id("p-cmd"),
        })
        .then_expect_events(vec![ClusterEvent::ProjectRemovedFromCluster {
            project: assigned_project("p-cmd", "CMD BOX"),
        }]);
    // Once the event is held, its agenda is history.
    let mut held = with_event();
    held.push(ClusterEvent::DemoEventHeld { id: EVENT });
    cluster()
        .given(held)
        .when(ClusterCommand::RemoveProject {
            project_id: id("p-safe"),
        })
        .then_expect_events(vec![ClusterEvent::ProjectRemovedFromCluster {
            project: assigned_project("p-safe", "Safe Festivals"),
        }]);
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::RemoveProject {
            project_id: id("p-safe"),
        })
        .then_expect_error(ClusterError::ProjectNotAssigned("p-safe".into()));
}

#[test]
fn a_follow_up_manager_is_a_subject_and_replacing_them_records_who_was() {
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::AssignFollowUpManager {
            subject: " ona ".into(),
        })
        .then_expect_events(vec![ClusterEvent::FollowUpManagerAssigned {
            old: None,
            new: "ona".into(),
        }]);
    let first = ClusterEvent::FollowUpManagerAssigned {
        old: None,
        new: "ona".into(),
    };
    cluster()
        .given(vec![formed(), first.clone()])
        .when(ClusterCommand::AssignFollowUpManager {
            subject: "jonas".into(),
        })
        .then_expect_events(vec![ClusterEvent::FollowUpManagerAssigned {
            old: Some("ona".into()),
            new: "jonas".into(),
        }]);
    cluster()
        .given(vec![formed(), first])
        .when(ClusterCommand::AssignFollowUpManager {
            subject: "ona".into(),
        })
        .then_expect_error(ClusterError::Unchanged);
    let result = cluster()
        .given(vec![formed()])
        .when(ClusterCommand::AssignFollowUpManager { subject: "".into() })
        .inspect_result();
    assert_eq!(field(result), "followUpManager");
}

#[test]
fn stakeholders_are_engaged_and_disengaged_by_id() {
    let investor = Stakeholder {
        id: Uuid::from_u128(0x51),
        kind: StakeholderKind::Eactda,
        name: Title::parse("name", "EACTDA").unwrap(),
        note: ShortText::parse("note", "Interested in crowd monitoring").unwrap(),
    };
    let engaged = ClusterEvent::StakeholderEngaged {
        stakeholder: investor.clone(),
    };
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::EngageStakeholder {
            stakeholder: investor.clone(),
        })
        .then_expect_events(vec![engaged.clone()]);
    cluster()
        .given(vec![formed(), engaged.clone()])
        .when(ClusterCommand::EngageStakeholder {
            stakeholder: investor.clone(),
        })
        .then_expect_error(ClusterError::StakeholderExists(investor.id));
    cluster()
        .given(vec![formed(), engaged])
        .when(ClusterCommand::DisengageStakeholder { id: investor.id })
        .then_expect_events(vec![ClusterEvent::StakeholderDisengaged {
            stakeholder: investor.clone(),
        }]);
    cluster()
        .given(vec![formed()])
        .when(ClusterCommand::DisengageStakeholder { id: investor.id })
        .then_expect_error(ClusterError::NoSuchStakeholder(investor.id));
}

#[test]
fn a_demo_event_is_scheduled_in_the_future_with_an_agenda_of_the_clusters_projects() {
    let given = || {
        vec![
            formed(),
            assigned("p-safe", "Safe Festivals"),
            assigned("p-errata", "ERRATA"),
        ]
    };
    cluster()
        .given(given())
        .when(schedule(STARTS, &["p-safe", "p-errata"]))
        .then_expect_events(vec![scheduled()]);
    // In the past, or right now: refused, naming the field.
    for past in [NOW - Duration::days(1), NOW] {
        let result = cluster()
            .given(given())
            .when(schedule(past, &["p-safe"]))
            .inspect_result();
        assert_eq!(field(result), "startsAt");
    }
    // Only assigned projects, each once, at least one.
    cluster()
        .given(given())
        .when(schedule(STARTS, &["p-safe", "p-foreign"]))
        .then_expect_error(ClusterError::ProjectNotAssigned("p-foreign".into()));
    let result = cluster()
        .given(given())
        .when(schedule(STARTS, &["p-safe", "p-safe"]))
        .inspect_result();
    assert_eq!(field(result), "agenda");
    let result = cluster()
        .given(given())
        .when(schedule(STARTS, &[]))
        .inspect_result();
    assert_eq!(field(result), "agenda");
    // The id is the cluster's once.
    cluster()
        .given(with_event())
        .when(schedule(STARTS, &["p-safe"]))
        .then_expect_error(ClusterError::DemoEventExists(EVENT));
}

#[test]
fn a_scheduled_event_is_rescheduled_into_the_future_and_its_agenda_revised() {
    let later = STARTS + Duration::days(7);
    let zone = TimeZoneName::parse("timeZone", "Europe/Paris").unwrap();
    cluster()
        .given(with_event())
        .when(ClusterCommand::RescheduleDemoEvent {
            id: EVENT,
            starts_at: later,
            time_zone: zone.clone(),
            venue: None,
        })
        .then_expect_events(vec![ClusterEvent::DemoEventRescheduled {
            id: EVENT,
            old_starts_at: STARTS,
            new_starts_at: later,
            time_zone: Some(Change {
                old: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
                new: zone,
            }),
            venue: None,
        }]);
    let result = cluster()
        .given(with_event())
        .when(ClusterCommand::RescheduleDemoEvent {
            id: EVENT,
            starts_at: NOW - Duration::hours(1),
            time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
            venue: None,
        })
        .inspect_result();
    assert_eq!(field(result), "startsAt");
    cluster()
        .given(with_event())
        .when(ClusterCommand::ReviseDemoAgenda {
            id: EVENT,
            agenda: vec![id("p-cmd"), id("p-safe")],
        })
        .then_expect_events(vec![ClusterEvent::DemoAgendaRevised {
            id: EVENT,
            old: demo_event().agenda,
            new: vec![
                assigned_project("p-cmd", "CMD BOX"),
                assigned_project("p-safe", "Safe Festivals"),
            ],
        }]);
    cluster()
        .given(with_event())
        .when(ClusterCommand::ReviseDemoAgenda {
            id: EVENT,
            agenda: vec![id("p-unknown")],
        })
        .then_expect_error(ClusterError::ProjectNotAssigned("p-unknown".into()));
    cluster()
        .given(with_event())
        .when(ClusterCommand::RescheduleDemoEvent {
            id: Uuid::from_u128(0xbad),
            starts_at: later,
            time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
            venue: None,
        })
        .then_expect_error(ClusterError::NoSuchDemoEvent(Uuid::from_u128(0xbad)));
}

#[test]
fn an_event_is_held_once_started_and_cancelled_only_while_scheduled() {
    let result = cluster()
        .given(with_event())
        .when(ClusterCommand::MarkDemoEventHeld { id: EVENT })
        .inspect_result();
    assert_eq!(field(result), "startsAt");
    at(DURING)
        .given(with_event())
        .when(ClusterCommand::MarkDemoEventHeld { id: EVENT })
        .then_expect_events(vec![ClusterEvent::DemoEventHeld { id: EVENT }]);
    let reason = ShortText::parse("reason", "venue unavailable").unwrap();
    cluster()
        .given(with_event())
        .when(ClusterCommand::CancelDemoEvent {
            id: EVENT,
            reason: reason.clone(),
        })
        .then_expect_events(vec![ClusterEvent::DemoEventCancelled {
            id: EVENT,
            reason: reason.clone(),
        }]);
    let mut held = with_event();
    held.push(ClusterEvent::DemoEventHeld { id: EVENT });
    cluster()
        .given(held)
        .when(ClusterCommand::CancelDemoEvent { id: EVENT, reason })
        .then_expect_error(ClusterError::DemoEventStatus {
            status: DemoEventStatus::Held,
            reason: "only a scheduled demo event can be cancelled",
        });
    let mut cancelled = with_event();
    cancelled.push(ClusterEvent::DemoEventCancelled {
        id: EVENT,
        reason: ShortText::parse("reason", "").unwrap(),
    });
    cluster()
        .given(cancelled)
        .when(ClusterCommand::RescheduleDemoEvent {
            id: EVENT,
            starts_at: STARTS + Duration::days(1),
            time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
            venue: None,
        })
        .then_expect_error(ClusterError::DemoEventStatus {
            status: DemoEventStatus::Cancelled,
            reason: "only a scheduled demo event can be rescheduled",
        });
}

#[test]
fn practitioners_are_invited_once_each_with_an_unused_token() {
    cluster()
        .given(with_event())
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: invitation(None),
        })
        .then_expect_events(vec![invited()]);
    // The same address again (any case), or the same token: refused.
    let mut again = invitation(None);
    again.id = Uuid::from_u128(0x12);
    again.email = Email::parse("email", "ONA@vpgt.lt").unwrap();
    again.token_sha256 = token(OTHER_TOKEN);
    cluster()
        .given(with_invitation())
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: again.clone(),
        })
        .then_expect_error(ClusterError::AlreadyInvited("ONA@vpgt.lt".into()));
    again.email = Email::parse("email", "jonas@vpgt.lt").unwrap();
    again.token_sha256 = token(TOKEN);
    let result = cluster()
        .given(with_invitation())
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: again,
        })
        .inspect_result();
    assert_eq!(field(result), "token");
    // An expiry in the past, a cancelled event, a closed window: refused.
    let result = cluster()
        .given(with_event())
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: invitation(Some(NOW - Duration::minutes(1))),
        })
        .inspect_result();
    assert_eq!(field(result), "expiresAt");
    at(AFTER)
        .given(with_event())
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: invitation(None),
        })
        .then_expect_error(ClusterError::FeedbackWindowClosed);
    let mut cancelled = with_event();
    cancelled.push(ClusterEvent::DemoEventCancelled {
        id: EVENT,
        reason: ShortText::parse("reason", "").unwrap(),
    });
    cluster()
        .given(cancelled)
        .when(ClusterCommand::InvitePractitioner {
            event_id: EVENT,
            invitation: invitation(None),
        })
        .then_expect_error(ClusterError::DemoEventCancelled);
}

#[test]
fn feedback_through_a_link_is_taken_during_the_window_for_agenda_projects() {
    at(DURING)
        .given(with_invitation())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_events(vec![submitted("p-safe", "Safe Festivals", feedback(5, 4))]);
    // Before the event starts, after the window closes: refused.
    cluster()
        .given(with_invitation())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::FeedbackNotOpen);
    at(AFTER)
        .given(with_invitation())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::FeedbackWindowClosed);
    // The window closes exactly 14 days after the start.
    at(STARTS + Duration::days(14))
        .given(with_invitation())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::FeedbackWindowClosed);
    // A project of the cluster that is not on the agenda, or no project of the cluster.
    at(DURING)
        .given(with_invitation())
        .when(submit("p-cmd", feedback(5, 4)))
        .then_expect_error(ClusterError::ProjectNotOnAgenda("p-cmd".into()));
    at(DURING)
        .given(with_invitation())
        .when(submit("p-other", feedback(5, 4)))
        .then_expect_error(ClusterError::ProjectNotOnAgenda("p-other".into()));
}

#[test]
fn one_feedback_per_project_per_invitation_edited_until_the_window_closes() {
    let mut given = with_invitation();
    given.push(submitted("p-safe", "Safe Festivals", feedback(5, 4)));
    at(DURING)
        .given(given.clone())
        .when(submit("p-safe", feedback(3, 4)))
        .then_expect_events(vec![ClusterEvent::DemoFeedbackRevised {
            event_id: EVENT,
            source: FeedbackSource::Invitation {
                invitation_id: INVITE,
            },
            project: assigned_project("p-safe", "Safe Festivals"),
            old: feedback(5, 4),
            new: feedback(3, 4),
        }]);
    // The same answers again (a double click) record nothing.
    at(DURING)
        .given(given.clone())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_events(vec![]);
    // Another project of the agenda is a first feedback, not an edit.
    at(DURING)
        .given(given.clone())
        .when(submit("p-errata", feedback(2, 2)))
        .then_expect_events(vec![submitted("p-errata", "ERRATA", feedback(2, 2))]);
    at(AFTER)
        .given(given)
        .when(submit("p-safe", feedback(3, 4)))
        .then_expect_error(ClusterError::FeedbackWindowClosed);
}

#[test]
fn a_wrong_replaced_revoked_or_expired_link_gives_no_feedback() {
    // Unknown invitation, or a token that never was the invitation's.
    at(DURING)
        .given(with_event())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::NoSuchInvitation);
    at(DURING)
        .given(with_invitation())
        .when(ClusterCommand::SubmitDemoFeedback {
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            project_id: id("p-safe"),
            feedback: feedback(5, 4),
        })
        .then_expect_error(ClusterError::NoSuchInvitation);
    // Replaced by a new link: the old token is used up; the new one works.
    let mut reissued = with_invitation();
    reissued.push(ClusterEvent::InvitationReissued {
        event_id: EVENT,
        invitation_id: INVITE,
        token_sha256: token(OTHER_TOKEN),
        expires_at: None,
    });
    at(DURING)
        .given(reissued.clone())
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::TokenSuperseded);
    at(DURING)
        .given(reissued)
        .when(ClusterCommand::SubmitDemoFeedback {
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            project_id: id("p-safe"),
            feedback: feedback(5, 4),
        })
        .then_expect_events(vec![submitted("p-safe", "Safe Festivals", feedback(5, 4))]);
    // Revoked.
    let mut revoked = with_invitation();
    revoked.push(ClusterEvent::InvitationRevoked {
        event_id: EVENT,
        invitation_id: INVITE,
        reason: ShortText::parse("reason", "sent to the wrong person").unwrap(),
    });
    at(DURING)
        .given(revoked)
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::InvitationRevoked);
    // Expired before the window closes.
    let mut expiring = with_event();
    expiring.push(ClusterEvent::PractitionerInvited {
        event_id: EVENT,
        invitation: invitation(Some(DURING - Duration::hours(1))),
    });
    at(DURING)
        .given(expiring)
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::InvitationExpired);
    // A cancelled event takes no feedback.
    let mut cancelled = with_invitation();
    cancelled.push(ClusterEvent::DemoEventCancelled {
        id: EVENT,
        reason: ShortText::parse("reason", "").unwrap(),
    });
    at(DURING)
        .given(cancelled)
        .when(submit("p-safe", feedback(5, 4)))
        .then_expect_error(ClusterError::DemoEventCancelled);
}

#[test]
fn ratings_outside_one_to_five_never_reach_a_command() {
    for bad in [0, 6, -3] {
        assert_eq!(
            Rating::parse("relevance", bad).unwrap_err().field,
            "relevance"
        );
    }
    // Nor do they decode from a stored or forged payload.
    let mut json = serde_json::to_value(feedback(5, 4)).unwrap();
    json["usability"] = serde_json::json!(9);
    assert!(serde_json::from_value::<Feedback>(json).is_err());
}

#[test]
fn an_invitation_is_reissued_and_revoked_while_it_lives() {
    at(DURING)
        .given(with_invitation())
        .when(ClusterCommand::ReissueInvitation {
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            expires_at: Some(AFTER),
        })
        .then_expect_events(vec![ClusterEvent::InvitationReissued {
            event_id: EVENT,
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            expires_at: Some(AFTER),
        }]);
    let result = at(DURING)
        .given(with_invitation())
        .when(ClusterCommand::ReissueInvitation {
            invitation_id: INVITE,
            token_sha256: token(TOKEN),
            expires_at: None,
        })
        .inspect_result();
    assert_eq!(field(result), "token");
    let mut revoked = with_invitation();
    revoked.push(ClusterEvent::InvitationRevoked {
        event_id: EVENT,
        invitation_id: INVITE,
        reason: ShortText::parse("reason", "").unwrap(),
    });
    cluster()
        .given(revoked.clone())
        .when(ClusterCommand::RevokeInvitation {
            invitation_id: INVITE,
            reason: ShortText::parse("reason", "").unwrap(),
        })
        .then_expect_error(ClusterError::InvitationRevoked);
    cluster()
        .given(revoked)
        .when(ClusterCommand::ReissueInvitation {
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            expires_at: None,
        })
        .then_expect_error(ClusterError::InvitationRevoked);
}

#[test]
fn paper_feedback_is_recorded_after_the_start_even_past_the_window() {
    let paper = |practitioner: Practitioner, project: &str| ClusterCommand::RecordPaperFeedback {
        event_id: EVENT,
        sheet_id: SHEET,
        practitioner,
        project_id: id(project),
        feedback: feedback(4, 4),
    };
    let recorded = ClusterEvent::DemoFeedbackSubmitted {
        event_id: EVENT,
        source: FeedbackSource::Paper {
            sheet_id: SHEET,
            practitioner: practitioner(),
        },
        project: assigned_project("p-safe", "Safe Festivals"),
        feedback: feedback(4, 4),
    };
    at(AFTER)
        .given(with_event())
        .when(paper(practitioner(), "p-safe"))
        .then_expect_events(vec![recorded.clone()]);
    cluster()
        .given(with_event())
        .when(paper(practitioner(), "p-safe"))
        .then_expect_error(ClusterError::FeedbackNotOpen);
    // One sheet is one practitioner's.
    let mut other = practitioner();
    other.sector = PractitionerSector::Municipality;
    let mut given = with_event();
    given.push(recorded);
    let result = at(AFTER)
        .given(given)
        .when(paper(other, "p-errata"))
        .inspect_result();
    assert_eq!(field(result), "practitioner");
    // A paper sheet cannot pose as an invitation.
    let result = at(DURING)
        .given(with_invitation())
        .when(ClusterCommand::RecordPaperFeedback {
            event_id: EVENT,
            sheet_id: INVITE,
            practitioner: practitioner(),
            project_id: id("p-safe"),
            feedback: feedback(4, 4),
        })
        .inspect_result();
    assert_eq!(field(result), "sheetId");
}

#[test]
fn an_event_with_feedback_keeps_its_time_and_agenda() {
    let mut given = with_invitation();
    given.push(submitted("p-safe", "Safe Festivals", feedback(5, 4)));
    at(DURING)
        .given(given.clone())
        .when(ClusterCommand::CancelDemoEvent {
            id: EVENT,
            reason: ShortText::parse("reason", "").unwrap(),
        })
        .then_expect_error(ClusterError::DemoEventHasFeedback(
            "it took place and cannot be cancelled",
        ));
    at(DURING)
        .given(given)
        .when(ClusterCommand::ReviseDemoAgenda {
            id: EVENT,
            agenda: vec![id("p-safe")],
        })
        .then_expect_error(ClusterError::DemoEventHasFeedback("its agenda is fixed"));
}

fn step(id_: u128, project: &str, due: time::Date) -> NextStepPlan {
    NextStepPlan {
        id: Uuid::from_u128(id_),
        project_id: id(project),
        action: Title::parse("action", "Pilot at Vilnius marathon").unwrap(),
        owner: Title::parse("owner", "Safe Festivals consortium").unwrap(),
        due,
    }
}

fn session_recorded() -> ClusterEvent {
    ClusterEvent::FollowUpSessionRecorded {
        session: FollowUpSession {
            id: SESSION,
            date: date!(2026 - 12 - 10),
            demo_event_id: Some(EVENT),
            attendees: Attendees::parse("attendees", &["Ona", "Jonas"]).unwrap(),
            notes: Summary::parse("notes", "").unwrap(),
            next_steps: vec![NextStep {
                id: Uuid::from_u128(STEP),
                project: assigned_project("p-safe", "Safe Festivals"),
                action: Title::parse("action", "Pilot at Vilnius marathon").unwrap(),
                owner: Title::parse("owner", "Safe Festivals consortium").unwrap(),
                due: date!(2027 - 01 - 15),
            }],
        },
    }
}

fn record_session(steps: Vec<NextStepPlan>) -> ClusterCommand {
    ClusterCommand::RecordFollowUpSession {
        id: SESSION,
        date: date!(2026 - 12 - 10),
        demo_event_id: Some(EVENT),
        attendees: Attendees::parse("attendees", &["Ona", "Jonas"]).unwrap(),
        notes: Summary::parse("notes", "").unwrap(),
        next_steps: steps,
    }
}

#[test]
fn a_follow_up_session_sets_next_steps_for_the_clusters_projects() {
    at(DURING)
        .given(with_event())
        .when(record_session(vec![step(
            STEP,
            "p-safe",
            date!(2027 - 01 - 15),
        )]))
        .then_expect_events(vec![session_recorded()]);
    at(DURING)
        .given(with_event())
        .when(record_session(vec![step(
            STEP,
            "p-other",
            date!(2027 - 01 - 15),
        )]))
        .then_expect_error(ClusterError::ProjectNotAssigned("p-other".into()));
    let result = at(DURING)
        .given(with_event())
        .when(record_session(vec![step(
            STEP,
            "p-safe",
            date!(2026 - 12 - 01),
        )]))
        .inspect_result();
    assert_eq!(field(result), "due");
    at(DURING)
        .given(with_event())
        .when(record_session(vec![
            step(STEP, "p-safe", date!(2027 - 01 - 15)),
            step(STEP, "p-errata", date!(2027 - 01 - 15)),
        ]))
        .then_expect_error(ClusterError::NextStepExists(Uuid::from_u128(STEP)));
    let mut given = with_event();
    given.push(session_recorded());
    at(DURING)
        .given(given.clone())
        .when(ClusterCommand::AddNextStep {
            session_id: SESSION,
            step: step(STEP + 1, "p-errata", date!(2027 - 02 - 01)),
        })
        .then_expect_events(vec![ClusterEvent::NextStepAdded {
            session_id: SESSION,
            step: NextStep {
                id: Uuid::from_u128(STEP + 1),
                project: assigned_project("p-errata", "ERRATA"),
                action: Title::parse("action", "Pilot at Vilnius marathon").unwrap(),
                owner: Title::parse("owner", "Safe Festivals consortium").unwrap(),
                due: date!(2027 - 02 - 01),
            },
        }]);
    at(DURING)
        .given(given)
        .when(ClusterCommand::AddNextStep {
            session_id: Uuid::from_u128(0xbad),
            step: step(STEP + 1, "p-errata", date!(2027 - 02 - 01)),
        })
        .then_expect_error(ClusterError::NoSuchSession(Uuid::from_u128(0xbad)));
}

#[test]
fn a_next_step_is_completed_once_on_the_clocks_day() {
    let mut given = with_event();
    given.push(session_recorded());
    at(datetime!(2027-01-20 23:30 -3))
        .given(given.clone())
        .when(ClusterCommand::CompleteNextStep {
            step_id: Uuid::from_u128(STEP),
        })
        .then_expect_events(vec![ClusterEvent::NextStepCompleted {
            session_id: SESSION,
            step_id: Uuid::from_u128(STEP),
            completed_on: date!(2027 - 01 - 21),
        }]);
    given.push(ClusterEvent::NextStepCompleted {
        session_id: SESSION,
        step_id: Uuid::from_u128(STEP),
        completed_on: date!(2027 - 01 - 21),
    });
    cluster()
        .given(given)
        .when(ClusterCommand::CompleteNextStep {
            step_id: Uuid::from_u128(STEP),
        })
        .then_expect_error(ClusterError::NextStepAlreadyCompleted(Uuid::from_u128(
            STEP,
        )));
    cluster()
        .given(with_event())
        .when(ClusterCommand::CompleteNextStep {
            step_id: Uuid::from_u128(STEP),
        })
        .then_expect_error(ClusterError::NoSuchNextStep(Uuid::from_u128(STEP)));
}

#[test]
fn the_state_follows_the_events_and_survives_a_snapshot() {
    let mut state = ProjectCluster::default();
    let mut events = with_invitation();
    events.push(submitted("p-safe", "Safe Festivals", feedback(5, 4)));
    events.push(ClusterEvent::DemoFeedbackRevised {
        event_id: EVENT,
        source: FeedbackSource::Invitation {
            invitation_id: INVITE,
        },
        project: assigned_project("p-safe", "Safe Festivals"),
        old: feedback(5, 4),
        new: feedback(2, 3),
    });
    events.push(ClusterEvent::InvitationReissued {
        event_id: EVENT,
        invitation_id: INVITE,
        token_sha256: token(OTHER_TOKEN),
        expires_at: None,
    });
    for e in events {
        state.apply(e);
    }
    let demo = state.demo_event(EVENT).unwrap();
    assert_eq!(demo.feedback.len(), 1);
    assert_eq!(demo.feedback[0].feedback, feedback(2, 3));
    let (_, invitation) = state.invitation(INVITE).unwrap();
    assert_eq!(invitation.invitation.token_sha256, token(OTHER_TOKEN));
    assert_eq!(invitation.past_tokens, vec![token(TOKEN)]);
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(
        serde_json::from_value::<ProjectCluster>(json).unwrap(),
        state
    );
}

#[test]
fn every_event_type_is_listed_and_round_trips() {
    let events = vec![
        formed(),
        ClusterEvent::ClusterRevised {
            area_id: None,
            name: None,
            description: None,
        },
        assigned("p-safe", "Safe Festivals"),
        ClusterEvent::ProjectRemovedFromCluster {
            project: assigned_project("p-safe", "Safe Festivals"),
        },
        ClusterEvent::FollowUpManagerAssigned {
            old: None,
            new: "ona".into(),
        },
        ClusterEvent::StakeholderEngaged {
            stakeholder: Stakeholder {
                id: Uuid::from_u128(1),
                kind: StakeholderKind::Diana,
                name: Title::parse("name", "DIANA").unwrap(),
                note: ShortText::parse("note", "").unwrap(),
            },
        },
        ClusterEvent::StakeholderDisengaged {
            stakeholder: Stakeholder {
                id: Uuid::from_u128(1),
                kind: StakeholderKind::Diana,
                name: Title::parse("name", "DIANA").unwrap(),
                note: ShortText::parse("note", "").unwrap(),
            },
        },
        scheduled(),
        ClusterEvent::DemoEventRescheduled {
            id: EVENT,
            old_starts_at: STARTS,
            new_starts_at: STARTS + Duration::days(1),
            time_zone: None,
            venue: None,
        },
        ClusterEvent::DemoAgendaRevised {
            id: EVENT,
            old: vec![],
            new: vec![],
        },
        ClusterEvent::DemoEventCancelled {
            id: EVENT,
            reason: ShortText::parse("reason", "").unwrap(),
        },
        ClusterEvent::DemoEventHeld { id: EVENT },
        invited(),
        ClusterEvent::InvitationReissued {
            event_id: EVENT,
            invitation_id: INVITE,
            token_sha256: token(OTHER_TOKEN),
            expires_at: Some(AFTER),
        },
        ClusterEvent::InvitationRevoked {
            event_id: EVENT,
            invitation_id: INVITE,
            reason: ShortText::parse("reason", "").unwrap(),
        },
        submitted("p-safe", "Safe Festivals", feedback(5, 4)),
        ClusterEvent::DemoFeedbackRevised {
            event_id: EVENT,
            source: FeedbackSource::Paper {
                sheet_id: SHEET,
                practitioner: practitioner(),
            },
            project: assigned_project("p-safe", "Safe Festivals"),
            old: feedback(5, 4),
            new: feedback(1, 1),
        },
        session_recorded(),
        ClusterEvent::NextStepAdded {
            session_id: SESSION,
            step: NextStep {
                id: Uuid::from_u128(STEP),
                project: assigned_project("p-safe", "Safe Festivals"),
                action: Title::parse("action", "x").unwrap(),
                owner: Title::parse("owner", "y").unwrap(),
                due: date!(2027 - 01 - 15),
            },
        },
        ClusterEvent::NextStepCompleted {
            session_id: SESSION,
            step_id: Uuid::from_u128(STEP),
            completed_on: date!(2027 - 01 - 21),
        },
    ];
    let types = events.iter().map(|e| e.event_type()).collect::<Vec<_>>();
    assert_eq!(types, ClusterEvent::TYPES);
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(serde_json::from_value::<ClusterEvent>(json).unwrap(), event);
    }
    // The stored shape of a feedback: ratings as numbers, features as codes, times in RFC 3339.
    let json = serde_json::to_value(submitted("p-safe", "Safe Festivals", feedback(5, 4))).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"DemoFeedbackSubmitted": {
            "event_id": EVENT,
            "source": {"INVITATION": {"invitation_id": INVITE}},
            "project": {"id": "p-safe", "acronym": "Safe Festivals"},
            "feedback": {
                "relevance": 5, "usability": 4, "would_pilot": true,
                "relevant_features": ["T1", "P2"], "comment": "Useful for festivals"
            }
        }})
    );
    let json = serde_json::to_value(scheduled()).unwrap();
    assert_eq!(
        json["DemoEventScheduled"]["event"]["starts_at"],
        "2026-12-03T10:00:00+02:00"
    );
    assert_eq!(json["DemoEventScheduled"]["event"]["feedback_window"], 14);
}
