//! Eligibility: rules that exclude a pair outright. They never lower a score; an instrument a
//! project cannot apply to is not a weak match, it is no match.

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

use crate::{
    Country, CoverLevel, InstrumentKind, InstrumentProfile, InstrumentStatus, ProjectProfile,
};

/// Why a pair cannot match. The rules are checked in the order of the variants and the first
/// that applies is reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExclusionRule {
    /// A withdrawn instrument never matches.
    Withdrawn,
    /// An archived instrument never matches.
    Archived,
    /// A draft is not published: it is its curator's alone and may still change.
    Draft,
    /// A call must be `OPEN`; this one is `status` (only `CLOSED` gets here).
    CallNotOpen {
        /// The call's status.
        status: InstrumentStatus,
    },
    /// A call still marked `OPEN` whose deadline has passed (its closing is due but not yet
    /// recorded): it takes no more applications.
    DeadlinePassed {
        /// The passed deadline.
        #[serde(with = "time::serde::rfc3339")]
        deadline: OffsetDateTime,
    },
    /// A regional or national instrument is only open to its own countries, and no partner of
    /// the consortium is in one of them.
    NoCountryInCommon {
        /// The instrument's cover level (regional or national).
        cover_level: CoverLevel,
        /// The countries the instrument is open to.
        countries: Vec<Country>,
    },
}

impl fmt::Display for ExclusionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExclusionRule::Withdrawn => f.write_str("a withdrawn instrument never matches"),
            ExclusionRule::Archived => f.write_str("an archived instrument never matches"),
            ExclusionRule::Draft => f.write_str("a draft instrument is not published"),
            ExclusionRule::CallNotOpen { status } => {
                write!(f, "a call must be OPEN; this one is {}", status.id())
            }
            ExclusionRule::DeadlinePassed { deadline } => {
                write!(f, "the call's deadline {deadline} has passed")
            }
            ExclusionRule::NoCountryInCommon {
                cover_level,
                countries,
            } => {
                let level = match cover_level {
                    CoverLevel::Regional => "regional",
                    CoverLevel::National => "national",
                    CoverLevel::Eu => "EU",
                    CoverLevel::International => "international",
                };
                write!(
                    f,
                    "a {level} instrument needs a consortium country among its countries ("
                )?;
                for (i, country) in countries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(country.as_str())?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A pair that cannot match, and the rule that excludes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("not eligible: {rule}")]
pub struct Ineligible {
    /// The first rule that excludes the pair.
    pub rule: ExclusionRule,
}

/// The rules that depend on the instrument alone: whether it can match any project `now`.
pub(crate) fn instrument_rule(
    instrument: &InstrumentProfile,
    now: OffsetDateTime,
) -> Option<ExclusionRule> {
    match instrument.status {
        InstrumentStatus::Withdrawn => return Some(ExclusionRule::Withdrawn),
        InstrumentStatus::Archived => return Some(ExclusionRule::Archived),
        InstrumentStatus::Draft => return Some(ExclusionRule::Draft),
        InstrumentStatus::Open | InstrumentStatus::Closed => {}
    }
    if instrument.kind == InstrumentKind::Call {
        if instrument.status != InstrumentStatus::Open {
            return Some(ExclusionRule::CallNotOpen {
                status: instrument.status,
            });
        }
        if let Some(deadline) = instrument.deadline
            && deadline <= now
        {
            return Some(ExclusionRule::DeadlinePassed { deadline });
        }
    }
    None
}

/// Whether the project can apply where the instrument is open. Cheap for EU and international
/// instruments; the country lists are short.
pub(crate) fn countries_agree(project: &ProjectProfile, instrument: &InstrumentProfile) -> bool {
    !instrument.cover_level.needs_country()
        || project
            .countries
            .iter()
            .any(|c| instrument.countries.contains(c))
}

/// Every rule, in order.
pub(crate) fn check(
    project: &ProjectProfile,
    instrument: &InstrumentProfile,
    now: OffsetDateTime,
) -> Result<(), Ineligible> {
    if let Some(rule) = instrument_rule(instrument, now) {
        return Err(Ineligible { rule });
    }
    if !countries_agree(project, instrument) {
        return Err(Ineligible {
            rule: ExclusionRule::NoCountryInCommon {
                cover_level: instrument.cover_level,
                countries: instrument.countries.clone(),
            },
        });
    }
    Ok(())
}
