//! Given/when/then tests of the instrument lifecycle.

use std::sync::Arc;

use cqrs_es::test::TestFramework;
use ri_taxonomy::FeatureSet;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::*;
use crate::instrument::details::*;
use crate::values::{CountryCode, Summary, Title};

#[derive(Debug)]
struct Fixed(OffsetDateTime);

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);

fn instrument() -> TestFramework<FundingInstrument> {
    TestFramework::with(InstrumentServices {
        clock: Arc::new(Fixed(NOW)),
    })
}

fn details(kind: InstrumentKind) -> InstrumentDetails {
    InstrumentDetails {
        title: Title::parse("title", "Border security call").unwrap(),
        kind,
        cover_level: CoverLevel::National,
        countries: vec![CountryCode::parse("countries", "LT").unwrap()],
        programme: None,
        link: None,
        summary: Summary::parse("summary", "").unwrap(),
        target_organisations: vec![TargetOrganisation::Sme],
        funding: None,
        periodicity: None,
        languages: vec![],
    }
}

fn drafted(kind: InstrumentKind) -> InstrumentEvent {
    InstrumentEvent::InstrumentDrafted {
        tenant: TenantSlug::parse("l3ce").unwrap(),
        details: details(kind),
    }
}

fn tagged(codes: &[&str]) -> InstrumentEvent {
    InstrumentEvent::InstrumentFeaturesTagged {
        features: FeatureSet::parse(codes.iter().copied()).unwrap(),
    }
}

fn deadline(at: OffsetDateTime) -> InstrumentEvent {
    InstrumentEvent::InstrumentScheduleSet {
        old: Schedule::default(),
        new: Schedule::new(
            Some(date!(2026 - 10 - 01)),
            Some(at),
            Some("Europe/Vilnius"),
        )
        .unwrap(),
    }
}

fn field(err: Result<Vec<InstrumentEvent>, InstrumentError>) -> &'static str {
    match err {
        Err(InstrumentError::Invalid(e)) => e.field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_call_with_features_and_a_future_deadline_is_published() {
    instrument()
        .given(vec![
            drafted(InstrumentKind::Call),
            tagged(&["T1", "D2"]),
            deadline(datetime!(2027-01-31 17:00 +2)),
        ])
        .when(InstrumentCommand::Publish)
        .then_expect_events(vec![InstrumentEvent::InstrumentPublished]);
}

#[test]
fn a_call_without_a_deadline_or_with_a_past_one_is_not_published() {
    let result = instrument()
        .given(vec![drafted(InstrumentKind::Call), tagged(&["T1"])])
        .when(InstrumentCommand::Publish)
        .inspect_result();
    assert_eq!(field(result), "deadline");
    let result = instrument()
        .given(vec![
            drafted(InstrumentKind::Call),
            tagged(&["T1"]),
            deadline(datetime!(2026-11-26 11:59 UTC)),
        ])
        .when(InstrumentCommand::Publish)
        .inspect_result();
    assert_eq!(field(result), "deadline");
}

#[test]
fn nothing_is_published_without_a_feature_or_a_national_country() {
    let result = instrument()
        .given(vec![drafted(InstrumentKind::Programme)])
        .when(InstrumentCommand::Publish)
        .inspect_result();
    assert_eq!(field(result), "features");
    let mut no_country = details(InstrumentKind::Programme);
    no_country.countries.clear();
    let result = instrument()
        .given(vec![
            InstrumentEvent::InstrumentDrafted {
                tenant: TenantSlug::parse("l3ce").unwrap(),
                details: no_country,
            },
            tagged(&["G1"]),
        ])
        .when(InstrumentCommand::Publish)
        .inspect_result();
    assert_eq!(field(result), "countries");
}

#[test]
fn a_revision_records_only_the_changed_fields_with_old_and_new_values() {
    let patch = InstrumentPatch {
        title: Some(Title::parse("title", "Border security call 2027").unwrap()),
        kind: Some(InstrumentKind::Programme), // unchanged
        ..InstrumentPatch::default()
    };
    let events = instrument()
        .given(vec![drafted(InstrumentKind::Programme)])
        .when(InstrumentCommand::Revise { patch })
        .inspect_result()
        .unwrap();
    let [InstrumentEvent::InstrumentRevised { changes }] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(changes.fields(), vec!["title"]);
    let title = changes.title.as_ref().unwrap();
    assert_eq!(
        (title.old.as_str(), title.new.as_str()),
        ("Border security call", "Border security call 2027")
    );

    instrument()
        .given(vec![drafted(InstrumentKind::Programme)])
        .when(InstrumentCommand::Revise {
            patch: InstrumentPatch {
                kind: Some(InstrumentKind::Programme),
                ..InstrumentPatch::default()
            },
        })
        .then_expect_error(InstrumentError::Unchanged);
}

#[test]
fn tagging_records_only_new_features_and_untagging_only_present_ones() {
    instrument()
        .given(vec![drafted(InstrumentKind::Programme), tagged(&["T1"])])
        .when(InstrumentCommand::TagFeatures {
            features: FeatureSet::parse(["T1", "P3"]).unwrap(),
        })
        .then_expect_events(vec![tagged(&["P3"])]);
    instrument()
        .given(vec![drafted(InstrumentKind::Programme), tagged(&["T1"])])
        .when(InstrumentCommand::UntagFeatures {
            features: FeatureSet::parse(["P3"]).unwrap(),
        })
        .then_expect_error(InstrumentError::Unchanged);
}

#[test]
fn an_open_instrument_must_stay_publishable() {
    let open = vec![
        drafted(InstrumentKind::Call),
        tagged(&["T1"]),
        deadline(datetime!(2027-01-31 17:00 UTC)),
        InstrumentEvent::InstrumentPublished,
    ];
    let result = instrument()
        .given(open.clone())
        .when(InstrumentCommand::UntagFeatures {
            features: FeatureSet::parse(["T1"]).unwrap(),
        })
        .inspect_result();
    assert_eq!(field(result), "features");
    let result = instrument()
        .given(open)
        .when(InstrumentCommand::SetSchedule {
            schedule: Schedule::new(None, Some(datetime!(2026-11-01 0:00 UTC)), None).unwrap(),
        })
        .inspect_result();
    assert_eq!(field(result), "deadline");
}

#[test]
fn a_deadline_before_the_opening_date_is_refused() {
    let err = Schedule::new(
        Some(date!(2027 - 02 - 01)),
        Some(datetime!(2027-01-31 17:00 UTC)),
        None,
    )
    .unwrap_err();
    assert_eq!(err.field, "deadline");
    assert_eq!(
        Schedule::new(None, None, Some("Not a zone!"))
            .unwrap_err()
            .field,
        "timeZone"
    );
}

#[test]
fn the_lifecycle_moves_through_withdraw_republish_and_archive() {
    let open = vec![
        drafted(InstrumentKind::Programme),
        tagged(&["G2"]),
        InstrumentEvent::InstrumentPublished,
    ];
    let reason = crate::values::ShortText::parse("reason", "budget exhausted").unwrap();
    instrument()
        .given(open.clone())
        .when(InstrumentCommand::Withdraw {
            reason: reason.clone(),
        })
        .then_expect_events(vec![InstrumentEvent::InstrumentWithdrawn {
            reason: reason.clone(),
        }]);
    let mut withdrawn = open.clone();
    withdrawn.push(InstrumentEvent::InstrumentWithdrawn { reason });
    instrument()
        .given(withdrawn)
        .when(InstrumentCommand::Publish)
        .then_expect_events(vec![InstrumentEvent::InstrumentPublished]);
    instrument()
        .given(open.clone())
        .when(InstrumentCommand::Publish)
        .then_expect_error(InstrumentError::WrongStatus(
            InstrumentStatus::Open,
            "only a draft or withdrawn instrument can be published",
        ));
    let mut archived = open;
    archived.push(InstrumentEvent::InstrumentArchived);
    instrument()
        .given(archived)
        .when(InstrumentCommand::Archive)
        .then_expect_error(InstrumentError::WrongStatus(
            InstrumentStatus::Archived,
            "an archived instrument cannot change",
        ));
}

#[test]
fn commands_on_a_missing_instrument_are_not_found() {
    instrument()
        .given_no_previous_events()
        .when(InstrumentCommand::Publish)
        .then_expect_error(InstrumentError::NotFound);
}

#[test]
fn a_deadline_change_reads_as_people_say_it() {
    let old = Schedule::new(None, Some(datetime!(2025-05-03 17:00 UTC)), None).unwrap();
    let new = Schedule::new(None, Some(datetime!(2025-05-17 17:00 UTC)), None).unwrap();
    assert_eq!(
        old.deadline_change(&new).as_deref(),
        Some("deadline moved from 2025-05-03 to 2025-05-17")
    );
    assert_eq!(old.deadline_change(&old), None);
}

#[test]
fn events_keep_their_stored_shape() {
    let json = serde_json::to_value(deadline(datetime!(2027-01-31 17:00 +2))).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"InstrumentScheduleSet": {
            "old": {"opening_date": null, "deadline": null, "time_zone": null},
            "new": {"opening_date": "2026-10-01", "deadline": "2027-01-31T17:00:00+02:00",
                    "time_zone": "Europe/Vilnius"}
        }})
    );
    let back: InstrumentEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, deadline(datetime!(2027-01-31 17:00 +2)));
}

#[test]
fn a_call_closes_once_its_deadline_has_passed_or_as_history() {
    let open = |at| {
        vec![
            drafted(InstrumentKind::Call),
            tagged(&["T1"]),
            deadline(at),
            InstrumentEvent::InstrumentPublished,
        ]
    };
    let result = instrument()
        .given(open(datetime!(2026-12-01 0:00 UTC)))
        .when(InstrumentCommand::Close)
        .inspect_result();
    assert_eq!(field(result), "deadline");
    instrument()
        .given(open(datetime!(2026-11-26 11:00 UTC)))
        .when(InstrumentCommand::Close)
        .then_expect_events(vec![InstrumentEvent::InstrumentClosed]);
    // A call known only as history is recorded closed from its draft.
    instrument()
        .given(vec![drafted(InstrumentKind::Call)])
        .when(InstrumentCommand::Close)
        .then_expect_events(vec![InstrumentEvent::InstrumentClosed]);
    let result = instrument()
        .given(vec![drafted(InstrumentKind::Programme)])
        .when(InstrumentCommand::Close)
        .inspect_result();
    assert_eq!(field(result), "kind");
}

#[test]
fn a_closed_recurring_call_reopens_with_a_new_future_deadline() {
    let closed = vec![
        drafted(InstrumentKind::Call),
        tagged(&["T1"]),
        InstrumentEvent::InstrumentClosed,
    ];
    let next = Schedule::new(None, Some(datetime!(2027-05-01 17:00 UTC)), None).unwrap();
    instrument()
        .given(closed.clone())
        .when(InstrumentCommand::Reopen {
            schedule: next.clone(),
        })
        .then_expect_events(vec![InstrumentEvent::InstrumentReopened {
            old: Schedule::default(),
            new: next,
        }]);
    let past = Schedule::new(None, Some(datetime!(2026-01-01 0:00 UTC)), None).unwrap();
    let result = instrument()
        .given(closed)
        .when(InstrumentCommand::Reopen {
            schedule: past.clone(),
        })
        .inspect_result();
    assert_eq!(field(result), "deadline");
    instrument()
        .given(vec![drafted(InstrumentKind::Call), tagged(&["T1"])])
        .when(InstrumentCommand::Reopen { schedule: past })
        .then_expect_error(InstrumentError::WrongStatus(
            InstrumentStatus::Draft,
            "only a closed call can be reopened",
        ));
}
