//! Input types, parsed into domain values (BAD_USER_INPUT naming the field).

use super::*;

#[derive(InputObject, Debug, Clone)]
pub(crate) struct ConsortiumMemberInput {
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct RegisterProjectInput {
    /// Unique among your tenant's projects, ignoring case (the CSV import finds projects by it).
    pub acronym: String,
    pub title: String,
    pub open_call: Option<String>,
    pub stage: Option<ProjectStage>,
    pub security_domain: Option<SecurityDomain>,
    #[graphql(default)]
    pub consortium: Vec<ConsortiumMemberInput>,
    /// ISO 3166-1 alpha-2.
    pub lead_country: Option<String>,
    #[graphql(default)]
    pub summary: String,
}

/// Only the fields given change; `null` clears an optional one.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ReviseProjectInput {
    pub acronym: Option<String>,
    pub title: Option<String>,
    pub open_call: MaybeUndefined<String>,
    pub stage: MaybeUndefined<ProjectStage>,
    pub security_domain: MaybeUndefined<SecurityDomain>,
    /// The whole new consortium.
    pub consortium: Option<Vec<ConsortiumMemberInput>>,
    pub lead_country: MaybeUndefined<String>,
    pub summary: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct MilestoneInput {
    pub criterion: SuccessCriterion,
    pub date: Date,
    /// 1 to 2,000 characters.
    pub description: String,
    pub evidence_link: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct MoneyInput {
    /// Whole units, positive.
    pub amount: i64,
    /// ISO 4217, e.g. EUR.
    pub currency: String,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FundingApplicationInput {
    /// The instrument's id in the catalogue, if it is there.
    pub instrument_id: Option<ID>,
    /// The instrument as people name it; default: the catalogue's title of `instrumentId`.
    pub instrument_name: Option<String>,
    pub status: FundingApplicationStatus,
    /// The day it reached `status` (for PLANNED, the day it was planned).
    pub date: Date,
    pub amount: Option<MoneyInput>,
    /// Evidence of an award (only with AWARDED); the award's RECOGNITION milestone links it.
    pub evidence_link: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FundingApplicationStatusInput {
    pub status: FundingApplicationStatus,
    /// The day it reached `status`; not before the current status's.
    pub date: Date,
    /// The amount from now on (the one granted, say); omitted keeps it.
    pub amount: Option<MoneyInput>,
    /// Evidence of an award (only with AWARDED).
    pub evidence_link: Option<String>,
}

#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ProjectFilter {
    /// Words that must all occur in the acronym, title or summary (ignoring case).
    pub text: Option<String>,
    /// Taxonomy codes, e.g. T1, D2.
    #[graphql(default)]
    pub features: Vec<String>,
    #[graphql(default)]
    pub feature_match: FeatureMatch,
    #[graphql(default)]
    pub stages: Vec<ProjectStage>,
}

pub(super) fn consortium(raw: &[ConsortiumMemberInput]) -> Result<Consortium, FieldError> {
    let members = raw
        .iter()
        .map(|m| {
            Ok(DomainMember {
                name: Title::parse("consortium.name", &m.name)?,
                country: CountryCode::parse("consortium.country", &m.country)?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    Consortium::parse(members)
}

pub(super) fn maybe<T, U>(
    raw: MaybeUndefined<T>,
    parse: impl Fn(&T) -> Result<U, FieldError>,
) -> Result<Option<Option<U>>, FieldError> {
    match raw {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => parse(&v).map(|u| Some(Some(u))),
    }
}

impl RegisterProjectInput {
    pub(super) fn parse(&self) -> Result<ProjectDetails, FieldError> {
        Ok(ProjectDetails {
            acronym: Acronym::parse("acronym", &self.acronym)?,
            title: Title::parse("title", &self.title)?,
            open_call: self
                .open_call
                .as_deref()
                .map(|c| OpenCall::parse("openCall", c))
                .transpose()?,
            stage: self.stage.map(Into::into),
            security_domain: self.security_domain.map(Into::into),
            consortium: consortium(&self.consortium)?,
            lead_country: self
                .lead_country
                .as_deref()
                .map(|c| CountryCode::parse("leadCountry", c))
                .transpose()?,
            summary: Summary::parse("summary", &self.summary)?,
        })
    }
}

impl ReviseProjectInput {
    pub(super) fn parse(self) -> Result<ProjectPatch, FieldError> {
        Ok(ProjectPatch {
            acronym: self
                .acronym
                .as_deref()
                .map(|a| Acronym::parse("acronym", a))
                .transpose()?,
            title: self
                .title
                .as_deref()
                .map(|t| Title::parse("title", t))
                .transpose()?,
            open_call: maybe(self.open_call, |c| OpenCall::parse("openCall", c))?,
            stage: maybe(self.stage, |s| Ok((*s).into()))?,
            security_domain: maybe(self.security_domain, |s| Ok((*s).into()))?,
            consortium: self.consortium.as_deref().map(consortium).transpose()?,
            lead_country: maybe(self.lead_country, |c| CountryCode::parse("leadCountry", c))?,
            summary: self
                .summary
                .as_deref()
                .map(|s| Summary::parse("summary", s))
                .transpose()?,
        })
    }
}

pub(super) fn money(raw: Option<&MoneyInput>) -> Result<Option<DomainMoney>, FieldError> {
    raw.map(|m| {
        let amount =
            u64::try_from(m.amount).map_err(|_| FieldError::new("amount", "must be positive"))?;
        DomainMoney::new(amount, CurrencyCode::parse("amount.currency", &m.currency)?)
    })
    .transpose()
}

pub(super) fn evidence(raw: Option<&str>) -> Result<Option<Link>, FieldError> {
    raw.map(|l| Link::parse("evidenceLink", l)).transpose()
}

pub(super) fn min_score_of(raw: Option<f64>) -> Result<f64, ApiError> {
    match raw {
        None => Ok(0.0),
        Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => Ok(v),
        Some(_) => Err(ApiError::field("minScore", "must be a number from 0 to 1")),
    }
}
