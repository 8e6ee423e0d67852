//! # Instruments
//!
//! - Id: UUID v5 of [`INSTRUMENT_NAMESPACE`](super::INSTRUMENT_NAMESPACE) and the instrument's name
//!   ([`instrument_id`]), so a seed loaded anywhere gives the same ids.
//! - Owner: the first consortium partner (in `clusters.json` order) of one of the instrument's
//!   countries; otherwise the consortium partner SAFE (slug `safe`), our choice of steward for
//!   instruments no partner's country claims (the data names no owner for them). Only CenSec
//!   (DK) and L3CE (LT) own national instruments in this data; every EU and international
//!   instrument goes to `safe`.
//! - Countries: `countries`; when it is empty and the cover level is national or regional, the
//!   single `country`.
//! - Summary from `description`, programme from `programme`, funding from `amount_eur` as the
//!   maximum per beneficiary in EUR (the deliverable reports it as the amount one project got).
//! - Commands, as `SYSTEM_ACTOR` with the `curator` role of the owner: `Draft`, then
//!   `TagFeatures` when there are features, then
//!   - a programme or strategic document with features (and a country when national or
//!     regional): `Publish` (open-ended, so it stays `OPEN`);
//!   - a call: every call the deliverable names belongs to the 2022–2024 programmes and is
//!     closed today, so it is recorded as history: `SetSchedule` with its deadline when it has
//!     one, then `Close`, from draft;
//!   - anything else (no features, or no country for a national/regional one) cannot be
//!     published and stays `DRAFT` for a curator to complete; the load logs each one.
//! - A deadline date is read as 17:00 Europe/Brussels and stored with the fixed offset in force
//!   that day: `+02:00` from the last Sunday of March to the day before the last Sunday of
//!   October (CEST), `+01:00` otherwise (CET); the schedule names the zone `Europe/Brussels`.

use anyhow::bail;
use ri_domain::TenantSlug;
use ri_domain::instrument::{CoverLevel, InstrumentDetails, InstrumentKind};
use ri_domain::values::{
    CountryCode, CurrencyCode, FieldError, FundingRange, ShortText, Summary, Title, distinct,
};
use ri_taxonomy::FeatureSet;
use time::macros::{format_description, offset, time};
use time::{Date, Month, OffsetDateTime, Weekday};
use uuid::Uuid;

use super::instrument_id;
use super::records::InstrumentRecord;
use super::tenants::TenantPlan;

#[derive(Debug)]
pub(super) struct InstrumentPlan {
    pub(super) id: Uuid,
    pub(super) owner: TenantSlug,
    pub(super) details: InstrumentDetails,
    pub(super) features: FeatureSet,
    pub(super) end: End,
}

/// Where an instrument's history ends.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End {
    /// Open-ended programme or strategic document.
    Published,
    /// A call of the past, with its deadline when the deliverable gives one.
    Closed { deadline: Option<OffsetDateTime> },
    /// Cannot be published as the data stands.
    Draft { why: &'static str },
}

pub(super) fn instrument_plan(
    record: &InstrumentRecord,
    partners: &[&TenantPlan],
    coordinator: &TenantSlug,
) -> anyhow::Result<InstrumentPlan> {
    let national = matches!(
        record.cover_level,
        CoverLevel::National | CoverLevel::Regional
    );
    let listed = record
        .countries
        .iter()
        .map(|c| CountryCode::parse("countries", c))
        .collect::<Result<Vec<_>, _>>()?;
    let single = record
        .country
        .as_deref()
        .map(|c| CountryCode::parse("country", c))
        .transpose()?;
    let countries = if listed.is_empty() && national {
        single.into_iter().collect()
    } else {
        distinct("countries", listed, 250)?
    };

    // The first partner of one of the instrument's countries, else the coordinator.
    let owner = countries
        .iter()
        .chain(single.iter())
        .find_map(|country| {
            partners
                .iter()
                .find(|p| p.profile.country == *country)
                .map(|p| p.slug.clone())
        })
        .unwrap_or_else(|| coordinator.clone());

    let features = FeatureSet::parse(record.features.iter().map(String::as_str))
        .map_err(|e| FieldError::new("features", e.to_string()))?;
    let funding = record
        .amount_eur
        .as_ref()
        .map(|amount| {
            let max = amount.value().ok_or_else(|| {
                FieldError::new("amount_eur", format!("{amount} is not an amount in euro"))
            })?;
            FundingRange::new(None, Some(max), CurrencyCode::parse("currency", "EUR")?)
        })
        .transpose()?;
    let deadline = record.deadline.as_deref().map(deadline_at).transpose()?;

    let end = match record.kind {
        InstrumentKind::Call => End::Closed { deadline },
        InstrumentKind::Programme | InstrumentKind::StrategicDocument => {
            if deadline.is_some() {
                bail!("only a call has a deadline in the seed");
            }
            if features.is_empty() {
                End::Draft {
                    why: "the deliverable names no feature for it",
                }
            } else if national && countries.is_empty() {
                End::Draft {
                    why: "it is national or regional but the deliverable names no country",
                }
            } else {
                End::Published
            }
        }
    };

    Ok(InstrumentPlan {
        id: instrument_id(&record.name),
        owner,
        details: InstrumentDetails {
            title: Title::parse("name", &record.name)?,
            kind: record.kind,
            cover_level: record.cover_level,
            countries,
            programme: record
                .programme
                .as_deref()
                .map(|p| ShortText::parse("programme", p))
                .transpose()?,
            link: None,
            summary: Summary::parse("description", record.description.as_deref().unwrap_or(""))?,
            target_organisations: Vec::new(),
            funding,
            periodicity: None,
            languages: Vec::new(),
        },
        features,
        end,
    })
}

/// A deadline date as 17:00 in Brussels, with the offset in force that day.
pub(super) fn deadline_at(raw: &str) -> Result<OffsetDateTime, FieldError> {
    let date = Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|e| FieldError::new("deadline", format!("{raw:?} is not a date: {e}")))?;
    let last_sunday = |month_after: Month| {
        Date::from_calendar_date(date.year(), month_after, 1)
            .map(|first| first.prev_occurrence(Weekday::Sunday))
            .map_err(|e| FieldError::new("deadline", e.to_string()))
    };
    // EU summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
    // Sunday of October: 17:00 on the first of those days is summer time, on the second not.
    let summer = last_sunday(Month::April)? <= date && date < last_sunday(Month::November)?;
    let offset = if summer { offset!(+2) } else { offset!(+1) };
    Ok(date.with_time(time!(17:00)).assume_offset(offset))
}
