//! What an instrument says about itself, and how a revision changes it.

use serde::{Deserialize, Serialize};

use crate::values::{
    Change, CountryCode, FundingRange, LanguageCode, Link, ShortText, Summary, Title,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstrumentKind {
    Call,
    Programme,
    StrategicDocument,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CoverLevel {
    Regional,
    National,
    Eu,
    International,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Periodicity {
    OneOff,
    Annual,
    Recurring,
    Continuous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetOrganisation {
    Sme,
    Startup,
    LargeEnterprise,
    ResearchOrganisation,
    University,
    PublicBody,
    Cluster,
    NonProfit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentDetails {
    pub title: Title,
    pub kind: InstrumentKind,
    pub cover_level: CoverLevel,
    pub countries: Vec<CountryCode>,
    pub programme: Option<ShortText>,
    pub link: Option<Link>,
    pub summary: Summary,
    pub target_organisations: Vec<TargetOrganisation>,
    pub funding: Option<FundingRange>,
    pub periodicity: Option<Periodicity>,
    pub languages: Vec<LanguageCode>,
}

/// A revision: the fields to set; `None` leaves a field as it is. An optional field is cleared
/// with `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstrumentPatch {
    pub title: Option<Title>,
    pub kind: Option<InstrumentKind>,
    pub cover_level: Option<CoverLevel>,
    pub countries: Option<Vec<CountryCode>>,
    pub programme: Option<Option<ShortText>>,
    pub link: Option<Option<Link>>,
    pub summary: Option<Summary>,
    pub target_organisations: Option<Vec<TargetOrganisation>>,
    pub funding: Option<Option<FundingRange>>,
    pub periodicity: Option<Option<Periodicity>>,
    pub languages: Option<Vec<LanguageCode>>,
}

/// The fields a revision changed, each with its old and new value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstrumentChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Change<Title>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Change<InstrumentKind>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_level: Option<Change<CoverLevel>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub countries: Option<Change<Vec<CountryCode>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<Change<Option<ShortText>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Change<Option<Link>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Change<Summary>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_organisations: Option<Change<Vec<TargetOrganisation>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding: Option<Change<Option<FundingRange>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periodicity: Option<Change<Option<Periodicity>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub languages: Option<Change<Vec<LanguageCode>>>,
}

macro_rules! each_field {
    ($m:ident) => {
        $m!(title);
        $m!(kind);
        $m!(cover_level);
        $m!(countries);
        $m!(programme);
        $m!(link);
        $m!(summary);
        $m!(target_organisations);
        $m!(funding);
        $m!(periodicity);
        $m!(languages);
    };
}

impl InstrumentChanges {
    /// What `patch` would change in `details`.
    pub fn from_patch(details: &InstrumentDetails, patch: InstrumentPatch) -> Self {
        let mut changes = Self::default();
        macro_rules! diff {
            ($f:ident) => {
                if let Some(new) = patch.$f {
                    changes.$f = Change::between(&details.$f, &new);
                }
            };
        }
        each_field!(diff);
        changes
    }

    pub fn apply_to(self, details: &mut InstrumentDetails) {
        macro_rules! set {
            ($f:ident) => {
                if let Some(change) = self.$f {
                    details.$f = change.new;
                }
            };
        }
        each_field!(set);
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the changed fields, as the API spells them.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        macro_rules! name {
            ($f:ident) => {
                if self.$f.is_some() {
                    fields.push(stringify!($f));
                }
            };
        }
        each_field!(name);
        fields
    }
}
