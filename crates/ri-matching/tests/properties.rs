//! Properties of matching over arbitrary projects, instruments and weights (issue 5): the
//! score stays in [0, 1] and never drops when a matching feature is added, an ineligible pair
//! is never returned, the explanation's matched set is the intersection, and ranking equals
//! scoring everything and sorting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use ri_matching::*;
use ri_taxonomy::{Category, FeatureCode, FeatureSet};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

fn code(i: usize) -> FeatureCode {
    FeatureCode::all().nth(i % 63).unwrap()
}

/// Dense (any of the 2^63 sets) or sparse (a handful of codes, as real profiles are).
fn arb_set() -> impl Strategy<Value = FeatureSet> {
    prop_oneof![
        any::<u64>().prop_map(|bits| FeatureSet::from_bits((bits >> 1) as i64).unwrap()),
        prop::collection::vec(0usize..63, 0..12)
            .prop_map(|codes| codes.into_iter().map(code).collect()),
    ]
}

fn arb_weight() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(0.5),
        Just(1.0),
        0.0..=MAX_CATEGORY_WEIGHT,
        0.0..1e-6
    ]
}

fn arb_weights() -> impl Strategy<Value = Weights> {
    (
        [
            arb_weight(),
            arb_weight(),
            arb_weight(),
            arb_weight(),
            arb_weight(),
        ],
        prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0],
        arb_set(),
        arb_set(),
        any::<bool>(),
    )
        .prop_filter_map("all category weights zero", |(w, bonus, p, d, defaults)| {
            let stage_features = if defaults {
                StageFeatures::default()
            } else {
                StageFeatures {
                    prototyping: p,
                    demonstrator: d,
                }
            };
            Weights::new(WeightsConfig {
                categories: CategoryWeights {
                    technique: w[0],
                    process: w[1],
                    application: w[2],
                    development_support: w[3],
                    general: w[4],
                },
                stage_bonus: bonus,
                stage_features,
            })
            .ok()
        })
}

fn arb_countries() -> impl Strategy<Value = Vec<Country>> {
    prop::collection::vec(
        prop::sample::select(&["LT", "DK", "FR", "ES", "BE"][..]),
        0..3,
    )
    .prop_map(|codes| codes.into_iter().map(|c| c.parse().unwrap()).collect())
}

fn arb_project() -> impl Strategy<Value = ProjectProfile> {
    (
        arb_set(),
        prop::option::of(prop_oneof![
            Just(Stage::Prototyping),
            Just(Stage::Demonstrator)
        ]),
        arb_countries(),
    )
        .prop_map(|(features, stage, countries)| ProjectProfile {
            features,
            stage,
            countries,
        })
}

fn arb_instrument() -> impl Strategy<Value = InstrumentProfile> {
    use InstrumentStatus::*;
    (
        arb_set(),
        prop::sample::select(
            &[
                InstrumentKind::Call,
                InstrumentKind::Programme,
                InstrumentKind::StrategicDocument,
            ][..],
        ),
        prop::sample::select(
            &[
                CoverLevel::Regional,
                CoverLevel::National,
                CoverLevel::Eu,
                CoverLevel::International,
            ][..],
        ),
        arb_countries(),
        prop::sample::select(&[Draft, Open, Open, Open, Closed, Withdrawn, Archived][..]),
        // Minutes from now, either side, sometimes exactly now.
        prop::option::of(prop_oneof![Just(0i64), -90_000i64..90_000]),
        0u32..1000,
    )
        .prop_map(
            |(features, kind, cover_level, countries, status, deadline, id)| InstrumentProfile {
                id: format!("i-{id}"),
                features,
                kind,
                cover_level,
                countries,
                status,
                deadline: deadline.map(|m| NOW + Duration::minutes(m)),
            },
        )
}

/// An instrument that every project may match, so that feature properties are not lost on
/// ineligible pairs.
fn eligible(mut instrument: InstrumentProfile) -> InstrumentProfile {
    instrument.kind = InstrumentKind::Programme;
    instrument.cover_level = CoverLevel::Eu;
    instrument.status = InstrumentStatus::Open;
    instrument
}

fn score_of(w: &Weights, p: &ProjectProfile, i: &InstrumentProfile) -> Result<f64, Ineligible> {
    score(w, p, i, NOW).map(|m| m.score)
}

/// The rules, written once more from the text, independently of `rules.rs`.
fn expected_rule(p: &ProjectProfile, i: &InstrumentProfile) -> Option<&'static str> {
    let status = i.status;
    if status == InstrumentStatus::Withdrawn {
        Some("WITHDRAWN")
    } else if status == InstrumentStatus::Archived {
        Some("ARCHIVED")
    } else if status == InstrumentStatus::Draft {
        Some("DRAFT")
    } else if i.kind == InstrumentKind::Call && status != InstrumentStatus::Open {
        Some("CALL_NOT_OPEN")
    } else if i.kind == InstrumentKind::Call && i.deadline.is_some_and(|d| d <= NOW) {
        Some("DEADLINE_PASSED")
    } else if matches!(i.cover_level, CoverLevel::National | CoverLevel::Regional)
        && !p.countries.iter().any(|c| i.countries.contains(c))
    {
        Some("NO_COUNTRY_IN_COMMON")
    } else {
        None
    }
}

/// Everything scored, ineligible pairs dropped, best first, ties in input order, `n` kept.
fn brute_force(
    w: &Weights,
    p: &ProjectProfile,
    instruments: &[InstrumentProfile],
    n: usize,
    min_score: f64,
) -> Vec<(usize, Match)> {
    let mut all: Vec<(usize, Match)> = instruments
        .iter()
        .enumerate()
        .filter_map(|(i, inst)| score(w, p, inst, NOW).ok().map(|m| (i, m)))
        .filter(|(_, m)| m.score > 0.0 && m.score >= min_score)
        .collect();
    all.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    all.truncate(n);
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn score_is_in_unit_interval_and_explained(
        w in arb_weights(), p in arb_project(), i in arb_instrument(),
    ) {
        let Ok(m) = score(&w, &p, &i, NOW) else { return Ok(()) };
        prop_assert!((0.0..=1.0).contains(&m.score), "{}", m.score);
        let e = &m.explanation;
        prop_assert_eq!(e.matched_set(), p.features.intersection(i.features));
        prop_assert_eq!(e.unmatched_set(), p.features.difference(i.features));
        for part in e.matched.iter().chain(&e.unmatched) {
            prop_assert!(!part.features.is_empty());
            prop_assert!(part.features.iter().all(|c| c.category() == part.category));
        }
        for list in [&e.matched, &e.unmatched] {
            let cats: Vec<Category> = list.iter().map(|c| c.category).collect();
            prop_assert!(cats.windows(2).all(|w| w[0] < w[1]), "{:?}", cats);
        }
        let stage = p.stage.map_or(FeatureSet::empty(), |s| w.stage_features(s));
        prop_assert_eq!(e.stage_features, stage.intersection(i.features));
        prop_assert!((0.0..=1.0).contains(&e.coverage));
        prop_assert!((0.0..=1.0).contains(&e.stage_fit));
        let formula = 1.0 - (1.0 - e.coverage) * (1.0 - w.stage_bonus() * e.stage_fit);
        prop_assert!((m.score - formula).abs() < 1e-12, "{} vs {}", m.score, formula);
        prop_assert_eq!(e.rule_version, RULE_VERSION);
        prop_assert_eq!(e.days_to_deadline, i.deadline.map(|d| (d - NOW).whole_days()));
    }

    #[test]
    fn coverage_is_the_weighted_share_of_the_project(
        w in arb_weights(), p in arb_project(), i in arb_instrument(),
    ) {
        let i = eligible(i);
        let m = score(&w, &p, &i, NOW).unwrap();
        let weight = |s: FeatureSet| s.iter().map(|c| w.category(c.category())).sum::<f64>();
        let total = weight(p.features);
        let expected = if total > 0.0 { weight(p.features.intersection(i.features)) / total } else { 0.0 };
        prop_assert!((m.explanation.coverage - expected).abs() < 1e-9,
            "{} vs {}", m.explanation.coverage, expected);
    }

    /// The property: adding to the project a feature the instrument has never lowers
    /// the score, nor does adding a feature to both, nor giving the instrument one of the
    /// project's features. Exact comparisons: not even one ulp.
    #[test]
    fn score_never_drops_when_a_matching_feature_is_added(
        w in arb_weights(), p in arb_project(), i in arb_instrument(), pick in any::<prop::sample::Index>(),
    ) {
        let before = score_of(&w, &p, &i);

        let has_not: Vec<FeatureCode> = i.features.difference(p.features).iter().collect();
        if !has_not.is_empty() {
            let mut more = p.clone();
            more.features.insert(*pick.get(&has_not));
            let after = score_of(&w, &more, &i);
            prop_assert_eq!(before.is_ok(), after.is_ok(), "features never decide eligibility");
            if let (Ok(b), Ok(a)) = (&before, &after) {
                prop_assert!(a >= b, "{} → {}", b, a);
            }
        }

        let f = code(pick.index(63));
        let (mut p2, mut i2) = (p.clone(), i.clone());
        p2.features.insert(f);
        i2.features.insert(f);
        let base = {
            let mut p0 = p.clone();
            p0.features.remove(f);
            let mut i0 = i.clone();
            i0.features.remove(f);
            score_of(&w, &p0, &i0)
        };
        if let (Ok(b), Ok(a)) = (base, score_of(&w, &p2, &i2)) {
            prop_assert!(a >= b, "added to both: {} → {}", b, a);
        }

        let lacking: Vec<FeatureCode> = p.features.difference(i.features).iter().collect();
        if !lacking.is_empty() {
            let mut richer = i.clone();
            richer.features.insert(*pick.get(&lacking));
            if let (Ok(b), Ok(a)) = (&before, score_of(&w, &p, &richer)) {
                prop_assert!(a >= *b, "instrument gained a project feature: {} → {}", b, a);
            }
        }
    }

    /// The other side, documented rather than required: a feature the instrument lacks lowers
    /// (never raises) the project's coverage.
    #[test]
    fn an_unmatched_feature_never_raises_coverage(
        w in arb_weights(), p in arb_project(), i in arb_instrument(), pick in any::<prop::sample::Index>(),
    ) {
        let i = eligible(i);
        let missing: Vec<FeatureCode> = FeatureSet::from_bits(i64::MAX).unwrap()
            .difference(i.features).difference(p.features).iter().collect();
        prop_assume!(!missing.is_empty());
        let mut more = p.clone();
        more.features.insert(*pick.get(&missing));
        let coverage = |p: &ProjectProfile| score(&w, p, &i, NOW).unwrap().explanation.coverage;
        prop_assert!(coverage(&more) <= coverage(&p) + 1e-12);
    }

    #[test]
    fn eligibility_follows_the_rules_in_order(p in arb_project(), i in arb_instrument()) {
        let got = score(&Weights::default(), &p, &i, NOW);
        match (expected_rule(&p, &i), got) {
            (None, Ok(_)) => {}
            (Some(rule), Err(Ineligible { rule: got })) => {
                let json = serde_json::to_value(&got).unwrap();
                prop_assert_eq!(json["rule"].as_str(), Some(rule), "{}", got);
            }
            (expected, got) => prop_assert!(false, "expected {:?}, got {:?}", expected, got),
        }
    }

    /// An ineligible pair is never returned, and ranking is exactly "score all, drop the
    /// ineligible, sort, take n".
    #[test]
    fn top_matches_equals_brute_force_and_returns_only_eligible_pairs(
        w in arb_weights(),
        p in arb_project(),
        instruments in prop::collection::vec(arb_instrument(), 0..80),
        n in prop_oneof![Just(0usize), 1usize..10, Just(usize::MAX)],
        min_score in prop_oneof![Just(0.0), 0.0..1.0],
    ) {
        let got = top_matches(&w, &p, &instruments, n, min_score, NOW);
        for (index, m) in &got {
            let alone = score(&w, &p, &instruments[*index], NOW);
            prop_assert!(alone.is_ok(), "ineligible pair returned: {:?}", alone);
            prop_assert_eq!(&alone.unwrap(), m);
            prop_assert!(m.score > 0.0 && m.score >= min_score);
        }
        let expected = brute_force(&w, &p, &instruments, n, min_score);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn matrix_is_top_matches_for_every_project(
        w in arb_weights(),
        projects in prop::collection::vec(arb_project(), 0..6),
        instruments in prop::collection::vec(arb_instrument(), 0..40),
        n in 0usize..6,
    ) {
        let rows = matrix(&w, &projects, &instruments, n, 0.0, NOW);
        prop_assert_eq!(rows.len(), projects.len());
        for (p, row) in projects.iter().zip(rows) {
            prop_assert_eq!(row, top_matches(&w, p, &instruments, n, 0.0, NOW));
        }
    }
}
