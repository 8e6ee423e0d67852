//! Each eligibility rule on its own, their order, and the score's edge cases by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ri_matching::*;
use ri_taxonomy::FeatureSet;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

fn set(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn project(countries: &[&str]) -> ProjectProfile {
    ProjectProfile {
        features: set(&["T1", "P3"]),
        stage: None,
        countries: countries.iter().map(|c| c.parse().unwrap()).collect(),
    }
}

fn open_programme() -> InstrumentProfile {
    InstrumentProfile {
        id: "p".into(),
        features: set(&["T1"]),
        kind: InstrumentKind::Programme,
        cover_level: CoverLevel::Eu,
        countries: vec![],
        status: InstrumentStatus::Open,
        deadline: None,
    }
}

fn rule(p: &ProjectProfile, i: &InstrumentProfile) -> Option<ExclusionRule> {
    score(&Weights::default(), p, i, NOW).err().map(|e| e.rule)
}

#[test]
fn withdrawn_archived_and_drafts_never_match() {
    for (status, expected) in [
        (InstrumentStatus::Withdrawn, ExclusionRule::Withdrawn),
        (InstrumentStatus::Archived, ExclusionRule::Archived),
        (InstrumentStatus::Draft, ExclusionRule::Draft),
    ] {
        for kind in [
            InstrumentKind::Call,
            InstrumentKind::Programme,
            InstrumentKind::StrategicDocument,
        ] {
            let i = InstrumentProfile {
                status,
                kind,
                ..open_programme()
            };
            assert_eq!(rule(&project(&[]), &i), Some(expected.clone()));
        }
    }
}

#[test]
fn a_call_must_be_open_and_before_its_deadline() {
    let call = InstrumentProfile {
        kind: InstrumentKind::Call,
        deadline: Some(NOW + time::Duration::days(3)),
        ..open_programme()
    };
    assert_eq!(rule(&project(&[]), &call), None);
    let closed = InstrumentProfile {
        status: InstrumentStatus::Closed,
        ..call.clone()
    };
    assert_eq!(
        rule(&project(&[]), &closed),
        Some(ExclusionRule::CallNotOpen {
            status: InstrumentStatus::Closed
        })
    );
    let due = InstrumentProfile {
        deadline: Some(NOW),
        ..call.clone()
    };
    assert_eq!(
        rule(&project(&[]), &due),
        Some(ExclusionRule::DeadlinePassed { deadline: NOW })
    );
    let without_deadline = InstrumentProfile {
        deadline: None,
        ..call
    };
    assert_eq!(rule(&project(&[]), &without_deadline), None);
}

#[test]
fn programmes_and_strategies_match_while_closed() {
    for kind in [InstrumentKind::Programme, InstrumentKind::StrategicDocument] {
        let i = InstrumentProfile {
            kind,
            status: InstrumentStatus::Closed,
            deadline: Some(NOW - time::Duration::days(10)),
            ..open_programme()
        };
        let m = score(&Weights::default(), &project(&[]), &i, NOW).unwrap();
        assert_eq!(m.explanation.days_to_deadline, Some(-10));
    }
}

#[test]
fn national_and_regional_need_a_consortium_country() {
    for cover_level in [CoverLevel::National, CoverLevel::Regional] {
        let i = InstrumentProfile {
            cover_level,
            countries: vec!["LT".parse().unwrap(), "LV".parse().unwrap()],
            ..open_programme()
        };
        assert_eq!(rule(&project(&["FR", "LV"]), &i), None);
        let expected = ExclusionRule::NoCountryInCommon {
            cover_level,
            countries: i.countries.clone(),
        };
        assert_eq!(rule(&project(&["FR", "ES"]), &i), Some(expected.clone()));
        assert_eq!(rule(&project(&[]), &i), Some(expected));
    }
    for cover_level in [CoverLevel::Eu, CoverLevel::International] {
        let i = InstrumentProfile {
            cover_level,
            countries: vec!["LT".parse().unwrap()],
            ..open_programme()
        };
        assert_eq!(rule(&project(&[]), &i), None);
    }
}

#[test]
fn the_first_rule_in_order_is_reported() {
    let everything_wrong = InstrumentProfile {
        kind: InstrumentKind::Call,
        status: InstrumentStatus::Closed,
        cover_level: CoverLevel::National,
        countries: vec!["DK".parse().unwrap()],
        deadline: Some(NOW - time::Duration::days(1)),
        ..open_programme()
    };
    assert!(matches!(
        rule(&project(&[]), &everything_wrong),
        Some(ExclusionRule::CallNotOpen { .. })
    ));
    let withdrawn = InstrumentProfile {
        status: InstrumentStatus::Withdrawn,
        ..everything_wrong.clone()
    };
    assert_eq!(
        rule(&project(&[]), &withdrawn),
        Some(ExclusionRule::Withdrawn)
    );
    let open_past_deadline = InstrumentProfile {
        status: InstrumentStatus::Open,
        ..everything_wrong
    };
    assert!(matches!(
        rule(&project(&[]), &open_past_deadline),
        Some(ExclusionRule::DeadlinePassed { .. })
    ));
}

#[test]
fn rules_read_as_sentences_and_serialise_tagged() {
    let rule = ExclusionRule::NoCountryInCommon {
        cover_level: CoverLevel::National,
        countries: vec!["DK".parse().unwrap(), "SE".parse().unwrap()],
    };
    assert_eq!(
        rule.to_string(),
        "a national instrument needs a consortium country among its countries (DK, SE)"
    );
    assert_eq!(
        serde_json::to_value(Ineligible { rule }).unwrap(),
        serde_json::json!({"rule": {"rule": "NO_COUNTRY_IN_COMMON",
            "cover_level": "NATIONAL", "countries": ["DK", "SE"]}})
    );
    assert_eq!(
        ExclusionRule::DeadlinePassed {
            deadline: datetime!(2024-08-01 17:00 +2)
        }
        .to_string(),
        "the call's deadline 2024-08-01 17:00:00.0 +02:00:00 has passed"
    );
    assert_eq!(
        ExclusionRule::Withdrawn.to_string(),
        "a withdrawn instrument never matches"
    );
}

#[test]
fn scores_by_hand() {
    let w = Weights::default();
    let p = ProjectProfile {
        // T 1 + P 1 + G 0.5 + A 0.5 = 3
        features: set(&["T1", "P3", "G3", "A1"]),
        stage: Some(Stage::Demonstrator),
        countries: vec![],
    };
    let with = |codes: &[&str]| InstrumentProfile {
        features: set(codes),
        ..open_programme()
    };
    let s = |codes: &[&str]| score(&w, &p, &with(codes), NOW).unwrap().score;
    assert_eq!(s(&[]), 0.0);
    assert!((s(&["T1"]) - 1.0 / 3.0).abs() < 1e-12);
    assert!((s(&["G3"]) - 0.5 / 3.0).abs() < 1e-12);
    assert_eq!(s(&["T1", "P3", "G3", "A1", "T2", "T3"]), 1.0);
    // One of the demonstrator's three stage features, nothing in common: 0.25 · 1/3.
    assert!((s(&["D5"]) - 0.25 / 3.0).abs() < 1e-12);
    // All three, and a third of the project's weight: 1 − (2/3) · (1 − 0.25).
    assert!((s(&["T1", "D1", "D5", "D7"]) - 0.5).abs() < 1e-12);
    // Two thirds of the project's weight (T1, G3, A1) and all three: 1 − (1/3) · 0.75.
    assert!((s(&["T1", "G3", "A1", "D1", "D5", "D7"]) - 0.75).abs() < 1e-12);
}

#[test]
fn zero_weight_categories_are_left_out() {
    let w = Weights::new(WeightsConfig {
        categories: CategoryWeights {
            general: 0.0,
            ..CategoryWeights::default()
        },
        ..WeightsConfig::default()
    })
    .unwrap();
    let p = ProjectProfile {
        features: set(&["T1", "G3"]),
        stage: None,
        countries: vec![],
    };
    let i = InstrumentProfile {
        features: set(&["T1"]),
        ..open_programme()
    };
    assert_eq!(score(&w, &p, &i, NOW).unwrap().score, 1.0);
    let only_general = ProjectProfile {
        features: set(&["G3"]),
        ..p
    };
    let m = score(&w, &only_general, &i, NOW).unwrap();
    assert_eq!((m.score, m.explanation.coverage), (0.0, 0.0));
}

#[test]
fn ranking_keeps_n_best_positive_above_min_score_ties_in_input_order() {
    let w = Weights::default();
    let p = ProjectProfile {
        features: set(&["T1", "P3"]),
        stage: None,
        countries: vec![],
    };
    let with = |id: &str, codes: &[&str]| InstrumentProfile {
        id: id.into(),
        features: set(codes),
        ..open_programme()
    };
    let instruments = [
        with("nothing", &["G1"]),
        with("half-a", &["T1"]),
        with("all", &["T1", "P3"]),
        with("half-b", &["P3", "G2"]),
        InstrumentProfile {
            status: InstrumentStatus::Archived,
            ..with("archived-all", &["T1", "P3"])
        },
        with("half-c", &["T1", "T2"]),
    ];
    let ids = |n, min| -> Vec<&str> {
        top_matches(&w, &p, &instruments, n, min, NOW)
            .iter()
            .map(|(i, _)| instruments[*i].id.as_str())
            .collect()
    };
    assert_eq!(ids(10, 0.0), ["all", "half-a", "half-b", "half-c"]);
    assert_eq!(ids(2, 0.0), ["all", "half-a"]);
    assert_eq!(ids(10, 0.6), ["all"]);
    assert!(ids(0, 0.0).is_empty());
    assert!(top_matches(&w, &p, &[], 5, 0.0, NOW).is_empty());
}
