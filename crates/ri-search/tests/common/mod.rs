//! Documents for the tests, and the reference model the index must agree with: a plain list,
//! filtered, sorted and counted naively.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use ri_domain::TenantSlug;
use ri_domain::instrument::{CoverLevel, InstrumentKind, InstrumentStatus};
use ri_domain::values::{CountryCode, CurrencyCode, FundingRange, LanguageCode};
use ri_search::{After, Facets, FeatureMatch, InstrumentDoc, Query, Sort};
use ri_taxonomy::{FeatureCode, FeatureSet};
use time::OffsetDateTime;
use time::macros::datetime;

pub fn country(c: &str) -> CountryCode {
    CountryCode::parse("country", c).unwrap()
}

pub fn language(l: &str) -> LanguageCode {
    LanguageCode::parse("language", l).unwrap()
}

pub fn tenant(t: &str) -> TenantSlug {
    TenantSlug::parse(t).unwrap()
}

pub fn feature(code: &str) -> FeatureCode {
    code.parse().unwrap()
}

pub fn eur() -> CurrencyCode {
    CurrencyCode::parse("currency", "EUR").unwrap()
}

/// An open, published call with the given id and title.
pub fn doc(id: &str, title: &str) -> InstrumentDoc {
    InstrumentDoc {
        id: id.to_owned(),
        tenant: tenant("securit"),
        tenant_name: Some("SecurIT cluster".to_owned()),
        tenant_suspended: false,
        version: 1,
        status: InstrumentStatus::Open,
        title: title.to_owned(),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::National,
        countries: vec![country("LT")],
        programme: None,
        link: None,
        summary: String::new(),
        target_organisations: Vec::new(),
        funding: Some(FundingRange::new(Some(10_000), Some(50_000), eur()).unwrap()),
        periodicity: None,
        languages: vec![language("en")],
        features: FeatureSet::from_iter([feature("T1")]),
        opening_date: None,
        deadline: Some(datetime!(2030-01-01 12:00 UTC)),
        time_zone: None,
        drafted_at: datetime!(2026-01-01 0:00 UTC),
        updated_at: datetime!(2026-06-01 0:00 UTC),
        published_at: Some(datetime!(2026-02-01 0:00 UTC)),
    }
}

/// The statuses a query asks for (open when none).
fn statuses(q: &Query) -> Vec<InstrumentStatus> {
    if q.statuses.is_empty() {
        vec![InstrumentStatus::Open]
    } else {
        q.statuses.clone()
    }
}

/// The status as of `now`, written out again rather than asked of the index.
fn status_at(d: &InstrumentDoc, now: OffsetDateTime) -> InstrumentStatus {
    match (d.status, d.deadline) {
        (InstrumentStatus::Open, Some(deadline)) if deadline <= now => InstrumentStatus::Closed,
        (status, _) => status,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Facet {
    Feature,
    Country,
    Cover,
    Kind,
    Status,
    Tenant,
    Language,
}

const FACETS: [Facet; 7] = [
    Facet::Feature,
    Facet::Country,
    Facet::Cover,
    Facet::Kind,
    Facet::Status,
    Facet::Tenant,
    Facet::Language,
];

/// Whether `d` passes the selection of `facet` (no selection passes all).
fn selected(d: &InstrumentDoc, q: &Query, facet: Facet, now: OffsetDateTime) -> bool {
    match facet {
        Facet::Feature => {
            q.features.is_empty()
                || match q.feature_match {
                    FeatureMatch::Any => d.features.intersects(q.features),
                    FeatureMatch::All => q.features.is_subset(d.features),
                }
        }
        Facet::Country => {
            q.countries.is_empty() || d.countries.iter().any(|c| q.countries.contains(c))
        }
        Facet::Cover => q.cover_levels.is_empty() || q.cover_levels.contains(&d.cover_level),
        Facet::Kind => q.kinds.is_empty() || q.kinds.contains(&d.kind),
        Facet::Status => statuses(q).contains(&status_at(d, now)),
        Facet::Tenant => q.tenants.is_empty() || q.tenants.contains(&d.tenant),
        Facet::Language => {
            q.languages.is_empty() || d.languages.iter().any(|l| q.languages.contains(l))
        }
    }
}

/// The filters that are not facets.
fn base(d: &InstrumentDoc, q: &Query, text: &dyn Fn(&InstrumentDoc) -> bool) -> bool {
    // Public: published once, and not a draft.
    if d.published_at.is_none() || d.status == InstrumentStatus::Draft || !text(d) {
        return false;
    }
    if (q.deadline_from.is_some() || q.deadline_to.is_some()) && d.deadline.is_none() {
        return false;
    }
    if let (Some(from), Some(dl)) = (q.deadline_from, d.deadline)
        && dl < from
    {
        return false;
    }
    if let (Some(to), Some(dl)) = (q.deadline_to, d.deadline)
        && dl > to
    {
        return false;
    }
    if let Some(f) = &q.funding {
        let Some(r) = &d.funding else { return false };
        if r.currency != f.currency {
            return false;
        }
        if let (Some(max), Some(min)) = (r.max, f.min)
            && max < min
        {
            return false;
        }
        if let (Some(min), Some(max)) = (r.min, f.max)
            && min > max
        {
            return false;
        }
    }
    true
}

fn ordered<T: Clone + Ord>(counts: Vec<(T, u64)>, name: impl Fn(&T) -> String) -> Vec<(T, u64)> {
    let mut out: Vec<(T, u64)> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    out.sort_by_key(|(v, n)| (std::cmp::Reverse(*n), name(v)));
    out
}

fn tally<T: Clone + Eq>(list: &mut Vec<(T, u64)>, v: T) {
    match list.iter_mut().find(|(x, _)| *x == v) {
        Some((_, n)) => *n += 1,
        None => list.push((v, 1)),
    }
}

/// What the index must answer: every matching id in order, the total and the facets.
pub fn reference(
    docs: &[InstrumentDoc],
    q: &Query,
    now: OffsetDateTime,
    text: &dyn Fn(&InstrumentDoc) -> bool,
) -> (Vec<String>, u64, Facets) {
    let pass = |d: &InstrumentDoc, except: Option<Facet>| {
        base(d, q, text)
            && FACETS
                .iter()
                .filter(|f| Some(**f) != except)
                .all(|f| selected(d, q, *f, now))
    };
    let mut hits: Vec<&InstrumentDoc> = docs.iter().filter(|d| pass(d, None)).collect();
    match q.order() {
        ri_search::Order::Updated => {
            hits.sort_by(|a, b| (b.updated_at, &b.id).cmp(&(a.updated_at, &a.id)))
        }
        _ => hits.sort_by(|a, b| {
            let key = |d: &InstrumentDoc| (d.deadline.is_none(), d.deadline, d.id.clone());
            key(a).cmp(&key(b))
        }),
    }
    let mut f = Facets::default();
    let (mut feats, mut countries, mut covers, mut kinds, mut sts, mut tenants, mut langs) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for d in docs {
        // Features that must ALL match are counted within the result (choosing one more
        // narrows it); otherwise sideways.
        let features_over = match q.feature_match {
            FeatureMatch::All => None,
            FeatureMatch::Any => Some(Facet::Feature),
        };
        if pass(d, features_over) {
            d.features.iter().for_each(|c| tally(&mut feats, c));
        }
        if pass(d, Some(Facet::Country)) {
            d.countries.iter().for_each(|c| tally(&mut countries, *c));
        }
        if pass(d, Some(Facet::Cover)) {
            tally(&mut covers, format!("{:?}", d.cover_level));
        }
        if pass(d, Some(Facet::Kind)) {
            tally(&mut kinds, format!("{:?}", d.kind));
        }
        if pass(d, Some(Facet::Status)) {
            tally(&mut sts, format!("{:?}", status_at(d, now)));
        }
        if pass(d, Some(Facet::Tenant)) {
            tally(&mut tenants, d.tenant.clone());
        }
        if pass(d, Some(Facet::Language)) {
            d.languages
                .iter()
                .for_each(|l| tally(&mut langs, l.clone()));
        }
    }
    f.features = ordered(feats, |_| String::new());
    f.features.sort_by_key(|(c, n)| (std::cmp::Reverse(*n), *c));
    f.countries = ordered(countries, |c| c.to_string());
    f.tenants = ordered(tenants, |t| t.to_string());
    f.languages = ordered(langs, |l| l.as_str().to_owned());
    let spell = |s: &String| {
        // The API's spelling: SCREAMING_SNAKE_CASE of the variant.
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    };
    f.cover_levels = ordered(covers, spell)
        .into_iter()
        .map(|(v, n)| (parse_debug(&v, &ri_search_enums::COVERS), n))
        .collect();
    f.kinds = ordered(kinds, spell)
        .into_iter()
        .map(|(v, n)| (parse_debug(&v, &ri_search_enums::KINDS), n))
        .collect();
    f.statuses = ordered(sts, spell)
        .into_iter()
        .map(|(v, n)| (parse_debug(&v, &ri_search_enums::STATUSES), n))
        .collect();
    let total = hits.len() as u64;
    (hits.iter().map(|d| d.id.clone()).collect(), total, f)
}

fn parse_debug<T: Copy + std::fmt::Debug>(v: &str, all: &[T]) -> T {
    *all.iter().find(|x| format!("{x:?}") == v).unwrap()
}

pub mod ri_search_enums {
    use super::*;
    pub const COVERS: [CoverLevel; 4] = [
        CoverLevel::Regional,
        CoverLevel::National,
        CoverLevel::Eu,
        CoverLevel::International,
    ];
    pub const KINDS: [InstrumentKind; 3] = [
        InstrumentKind::Call,
        InstrumentKind::Programme,
        InstrumentKind::StrategicDocument,
    ];
    pub const STATUSES: [InstrumentStatus; 5] = [
        InstrumentStatus::Draft,
        InstrumentStatus::Open,
        InstrumentStatus::Closed,
        InstrumentStatus::Withdrawn,
        InstrumentStatus::Archived,
    ];
}

/// Reads every page of `q` (pages of `q.first`), checking each page's total and facets against
/// the first's; returns the ids in order.
pub fn all_pages(
    index: &ri_search::Snapshot,
    q: &Query,
    now: OffsetDateTime,
) -> (Vec<String>, u64, Facets, Vec<Option<f32>>) {
    let first = index.search(q, now).unwrap();
    let mut ids: Vec<String> = first.hits.iter().map(|h| h.doc.id.clone()).collect();
    let mut scores: Vec<Option<f32>> = first.hits.iter().map(|h| h.score).collect();
    let mut more = first.has_next_page;
    let mut after: Option<After> = first.hits.last().map(|h| h.position.clone());
    let mut guard = 0;
    while more {
        guard += 1;
        assert!(guard < 10_000, "paging does not end");
        let mut next = q.clone();
        next.after = after.clone();
        let page = index.search(&next, now).unwrap();
        assert_eq!(page.total, first.total, "total differs between pages");
        assert_eq!(page.facets, first.facets, "facets differ between pages");
        assert!(!page.hits.is_empty() || !page.has_next_page);
        ids.extend(page.hits.iter().map(|h| h.doc.id.clone()));
        scores.extend(page.hits.iter().map(|h| h.score));
        more = page.has_next_page;
        after = page.hits.last().map(|h| h.position.clone());
    }
    (ids, first.total, first.facets, scores)
}

pub fn default_sort() -> Sort {
    Sort::DeadlineSoonest
}
