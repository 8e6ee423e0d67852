//! What matching needs to know about a project and an instrument, and nothing more. Callers
//! build these from their own types (the domain's aggregates, projection rows, seed data), so
//! this crate depends on neither.

use std::fmt;
use std::str::FromStr;

use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// Where a project stands on its way to the market, as the SecurIT open calls recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    /// Building a prototype; gains from instruments that fund one (D2 by default).
    Prototyping,
    /// Demonstrating a working solution; gains from experimental deployment, large-scale
    /// exercising and end-user testing (D1, D5, D7 by default).
    Demonstrator,
}

/// The kind of funding instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstrumentKind {
    /// A call for proposals: it opens, closes and must be `OPEN` to match.
    Call,
    /// A funding programme.
    Programme,
    /// A strategy or priority document.
    StrategicDocument,
}

/// The instrument's origin: who it is open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CoverLevel {
    /// Open to organisations of a region of its countries.
    Regional,
    /// Open to organisations of its countries.
    National,
    /// Open across the EU.
    Eu,
    /// Open beyond the EU.
    International,
}

impl CoverLevel {
    /// Whether the instrument is only open to organisations of its own countries.
    pub fn needs_country(self) -> bool {
        matches!(self, CoverLevel::Regional | CoverLevel::National)
    }
}

/// Where the instrument is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstrumentStatus {
    /// Not published yet.
    Draft,
    /// Published and accepting applications.
    Open,
    /// Published, deadline passed.
    Closed,
    /// Taken out of publication by its curator.
    Withdrawn,
    /// Removed from search for good.
    Archived,
}

impl InstrumentStatus {
    /// The identifier used in JSON and the API, e.g. `OPEN`.
    pub fn id(self) -> &'static str {
        match self {
            InstrumentStatus::Draft => "DRAFT",
            InstrumentStatus::Open => "OPEN",
            InstrumentStatus::Closed => "CLOSED",
            InstrumentStatus::Withdrawn => "WITHDRAWN",
            InstrumentStatus::Archived => "ARCHIVED",
        }
    }
}

/// Two ASCII letters, upper case, such as `LT`. Whether they name a real ISO 3166-1 country is
/// for the domain to check; matching only compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

/// A country code that is not two ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a two-letter country code")]
pub struct InvalidCountry(pub String);

impl Country {
    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Country {
    type Err = InvalidCountry;

    /// Accepts either case; stores upper case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(InvalidCountry(s.to_owned())),
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// A project as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectProfile {
    /// The features the project declared.
    pub features: FeatureSet,
    /// `None` when the project has not said (as for the second open call's projects).
    pub stage: Option<Stage>,
    /// The countries of the consortium's partners (and of the lead). A project without any
    /// matches no national or regional instrument.
    pub countries: Vec<Country>,
}

/// A funding instrument as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentProfile {
    /// The caller's identifier, carried along untouched.
    pub id: String,
    /// The features the instrument funds or prioritises.
    pub features: FeatureSet,
    /// Call, programme or strategic document.
    pub kind: InstrumentKind,
    /// Regional, national, EU or international.
    pub cover_level: CoverLevel,
    /// The countries a regional or national instrument is open to.
    pub countries: Vec<Country>,
    /// Where the instrument is in its lifecycle.
    pub status: InstrumentStatus,
    /// When applications close, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn country_is_two_letters_upper_case() {
        let lt: Country = "lt".parse().unwrap();
        assert_eq!(lt.as_str(), "LT");
        assert_eq!(lt, "LT".parse().unwrap());
        for bad in ["", "L", "LTU", "L1", "ŁT", " LT"] {
            assert_eq!(bad.parse::<Country>(), Err(InvalidCountry(bad.to_owned())));
        }
        assert_eq!(serde_json::to_string(&lt).unwrap(), "\"LT\"");
        assert_eq!(
            serde_json::from_str::<Country>("\"dk\"").unwrap().as_str(),
            "DK"
        );
        assert!(serde_json::from_str::<Country>("\"DNK\"").is_err());
    }

    #[test]
    fn only_regional_and_national_need_a_country() {
        assert!(CoverLevel::Regional.needs_country());
        assert!(CoverLevel::National.needs_country());
        assert!(!CoverLevel::Eu.needs_country());
        assert!(!CoverLevel::International.needs_country());
    }
}
