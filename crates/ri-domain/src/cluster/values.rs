//! The values of end-user areas and project clusters, each parsed from raw input into a type
//! that cannot hold an invalid value. A parse failure names the field as the API spells it
//! (`relevance`, `startsAt`, `onlineLink`).

use std::fmt;

use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::project::{Acronym, SecurityDomain};
use crate::tenant::TenantSlug;
use crate::values::{CountryCode, FieldError, Link, ShortText, Summary, Title};

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// The security domain an end-user area lies in: one of the three of the SecurIT deliverable,
/// or one the tenant names itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AreaDomain {
    SensitiveInfrastructureProtection,
    DisasterResilience,
    PublicSpaceProtection,
    /// The tenant's own domain, by name.
    Own(Title),
}

impl AreaDomain {
    /// How the tables and the API spell the kind of domain (`OWN` for the tenant's own).
    pub fn code(&self) -> &'static str {
        match self {
            AreaDomain::SensitiveInfrastructureProtection => "SENSITIVE_INFRASTRUCTURE_PROTECTION",
            AreaDomain::DisasterResilience => "DISASTER_RESILIENCE",
            AreaDomain::PublicSpaceProtection => "PUBLIC_SPACE_PROTECTION",
            AreaDomain::Own(_) => "OWN",
        }
    }

    /// The name of the tenant's own domain.
    pub fn own_name(&self) -> Option<&str> {
        match self {
            AreaDomain::Own(name) => Some(name.as_str()),
            _ => None,
        }
    }

    /// The domain from its code and, for `OWN`, its name (field `domain`).
    pub fn parse(code: &str, own_name: Option<&str>) -> Result<Self, FieldError> {
        let domain = match code.trim() {
            "SENSITIVE_INFRASTRUCTURE_PROTECTION" => AreaDomain::SensitiveInfrastructureProtection,
            "DISASTER_RESILIENCE" => AreaDomain::DisasterResilience,
            "PUBLIC_SPACE_PROTECTION" => AreaDomain::PublicSpaceProtection,
            "OWN" => {
                let name = own_name.ok_or_else(|| {
                    FieldError::new("ownDomain", "the tenant's own domain needs a name")
                })?;
                return Ok(AreaDomain::Own(Title::parse("ownDomain", name)?));
            }
            other => {
                return Err(FieldError::new(
                    "domain",
                    format!("{other:?} is not a security domain"),
                ));
            }
        };
        if own_name.is_some_and(|n| !n.trim().is_empty()) {
            return Err(FieldError::new(
                "ownDomain",
                "only the tenant's own domain (OWN) takes a name",
            ));
        }
        Ok(domain)
    }
}

impl fmt::Display for AreaDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AreaDomain::SensitiveInfrastructureProtection => {
                f.write_str("Sensitive Infrastructure Protection")
            }
            AreaDomain::DisasterResilience => f.write_str("Disaster Resilience"),
            AreaDomain::PublicSpaceProtection => f.write_str("Public Space Protection"),
            AreaDomain::Own(name) => f.write_str(name.as_str()),
        }
    }
}

impl From<SecurityDomain> for AreaDomain {
    fn from(domain: SecurityDomain) -> Self {
        match domain {
            SecurityDomain::SensitiveInfrastructureProtection => {
                AreaDomain::SensitiveInfrastructureProtection
            }
            SecurityDomain::DisasterResilience => AreaDomain::DisasterResilience,
            SecurityDomain::PublicSpaceProtection => AreaDomain::PublicSpaceProtection,
        }
    }
}

/// The id of another aggregate (an area, a project) as a cluster names it: 1 to 100 letters,
/// digits and `-_.:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AggregateRef(String);

impl AggregateRef {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let id = raw.trim();
        if id.is_empty() || id.len() > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(FieldError::new(
                field,
                "must hold only letters, digits and - _ . :",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AggregateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project as the API found it (the projects read model) before assigning it: its id, its
/// tenant and its acronym at the time, and whether its tenant shared it with the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef {
    pub id: AggregateRef,
    pub tenant: TenantSlug,
    pub acronym: Acronym,
    /// Another tenant's project that it shared with the caller's tenant (issue 16).
    pub shared: bool,
}

/// A project assigned to a cluster, with its acronym when it was assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedProject {
    pub id: AggregateRef,
    pub acronym: Acronym,
}

/// A rating from 1 (poor) to 5 (excellent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    pub const MIN: u8 = 1;
    pub const MAX: u8 = 5;

    pub fn parse(field: &'static str, raw: i64) -> Result<Self, FieldError> {
        u8::try_from(raw)
            .ok()
            .filter(|r| (Self::MIN..=Self::MAX).contains(r))
            .map(Self)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!("must be from {} to {}, got {raw}", Self::MIN, Self::MAX),
                )
            })
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Rating {
    type Error = FieldError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::parse("rating", i64::from(value))
    }
}

impl From<Rating> for u8 {
    fn from(value: Rating) -> Self {
        value.0
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What one practitioner thought of one demonstrated project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub relevance: Rating,
    pub usability: Rating,
    pub would_pilot: bool,
    /// The taxonomy features the practitioner found relevant.
    pub relevant_features: FeatureSet,
    /// Up to 5,000 characters; may be empty.
    pub comment: Summary,
}

/// Where security practitioners work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PractitionerSector {
    LawEnforcement,
    FireAndRescue,
    EmergencyMedical,
    CivilProtection,
    BorderGuard,
    Defence,
    Municipality,
    CriticalInfrastructureOperator,
    PrivateSecurity,
    EventOrganiser,
    Other,
}

/// A security practitioner giving feedback: their organisation, its country and sector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Practitioner {
    pub organisation: Title,
    pub country: CountryCode,
    pub sector: PractitionerSector,
}

/// An e-mail address: one `@` between a local part of 1 to 64 characters and a domain with a
/// dot, at most 254 characters, no spaces. The domain is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let invalid = || FieldError::new(field, format!("{raw:?} is not an e-mail address"));
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(invalid());
        };
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if local.is_empty() || local.len() > 64 || !domain.contains('.') || !labels_ok {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two addresses name the same mailbox (ignoring case).
    pub fn same_as(&self, other: &Email) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 of an invitation's link token, as 64 lower-case hex digits. The token itself is
/// never stored: the API makes it, mails it, and passes only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(FieldError::new(field, "must be a SHA-256 hex digest"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name (`Europe/Vilnius`), for showing a time as the organiser gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// A name the bundled IANA database knows ([`crate::when::time_zone`]).
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        crate::when::time_zone(field, raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a demo event takes place: a place, an online link, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Venue {
    pub place: Option<ShortText>,
    pub online_link: Option<Link>,
}

impl Venue {
    pub fn new(place: Option<ShortText>, online_link: Option<Link>) -> Result<Self, FieldError> {
        let place = place.filter(|p| !p.as_str().is_empty());
        if place.is_none() && online_link.is_none() {
            return Err(FieldError::new(
                "venue",
                "a demo event needs a place or an online link",
            ));
        }
        Ok(Self { place, online_link })
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.place, &self.online_link) {
            (Some(place), Some(link)) => write!(f, "{place} and {}", link.as_str()),
            (Some(place), None) => write!(f, "{place}"),
            (None, Some(link)) => f.write_str(link.as_str()),
            (None, None) => f.write_str("nowhere"),
        }
    }
}

/// How many days after a demo event's start practitioners may give and edit their feedback:
/// 1 to 90, 14 unless set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct FeedbackWindow(u16);

impl FeedbackWindow {
    pub const MAX_DAYS: u16 = 90;
    pub const DEFAULT: FeedbackWindow = FeedbackWindow(14);

    pub fn parse(field: &'static str, raw: i64) -> Result<Self, FieldError> {
        u16::try_from(raw)
            .ok()
            .filter(|d| (1..=Self::MAX_DAYS).contains(d))
            .map(Self)
            .ok_or_else(|| FieldError::new(field, format!("must be 1 to {} days", Self::MAX_DAYS)))
    }

    pub fn days(self) -> u16 {
        self.0
    }

    /// When the window of an event starting at `starts_at` closes. Saturates rather than
    /// overflow: a command accepts only a start whose window closes within the bounds of
    /// [`crate::when`] ([`checked_closes`](Self::checked_closes)).
    pub fn closes(self, starts_at: OffsetDateTime) -> OffsetDateTime {
        starts_at.saturating_add(time::Duration::days(i64::from(self.0)))
    }

    /// When the window of an event starting at `starts_at` closes, or an error naming `field`
    /// when that is outside the bounds of [`crate::when`].
    pub fn checked_closes(
        self,
        field: &'static str,
        starts_at: OffsetDateTime,
    ) -> Result<OffsetDateTime, FieldError> {
        crate::when::days_after(field, starts_at, self.0)
    }
}

impl Default for FeedbackWindow {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u16> for FeedbackWindow {
    type Error = FieldError;
    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::parse("feedbackWindowDays", i64::from(value))
    }
}

impl From<FeedbackWindow> for u16 {
    fn from(value: FeedbackWindow) -> Self {
        value.0
    }
}

/// Who else takes an interest in the cluster's innovations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StakeholderKind {
    Investor,
    Integrator,
    EndUserOrganisation,
    /// The European Anti-Crime Technology Development Association.
    Eactda,
    /// NATO's Defence Innovation Accelerator for the North Atlantic.
    Diana,
    Other,
}

/// A stakeholder engaged with the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stakeholder {
    /// Chosen by the caller.
    pub id: Uuid,
    pub kind: StakeholderKind,
    pub name: Title,
    pub note: ShortText,
}

/// The people at a follow-up session: 1 to 100 names, each once (ignoring case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Attendees(Vec<Title>);

impl Attendees {
    pub const MAX: usize = 100;

    pub fn parse(field: &'static str, names: &[&str]) -> Result<Self, FieldError> {
        let mut out: Vec<Title> = Vec::with_capacity(names.len());
        for name in names {
            let name = Title::parse(field, name)?;
            if !out
                .iter()
                .any(|n| n.as_str().to_lowercase() == name.as_str().to_lowercase())
            {
                out.push(name);
            }
        }
        if out.is_empty() {
            return Err(FieldError::new(
                field,
                "a session needs at least one attendee",
            ));
        }
        if out.len() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("at most {} attendees", Self::MAX),
            ));
        }
        Ok(Self(out))
    }

    pub fn names(&self) -> &[Title] {
        &self.0
    }
}

/// Whose feedback it is: a practitioner with an invitation (through their personal link), or
/// one whose answers a follow-up manager recorded from a paper sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedbackSource {
    Invitation {
        invitation_id: Uuid,
    },
    Paper {
        sheet_id: Uuid,
        practitioner: Practitioner,
    },
}

impl FeedbackSource {
    /// The invitation's or the sheet's id: with the project, what identifies one feedback.
    pub fn respondent_id(&self) -> Uuid {
        match self {
            FeedbackSource::Invitation { invitation_id } => *invitation_id,
            FeedbackSource::Paper { sheet_id, .. } => *sheet_id,
        }
    }

    /// `INVITATION` or `PAPER`.
    pub fn code(&self) -> &'static str {
        match self {
            FeedbackSource::Invitation { .. } => "INVITATION",
            FeedbackSource::Paper { .. } => "PAPER",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn ratings_run_from_one_to_five() {
        for good in 1..=5 {
            assert_eq!(
                Rating::parse("relevance", good).unwrap().value() as i64,
                good
            );
        }
        for bad in [0, 6, -1, 256, i64::MAX] {
            let err = Rating::parse("usability", bad).unwrap_err();
            assert_eq!(err.field, "usability");
            assert!(err.reason.contains("from 1 to 5"), "{err}");
        }
        assert!(serde_json::from_str::<Rating>("0").is_err());
        assert!(serde_json::from_str::<Rating>("6").is_err());
        assert_eq!(serde_json::from_str::<Rating>("4").unwrap().value(), 4);
    }

    #[test]
    fn emails_are_checked_and_their_domain_lower_cased() {
        assert_eq!(
            Email::parse("email", " Ona.P@Policija.LT ")
                .unwrap()
                .as_str(),
            "Ona.P@policija.lt"
        );
        for bad in [
            "",
            "ona",
            "ona@",
            "@x.lt",
            "ona@lt",
            "o na@x.lt",
            "ona@x..lt",
            "a@-x.lt",
        ] {
            assert_eq!(
                Email::parse("email", bad).unwrap_err().field,
                "email",
                "{bad}"
            );
        }
        let a = Email::parse("email", "ONA@x.lt").unwrap();
        assert!(a.same_as(&Email::parse("email", "ona@X.lt").unwrap()));
    }

    #[test]
    fn token_hashes_are_sha256_hex_lower_cased() {
        let hex = "A".repeat(64);
        assert_eq!(
            TokenHash::parse("token", &hex).unwrap().as_str(),
            "a".repeat(64)
        );
        assert!(TokenHash::parse("token", "abc").is_err());
        assert!(TokenHash::parse("token", &"g".repeat(64)).is_err());
    }

    #[test]
    fn a_venue_needs_a_place_or_a_link() {
        let err = Venue::new(Some(ShortText::parse("place", "  ").unwrap()), None).unwrap_err();
        assert_eq!(err.field, "venue");
        let online = Venue::new(
            None,
            Some(Link::parse("onlineLink", "https://meet.example.eu/demo").unwrap()),
        )
        .unwrap();
        assert!(online.place.is_none());
    }

    #[test]
    fn domains_parse_from_their_codes() {
        assert_eq!(
            AreaDomain::parse("PUBLIC_SPACE_PROTECTION", None).unwrap(),
            AreaDomain::PublicSpaceProtection
        );
        assert_eq!(
            AreaDomain::parse("OWN", Some("Maritime security")).unwrap(),
            AreaDomain::Own(Title::parse("ownDomain", "Maritime security").unwrap())
        );
        assert_eq!(
            AreaDomain::parse("OWN", None).unwrap_err().field,
            "ownDomain"
        );
        assert_eq!(
            AreaDomain::parse("SPACE", None).unwrap_err().field,
            "domain"
        );
        assert_eq!(
            AreaDomain::parse("DISASTER_RESILIENCE", Some("x"))
                .unwrap_err()
                .field,
            "ownDomain"
        );
        let json = serde_json::to_value(AreaDomain::DisasterResilience).unwrap();
        assert_eq!(json, serde_json::json!("DISASTER_RESILIENCE"));
        let own = AreaDomain::parse("OWN", Some("Maritime security")).unwrap();
        let json = serde_json::to_value(&own).unwrap();
        assert_eq!(json, serde_json::json!({"OWN": "Maritime security"}));
        assert_eq!(serde_json::from_value::<AreaDomain>(json).unwrap(), own);
    }

    #[test]
    fn windows_attendees_and_refs_are_bounded() {
        assert_eq!(FeedbackWindow::default().days(), 14);
        assert!(FeedbackWindow::parse("feedbackWindowDays", 0).is_err());
        assert!(FeedbackWindow::parse("feedbackWindowDays", 91).is_err());
        assert_eq!(
            Attendees::parse("attendees", &["Ona", "ona", "Jonas"])
                .unwrap()
                .names()
                .len(),
            2
        );
        assert!(Attendees::parse("attendees", &[]).is_err());
        assert!(AggregateRef::parse("projectId", "p 1").is_err());
        assert!(AggregateRef::parse("projectId", "").is_err());
        assert!(AggregateRef::parse("projectId", "3c0e52a1-7b94-4f08").is_ok());
        assert!(TimeZoneName::parse("timeZone", "Europe/Vilnius").is_ok());
        assert!(TimeZoneName::parse("timeZone", "Europe//Vilnius").is_err());
        assert!(TimeZoneName::parse("timeZone", "Mars/Olympus").is_err());
    }
}
