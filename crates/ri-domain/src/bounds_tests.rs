//! Every aggregate refuses an instant or day outside the bounds of [`crate::when`], names the
//! field, and records nothing: the poison inputs of issue 11 and the rules that came with it
//! (sessions not before their demo event, milestones not in the future, IANA zones).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::cluster::{
    AggregateRef, AssignedProject, Attendees, ClusterCommand, ClusterError, ClusterEvent,
    ClusterServices, DemoEvent, FeedbackWindow, ProjectCluster, TimeZoneName, Venue,
};
use crate::instrument::{
    Clock, CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentError,
    InstrumentEvent, InstrumentKind, InstrumentServices, Schedule,
};
use crate::project::{
    Acronym, Consortium, FundingApplicationStatus, MilestoneDescription, Project, ProjectCommand,
    ProjectDetails, ProjectError, ProjectEvent, SuccessCriterion,
};
use crate::tenant::TenantSlug;
use crate::values::{FieldError, Link, Summary, Title};

#[derive(Debug)]
struct Fixed(OffsetDateTime);

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);
const POISON: OffsetDateTime = datetime!(9999-12-31 23:59:59 -23:59);
const EVENT: Uuid = Uuid::from_u128(0xe1);

fn tenant() -> TenantSlug {
    TenantSlug::parse("l3ce").unwrap()
}

fn field_of<E: std::fmt::Debug>(err: E, invalid: impl Fn(&E) -> Option<&FieldError>) -> String {
    invalid(&err)
        .map(|f| f.field.to_owned())
        .unwrap_or_else(|| panic!("not a field error: {err:?}"))
}

// ---- instruments ----------------------------------------------------------------------

fn instrument() -> TestFramework<FundingInstrument> {
    TestFramework::with(InstrumentServices {
        clock: Arc::new(Fixed(NOW)),
    })
}

fn drafted() -> InstrumentEvent {
    InstrumentEvent::InstrumentDrafted {
        tenant: tenant(),
        details: InstrumentDetails {
            title: Title::parse("title", "Border call").unwrap(),
            kind: InstrumentKind::Call,
            cover_level: CoverLevel::Eu,
            countries: vec![],
            programme: None,
            link: None,
            summary: Summary::parse("summary", "").unwrap(),
            target_organisations: vec![],
            funding: None,
            periodicity: None,
            languages: vec![],
        },
    }
}

fn instrument_field(result: Result<Vec<InstrumentEvent>, InstrumentError>) -> String {
    field_of(result.unwrap_err(), |e| match e {
        InstrumentError::Invalid(f) => Some(f),
        _ => None,
    })
}

#[test]
fn a_schedule_out_of_bounds_is_refused_naming_its_field() {
    assert_eq!(
        Schedule::new(None, Some(POISON), None).unwrap_err().field,
        "deadline"
    );
    assert_eq!(
        Schedule::new(Some(date!(9999 - 01 - 01)), None, None)
            .unwrap_err()
            .field,
        "openingDate"
    );
    for zone in ["Mars/Olympus", "Europe/Dubln"] {
        assert_eq!(
            Schedule::new(None, None, Some(zone)).unwrap_err().field,
            "timeZone"
        );
    }
    assert!(Schedule::new(None, None, Some("Europe/Vilnius")).is_ok());
    // Built without `new`, the aggregate checks it all the same.
    let poison = Schedule {
        opening_date: None,
        deadline: Some(POISON),
        time_zone: None,
    };
    let result = instrument()
        .given(vec![drafted()])
        .when(InstrumentCommand::SetSchedule {
            schedule: poison.clone(),
        })
        .inspect_result();
    assert_eq!(instrument_field(result), "deadline");
    let unknown_zone = Schedule {
        opening_date: None,
        deadline: None,
        time_zone: Some("Mars/Olympus".into()),
    };
    let result = instrument()
        .given(vec![drafted()])
        .when(InstrumentCommand::SetSchedule {
            schedule: unknown_zone,
        })
        .inspect_result();
    assert_eq!(instrument_field(result), "timeZone");
}

// ---- clusters -------------------------------------------------------------------------

fn cluster() -> TestFramework<ProjectCluster> {
    TestFramework::with(ClusterServices {
        clock: Arc::new(Fixed(NOW)),
    })
}

fn project_ref() -> AggregateRef {
    AggregateRef::parse("projectId", "p-safe").unwrap()
}

fn history() -> Vec<ClusterEvent> {
    vec![
        ClusterEvent::ClusterFormed {
            tenant: tenant(),
            area_id: AggregateRef::parse("areaId", "area-1").unwrap(),
            name: Title::parse("name", "Public event security").unwrap(),
            description: Summary::parse("description", "").unwrap(),
        },
        ClusterEvent::ProjectAssignedToCluster {
            project: AssignedProject {
                id: project_ref(),
                acronym: Acronym::parse("acronym", "Safe Festivals").unwrap(),
            },
            owner: None,
        },
    ]
}

fn zone() -> TimeZoneName {
    TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap()
}

fn venue() -> Venue {
    Venue::new(
        None,
        Some(Link::parse("onlineLink", "https://meet.example.eu/demo").unwrap()),
    )
    .unwrap()
}

fn schedule(starts_at: OffsetDateTime) -> ClusterCommand {
    ClusterCommand::ScheduleDemoEvent {
        id: EVENT,
        title: Title::parse("title", "Demo day").unwrap(),
        starts_at,
        time_zone: zone(),
        venue: venue(),
        agenda: vec![project_ref()],
        feedback_window: FeedbackWindow::parse("feedbackWindowDays", 90).unwrap(),
    }
}

/// A demo event starting at 00:30 on 3 December in Vilnius: 2 December in UTC, and still 2
/// December in UTC−12.
fn scheduled() -> ClusterEvent {
    ClusterEvent::DemoEventScheduled {
        event: DemoEvent {
            id: EVENT,
            title: Title::parse("title", "Demo day").unwrap(),
            starts_at: datetime!(2026-12-02 22:30 UTC),
            time_zone: zone(),
            venue: venue(),
            agenda: vec![AssignedProject {
                id: project_ref(),
                acronym: Acronym::parse("acronym", "Safe Festivals").unwrap(),
            }],
            feedback_window: FeedbackWindow::default(),
        },
    }
}

fn cluster_field(result: Result<Vec<ClusterEvent>, ClusterError>) -> String {
    field_of(result.unwrap_err(), |e| match e {
        ClusterError::Invalid(f) => Some(f),
        _ => None,
    })
}

#[test]
fn a_demo_event_whose_window_would_leave_the_bounds_is_refused() {
    for starts_at in [
        datetime!(9999-12-31 12:00 UTC),
        POISON,
        // Inside the bounds, but its 90-day window is not.
        datetime!(2199-12-01 12:00 UTC),
    ] {
        let result = cluster()
            .given(history())
            .when(schedule(starts_at))
            .inspect_result();
        assert_eq!(cluster_field(result), "startsAt", "{starts_at}");
    }
    let result = cluster()
        .given(history())
        .when(schedule(NOW + Duration::days(30)))
        .inspect_result();
    assert!(result.is_ok(), "{result:?}");
    let result = cluster()
        .given([history(), vec![scheduled()]].concat())
        .when(ClusterCommand::RescheduleDemoEvent {
            id: EVENT,
            starts_at: datetime!(9999-12-31 12:00 UTC),
            time_zone: zone(),
            venue: None,
        })
        .inspect_result();
    assert_eq!(cluster_field(result), "startsAt");
}

fn session(date: time::Date, due: time::Date) -> ClusterCommand {
    ClusterCommand::RecordFollowUpSession {
        id: Uuid::from_u128(0x55),
        date,
        demo_event_id: Some(EVENT),
        attendees: Attendees::parse("attendees", &["Ona"]).unwrap(),
        notes: Summary::parse("notes", "").unwrap(),
        next_steps: vec![crate::cluster::NextStepPlan {
            id: Uuid::from_u128(0x57),
            project_id: project_ref(),
            action: Title::parse("action", "Pilot").unwrap(),
            owner: Title::parse("owner", "Ona").unwrap(),
            due,
        }],
    }
}

#[test]
fn a_follow_up_session_may_not_predate_its_demo_event_anywhere_on_earth() {
    let given = || cluster().given([history(), vec![scheduled()]].concat());
    let result = given()
        .when(session(date!(2026 - 12 - 01), date!(2026 - 12 - 20)))
        .inspect_result();
    assert_eq!(cluster_field(result), "date");
    for day in [date!(2026 - 12 - 02), date!(2026 - 12 - 03)] {
        let result = given()
            .when(session(day, date!(2026 - 12 - 20)))
            .inspect_result();
        assert!(result.is_ok(), "{day}: {result:?}");
    }
    let result = given()
        .when(session(date!(2026 - 12 - 03), date!(9999 - 12 - 31)))
        .inspect_result();
    assert_eq!(cluster_field(result), "due");
}

// ---- projects -------------------------------------------------------------------------

fn registered() -> ProjectEvent {
    ProjectEvent::ProjectRegistered {
        tenant: tenant(),
        details: ProjectDetails {
            acronym: Acronym::parse("acronym", "VASCREEN").unwrap(),
            title: Title::parse("title", "Volatile-analysis sensor").unwrap(),
            open_call: None,
            stage: None,
            security_domain: None,
            consortium: Consortium::parse(vec![]).unwrap(),
            lead_country: None,
            summary: Summary::parse("summary", "").unwrap(),
        },
    }
}

fn milestone(date: time::Date) -> ProjectCommand {
    ProjectCommand::RecordMilestone {
        id: Uuid::from_u128(0xb),
        criterion: SuccessCriterion::Recognition,
        date,
        description: MilestoneDescription::parse("description", "Award").unwrap(),
        evidence_link: None,
    }
}

fn project_field(result: Result<Vec<ProjectEvent>, ProjectError>) -> String {
    field_of(result.unwrap_err(), |e| match e {
        ProjectError::Invalid(f) => Some(f),
        _ => None,
    })
}

#[test]
fn a_milestone_is_not_dated_in_the_future_nor_out_of_bounds() {
    let project = || TestFramework::<Project>::with(()).given(vec![registered()]);
    let today = OffsetDateTime::now_utc().date();
    assert!(project().when(milestone(today)).inspect_result().is_ok());
    assert!(
        project()
            .when(milestone(date!(2024 - 05 - 01)))
            .inspect_result()
            .is_ok()
    );
    for bad in [
        today + Duration::days(3),
        date!(2199 - 12 - 31),
        date!(1800 - 01 - 01),
    ] {
        let result = project().when(milestone(bad)).inspect_result();
        assert_eq!(project_field(result), "date", "{bad}");
    }
    // An award dated in the future would record a future milestone.
    let result = project()
        .when(ProjectCommand::RecordFundingApplication {
            id: Uuid::from_u128(0xa),
            instrument_id: None,
            instrument_name: Title::parse("instrumentName", "EIC Accelerator").unwrap(),
            status: FundingApplicationStatus::Awarded,
            date: today + Duration::days(30),
            amount: None,
            evidence_link: None,
        })
        .inspect_result();
    assert_eq!(project_field(result), "date");
    let result = project()
        .when(ProjectCommand::RecordFundingApplication {
            id: Uuid::from_u128(0xa),
            instrument_id: None,
            instrument_name: Title::parse("instrumentName", "EIC Accelerator").unwrap(),
            status: FundingApplicationStatus::Planned,
            date: date!(9999 - 01 - 01),
            amount: None,
            evidence_link: None,
        })
        .inspect_result();
    assert_eq!(project_field(result), "date");
}
