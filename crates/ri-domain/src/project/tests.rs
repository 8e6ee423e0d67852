//! Given/when/then tests of the project aggregate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cqrs_es::test::TestFramework;
use ri_taxonomy::FeatureSet;
use time::macros::date;

use super::*;
use crate::project::values::*;
use crate::values::{CountryCode, CurrencyCode, Summary};

const APP: Uuid = Uuid::from_u128(0xa);
const MILESTONE: Uuid = Uuid::from_u128(0xb);

fn project() -> TestFramework<Project> {
    TestFramework::with(())
}

fn details() -> ProjectDetails {
    ProjectDetails {
        acronym: Acronym::parse("acronym", "VASCREEN").unwrap(),
        title: Title::parse("title", "Volatile-analysis sensor").unwrap(),
        open_call: Some(OpenCall::parse("openCall", "SecurIT Open Call 1").unwrap()),
        stage: Some(Stage::Prototyping),
        security_domain: None,
        consortium: Consortium::parse(vec![ConsortiumMember {
            name: Title::parse("name", "MION").unwrap(),
            country: CountryCode::parse("country", "ES").unwrap(),
        }])
        .unwrap(),
        lead_country: None,
        summary: Summary::parse("summary", "Sensor prototype with edge AI.").unwrap(),
    }
}

fn registered() -> ProjectEvent {
    ProjectEvent::ProjectRegistered {
        tenant: TenantSlug::parse("pole-scs").unwrap(),
        details: details(),
    }
}

fn codes(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn eur(amount: u64) -> Money {
    Money::new(amount, CurrencyCode::parse("currency", "EUR").unwrap()).unwrap()
}

fn application(status: FundingApplicationStatus) -> FundingApplication {
    FundingApplication {
        id: APP,
        instrument_id: Some(InstrumentRef::parse_id("instrumentId", "eic-accelerator").unwrap()),
        instrument_name: Title::parse("instrumentName", "EIC Accelerator").unwrap(),
        status,
        date: date!(2026 - 03 - 01),
        amount: Some(eur(500_000)),
    }
}

fn recorded(status: FundingApplicationStatus) -> ProjectEvent {
    ProjectEvent::FundingApplicationRecorded {
        application: application(status),
    }
}

fn record(status: FundingApplicationStatus) -> ProjectCommand {
    let a = application(status);
    ProjectCommand::RecordFundingApplication {
        id: a.id,
        instrument_id: a.instrument_id,
        instrument_name: a.instrument_name,
        status: a.status,
        date: a.date,
        amount: a.amount,
        evidence_link: None,
    }
}

fn update(status: FundingApplicationStatus) -> ProjectCommand {
    ProjectCommand::UpdateFundingApplication {
        id: APP,
        status,
        date: date!(2026 - 06 - 15),
        amount: None,
        evidence_link: None,
    }
}

fn field(result: Result<Vec<ProjectEvent>, ProjectError>) -> &'static str {
    match result {
        Err(ProjectError::Invalid(e)) => e.field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn registers_once_and_nothing_happens_before() {
    project()
        .given_no_previous_events()
        .when(ProjectCommand::Register {
            tenant: TenantSlug::parse("pole-scs").unwrap(),
            details: details(),
        })
        .then_expect_events(vec![registered()]);
    project()
        .given(vec![registered()])
        .when(ProjectCommand::Register {
            tenant: TenantSlug::parse("pole-scs").unwrap(),
            details: details(),
        })
        .then_expect_error(ProjectError::AlreadyRegistered);
    for command in [
        ProjectCommand::DeclareFeatures {
            features: codes(&["T1"]),
        },
        ProjectCommand::SetMatchThreshold {
            threshold: MatchThreshold::parse("matchThreshold", 0.7).unwrap(),
        },
        record(FundingApplicationStatus::Planned),
    ] {
        project()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(ProjectError::NotFound);
    }
}

#[test]
fn a_revision_records_only_what_changed() {
    project()
        .given(vec![registered()])
        .when(ProjectCommand::Revise {
            patch: ProjectPatch {
                title: Some(Title::parse("title", "Volatile-analysis sensor").unwrap()),
                stage: Some(Some(Stage::Demonstrator)),
                ..ProjectPatch::default()
            },
        })
        .then_expect_events(vec![ProjectEvent::ProjectRevised {
            changes: ProjectChanges {
                stage: Some(Change {
                    old: Some(Stage::Prototyping),
                    new: Some(Stage::Demonstrator),
                }),
                ..ProjectChanges::default()
            },
        }]);
    project()
        .given(vec![registered()])
        .when(ProjectCommand::Revise {
            patch: ProjectPatch {
                stage: Some(Some(Stage::Prototyping)),
                ..ProjectPatch::default()
            },
        })
        .then_expect_error(ProjectError::Unchanged);
}

#[test]
fn features_record_only_what_is_added_or_removed() {
    let declared = ProjectEvent::ProjectFeaturesDeclared {
        features: codes(&["T1", "D2"]),
    };
    project()
        .given(vec![registered()])
        .when(ProjectCommand::DeclareFeatures {
            features: codes(&["T1", "D2"]),
        })
        .then_expect_events(vec![declared.clone()]);
    project()
        .given(vec![registered(), declared.clone()])
        .when(ProjectCommand::DeclareFeatures {
            features: codes(&["T1", "P3"]),
        })
        .then_expect_events(vec![ProjectEvent::ProjectFeaturesDeclared {
            features: codes(&["P3"]),
        }]);
    project()
        .given(vec![registered(), declared.clone()])
        .when(ProjectCommand::DeclareFeatures {
            features: codes(&["D2"]),
        })
        .then_expect_error(ProjectError::Unchanged);
    project()
        .given(vec![registered(), declared.clone()])
        .when(ProjectCommand::RetractFeatures {
            features: codes(&["D2", "G3"]),
        })
        .then_expect_events(vec![ProjectEvent::ProjectFeaturesRetracted {
            features: codes(&["D2"]),
        }]);
    project()
        .given(vec![registered(), declared])
        .when(ProjectCommand::RetractFeatures {
            features: codes(&["G3"]),
        })
        .then_expect_error(ProjectError::Unchanged);
}

#[test]
fn applications_beyond_security_are_noted_and_cleared() {
    let noted = |text: &str| ProjectEvent::ProjectApplicationsBeyondSecurityNoted {
        applications: ShortText::parse("applicationsBeyondSecurity", text).unwrap(),
    };
    let note = |text: &str| ProjectCommand::NoteApplicationsBeyondSecurity {
        applications: ShortText::parse("applicationsBeyondSecurity", text).unwrap(),
    };
    project()
        .given(vec![registered()])
        .when(note("construction"))
        .then_expect_events(vec![noted("construction")]);
    project()
        .given(vec![registered(), noted("construction")])
        .when(note("construction"))
        .then_expect_error(ProjectError::Unchanged);
    project()
        .given(vec![registered()])
        .when(note(""))
        .then_expect_error(ProjectError::Unchanged);
    project()
        .given(vec![registered(), noted("construction")])
        .when(note(""))
        .then_expect_events(vec![noted("")]);
    let mut p = Project::default();
    p.apply(registered());
    p.apply(noted("construction"));
    p.apply(noted(""));
    assert_eq!(p.applications_beyond_security, None);
}

#[test]
fn a_milestone_is_recorded_once() {
    let milestone = SuccessMilestone {
        id: MILESTONE,
        criterion: SuccessCriterion::OperationalDeployment,
        date: date!(2026 - 09 - 30),
        description: MilestoneDescription::parse("description", "Piloted at Vilnius airport")
            .unwrap(),
        evidence_link: Some(Link::parse("evidenceLink", "https://example.eu/pilot").unwrap()),
        funding_application: None,
    };
    let command = ProjectCommand::RecordMilestone {
        id: MILESTONE,
        criterion: milestone.criterion,
        date: milestone.date,
        description: milestone.description.clone(),
        evidence_link: milestone.evidence_link.clone(),
    };
    let event = ProjectEvent::SuccessMilestoneRecorded { milestone };
    project()
        .given(vec![registered()])
        .when(command.clone())
        .then_expect_events(vec![event.clone()]);
    project()
        .given(vec![registered(), event])
        .when(command)
        .then_expect_error(ProjectError::MilestoneExists(MILESTONE));
}

#[test]
fn funding_applications_move_forward_only() {
    use FundingApplicationStatus::*;
    project()
        .given(vec![registered()])
        .when(record(Planned))
        .then_expect_events(vec![recorded(Planned)]);
    project()
        .given(vec![registered(), recorded(Planned)])
        .when(record(Submitted))
        .then_expect_error(ProjectError::FundingApplicationExists(APP));
    project()
        .given(vec![registered(), recorded(Planned)])
        .when(update(Submitted))
        .then_expect_events(vec![ProjectEvent::FundingApplicationStatusChanged {
            id: APP,
            old: Planned,
            new: Submitted,
            date: date!(2026 - 06 - 15),
            amount: None,
        }]);
    for (from, to) in [
        (Submitted, Planned),
        (Submitted, Submitted),
        (Awarded, Rejected),
        (Rejected, Awarded),
        (Awarded, Awarded),
    ] {
        project()
            .given(vec![registered(), recorded(from)])
            .when(update(to))
            .then_expect_error(ProjectError::StatusTransition { from, to });
    }
    project()
        .given(vec![registered()])
        .when(update(Submitted))
        .then_expect_error(ProjectError::NoSuchFundingApplication(APP));
    // Not before the day it reached its current status.
    let result = project()
        .given(vec![registered(), recorded(Submitted)])
        .when(ProjectCommand::UpdateFundingApplication {
            id: APP,
            status: Rejected,
            date: date!(2026 - 02 - 28),
            amount: None,
            evidence_link: None,
        })
        .inspect_result();
    assert_eq!(field(result), "date");
    // Evidence belongs to an award.
    let result = project()
        .given(vec![registered(), recorded(Submitted)])
        .when(ProjectCommand::UpdateFundingApplication {
            id: APP,
            status: Rejected,
            date: date!(2026 - 06 - 15),
            amount: None,
            evidence_link: Some(Link::parse("evidenceLink", "https://example.eu").unwrap()),
        })
        .inspect_result();
    assert_eq!(field(result), "evidenceLink");
}

#[test]
fn an_award_records_a_recognition_milestone_too() {
    use FundingApplicationStatus::*;
    let link = Link::parse("evidenceLink", "https://eic.ec.europa.eu/results").unwrap();
    let milestone = |date, amount: &str| ProjectEvent::SuccessMilestoneRecorded {
        milestone: SuccessMilestone {
            id: award_milestone_id(APP),
            criterion: SuccessCriterion::Recognition,
            date,
            description: MilestoneDescription::parse(
                "description",
                &format!("Funding awarded: EIC Accelerator ({amount})"),
            )
            .unwrap(),
            evidence_link: Some(link.clone()),
            funding_application: Some(APP),
        },
    };
    // Moved to AWARDED, with the amount granted.
    project()
        .given(vec![registered(), recorded(Submitted)])
        .when(ProjectCommand::UpdateFundingApplication {
            id: APP,
            status: Awarded,
            date: date!(2026 - 06 - 15),
            amount: Some(eur(450_000)),
            evidence_link: Some(link.clone()),
        })
        .then_expect_events(vec![
            ProjectEvent::FundingApplicationStatusChanged {
                id: APP,
                old: Submitted,
                new: Awarded,
                date: date!(2026 - 06 - 15),
                amount: Some(Change {
                    old: Some(eur(500_000)),
                    new: Some(eur(450_000)),
                }),
            },
            milestone(date!(2026 - 06 - 15), "450000 EUR"),
        ]);
    // Recorded as AWARDED from the start.
    let ProjectCommand::RecordFundingApplication {
        id,
        instrument_id,
        instrument_name,
        date,
        amount,
        ..
    } = record(Awarded)
    else {
        unreachable!()
    };
    project()
        .given(vec![registered()])
        .when(ProjectCommand::RecordFundingApplication {
            id,
            instrument_id,
            instrument_name,
            status: Awarded,
            date,
            amount,
            evidence_link: Some(link.clone()),
        })
        .then_expect_events(vec![
            recorded(Awarded),
            milestone(date!(2026 - 03 - 01), "500000 EUR"),
        ]);
    // A rejection records no milestone.
    project()
        .given(vec![registered(), recorded(Submitted)])
        .when(update(Rejected))
        .then_expect_events(vec![ProjectEvent::FundingApplicationStatusChanged {
            id: APP,
            old: Submitted,
            new: Rejected,
            date: date!(2026 - 06 - 15),
            amount: None,
        }]);
}

#[test]
fn the_threshold_starts_at_one_half_and_changes_when_set() {
    assert_eq!(Project::default().match_threshold.value(), 0.5);
    let seven = MatchThreshold::parse("matchThreshold", 0.7).unwrap();
    project()
        .given(vec![registered()])
        .when(ProjectCommand::SetMatchThreshold { threshold: seven })
        .then_expect_events(vec![ProjectEvent::ProjectMatchThresholdSet {
            old: MatchThreshold::DEFAULT,
            new: seven,
        }]);
    project()
        .given(vec![registered()])
        .when(ProjectCommand::SetMatchThreshold {
            threshold: MatchThreshold::DEFAULT,
        })
        .then_expect_error(ProjectError::Unchanged);
}

#[test]
fn events_keep_their_stored_shape_and_every_type_is_listed() {
    let json = serde_json::to_value(registered()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"ProjectRegistered": {
            "tenant": "pole-scs",
            "details": {
                "acronym": "VASCREEN", "title": "Volatile-analysis sensor",
                "open_call": "SecurIT Open Call 1", "stage": "PROTOTYPING",
                "security_domain": null,
                "consortium": [{"name": "MION", "country": "ES"}],
                "lead_country": null, "summary": "Sensor prototype with edge AI."
            }
        }})
    );
    let json = serde_json::to_value(recorded(FundingApplicationStatus::Planned)).unwrap();
    assert_eq!(
        json["FundingApplicationRecorded"]["application"],
        serde_json::json!({
            "id": "00000000-0000-0000-0000-00000000000a", "instrument_id": "eic-accelerator",
            "instrument_name": "EIC Accelerator", "status": "PLANNED", "date": "2026-03-01",
            "amount": {"amount": 500000, "currency": "EUR"}
        })
    );
    let threshold = ProjectEvent::ProjectMatchThresholdSet {
        old: MatchThreshold::DEFAULT,
        new: MatchThreshold::parse("matchThreshold", 0.75).unwrap(),
    };
    let json = serde_json::to_string(&threshold).unwrap();
    assert_eq!(
        json,
        r#"{"ProjectMatchThresholdSet":{"old":0.5,"new":0.75}}"#
    );
    assert_eq!(
        serde_json::from_str::<ProjectEvent>(&json).unwrap(),
        threshold
    );

    let shared = ProjectEvent::ProjectShared {
        with: TenantSlug::parse("l3ce").unwrap(),
    };
    assert_eq!(
        serde_json::to_string(&shared).unwrap(),
        r#"{"ProjectShared":{"with":"l3ce"}}"#
    );

    let events = [
        registered(),
        ProjectEvent::ProjectRevised {
            changes: ProjectChanges::default(),
        },
        ProjectEvent::ProjectFeaturesDeclared {
            features: FeatureSet::default(),
        },
        ProjectEvent::ProjectFeaturesRetracted {
            features: FeatureSet::default(),
        },
        ProjectEvent::ProjectApplicationsBeyondSecurityNoted {
            applications: ShortText::parse("applicationsBeyondSecurity", "").unwrap(),
        },
        ProjectEvent::SuccessMilestoneRecorded {
            milestone: SuccessMilestone {
                id: MILESTONE,
                criterion: SuccessCriterion::Recognition,
                date: date!(2026 - 01 - 01),
                description: MilestoneDescription::parse("description", "x").unwrap(),
                evidence_link: None,
                funding_application: None,
            },
        },
        recorded(FundingApplicationStatus::Planned),
        ProjectEvent::FundingApplicationStatusChanged {
            id: APP,
            old: FundingApplicationStatus::Planned,
            new: FundingApplicationStatus::Submitted,
            date: date!(2026 - 01 - 01),
            amount: None,
        },
        threshold,
        shared.clone(),
        ProjectEvent::ProjectShareWithdrawn {
            from: TenantSlug::parse("l3ce").unwrap(),
        },
    ];
    let types = events.iter().map(|e| e.event_type()).collect::<Vec<_>>();
    assert_eq!(types, ProjectEvent::TYPES);
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(serde_json::from_value::<ProjectEvent>(json).unwrap(), event);
    }
}

#[test]
fn a_project_is_shared_with_other_tenants_and_the_share_withdrawn() {
    let l3ce = || TenantSlug::parse("l3ce").unwrap();
    project()
        .given(vec![registered()])
        .when(ProjectCommand::Share { with: l3ce() })
        .then_expect_events(vec![ProjectEvent::ProjectShared { with: l3ce() }]);
    // Its own tenant, twice, or before it is registered: refused.
    project()
        .given(vec![registered()])
        .when(ProjectCommand::Share {
            with: TenantSlug::parse("pole-scs").unwrap(),
        })
        .then_expect_error(ProjectError::Invalid(FieldError::new(
            "tenant",
            "the project is its own tenant's: share it with another tenant",
        )));
    project()
        .given(vec![
            registered(),
            ProjectEvent::ProjectShared { with: l3ce() },
        ])
        .when(ProjectCommand::Share { with: l3ce() })
        .then_expect_error(ProjectError::Unchanged);
    project()
        .given_no_previous_events()
        .when(ProjectCommand::Share { with: l3ce() })
        .then_expect_error(ProjectError::NotFound);
    // Withdrawn once; a share that is not there cannot be.
    project()
        .given(vec![
            registered(),
            ProjectEvent::ProjectShared { with: l3ce() },
        ])
        .when(ProjectCommand::WithdrawShare { from: l3ce() })
        .then_expect_events(vec![ProjectEvent::ProjectShareWithdrawn { from: l3ce() }]);
    project()
        .given(vec![
            registered(),
            ProjectEvent::ProjectShared { with: l3ce() },
            ProjectEvent::ProjectShareWithdrawn { from: l3ce() },
        ])
        .when(ProjectCommand::WithdrawShare { from: l3ce() })
        .then_expect_error(ProjectError::NotShared(l3ce()));
}
