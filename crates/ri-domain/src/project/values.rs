//! What a project says about itself: its details, its success milestones and its funding
//! applications, each parsed from raw input into types that cannot hold an invalid value. A
//! parse failure names the field as the API spells it (`acronym`, `consortium`,
//! `evidenceLink`).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::values::{Change, CountryCode, CurrencyCode, FieldError, Link, Summary, Title};

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// One line of text of 1 to `max` characters (no line breaks or tabs).
fn line(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let text = Title::parse(field, raw)?;
    let text = text.as_str();
    if text.contains(['\n', '\t']) {
        return Err(FieldError::new(field, "must be a single line"));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters, got {chars}"),
        ));
    }
    Ok(text.to_owned())
}

macro_rules! line_type {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
                line(field, raw, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

line_type!(
    /// A project's short name (`C-SHIELD`): one line of 1 to 80 characters.
    Acronym, 80
);
line_type!(
    /// The open call that funded the project (`SecurIT Open Call 1`): one line of 1 to 100
    /// characters.
    OpenCall, 100
);
line_type!(
    /// The id of a funding instrument in the catalogue, as the application names it: 1 to 100
    /// characters of letters, digits and `-_.:`. The catalogue need not hold it (yet).
    InstrumentRef, 100
);

impl InstrumentRef {
    /// Like [`parse`](Self::parse), and only letters, digits and `-_.:`.
    pub fn parse_id(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let id = Self::parse(field, raw)?;
        if id
            .0
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            Ok(id)
        } else {
            Err(FieldError::new(
                field,
                "must hold only letters, digits and - _ . :",
            ))
        }
    }
}

/// What a success milestone says happened: 1 to 2,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MilestoneDescription(String);

impl MilestoneDescription {
    pub const MAX_CHARS: usize = 2_000;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let text = Summary::parse(field, raw)?;
        let chars = text.as_str().chars().count();
        if chars == 0 {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!(
                    "must be at most {} characters, got {chars}",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(text.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a project stands on its way to the market, as the SecurIT open calls recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Stage {
    Prototyping,
    Demonstrator,
}

/// The security domains of the SecurIT deliverable (D2.5, section 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityDomain {
    SensitiveInfrastructureProtection,
    DisasterResilience,
    PublicSpaceProtection,
}

/// The deliverable's three criteria of a project's success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SuccessCriterion {
    /// Further funding, awards, new contracts.
    Recognition,
    /// New collaborations and new markets.
    NewCollaborationsMarkets,
    /// The innovation deployed in an operational environment.
    OperationalDeployment,
}

/// Where a funding application stands. It only moves forward: `PLANNED` → `SUBMITTED` →
/// `AWARDED` or `REJECTED` (steps may be skipped); a decided one never changes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FundingApplicationStatus {
    Planned,
    Submitted,
    Awarded,
    Rejected,
}

impl FundingApplicationStatus {
    /// Awarded or rejected: final.
    pub fn is_decided(self) -> bool {
        matches!(self, Self::Awarded | Self::Rejected)
    }

    fn rank(self) -> u8 {
        match self {
            Self::Planned => 0,
            Self::Submitted => 1,
            Self::Awarded | Self::Rejected => 2,
        }
    }

    /// Whether an application may move from `self` to `to`.
    pub fn can_become(self, to: Self) -> bool {
        !self.is_decided() && to.rank() > self.rank()
    }
}

/// A positive whole amount in a currency, at most `i64::MAX` (what the read model can hold).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: u64,
    pub currency: CurrencyCode,
}

impl Money {
    pub fn new(amount: u64, currency: CurrencyCode) -> Result<Self, FieldError> {
        if amount == 0 {
            return Err(FieldError::new("amount", "must be positive"));
        }
        if i64::try_from(amount).is_err() {
            return Err(FieldError::new("amount", "is too large"));
        }
        Ok(Self { amount, currency })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.as_str())
    }
}

/// A partner of the project's consortium (an SME, usually) and its country.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsortiumMember {
    pub name: Title,
    pub country: CountryCode,
}

/// The project's consortium: at most 100 members, no name twice (ignoring case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Consortium(Vec<ConsortiumMember>);

impl Consortium {
    pub const MAX_MEMBERS: usize = 100;

    pub fn parse(members: Vec<ConsortiumMember>) -> Result<Self, FieldError> {
        if members.len() > Self::MAX_MEMBERS {
            return Err(FieldError::new(
                "consortium",
                format!("at most {} members", Self::MAX_MEMBERS),
            ));
        }
        for (i, member) in members.iter().enumerate() {
            let name = member.name.as_str().to_lowercase();
            if members[..i]
                .iter()
                .any(|m| m.name.as_str().to_lowercase() == name)
            {
                return Err(FieldError::new(
                    "consortium",
                    format!("{:?} is listed twice", member.name.as_str()),
                ));
            }
        }
        Ok(Self(members))
    }

    pub fn members(&self) -> &[ConsortiumMember] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The score in [0, 1] from which a match is worth a notification; 0.5 unless set.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct MatchThreshold(f64);

// Never NaN: `parse` admits finite values in [0, 1] only.
impl Eq for MatchThreshold {}

impl MatchThreshold {
    pub const DEFAULT: MatchThreshold = MatchThreshold(0.5);

    pub fn parse(field: &'static str, raw: f64) -> Result<Self, FieldError> {
        if raw.is_finite() && (0.0..=1.0).contains(&raw) {
            // -0.0 reads as 0.
            Ok(Self(raw + 0.0))
        } else {
            Err(FieldError::new(field, "must be a number from 0 to 1"))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl Default for MatchThreshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<f64> for MatchThreshold {
    type Error = FieldError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Self::parse("matchThreshold", value)
    }
}

impl From<MatchThreshold> for f64 {
    fn from(value: MatchThreshold) -> Self {
        value.0
    }
}

/// What the project is, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDetails {
    pub acronym: Acronym,
    pub title: Title,
    pub open_call: Option<OpenCall>,
    /// `None` when the project has not said (as for the second open call's projects).
    pub stage: Option<Stage>,
    pub security_domain: Option<SecurityDomain>,
    pub consortium: Consortium,
    /// The coordinator's country, when the consortium's members are not known one by one.
    pub lead_country: Option<CountryCode>,
    pub summary: Summary,
}

impl ProjectDetails {
    /// The lead's country and the consortium's, each once, sorted: what national and regional
    /// instruments are checked against.
    pub fn countries(&self) -> Vec<CountryCode> {
        let mut countries = self
            .lead_country
            .iter()
            .copied()
            .chain(self.consortium.members().iter().map(|m| m.country))
            .collect::<Vec<_>>();
        countries.sort_unstable();
        countries.dedup();
        countries
    }
}

/// A revision: the details to set; `None` leaves one as it is. An optional detail is cleared
/// with `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    pub acronym: Option<Acronym>,
    pub title: Option<Title>,
    pub open_call: Option<Option<OpenCall>>,
    pub stage: Option<Option<Stage>>,
    pub security_domain: Option<Option<SecurityDomain>>,
    pub consortium: Option<Consortium>,
    pub lead_country: Option<Option<CountryCode>>,
    pub summary: Option<Summary>,
}

/// The details a revision changed, each with its old and new value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProjectChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acronym: Option<Change<Acronym>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Change<Title>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_call: Option<Change<Option<OpenCall>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Change<Option<Stage>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_domain: Option<Change<Option<SecurityDomain>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consortium: Option<Change<Consortium>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lead_country: Option<Change<Option<CountryCode>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Change<Summary>>,
}

macro_rules! each_detail {
    ($m:ident) => {
        $m!(acronym, "acronym");
        $m!(title, "title");
        $m!(open_call, "openCall");
        $m!(stage, "stage");
        $m!(security_domain, "securityDomain");
        $m!(consortium, "consortium");
        $m!(lead_country, "leadCountry");
        $m!(summary, "summary");
    };
}

impl ProjectChanges {
    /// What `patch` would change in `details`.
    pub fn from_patch(details: &ProjectDetails, patch: ProjectPatch) -> Self {
        let mut changes = Self::default();
        macro_rules! diff {
            ($f:ident, $name:literal) => {
                if let Some(new) = patch.$f {
                    changes.$f = Change::between(&details.$f, &new);
                }
            };
        }
        each_detail!(diff);
        changes
    }

    pub fn apply_to(self, details: &mut ProjectDetails) {
        macro_rules! set {
            ($f:ident, $name:literal) => {
                if let Some(change) = self.$f {
                    details.$f = change.new;
                }
            };
        }
        each_detail!(set);
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The names of the changed details, as the API spells them (`openCall`).
    pub fn fields(&self) -> Vec<&'static str> {
        let mut fields = Vec::new();
        macro_rules! name {
            ($f:ident, $name:literal) => {
                if self.$f.is_some() {
                    fields.push($name);
                }
            };
        }
        each_detail!(name);
        fields
    }
}

/// A success milestone under one of the three criteria.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessMilestone {
    /// Chosen by the caller; for an award, derived from the funding application's id
    /// ([`award_milestone_id`](super::award_milestone_id)).
    pub id: Uuid,
    pub criterion: SuccessCriterion,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub description: MilestoneDescription,
    pub evidence_link: Option<Link>,
    /// The funding application whose award this milestone records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding_application: Option<Uuid>,
}

/// An application of the project to a funding instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingApplication {
    /// Chosen by the caller, so that later status changes can name it.
    pub id: Uuid,
    /// The instrument's id in the catalogue, when it is there.
    pub instrument_id: Option<InstrumentRef>,
    /// The instrument as people name it.
    pub instrument_name: Title,
    pub status: FundingApplicationStatus,
    /// The day it reached its status (for `PLANNED`, the day it was planned).
    #[serde(with = "iso_date")]
    pub date: Date,
    /// Asked for; once awarded, granted.
    pub amount: Option<Money>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn member(name: &str, country: &str) -> ConsortiumMember {
        ConsortiumMember {
            name: Title::parse("name", name).unwrap(),
            country: CountryCode::parse("country", country).unwrap(),
        }
    }

    #[test]
    fn acronyms_and_open_calls_are_single_bounded_lines() {
        assert_eq!(
            Acronym::parse("acronym", " C-SHIELD ").map(|a| a.0),
            Ok("C-SHIELD".into())
        );
        for bad in ["", "  ", "a\nb", &"x".repeat(81)] {
            assert_eq!(
                Acronym::parse("acronym", bad).map_err(|e| e.field),
                Err("acronym"),
                "{bad:?}"
            );
        }
        assert!(OpenCall::parse("openCall", &"x".repeat(100)).is_ok());
        assert!(OpenCall::parse("openCall", &"x".repeat(101)).is_err());
        assert!(InstrumentRef::parse_id("instrumentId", "6b1f0c3e-8d2a:x_y.z").is_ok());
        assert_eq!(
            InstrumentRef::parse_id("instrumentId", "a b").map_err(|e| e.field),
            Err("instrumentId")
        );
        assert_eq!(
            MilestoneDescription::parse("description", " ").map_err(|e| e.field),
            Err("description")
        );
        assert!(MilestoneDescription::parse("description", &"x".repeat(2_001)).is_err());
    }

    #[test]
    fn a_consortium_names_each_member_once() {
        let ok = Consortium::parse(vec![member("MION", "ES"), member("EZAKO", "FR")]).unwrap();
        assert_eq!(ok.members().len(), 2);
        let err = Consortium::parse(vec![member("MION", "ES"), member("mion", "FR")]).unwrap_err();
        assert_eq!(err.field, "consortium");
        let many = (0..101)
            .map(|i| member(&format!("SME {i}"), "LT"))
            .collect();
        assert_eq!(Consortium::parse(many).unwrap_err().field, "consortium");
    }

    #[test]
    fn countries_are_the_lead_and_the_members_once_each() {
        let details = ProjectDetails {
            acronym: Acronym::parse("acronym", "RASAD").unwrap(),
            title: Title::parse("title", "RASAD").unwrap(),
            open_call: None,
            stage: None,
            security_domain: None,
            consortium: Consortium::parse(vec![member("NoCode-X", "BE"), member("Wallix", "FR")])
                .unwrap(),
            lead_country: Some(CountryCode::parse("leadCountry", "FR").unwrap()),
            summary: Summary::parse("summary", "").unwrap(),
        };
        let countries = details.countries();
        assert_eq!(
            countries.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            ["BE", "FR"]
        );
    }

    #[test]
    fn money_is_positive_and_fits_the_read_model() {
        let eur = CurrencyCode::parse("currency", "EUR").unwrap();
        assert_eq!(Money::new(0, eur.clone()).unwrap_err().field, "amount");
        assert!(Money::new(u64::MAX, eur.clone()).is_err());
        assert_eq!(Money::new(80_000, eur).unwrap().to_string(), "80000 EUR");
    }

    #[test]
    fn a_threshold_is_a_score() {
        assert_eq!(MatchThreshold::default().value(), 0.5);
        assert_eq!(
            MatchThreshold::parse("matchThreshold", -0.0)
                .unwrap()
                .value(),
            0.0
        );
        for bad in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(
                MatchThreshold::parse("matchThreshold", bad).map_err(|e| e.field),
                Err("matchThreshold")
            );
        }
        assert!(serde_json::from_str::<MatchThreshold>("1.5").is_err());
        assert_eq!(
            serde_json::to_string(&MatchThreshold::DEFAULT).unwrap(),
            "0.5"
        );
    }

    #[test]
    fn applications_only_move_forward_and_a_decision_is_final() {
        use FundingApplicationStatus::*;
        assert!(Planned.can_become(Submitted));
        assert!(Planned.can_become(Awarded));
        assert!(Submitted.can_become(Rejected));
        assert!(!Submitted.can_become(Planned));
        assert!(!Submitted.can_become(Submitted));
        assert!(!Awarded.can_become(Rejected));
        assert!(!Rejected.can_become(Awarded));
    }
}
