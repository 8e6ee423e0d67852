//! Between the catalogue's row (as the projection folds it), the index's document and the
//! API's row: the same fields, three spellings.

use ri_domain::TenantSlug;
use ri_domain::values::{CountryCode, CurrencyCode, FundingRange, LanguageCode};
use ri_search::{After, InstrumentDoc};
use ri_taxonomy::FeatureSet;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::catalogue::InstrumentRow;
use crate::catalogue::codes::{code, from_code};
use crate::catalogue::cursor::Cursor;
use crate::catalogue::instruments::Row;

/// The curating tenant as the tenant directory has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TenantInfo {
    pub(crate) name: Option<String>,
    pub(crate) suspended: bool,
    /// The Tenant aggregate's version this reflects.
    pub(crate) version: i64,
}

/// Why a row does not make a document: a value the domain cannot hold.
#[derive(Debug)]
pub(crate) struct Unreadable(pub(crate) String);

fn parse<T: DeserializeOwned>(what: &str, raw: &str) -> Result<T, Unreadable> {
    from_code(raw).ok_or_else(|| Unreadable(format!("{what}: unknown value {raw:?}")))
}

fn amount(n: Option<i64>) -> Result<Option<u64>, Unreadable> {
    n.map(u64::try_from)
        .transpose()
        .map_err(|_| Unreadable("a negative funding amount".to_owned()))
}

/// The document of a catalogue row, with its tenant's name and state.
pub(crate) fn to_doc(row: &Row, tenant: Option<&TenantInfo>) -> Result<InstrumentDoc, Unreadable> {
    let funding = match &row.currency {
        Some(currency) => Some(FundingRange {
            min: amount(row.funding_min)?,
            max: amount(row.funding_max)?,
            currency: CurrencyCode::parse("currency", currency)
                .map_err(|e| Unreadable(e.to_string()))?,
        }),
        None => None,
    };
    Ok(InstrumentDoc {
        id: row.id.clone(),
        tenant: TenantSlug::parse(&row.tenant).map_err(|e| Unreadable(e.to_string()))?,
        tenant_name: tenant.and_then(|t| t.name.clone()),
        tenant_suspended: tenant.is_some_and(|t| t.suspended),
        version: row.version,
        status: parse("status", &row.status)?,
        title: row.title.clone(),
        kind: parse("kind", &row.kind)?,
        cover_level: parse("cover level", &row.cover_level)?,
        countries: row
            .countries
            .iter()
            .map(|c| CountryCode::parse("countries", c).map_err(|e| Unreadable(e.to_string())))
            .collect::<Result<_, _>>()?,
        programme: row.programme.clone(),
        link: row.link.clone(),
        summary: row.summary.clone(),
        target_organisations: row
            .target_organisations
            .iter()
            .map(|t| parse("target organisation", t))
            .collect::<Result<_, _>>()?,
        funding,
        periodicity: row
            .periodicity
            .as_deref()
            .map(|p| parse("periodicity", p))
            .transpose()?,
        languages: row
            .languages
            .iter()
            .map(|l| LanguageCode::parse("languages", l).map_err(|e| Unreadable(e.to_string())))
            .collect::<Result<_, _>>()?,
        features: FeatureSet::from_bits(row.features).map_err(|e| Unreadable(e.to_string()))?,
        opening_date: row.opening_date,
        deadline: row.deadline,
        time_zone: row.time_zone.clone(),
        drafted_at: row.drafted_at,
        updated_at: row.updated_at,
        published_at: row.published_at,
    })
}

/// The catalogue row a document was made from, to fold the next event onto.
pub(crate) fn to_row(doc: &InstrumentDoc) -> Row {
    let funding = doc.funding.as_ref();
    Row {
        id: doc.id.clone(),
        tenant: doc.tenant.to_string(),
        version: doc.version,
        status: code(&doc.status),
        title: doc.title.clone(),
        kind: code(&doc.kind),
        cover_level: code(&doc.cover_level),
        countries: doc.countries.iter().map(ToString::to_string).collect(),
        programme: doc.programme.clone(),
        link: doc.link.clone(),
        summary: doc.summary.clone(),
        target_organisations: doc.target_organisations.iter().map(code).collect(),
        // Amounts came from the row, where they fit a bigint.
        funding_min: funding
            .and_then(|f| f.min)
            .and_then(|n| i64::try_from(n).ok()),
        funding_max: funding
            .and_then(|f| f.max)
            .and_then(|n| i64::try_from(n).ok()),
        currency: funding.map(|f| f.currency.as_str().to_owned()),
        periodicity: doc.periodicity.as_ref().map(code),
        languages: doc
            .languages
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect(),
        features: doc.features.bits(),
        feature_codes: doc.features.iter().map(|c| c.as_str().to_owned()).collect(),
        opening_date: doc.opening_date,
        deadline: doc.deadline,
        time_zone: doc.time_zone.clone(),
        drafted_at: doc.drafted_at,
        updated_at: doc.updated_at,
        published_at: doc.published_at,
    }
}

/// A document as the API shows it at `now` (an open call past its deadline reads closed).
pub(crate) fn to_instrument_row(doc: &InstrumentDoc, now: OffsetDateTime) -> InstrumentRow {
    InstrumentRow {
        id: doc.id.clone(),
        tenant: doc.tenant.clone(),
        tenant_name: doc.tenant_name.clone(),
        tenant_suspended: doc.tenant_suspended,
        version: doc.version,
        status: doc.status_at(now),
        title: doc.title.clone(),
        kind: doc.kind,
        cover_level: doc.cover_level,
        countries: doc.countries.clone(),
        programme: doc.programme.clone(),
        link: doc.link.clone(),
        summary: doc.summary.clone(),
        target_organisations: doc.target_organisations.clone(),
        funding: doc.funding.clone(),
        periodicity: doc.periodicity,
        languages: doc.languages.clone(),
        features: doc.features,
        opening_date: doc.opening_date,
        deadline: doc.deadline,
        time_zone: doc.time_zone.clone(),
        drafted_at: doc.drafted_at,
        updated_at: doc.updated_at,
        published_at: doc.published_at,
    }
}

/// The SQL search's cursor as the index's keyset position (the same meaning); an audit cursor
/// is not a position in any search.
pub(crate) fn to_after(cursor: Cursor) -> Option<After> {
    match cursor {
        Cursor::Deadline { k, id } => Some(After::Deadline { deadline: k, id }),
        Cursor::Updated { k, id } => Some(After::Updated { at: k, id }),
        Cursor::Relevance { k, id } => Some(After::Relevance { score_bits: k, id }),
        Cursor::Audit { .. } => None,
    }
}

pub(crate) fn to_cursor(after: &After) -> Cursor {
    match after {
        After::Deadline { deadline, id } => Cursor::Deadline {
            k: *deadline,
            id: id.clone(),
        },
        After::Updated { at, id } => Cursor::Updated {
            k: *at,
            id: id.clone(),
        },
        After::Relevance { score_bits, id } => Cursor::Relevance {
            k: *score_bits,
            id: id.clone(),
        },
    }
}
