//! One pair of the SecurIT deliverable matched by hand and by the crate: the project C-SHIELD
//! (open call 1, demonstrator; D2.5 Figure 1 and Annex 2; `data/projects.json`) against the
//! FRIEND CCI Eurocluster call (D2.5 Figure 9; `crates/regional-invest/seed/instruments.json`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ri_matching::*;
use ri_taxonomy::{Category, FeatureSet};
use time::OffsetDateTime;
use time::macros::datetime;

fn set(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn c_shield() -> ProjectProfile {
    ProjectProfile {
        features: set(&[
            "T1", "T8", "P2", "P3", "P5", "P6", "P8", "D2", "D3", "G3", "A1",
        ]),
        stage: Some(Stage::Demonstrator),
        // The deliverable names no consortium for C-SHIELD; an EU call needs none.
        countries: vec![],
    }
}

/// As it stood while open: the seed records it closed, its deadline (01/08/2024) read as
/// 17:00 in Brussels like the seed loader does.
fn friend_cci(status: InstrumentStatus) -> InstrumentProfile {
    InstrumentProfile {
        id: "FRIEND CCI Eurocluster".into(),
        features: set(&["T1", "T4", "T15", "T10", "T9", "P12", "P10"]),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::Eu,
        countries: vec![],
        status,
        deadline: Some(datetime!(2024-08-01 17:00 +2)),
    }
}

const JULY_1ST: OffsetDateTime = datetime!(2024-07-01 09:00 UTC);

#[test]
fn the_copy_above_is_the_shipped_seed() {
    let seed: serde_json::Value =
        serde_json::from_str(include_str!("../../regional-invest/seed/instruments.json")).unwrap();
    let friend = seed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "FRIEND CCI Eurocluster")
        .expect("FRIEND CCI Eurocluster in the seed");
    let features: Vec<&str> = friend["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(set(&features), friend_cci(InstrumentStatus::Open).features);
    assert_eq!(friend["kind"], "CALL");
    assert_eq!(friend["cover_level"], "EU");
    assert_eq!(friend["deadline"], "2024-08-01");
}

/// By hand, as a follow-up manager would write it for C-SHIELD:
///
/// - matched: Techniques: T1 (AI). Nothing else: FRIEND CCI funds digitalisation (T4, T9,
///   T10, T15, P10, P12), C-SHIELD is about CBRN detection and incident response.
/// - unmatched: Techniques T8; Process P2, P3, P5, P6, P8; Development support D2, D3;
///   General G3; Applications A1.
/// - stage: a demonstrator gains from D1, D5, D7; FRIEND CCI funds none of them.
/// - eligible: an EU call, open; the deadline is 31 days away on 1 July 2024.
/// - score: weight of C-SHIELD's features = T 2×1 + P 5×1 + D 2×1 + G 1×0.5 + A 1×0.5 = 10;
///   matched weight 1 (T1); coverage 1/10; no stage bonus; score 0.1. A weak match, as the
///   deliverable's manual mapping found ("difficult to identify any meaningful links").
#[test]
fn c_shield_against_friend_cci_as_written_by_hand() {
    let m = score(
        &Weights::default(),
        &c_shield(),
        &friend_cci(InstrumentStatus::Open),
        JULY_1ST,
    )
    .unwrap();
    let e = &m.explanation;
    let by_category = |parts: &[CategoryFeatures]| -> Vec<(Category, String)> {
        parts
            .iter()
            .map(|p| (p.category, p.features.to_string()))
            .collect()
    };
    assert_eq!(
        by_category(&e.matched),
        vec![(Category::Technique, "T1".to_owned())]
    );
    assert_eq!(
        by_category(&e.unmatched),
        vec![
            (Category::Technique, "T8".to_owned()),
            (Category::Process, "P2,P3,P5,P6,P8".to_owned()),
            (Category::Application, "A1".to_owned()),
            (Category::DevelopmentSupport, "D2,D3".to_owned()),
            (Category::General, "G3".to_owned()),
        ]
    );
    assert_eq!(e.stage_features, FeatureSet::empty());
    assert_eq!(e.stage_fit, 0.0);
    assert_eq!(e.days_to_deadline, Some(31));
    assert_eq!(e.rule_version, RULE_VERSION);
    assert!((e.coverage - 0.1).abs() < 1e-12, "{}", e.coverage);
    assert!((m.score - 0.1).abs() < 1e-12, "{}", m.score);
}

/// Today the call is closed (the seed records it so) and the pair is excluded, not scored low.
#[test]
fn friend_cci_closed_is_excluded_naming_the_rule() {
    let err = score(
        &Weights::default(),
        &c_shield(),
        &friend_cci(InstrumentStatus::Closed),
        JULY_1ST,
    )
    .unwrap_err();
    assert_eq!(
        err.rule,
        ExclusionRule::CallNotOpen {
            status: InstrumentStatus::Closed
        }
    );
    assert_eq!(
        err.to_string(),
        "not eligible: a call must be OPEN; this one is CLOSED"
    );
    // Still marked open after its deadline (the closing not yet recorded): excluded too.
    let late = score(
        &Weights::default(),
        &c_shield(),
        &friend_cci(InstrumentStatus::Open),
        datetime!(2024-08-01 15:00 UTC),
    )
    .unwrap_err();
    assert!(matches!(late.rule, ExclusionRule::DeadlinePassed { .. }));
}

/// The deliverable's success story: VASCREEN (prototyping; MION, ES and EZAKO, FR) went on to
/// the Silicon Eurocluster cascade call for demonstration projects. It ranks first of the seed's
/// open EU calls for VASCREEN.
#[test]
fn vascreen_finds_the_silicon_eurocluster_call_first() {
    let vascreen = ProjectProfile {
        features: set(&["T1", "T8", "P2", "P3", "P4", "D2", "D7"]),
        stage: Some(Stage::Prototyping),
        countries: vec!["ES".parse().unwrap(), "FR".parse().unwrap()],
    };
    let call = |id: &str, codes: &[&str]| InstrumentProfile {
        id: id.into(),
        features: set(codes),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::Eu,
        countries: vec![],
        status: InstrumentStatus::Open,
        deadline: None,
    };
    let instruments = [
        friend_cci(InstrumentStatus::Open),
        call("Silicon Eurocluster", &["D1", "D2", "T1", "T14"]),
        call("HORIZON-CL3-2023-CS-01-01", &["P12"]),
        InstrumentProfile {
            kind: InstrumentKind::Programme,
            cover_level: CoverLevel::National,
            countries: vec!["DK".parse().unwrap()],
            ..call("Innovation Fund Denmark", &["T1", "T8", "P2", "P3", "P4"])
        },
    ];
    let ranked = top_matches(
        &Weights::default(),
        &vascreen,
        &instruments,
        20,
        0.0,
        JULY_1ST,
    );
    let ids: Vec<&str> = ranked
        .iter()
        .map(|(i, _)| instruments[*i].id.as_str())
        .collect();
    // Innovation Fund Denmark would cover 5 of 7 but is national to DK: excluded.
    // HORIZON-CL3 (P12 only) shares nothing: not a match.
    assert_eq!(ids, ["Silicon Eurocluster", "FRIEND CCI Eurocluster"]);
    let silicon = &ranked[0].1;
    // T1 and D2 of 7 equally weighted features; D2 is the prototyping stage's feature.
    assert_eq!(silicon.explanation.matched_set().to_string(), "T1,D2");
    assert_eq!(silicon.explanation.stage_features.to_string(), "D2");
    let expected = 1.0 - (5.0 / 7.0) * (1.0 - 0.25);
    assert!((silicon.score - expected).abs() < 1e-12);
}
