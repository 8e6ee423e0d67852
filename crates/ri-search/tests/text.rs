//! Full text as a search box user expects it, and typeahead.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{doc, feature, tenant};
use ri_domain::instrument::InstrumentStatus;
use ri_search::{Change, Index, IndexConfig, Query, Sort, SuggestionKind};
use ri_taxonomy::FeatureSet;
use time::macros::datetime;

fn catalogue() -> Index {
    catalogue_with(IndexConfig::default())
}

fn catalogue_with(config: IndexConfig) -> Index {
    let index = Index::new(config).unwrap();
    let mut docs = vec![
        doc("drones", "Drones for border surveillance"),
        doc("cyber", "Cybersecurity vouchers for SMEs"),
        doc("summary-only", "Innovation grants"),
        doc("ledger", "Regional innovation fund"),
        doc("programme", "Call 2027-1"),
        doc("tenant", "Call 2027-2"),
        doc("maritime", "Border control at sea ports"),
        doc("draft", "Drones secret draft"),
        doc("accent", "Sécurité des données"),
    ];
    docs[2].summary = "Funding for cybersecurity and drone pilots.".to_owned();
    docs[3].features = FeatureSet::from_iter([feature("T2")]);
    docs[4].programme = Some("Horizon Europe".to_owned());
    docs[5].tenant = tenant("baltic-hub");
    docs[5].tenant_name = Some("Baltic Defence Hub".to_owned());
    docs[6].summary = "Maritime border control".to_owned();
    docs[7].status = InstrumentStatus::Draft;
    docs[7].published_at = None;
    docs[7].features = FeatureSet::from_iter([feature("T13"), feature("G4")]);
    index
        .apply(
            docs.into_iter()
                .map(|d| Change::Upsert(std::sync::Arc::new(d))),
            Some(1),
        )
        .unwrap();
    index
}

fn ids(index: &Index, text: &str, sort: Sort) -> Vec<String> {
    let q = Query {
        text: Some(text.to_owned()),
        sort,
        first: 50,
        ..Query::default()
    };
    let now = datetime!(2026-12-01 0:00 UTC);
    index
        .search(&q, now)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.doc.id.clone())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn a_word_finds_its_other_forms() {
    let index = catalogue();
    assert_eq!(
        sorted(ids(&index, "drone ", Sort::Relevance)),
        ["drones", "summary-only"]
    );
    assert_eq!(sorted(ids(&index, "vouchers ", Sort::Relevance)), ["cyber"]);
    assert_eq!(ids(&index, "voucher ", Sort::Relevance), ["cyber"]);
}

#[test]
fn the_last_word_matches_as_a_prefix_while_typed() {
    let index = catalogue();
    assert_eq!(
        sorted(ids(&index, "cyber", Sort::Relevance)),
        ["cyber", "summary-only"]
    );
    // Once a space follows, it is a whole word.
    assert!(ids(&index, "cyber ", Sort::Relevance).is_empty());
    assert_eq!(ids(&index, "border surv", Sort::Relevance), ["drones"]);
}

#[test]
fn one_typo_is_forgiven_in_long_words() {
    let index = catalogue();
    assert_eq!(
        sorted(ids(&index, "cybersecurty ", Sort::Relevance)),
        ["cyber", "summary-only"]
    );
    assert_eq!(ids(&index, "cybresecurity ", Sort::Relevance).len(), 2);
    // Two edits are too many; short words get none.
    assert!(ids(&index, "cybrsecurty ", Sort::Relevance).is_empty());
    assert!(ids(&index, "fnd ", Sort::Relevance).is_empty());
}

#[test]
fn feature_labels_programmes_and_tenant_names_are_searched() {
    let index = catalogue();
    // "Blockchain" is the label of T2, which only "ledger" has.
    assert_eq!(ids(&index, "blockchain ", Sort::Relevance), ["ledger"]);
    // Every document but "ledger" has T1, "AI (ML)".
    assert_eq!(ids(&index, "ml ", Sort::Relevance).len(), 7);
    assert_eq!(
        ids(&index, "horizon europe", Sort::Relevance),
        ["programme"]
    );
    assert_eq!(ids(&index, "baltic defence", Sort::Relevance), ["tenant"]);
}

#[test]
fn phrases_exclusions_and_or_as_on_the_web() {
    let index = catalogue();
    assert_eq!(
        sorted(ids(&index, "border", Sort::Relevance)),
        ["drones", "maritime"]
    );
    assert_eq!(
        ids(&index, "\"border control\"", Sort::Relevance),
        ["maritime"]
    );
    assert_eq!(ids(&index, "border -maritime", Sort::Relevance), ["drones"]);
    assert_eq!(
        ids(&index, "border -\"sea ports\"", Sort::Relevance),
        ["drones"]
    );
    assert_eq!(
        sorted(ids(&index, "blockchain or vouchers ", Sort::Relevance)),
        ["cyber", "ledger"]
    );
    // Only exclusions: everything else.
    assert_eq!(ids(&index, "-border", Sort::Relevance).len(), 6);
    // Accents and case do not matter.
    assert_eq!(ids(&index, "DONNEES ", Sort::Relevance), ["accent"]);
    // Punctuation alone is no text.
    assert_eq!(ids(&index, "!!", Sort::Relevance).len(), 8);
}

/// The texts of the tests above.
const TEXTS: [&str; 16] = [
    "drone ",
    "voucher ",
    "cyber",
    "cyber ",
    "border surv",
    "cybersecurty ",
    "cybrsecurty ",
    "blockchain ",
    "ml ",
    "horizon europe",
    "\"border control\"",
    "border -maritime",
    "border -\"sea ports\"",
    "blockchain or vouchers ",
    "-border",
    "DONNEES ",
];

#[test]
fn ranked_and_unranked_text_find_the_same_documents_cached_or_not() {
    let no_cache = IndexConfig {
        text: ri_search::TextConfig {
            cache_bytes: 0,
            ..ri_search::TextConfig::default()
        },
        ..IndexConfig::default()
    };
    for index in [catalogue(), catalogue_with(no_cache)] {
        for text in TEXTS {
            // Ranked: one boolean query, scored; otherwise leaf by leaf; then from the cache.
            let ranked = ids(&index, text, Sort::Relevance);
            assert_eq!(ids(&index, text, Sort::Relevance), ranked, "{text}");
            let found = sorted(ranked);
            let unranked = || sorted(ids(&index, text, Sort::DeadlineSoonest));
            assert_eq!(unranked(), found, "{text}");
            assert_eq!(unranked(), found, "{text}");
        }
    }
}

#[test]
fn a_word_asked_before_follows_the_catalogues_changes() {
    let index = catalogue();
    assert_eq!(
        sorted(ids(&index, "drone ", Sort::DeadlineSoonest)),
        ["drones", "summary-only"]
    );
    let mut changed = doc("summary-only", "Innovation grants");
    changed.summary = "Funding for cybersecurity pilots.".to_owned();
    index
        .apply(
            [
                Change::Upsert(std::sync::Arc::new(changed)),
                Change::Upsert(std::sync::Arc::new(doc("new", "Drone swarms"))),
            ],
            Some(2),
        )
        .unwrap();
    assert_eq!(
        sorted(ids(&index, "drone ", Sort::DeadlineSoonest)),
        ["drones", "new"]
    );
    index
        .apply([Change::Remove("drones".to_owned())], Some(3))
        .unwrap();
    assert_eq!(ids(&index, "drone ", Sort::DeadlineSoonest), ["new"]);
}

#[test]
fn a_title_match_ranks_above_a_summary_match() {
    let index = catalogue();
    assert_eq!(
        ids(&index, "drone ", Sort::Relevance),
        ["drones", "summary-only"]
    );
    let q = Query {
        text: Some("drone ".to_owned()),
        sort: Sort::Relevance,
        first: 1,
        ..Query::default()
    };
    let now = datetime!(2026-12-01 0:00 UTC);
    let page = index.search(&q, now).unwrap();
    assert!(page.has_next_page);
    let next = index
        .search(
            &Query {
                after: page.hits.last().map(|h| h.position.clone()),
                ..q.clone()
            },
            now,
        )
        .unwrap();
    assert_eq!(next.hits.len(), 1);
    assert_eq!(next.hits[0].doc.id, "summary-only");
    assert!(next.hits[0].score < page.hits[0].score);
    assert!(!next.has_next_page);
}

#[test]
fn a_draft_is_never_found_counted_or_suggested() {
    let index = catalogue();
    assert!(!ids(&index, "secret", Sort::Relevance).contains(&"draft".to_owned()));
    let q = Query {
        statuses: vec![InstrumentStatus::Draft, InstrumentStatus::Open],
        first: 50,
        ..Query::default()
    };
    let page = index.search(&q, datetime!(2026-12-01 0:00 UTC)).unwrap();
    assert_eq!(page.total, 8);
    assert!(page.hits.iter().all(|h| h.doc.id != "draft"));
    // G4 (patenting) and T13 are only on the draft.
    assert!(
        page.facets
            .features
            .iter()
            .all(|(f, _)| *f != feature("G4"))
    );
    let snapshot = index.snapshot();
    assert!(snapshot.suggest("secret", 10).unwrap().is_empty());
    assert!(snapshot.suggest("patent", 10).unwrap().is_empty());
    assert!(snapshot.suggest("uav", 10).unwrap().is_empty());
}

#[test]
fn suggestions_come_from_labels_programmes_and_titles() {
    let index = catalogue();
    let snapshot = index.snapshot();
    let got = snapshot.suggest("bl", 10).unwrap();
    assert_eq!(got[0].kind, SuggestionKind::Feature);
    assert_eq!(got[0].text, "Blockchain");
    assert_eq!(got[0].count, 1);
    let got = snapshot.suggest("hor", 10).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, SuggestionKind::Programme);
    assert_eq!(got[0].text, "Horizon Europe");
    let got = snapshot.suggest("border su", 10).unwrap();
    let titles: Vec<&str> = got.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(titles, ["Drones for border surveillance"]);
    assert_eq!(got[0].id.as_deref(), Some("drones"));
    let got = snapshot.suggest("dro", 10).unwrap();
    assert_eq!(
        got.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
        ["Drones for border surveillance"]
    );
    assert!(snapshot.suggest("  ", 10).unwrap().is_empty());
    assert_eq!(snapshot.suggest("c", 2).unwrap().len(), 2);
}

#[test]
fn bad_text_is_refused_naming_the_argument() {
    let index = catalogue();
    let now = datetime!(2026-12-01 0:00 UTC);
    for text in ["a\u{0}b".to_owned(), "x".repeat(501)] {
        let q = Query {
            text: Some(text),
            ..Query::default()
        };
        match index.search(&q, now) {
            Err(ri_search::SearchError::BadInput { field, .. }) => assert_eq!(field, "text"),
            other => panic!("{other:?}"),
        }
    }
}
