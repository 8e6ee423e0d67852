//! The seed files as they are, before any value is parsed.

use ri_domain::instrument::{CoverLevel, InstrumentKind};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClustersFile {
    pub(super) consortium_partners: Vec<ClusterRecord>,
    pub(super) ambassador_clusters: Vec<ClusterRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClusterRecord {
    pub(super) name: String,
    pub(super) country: String,
    /// City and region: the tenant profile has no place for it.
    #[serde(default, rename = "location")]
    pub(super) _location: Option<String>,
    #[serde(default)]
    pub(super) sme_members: Option<Number>,
    #[serde(default)]
    pub(super) domains: Option<String>,
    #[serde(default)]
    pub(super) website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InstrumentRecord {
    pub(super) name: String,
    pub(super) kind: InstrumentKind,
    pub(super) cover_level: CoverLevel,
    #[serde(default)]
    pub(super) features: Vec<String>,
    #[serde(default)]
    pub(super) countries: Vec<String>,
    #[serde(default)]
    pub(super) country: Option<String>,
    #[serde(default)]
    pub(super) deadline: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) programme: Option<String>,
    #[serde(default)]
    pub(super) amount_eur: Option<Number>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProjectRecord {
    pub(super) acronym: String,
    pub(super) open_call: u8,
    #[serde(default)]
    pub(super) stage: Option<String>,
    #[serde(default)]
    pub(super) follow_up_partner: Option<String>,
    #[serde(default)]
    pub(super) features: Vec<String>,
    #[serde(default)]
    pub(super) application_beyond_security: Option<String>,
    /// Empty or absent (`null`) when the data names no member.
    #[serde(default)]
    pub(super) consortium: Option<Vec<MemberRecord>>,
    #[serde(default)]
    pub(super) lead_country: Option<String>,
    #[serde(default)]
    pub(super) summary: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MemberRecord {
    pub(super) name: String,
    pub(super) country: String,
}

/// A number the data may give as a JSON number or as a string (`"sme_members": "70"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Number {
    Integer(u64),
    Text(String),
}

impl Number {
    /// The value, when it is a plain non-negative integer.
    pub(super) fn value(&self) -> Option<u64> {
        match self {
            Number::Integer(n) => Some(*n),
            Number::Text(text) => text.trim().parse().ok(),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Integer(n) => write!(f, "{n}"),
            Number::Text(text) => write!(f, "{text:?}"),
        }
    }
}
