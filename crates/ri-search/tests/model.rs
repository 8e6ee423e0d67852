//! The index answers exactly what a plain list filtered, sorted and counted naively answers:
//! same ids in the same order (page by page, through the keyset positions), same totals, same
//! sideways facet counts; over random catalogues changed by random batches of upserts and
//! removals, random queries, and instants before, at and after the deadlines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{all_pages, country, feature, language, reference, tenant};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::subsequence;
use ri_domain::instrument::{CoverLevel, InstrumentKind, InstrumentStatus};
use ri_domain::values::{CurrencyCode, FundingRange};
use ri_search::{
    Change, FeatureMatch, FundingFilter, Index, IndexConfig, InstrumentDoc, Order, Query, Sort,
};
use ri_taxonomy::FeatureSet;
use time::OffsetDateTime;
use time::macros::{datetime, offset};

/// Words that no stemmer, label or tenant name shares, none a prefix of another.
const WORDS: [&str; 4] = ["qzaa", "qzbb", "qzcc", "qzdd"];
const FEATURES: [&str; 6] = ["T1", "T2", "T13", "P12", "A1", "G4"];
const COUNTRIES: [&str; 4] = ["DE", "LT", "DK", "FR"];
const LANGUAGES: [&str; 3] = ["en", "lt", "de"];
const TENANTS: [&str; 3] = ["ta", "tb", "tc"];

fn instants() -> Vec<OffsetDateTime> {
    vec![
        datetime!(2026-11-30 12:00 UTC),
        datetime!(2026-12-01 0:00 UTC),
        // The same instant as the one before, written in another offset.
        datetime!(2026-12-01 0:00 UTC).to_offset(offset!(+2)),
        datetime!(2026-12-01 0:00:00.000_001 UTC),
        datetime!(2027-01-15 17:00 +1),
    ]
}

fn statuses() -> Vec<InstrumentStatus> {
    vec![
        InstrumentStatus::Draft,
        InstrumentStatus::Open,
        InstrumentStatus::Closed,
        InstrumentStatus::Withdrawn,
        InstrumentStatus::Archived,
    ]
}

fn words(max: usize) -> impl Strategy<Value = String> {
    vec(prop::sample::select(WORDS.to_vec()), 0..=max).prop_map(|w| w.join(" "))
}

fn currency(c: &str) -> CurrencyCode {
    CurrencyCode::parse("currency", c).unwrap()
}

prop_compose! {
    fn a_doc()(
        id in 0..14u8,
        tenant_at in 0..3usize,
        named in any::<bool>(),
        status in prop::sample::select(statuses()),
        published in prop::bool::weighted(0.85),
        kind in prop::sample::select(vec![InstrumentKind::Call, InstrumentKind::Programme, InstrumentKind::StrategicDocument]),
        cover in prop::sample::select(vec![CoverLevel::Regional, CoverLevel::National, CoverLevel::Eu, CoverLevel::International]),
        countries in subsequence(COUNTRIES.to_vec(), 0..=3),
        languages in subsequence(LANGUAGES.to_vec(), 0..=2),
        features in subsequence(FEATURES.to_vec(), 0..=3),
        deadline in prop::option::weighted(0.8, prop::sample::select(instants())),
        updated in prop::sample::select(instants()),
        funding in prop::option::of((prop::option::of(0..4u64), prop::option::of(2..6u64), prop::bool::weighted(0.8))),
        title in words(3),
        summary in words(3),
        programme in prop::option::of(words(2)),
    ) -> InstrumentDoc {
        let mut d = common::doc(&format!("i{id:02}"), &format!("call {title}"));
        d.tenant = tenant(&format!("{}x", TENANTS[tenant_at]));
        d.tenant_name = named.then(|| format!("Hub {}", TENANTS[tenant_at]));
        d.status = status;
        d.published_at = published.then_some(datetime!(2026-01-01 0:00 UTC));
        d.kind = kind;
        d.cover_level = cover;
        d.countries = countries.iter().map(|c| country(c)).collect();
        d.languages = languages.iter().map(|l| language(l)).collect();
        d.features = features.iter().map(|f| feature(f)).collect::<FeatureSet>();
        d.deadline = deadline;
        d.updated_at = updated;
        d.funding = funding.map(|(min, max, eur)| {
            let (min, max) = match (min, max) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            FundingRange::new(min, max, currency(if eur { "EUR" } else { "USD" })).unwrap()
        });
        d.summary = summary;
        d.programme = programme;
        d
    }
}

#[derive(Debug, Clone)]
enum Op {
    Upsert(Box<InstrumentDoc>),
    Remove(u8),
}

fn an_op() -> impl Strategy<Value = Op> {
    prop_oneof![4 => a_doc().prop_map(|d| Op::Upsert(Box::new(d))), 1 => (0..14u8).prop_map(Op::Remove)]
}

/// The search texts the reference understands, and what each matches.
#[derive(Debug, Clone)]
enum Text {
    Word(usize, bool),
    Both(usize, usize),
    Either(usize, usize),
    Not(usize),
    ButNot(usize, usize),
    Phrase(usize, usize),
}

impl Text {
    fn query(&self) -> String {
        match *self {
            Text::Word(a, typing) => format!("{}{}", WORDS[a], if typing { "" } else { " " }),
            Text::Both(a, b) => format!("{} {} ", WORDS[a], WORDS[b]),
            Text::Either(a, b) => format!("{} or {}", WORDS[a], WORDS[b]),
            Text::Not(a) => format!("-{}", WORDS[a]),
            Text::ButNot(a, b) => format!("{} -{}", WORDS[a], WORDS[b]),
            Text::Phrase(a, b) => format!("\"{} {}\"", WORDS[a], WORDS[b]),
        }
    }

    fn matches(&self, d: &InstrumentDoc) -> bool {
        let fields: Vec<Vec<&str>> = [Some(&d.title), d.programme.as_ref(), Some(&d.summary)]
            .into_iter()
            .flatten()
            .map(|t| t.split_whitespace().collect())
            .collect();
        let has = |w: usize| fields.iter().any(|f| f.contains(&WORDS[w]));
        match *self {
            Text::Word(a, _) => has(a),
            Text::Both(a, b) => has(a) && has(b),
            Text::Either(a, b) => has(a) || has(b),
            Text::Not(a) => !has(a),
            Text::ButNot(a, b) => has(a) && !has(b),
            Text::Phrase(a, b) => fields
                .iter()
                .any(|f| f.windows(2).any(|w| w[0] == WORDS[a] && w[1] == WORDS[b])),
        }
    }
}

fn a_text() -> impl Strategy<Value = Text> {
    let w = || 0..WORDS.len();
    prop_oneof![
        (w(), any::<bool>()).prop_map(|(a, t)| Text::Word(a, t)),
        (w(), w()).prop_map(|(a, b)| Text::Both(a, b)),
        (w(), w()).prop_map(|(a, b)| Text::Either(a, b)),
        w().prop_map(Text::Not),
        (w(), w()).prop_map(|(a, b)| Text::ButNot(a, b)),
        (w(), w()).prop_map(|(a, b)| Text::Phrase(a, b)),
    ]
}

prop_compose! {
    fn a_query()(
        text in prop::option::weighted(0.3, a_text()),
        features in subsequence(FEATURES.to_vec(), 0..=3),
        all in any::<bool>(),
        covers in subsequence(vec![CoverLevel::Regional, CoverLevel::National, CoverLevel::Eu, CoverLevel::International], 0..=2),
        countries in subsequence(vec!["DE", "LT", "DK", "FR", "FI"], 0..=2),
        kinds in subsequence(vec![InstrumentKind::Call, InstrumentKind::Programme, InstrumentKind::StrategicDocument], 0..=2),
        statuses in prop::option::weighted(0.6, subsequence(statuses(), 1..=3)),
        tenants in subsequence(vec!["tax", "tbx", "tcx", "zzx"], 0..=2),
        languages in subsequence(LANGUAGES.to_vec(), 0..=1),
        from in prop::option::weighted(0.2, prop::sample::select(instants())),
        to in prop::option::weighted(0.2, prop::sample::select(instants())),
        funding in prop::option::weighted(0.2, (prop::option::of(0..6u64), prop::option::of(0..6u64), any::<bool>())),
        sort in prop::sample::select(vec![Sort::DeadlineSoonest, Sort::RecentlyUpdated, Sort::Relevance]),
        first in 1..6usize,
        now in prop::sample::select(instants()),
    ) -> (Query, Option<Text>, OffsetDateTime) {
        let q = Query {
            text: text.as_ref().map(Text::query),
            features: features.iter().map(|f| feature(f)).collect(),
            feature_match: if all { FeatureMatch::All } else { FeatureMatch::Any },
            cover_levels: covers,
            countries: countries.iter().map(|c| country(c)).collect(),
            kinds,
            statuses: statuses.unwrap_or_default(),
            deadline_from: from,
            deadline_to: to,
            tenants: tenants.iter().map(|t| tenant(t)).collect(),
            languages: languages.iter().map(|l| language(l)).collect(),
            funding: funding.map(|(min, max, eur)| FundingFilter {
                currency: currency(if eur { "EUR" } else { "USD" }),
                min,
                max,
            }),
            sort,
            first,
            after: None,
        };
        (q, text, now)
    }
}

fn check(
    index: &Index,
    model: &BTreeMap<String, InstrumentDoc>,
    queries: &[(Query, Option<Text>, OffsetDateTime)],
) -> Result<(), TestCaseError> {
    let docs: Vec<InstrumentDoc> = model.values().cloned().collect();
    let snapshot = index.snapshot();
    prop_assert_eq!(
        snapshot.len(),
        docs.iter().filter(|d| d.is_public()).count() as u64
    );
    for (q, text, now) in queries {
        let matcher = |d: &InstrumentDoc| text.as_ref().is_none_or(|t| t.matches(d));
        let (want, want_total, want_facets) = reference(&docs, q, *now, &matcher);
        let (got, total, facets, scores) = all_pages(&snapshot, q, *now);
        prop_assert_eq!(total, want_total, "total of {:?}", q);
        prop_assert_eq!(&facets, &want_facets, "facets of {:?} at {}", q, now);
        if q.order() == Order::Relevance {
            let mut sorted = got.clone();
            sorted.sort();
            let mut want = want.clone();
            want.sort();
            prop_assert_eq!(sorted, want, "ids of {:?}", q);
            let keyed: Vec<(f32, &String)> = scores
                .iter()
                .map(|s| s.unwrap_or(f32::NAN))
                .zip(&got)
                .collect();
            for pair in keyed.windows(2) {
                let ((s1, id1), (s2, id2)) = (pair[0], pair[1]);
                prop_assert!(
                    s1 > s2 || (s1 == s2 && id1 < id2),
                    "relevance order {:?}",
                    keyed
                );
            }
        } else {
            prop_assert_eq!(got, want, "ids of {:?} at {}", q, now);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn the_index_answers_what_the_reference_answers(
        batches in vec(vec(an_op(), 0..20), 1..4),
        queries in vec(a_query(), 1..6),
        spread in 1u32..4,
        tally_max in prop::sample::select(vec![Some(0u64), Some(2), Some(4096), None]),
        walk in prop::sample::select(vec![None, Some(true), Some(false)]),
        list_max in prop::sample::select(vec![Some(0usize), Some(2), Some(4), None]),
    ) {
        let config = IndexConfig { spread, tally_max, walk, list_max, ..IndexConfig::default() };
        let index = Index::new(config).unwrap();
        let mut model: BTreeMap<String, InstrumentDoc> = BTreeMap::new();
        for (position, batch) in batches.into_iter().enumerate() {
            let mut changes = Vec::new();
            for op in batch {
                match op {
                    Op::Upsert(d) => {
                        model.insert(d.id.clone(), (*d).clone());
                        changes.push(Change::Upsert(std::sync::Arc::from(d)));
                    }
                    Op::Remove(n) => {
                        let id = format!("i{n:02}");
                        model.remove(&id);
                        changes.push(Change::Remove(id));
                    }
                }
            }
            index.apply(changes, Some(position as u64)).unwrap();
            prop_assert_eq!(index.snapshot().position(), Some(position as u64));
            check(&index, &model, &queries)?;
        }
    }
}
