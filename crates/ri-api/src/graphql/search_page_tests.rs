//! The one-pass page must answer exactly as async-graphql's own resolution of
//! `InstrumentConnection` does, for every selection a client may write; and it must actually
//! be taken for the selections the web sends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: it fails loudly

use std::cell::Cell;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Request, Schema, Variables};
use ri_domain::TenantSlug;
use ri_domain::instrument::{
    CoverLevel, InstrumentKind, InstrumentStatus, Periodicity, TargetOrganisation,
};
use ri_domain::values::{CountryCode, CurrencyCode, FundingRange, LanguageCode};
use ri_projections::catalogue::{Facets, InstrumentPage, InstrumentRow};
use ri_taxonomy::FeatureCode;
use serde_json::json;
use time::macros::{date, datetime};

use super::*;

thread_local! {
    /// Pages this thread answered in one pass.
    pub(super) static FAST: Cell<usize> = const { Cell::new(0) };
}

struct Root(InstrumentPage);

/// `fast` through [`SearchPage`], `slow` through async-graphql's resolution of the derived
/// types, from the same page.
#[Object]
impl Root {
    async fn fast(&self) -> SearchPage {
        SearchPage(self.0.clone())
    }
    async fn slow(&self) -> InstrumentConnection {
        self.0.clone().into()
    }
}

fn feature(code: &str) -> FeatureCode {
    code.parse().unwrap()
}

fn row(i: usize) -> InstrumentRow {
    InstrumentRow {
        id: format!("ins-{i}"),
        tenant: TenantSlug::parse(if i.is_multiple_of(2) { "l3ce" } else { "vtc" }).unwrap(),
        tenant_name: (i != 1).then(|| format!("Cluster \"{i}\" ✓")),
        tenant_suspended: i == 2,
        version: 3 + i64::try_from(i).unwrap(),
        status: [InstrumentStatus::Open, InstrumentStatus::Closed][i % 2],
        title: format!("Drones for border security {i}"),
        kind: [InstrumentKind::Call, InstrumentKind::Programme][i % 2],
        cover_level: [CoverLevel::National, CoverLevel::Eu][i % 2],
        countries: ["DE", "LT"][..=i % 2]
            .iter()
            .map(|c| CountryCode::parse("countries", c).unwrap())
            .collect(),
        programme: (i != 2).then(|| "Horizon Europe".to_owned()),
        link: (i == 0).then(|| "https://example.eu/call".to_owned()),
        summary: "Line one\nline \"two\"".to_owned(),
        target_organisations: vec![TargetOrganisation::Sme, TargetOrganisation::Startup]
            [..i % 2 + 1]
            .to_vec(),
        funding: match i {
            0 => Some(
                FundingRange::new(
                    Some(10_000),
                    None,
                    CurrencyCode::parse("funding", "EUR").unwrap(),
                )
                .unwrap(),
            ),
            1 => Some(
                FundingRange::new(
                    Some(1),
                    Some(u64::MAX),
                    CurrencyCode::parse("funding", "DKK").unwrap(),
                )
                .unwrap(),
            ),
            _ => None,
        },
        periodicity: (i == 1).then_some(Periodicity::Annual),
        languages: ["en", "lt"][..i % 2 + 1]
            .iter()
            .map(|l| LanguageCode::parse("languages", l).unwrap())
            .collect(),
        features: ["T1", "T15", "P12"][..i + 1]
            .iter()
            .map(|c| feature(c))
            .collect(),
        opening_date: (i == 0).then_some(date!(2026 - 01 - 15)),
        deadline: (i != 2).then_some(datetime!(2027-03-01 17:00:00.123456 +02:00)),
        time_zone: (i != 2).then(|| "Europe/Vilnius".to_owned()),
        drafted_at: datetime!(2026-01-01 00:00 UTC),
        updated_at: datetime!(2026-02-03 04:05:06 UTC),
        published_at: (i != 2).then_some(datetime!(2026-02-01 12:00 UTC)),
    }
}

fn page() -> InstrumentPage {
    let items: Vec<InstrumentRow> = (0..3).map(row).collect();
    InstrumentPage {
        cursors: (0..3).map(|i| format!("cursor-{i}")).collect(),
        end_cursor: Some("cursor-2".to_owned()),
        items,
        total_count: 2_264,
        facets: Facets {
            features: vec![(feature("T1"), 40), (feature("P12"), 2)],
            countries: vec![("DE".to_owned(), 12), ("LT".to_owned(), 0)],
            cover_levels: vec![(CoverLevel::National, 7)],
            kinds: vec![(InstrumentKind::Call, 5), (InstrumentKind::Programme, 1)],
        },
        has_next_page: true,
    }
}

const EVERY_INSTRUMENT_FIELD: &str = "id version curator { slug name suspended __typename }
    status title kind coverLevel countries programme link summary targetOrganisations
    funding { min max currency } periodicity languages features { code label category }
    openingDate deadline timeZone updatedAt publishedAt __typename";

/// Runs `selection` on both fields; returns whether the one-pass path answered.
fn same(selection: &str, variables: serde_json::Value) -> bool {
    let schema = Schema::new(Root(page()), EmptyMutation, EmptySubscription);
    // Only what the selection uses: unused variables and fragments are invalid.
    let mut fragments = String::new();
    if selection.contains("...Node") {
        fragments += &format!("fragment Node on Instrument {{ {EVERY_INSTRUMENT_FIELD} }}");
    }
    if selection.contains("...Conn") {
        fragments += "fragment Conn on InstrumentConnection { totalCount pageInfo { endCursor } }";
    }
    let variables_used = ["yes", "no"]
        .iter()
        .filter(|v| selection.contains(&format!("${v}")))
        .map(|v| format!("${v}: Boolean!"))
        .collect::<Vec<_>>();
    let declared = if variables_used.is_empty() {
        String::new()
    } else {
        format!("({})", variables_used.join(", "))
    };
    let query = format!(
        "query Q{declared} {{ fast {{ {selection} }} slow {{ {selection} }} }} {fragments}"
    );
    let before = FAST.with(Cell::get);
    // On this thread, so that the count above sees it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = runtime
        .block_on(schema.execute(Request::new(query).variables(Variables::from_json(variables))));
    assert!(
        response.errors.is_empty(),
        "{selection}: {:?}",
        response.errors
    );
    let data = response.data.into_json().unwrap();
    assert_eq!(data["fast"], data["slow"], "{selection}");
    assert_ne!(data["slow"], json!(null), "{selection}");
    FAST.with(Cell::get) > before
}

#[test]
fn answers_as_async_graphql_does() {
    let web = include_str!("../../../../graphql/operations/SearchInstruments.graphql");
    let start = web.find("totalCount").unwrap();
    let end = web.rfind('}').unwrap();
    let web_selection = &web[start..web[..end].rfind('}').unwrap()];
    let served = [
        web_selection.to_owned(),
        format!("edges {{ cursor node {{ {EVERY_INSTRUMENT_FIELD} }} }} nodes {{ id }}"),
        "edges { node { ...Node } } ...Conn".to_owned(),
        "total: totalCount t2: totalCount __typename facets { __typename kinds { kind n: count } }"
            .to_owned(),
        "... on InstrumentConnection { totalCount } ... { pageInfo { hasNextPage } }".to_owned(),
        "totalCount @include(if: $yes) pageInfo @skip(if: $yes) { endCursor } \
         edges @include(if: $no) { cursor }"
            .to_owned(),
        "facets { features { feature { code label category } count } countries { country count } \
         coverLevels { coverLevel count } }"
            .to_owned(),
        "edges { node { features { ... on Feature { code } } curator { ... { slug } } } }"
            .to_owned(),
    ];
    for selection in &served {
        let variables = json!({ "yes": true, "no": false });
        assert!(
            same(selection, variables),
            "not served in one pass: {selection}"
        );
    }
    // Left to async-graphql, with the same answer: a response key selected twice (merged), a
    // field selected again under a fragment.
    let left = [
        "edges { node { id } } edges { node { title } }",
        "totalCount ...Conn pageInfo { hasNextPage }",
        "nodes { ...Node id }",
    ];
    for selection in left {
        assert!(
            !same(selection, json!({})),
            "served in one pass: {selection}"
        );
    }
}
