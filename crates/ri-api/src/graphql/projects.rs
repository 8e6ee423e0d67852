//! Projects (issue 5): the funded projects a tenant follows up, their ranked and explained
//! matches with funding instruments, the features they need that few open instruments fund,
//! and the Figure-3-style matrix of projects by instruments.
//!
//! Who may do what:
//!
//! - Reading (`projects`, `project`, `featureGaps`, `matchMatrix`) needs a signed-in member of
//!   the tenant with the `follow_up_manager`, `curator`, `tenant_admin` or `platform_admin`
//!   role (anonymous: UNAUTHENTICATED; no such role: FORBIDDEN). Every read is of the caller's
//!   own tenant: another tenant's project is not there (`project` is null, a mutation on it is
//!   NOT_FOUND). Only `featureGaps(tenant)` reads another tenant, for platform admins.
//! - `Instrument.matchingProjects` lists the caller's tenant's projects only; for anonymous
//!   callers and members without one of those roles it is an empty list (the instrument itself
//!   is public, so asking is not an error).
//! - Every mutation needs `follow_up_manager` or `tenant_admin` in an active tenant, and runs
//!   under the caller's tenant.
//!
//! Scores are `ri_matching` with the configured weights ([`Api::matching_weights`]) at the
//! server's clock; an excluded pair (a rule says the project cannot apply) is never a match.
//! The same functions serve the CSV and JSON downloads of [`crate::exports`].

use std::cmp::Ordering;
use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use ri_app::policy;
use ri_domain::instrument::{self, InstrumentStatus as DomainInstrumentStatus};
use ri_domain::project::{
    Acronym, Consortium, ConsortiumMember as DomainMember, InstrumentRef, MatchThreshold,
    MilestoneDescription, Money as DomainMoney, OpenCall, Project as ProjectAggregate,
    ProjectCommand, ProjectDetails, ProjectError, ProjectPatch,
};
use ri_domain::values::{CountryCode, CurrencyCode, FieldError, Link, ShortText, Summary, Title};
use ri_domain::{Role, TenantSlug};
use ri_matching::{
    Country, CoverLevel as MatchCoverLevel, ExclusionRule, Explanation,
    InstrumentKind as MatchKind, InstrumentProfile, InstrumentStatus as MatchStatus, Match,
};
use ri_projections::catalogue::{self, InstrumentRow, Viewer};
use ri_projections::projects::{self as read, ProjectRow};
use ri_taxonomy::FeatureSet;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::command::{app, caller, version};
use super::enums::{FeatureMatch, SuccessCriterion};
use super::error::{ApiError, Code, from_failure};
use super::inputs::features;
use super::objects::{Category, Feature, Instrument, PageInfo};
use super::{Api, principal};
use crate::auth::{Principal, User};

/// Matches listed per project (or projects per instrument) unless `first` says otherwise.
const DEFAULT_MATCHES: i32 = 10;
/// Most projects one matrix has as rows.
pub(crate) const MAX_MATRIX_PROJECTS: usize = 500;
/// Most instruments one matrix has as columns.
pub(crate) const MAX_MATRIX_INSTRUMENTS: usize = 200;

/// Roles that read the tenant's projects.
const READ_ROLES: [Role; 4] = [
    Role::FollowUpManager,
    Role::Curator,
    Role::TenantAdmin,
    Role::PlatformAdmin,
];
/// Roles that change the tenant's projects.
pub(crate) const WRITE_ROLES: [Role; 2] = [Role::FollowUpManager, Role::TenantAdmin];

// ---------------------------------------------------------------------------------------------
// Enums

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::project::Stage", name = "ProjectStage")]
pub(crate) enum ProjectStage {
    Prototyping,
    Demonstrator,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::project::SecurityDomain", name = "SecurityDomain")]
pub(crate) enum SecurityDomain {
    SensitiveInfrastructureProtection,
    DisasterResilience,
    PublicSpaceProtection,
}

/// Where a funding application stands: PLANNED → SUBMITTED → AWARDED | REJECTED.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(
    remote = "ri_domain::project::FundingApplicationStatus",
    name = "FundingApplicationStatus"
)]
pub(crate) enum FundingApplicationStatus {
    Planned,
    Submitted,
    Awarded,
    Rejected,
}

/// The rule that excludes a project–instrument pair (see docs/matching.md).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MatchExclusionRule")]
pub(crate) enum MatchExclusionRule {
    Withdrawn,
    Archived,
    /// Not published: its curator's alone.
    Draft,
    /// A call that is not OPEN.
    CallNotOpen,
    /// A call whose deadline has passed.
    DeadlinePassed,
    /// A national or regional instrument none of whose countries is a consortium country.
    NoCountryInCommon,
}

impl MatchExclusionRule {
    pub(crate) fn of(rule: &ExclusionRule) -> Self {
        match rule {
            ExclusionRule::Withdrawn => Self::Withdrawn,
            ExclusionRule::Archived => Self::Archived,
            ExclusionRule::Draft => Self::Draft,
            ExclusionRule::CallNotOpen { .. } => Self::CallNotOpen,
            ExclusionRule::DeadlinePassed { .. } => Self::DeadlinePassed,
            ExclusionRule::NoCountryInCommon { .. } => Self::NoCountryInCommon,
        }
    }

    /// The rule's name as the CSV download writes it, e.g. `CALL_NOT_OPEN`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Withdrawn => "WITHDRAWN",
            Self::Archived => "ARCHIVED",
            Self::Draft => "DRAFT",
            Self::CallNotOpen => "CALL_NOT_OPEN",
            Self::DeadlinePassed => "DEADLINE_PASSED",
            Self::NoCountryInCommon => "NO_COUNTRY_IN_COMMON",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Objects

/// A funded project of your tenant.
#[derive(Debug, Clone)]
pub(crate) struct Project(pub ProjectRow);

/// A partner of a project's consortium.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ConsortiumMember {
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// Some features of one taxonomy category.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeaturesOfCategory {
    pub category: Category,
    pub features: Vec<Feature>,
}

fn by_category(set: FeatureSet) -> Vec<FeaturesOfCategory> {
    ri_taxonomy::Category::ALL
        .into_iter()
        .filter_map(|category| {
            let part = set.in_category(category);
            (!part.is_empty()).then(|| FeaturesOfCategory {
                category: Category(category),
                features: super::objects::features(part),
            })
        })
        .collect()
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Money {
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
}

impl From<&DomainMoney> for Money {
    fn from(m: &DomainMoney) -> Self {
        Money {
            amount: i64::try_from(m.amount).unwrap_or(i64::MAX),
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// A success milestone under one of the three criteria.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct SuccessMilestone {
    pub id: ID,
    pub criterion: SuccessCriterion,
    pub date: Date,
    pub description: String,
    pub evidence_link: Option<String>,
    /// The funding application whose award this milestone records.
    pub funding_application_id: Option<ID>,
    pub recorded_at: OffsetDateTime,
}

/// An application of the project to a funding instrument.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FundingApplication {
    pub id: ID,
    /// The instrument's id in the catalogue, when the application names one.
    pub instrument_id: Option<ID>,
    pub instrument_name: String,
    pub status: FundingApplicationStatus,
    /// The day it reached its status.
    pub date: Date,
    /// Asked for; once awarded, granted.
    pub amount: Option<Money>,
    pub recorded_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Why a pair scores what it scores.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchExplanation {
    /// The project's features the instrument funds, by category.
    pub matched: Vec<FeaturesOfCategory>,
    /// The project's features the instrument does not fund, by category.
    pub unmatched: Vec<FeaturesOfCategory>,
    /// The features serving the project's stage that the instrument funds (declared or not).
    pub stage_features: Vec<Feature>,
    /// The weighted share of the project's features the instrument funds, 0 to 1.
    pub coverage: f64,
    /// The share of the stage's features the instrument funds, 0 to 1.
    pub stage_fit: f64,
    /// Whole days to the deadline (0: under a day; negative for a closed programme), if any.
    pub days_to_deadline: Option<i64>,
    /// The version of the scoring formula and rules.
    pub rule_version: u32,
}

impl From<&Explanation> for MatchExplanation {
    fn from(e: &Explanation) -> Self {
        let parts = |parts: &[ri_matching::CategoryFeatures]| {
            parts
                .iter()
                .map(|p| FeaturesOfCategory {
                    category: Category(p.category),
                    features: super::objects::features(p.features),
                })
                .collect()
        };
        MatchExplanation {
            matched: parts(&e.matched),
            unmatched: parts(&e.unmatched),
            stage_features: super::objects::features(e.stage_features),
            coverage: e.coverage,
            stage_fit: e.stage_fit,
            days_to_deadline: e.days_to_deadline,
            rule_version: e.rule_version,
        }
    }
}

/// An instrument a project can apply to, how well it fits, and why.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectMatch {
    pub instrument: Instrument,
    /// 0 to 1; 1 when the instrument funds everything the project does.
    pub score: f64,
    pub explanation: MatchExplanation,
}

/// A project of your tenant that an instrument fits, and why.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchingProject {
    pub project: Project,
    pub score: f64,
    pub explanation: MatchExplanation,
}

/// A feature your tenant's projects need, and how many open instruments fund it.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeatureGap {
    pub feature: Feature,
    /// The tenant's projects that declare it.
    pub projects: i64,
    /// Instruments open now that fund it, whoever curates them (0: a gap to fill).
    pub open_instruments: i64,
}

/// One cell of the matrix: the score, or the rule that excludes the pair.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchMatrixCell {
    pub instrument_id: ID,
    /// Null when a rule excludes the pair.
    pub score: Option<f64>,
    pub excluded_by: Option<MatchExclusionRule>,
    /// The exclusion as a sentence.
    pub reason: Option<String>,
    pub explanation: Option<MatchExplanation>,
}

/// One project's row of the matrix; its cells in the order of `MatchMatrix.instruments`.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchMatrixRow {
    pub project: Project,
    pub cells: Vec<MatchMatrixCell>,
}

/// Projects (rows) by instruments (columns), as in Figure 3 of the deliverable.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct MatchMatrix {
    pub instruments: Vec<Instrument>,
    pub rows: Vec<MatchMatrixRow>,
}

/// A page of your tenant's projects, by acronym.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectConnection {
    pub nodes: Vec<Project>,
    pub page_info: PageInfo,
    /// Projects meeting the filter, on every page.
    pub total_count: i64,
}

/// The result of a project mutation.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectChange {
    pub id: ID,
    /// The project's version after the change; pass it as `expectedVersion` next time.
    pub version: i64,
    /// The id of the milestone or funding application the mutation recorded or changed.
    pub recorded_id: Option<ID>,
}

#[Object]
impl Project {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Pass as `expectedVersion` to change it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn acronym(&self) -> &str {
        &self.0.acronym
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn open_call(&self) -> Option<&str> {
        self.0.open_call.as_deref()
    }
    async fn stage(&self) -> Option<ProjectStage> {
        self.0.stage.map(Into::into)
    }
    async fn security_domain(&self) -> Option<SecurityDomain> {
        self.0.security_domain.map(Into::into)
    }
    async fn consortium(&self) -> Vec<ConsortiumMember> {
        self.0
            .consortium
            .iter()
            .map(|m| ConsortiumMember {
                name: m.name.as_str().to_owned(),
                country: m.country.to_string(),
            })
            .collect()
    }
    /// The coordinator's country, when the members are not known one by one.
    async fn lead_country(&self) -> Option<String> {
        self.0.lead_country.map(|c| c.to_string())
    }
    /// The lead's and the members' countries, each once: what national and regional
    /// instruments are matched against.
    async fn countries(&self) -> Vec<String> {
        self.0.countries.iter().map(ToString::to_string).collect()
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Every declared feature, in taxonomy order.
    async fn features(&self) -> Vec<Feature> {
        super::objects::features(self.0.features)
    }
    /// The declared features by category (only categories with one).
    async fn features_by_category(&self) -> Vec<FeaturesOfCategory> {
        by_category(self.0.features)
    }
    /// Other domains the project applies to.
    async fn applications_beyond_security(&self) -> Option<&str> {
        self.0.applications_beyond_security.as_deref()
    }
    /// The score from which a new match is notified (PROJECT_MATCH).
    async fn match_threshold(&self) -> f64 {
        self.0.match_threshold.value()
    }
    /// By date, then as recorded.
    async fn milestones(&self) -> Vec<SuccessMilestone> {
        self.0
            .milestones
            .iter()
            .map(|m| SuccessMilestone {
                id: ID(m.id.to_string()),
                criterion: m.criterion.into(),
                date: m.date,
                description: m.description.clone(),
                evidence_link: m.evidence_link.clone(),
                funding_application_id: m.funding_application.map(|a| ID(a.to_string())),
                recorded_at: m.recorded_at,
            })
            .collect()
    }
    /// As recorded.
    async fn funding_applications(&self) -> Vec<FundingApplication> {
        self.0
            .funding_applications
            .iter()
            .map(|a| FundingApplication {
                id: ID(a.id.to_string()),
                instrument_id: a.instrument_id.clone().map(ID),
                instrument_name: a.instrument_name.clone(),
                status: a.status.into(),
                date: a.status_date,
                amount: a.amount.as_ref().map(Money::from),
                recorded_at: a.recorded_at,
                updated_at: a.updated_at,
            })
            .collect()
    }
    async fn registered_at(&self) -> OffsetDateTime {
        self.0.registered_at
    }
    async fn updated_at(&self) -> OffsetDateTime {
        self.0.updated_at
    }
    /// The published instruments the project can apply to, best first, each with its score
    /// and why; instruments a rule excludes (closed calls, a national instrument of another
    /// country, …) and those sharing nothing with the project are not listed. Equal scores:
    /// the soonest deadline first.
    async fn matches(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Default 10, at most 100.")] first: Option<i32>,
        #[graphql(desc = "0 to 1; default 0.")] min_score: Option<f64>,
    ) -> async_graphql::Result<Vec<ProjectMatch>> {
        let api = ctx.data_unchecked::<Api>();
        let n = super::query::first(first, DEFAULT_MATCHES)? as usize;
        let min_score = min_score_of(min_score)?;
        let viewer = super::query::viewer(ctx);
        Ok(matches_of(api, &viewer, &self.0, n, min_score).await?)
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

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

fn consortium(raw: &[ConsortiumMemberInput]) -> Result<Consortium, FieldError> {
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

fn maybe<T, U>(
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
    fn parse(&self) -> Result<ProjectDetails, FieldError> {
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
    fn parse(self) -> Result<ProjectPatch, FieldError> {
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

fn money(raw: Option<&MoneyInput>) -> Result<Option<DomainMoney>, FieldError> {
    raw.map(|m| {
        let amount =
            u64::try_from(m.amount).map_err(|_| FieldError::new("amount", "must be positive"))?;
        DomainMoney::new(amount, CurrencyCode::parse("amount.currency", &m.currency)?)
    })
    .transpose()
}

fn evidence(raw: Option<&str>) -> Result<Option<Link>, FieldError> {
    raw.map(|l| Link::parse("evidenceLink", l)).transpose()
}

fn min_score_of(raw: Option<f64>) -> Result<f64, ApiError> {
    match raw {
        None => Ok(0.0),
        Some(v) if v.is_finite() && (0.0..=1.0).contains(&v) => Ok(v),
        Some(_) => Err(ApiError::field("minScore", "must be a number from 0 to 1")),
    }
}

// ---------------------------------------------------------------------------------------------
// Who is asking

/// A signed-in member of a tenant who may read its projects.
pub(crate) fn reader(principal: &Principal) -> Result<&User, ApiError> {
    let user = principal.user().ok_or_else(ApiError::unauthenticated)?;
    if READ_ROLES.iter().any(|r| user.has_role(*r)) {
        Ok(user)
    } else {
        Err(ApiError::forbidden(
            "reading projects needs the follow_up_manager, curator or tenant_admin role",
        ))
    }
}

/// A signed-in member of a tenant holding one of `roles`, or why not. Whether the tenant is
/// active is decided with each command (and up front by an import), from its own events.
pub(crate) fn writer<'a>(
    principal: &'a Principal,
    roles: &[Role],
    what: &str,
) -> Result<&'a User, ApiError> {
    let user = principal.user().ok_or_else(ApiError::unauthenticated)?;
    if !roles.iter().any(|r| user.has_role(*r)) {
        let names = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>();
        return Err(ApiError::forbidden(format!(
            "{what} needs the {} role",
            names.join(" or ")
        )));
    }
    Ok(user)
}

/// A project id as the log spells it; anything else names no project.
pub(crate) fn project_id(id: &str) -> Result<String, ApiError> {
    Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("project"))
}

impl From<ProjectError> for ApiError {
    fn from(e: ProjectError) -> Self {
        match e {
            ProjectError::Invalid(f) => f.into(),
            ProjectError::NotFound => ApiError::not_found("project"),
            ProjectError::NoSuchFundingApplication(_) => ApiError::not_found("funding application"),
            ProjectError::AlreadyRegistered
            | ProjectError::MilestoneExists(_)
            | ProjectError::FundingApplicationExists(_) => {
                ApiError::new(Code::Conflict, e.to_string())
            }
            ProjectError::StatusTransition { .. } => ApiError::field("status", e.to_string()),
            ProjectError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}

/// Runs `command` on the caller's tenant's project `id`; returns the new version.
pub(crate) async fn execute(
    api: &Api,
    user: &User,
    id: &str,
    expected: Option<usize>,
    command: ProjectCommand,
) -> Result<usize, ApiError> {
    app(api)
        .execute::<ProjectAggregate>(
            &caller(user),
            &policy::CHANGE_PROJECTS,
            &user.tenant,
            id,
            command,
            || (),
            expected,
        )
        .await
        .map_err(|f| from_failure(f, "project", ApiError::from))
}

// ---------------------------------------------------------------------------------------------
// Matching

fn match_country(code: &CountryCode) -> Result<Country, ApiError> {
    code.as_str()
        .parse()
        .map_err(|e: ri_matching::InvalidCountry| ApiError::internal(&e))
}

/// An instrument of the catalogue as the matcher sees it (its status as of now).
pub(crate) fn instrument_profile(row: &InstrumentRow) -> Result<InstrumentProfile, ApiError> {
    Ok(InstrumentProfile {
        id: row.id.clone(),
        features: row.features,
        kind: match row.kind {
            instrument::InstrumentKind::Call => MatchKind::Call,
            instrument::InstrumentKind::Programme => MatchKind::Programme,
            instrument::InstrumentKind::StrategicDocument => MatchKind::StrategicDocument,
        },
        cover_level: match row.cover_level {
            instrument::CoverLevel::Regional => MatchCoverLevel::Regional,
            instrument::CoverLevel::National => MatchCoverLevel::National,
            instrument::CoverLevel::Eu => MatchCoverLevel::Eu,
            instrument::CoverLevel::International => MatchCoverLevel::International,
        },
        countries: row
            .countries
            .iter()
            .map(match_country)
            .collect::<Result<_, _>>()?,
        status: match row.status {
            DomainInstrumentStatus::Draft => MatchStatus::Draft,
            DomainInstrumentStatus::Open => MatchStatus::Open,
            DomainInstrumentStatus::Closed => MatchStatus::Closed,
            DomainInstrumentStatus::Withdrawn => MatchStatus::Withdrawn,
            DomainInstrumentStatus::Archived => MatchStatus::Archived,
        },
        deadline: row.deadline,
    })
}

/// Soonest deadline first, open-ended last, then by id: what wins a tie in the ranking.
fn by_deadline(a: &InstrumentProfile, b: &InstrumentProfile) -> Ordering {
    match (a.deadline, b.deadline) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// The `n` best published instruments for `project`, with their catalogue rows.
pub(crate) async fn matches_of(
    api: &Api,
    viewer: &Viewer,
    project: &ProjectRow,
    n: usize,
    min_score: f64,
) -> Result<Vec<ProjectMatch>, ApiError> {
    let profile = project.match_profile()?;
    let mut instruments = read::instrument_profiles(&api.db).await?;
    instruments.sort_by(by_deadline);
    let ranked = ri_matching::top_matches(
        &api.matching_weights,
        &profile,
        &instruments,
        n,
        min_score,
        api.clock.now(),
    );
    let mut out = Vec::with_capacity(ranked.len());
    for (index, m) in ranked {
        let Some(profile) = instruments.get(index) else {
            continue;
        };
        // Left out if it changed status between the two reads (withdrawn meanwhile, say).
        if let Some(row) = catalogue::instrument(&api.db, viewer, &profile.id).await? {
            out.push(ProjectMatch {
                instrument: Instrument(row),
                score: m.score,
                explanation: MatchExplanation::from(&m.explanation),
            });
        }
    }
    Ok(out)
}

/// The caller's tenant's projects that `instrument` fits, best first (ties by acronym).
pub(crate) async fn matching_projects(
    ctx: &Context<'_>,
    instrument: &InstrumentRow,
    first: Option<i32>,
    min_score: Option<f64>,
) -> Result<Vec<MatchingProject>, ApiError> {
    let n = super::query::first(first, DEFAULT_MATCHES)? as usize;
    let min_score = min_score_of(min_score)?;
    let Ok(user) = reader(principal(ctx)) else {
        return Ok(Vec::new());
    };
    let api = ctx.data_unchecked::<Api>();
    let profile = instrument_profile(instrument)?;
    let now = api.clock.now();
    let mut scored = Vec::new();
    for project in read::projects(&api.db, &user.tenant).await? {
        let Ok(m) = ri_matching::score(
            &api.matching_weights,
            &project.match_profile()?,
            &profile,
            now,
        ) else {
            continue;
        };
        if m.score > 0.0 && m.score >= min_score {
            scored.push((project, m));
        }
    }
    // Stable: equal scores keep the acronym order.
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    scored.truncate(n);
    Ok(scored
        .into_iter()
        .map(|(project, m)| MatchingProject {
            project: Project(project),
            score: m.score,
            explanation: MatchExplanation::from(&m.explanation),
        })
        .collect())
}

/// Projects by instruments, every pair scored or excluded.
#[derive(Debug)]
pub(crate) struct Matrix {
    pub projects: Vec<ProjectRow>,
    pub instruments: Vec<InstrumentRow>,
    /// `cells[p][i]`: project `p` against instrument `i`.
    pub cells: Vec<Vec<Result<Match, ExclusionRule>>>,
}

fn distinct_ids(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty() && seen.insert(id.clone()))
        .collect()
}

/// The matrix of the caller's tenant's projects `project_ids` (all of them when `None`) by the
/// instruments `instrument_ids` (every instrument open now, soonest deadline first, when
/// `None`), in the order given. An id that is not one of the tenant's projects, or not an
/// instrument the caller can see, is NOT_FOUND.
pub(crate) async fn match_matrix(
    api: &Api,
    user: &User,
    project_ids: Option<&[String]>,
    instrument_ids: Option<&[String]>,
) -> Result<Matrix, ApiError> {
    let projects = match project_ids {
        None => read::projects(&api.db, &user.tenant).await?,
        Some(ids) => {
            let ids = distinct_ids(ids);
            if ids.len() > MAX_MATRIX_PROJECTS {
                return Err(ApiError::field(
                    "projectIds",
                    format!("at most {MAX_MATRIX_PROJECTS} projects"),
                ));
            }
            let found = read::projects_by_ids(&api.db, &user.tenant, &ids).await?;
            let mut ordered = Vec::with_capacity(ids.len());
            for id in &ids {
                match found.iter().find(|p| &p.id == id) {
                    Some(p) => ordered.push(p.clone()),
                    None => {
                        return Err(ApiError::new(
                            Code::NotFound,
                            format!("no such project: {id}"),
                        ));
                    }
                }
            }
            ordered
        }
    };
    if projects.len() > MAX_MATRIX_PROJECTS {
        return Err(ApiError::field(
            "projectIds",
            format!("your tenant has more than {MAX_MATRIX_PROJECTS} projects: name them"),
        ));
    }
    let viewer = Viewer::member_of(user.tenant.clone());
    let instruments = match instrument_ids {
        None => open_instruments(api, &viewer).await?,
        Some(ids) => {
            let ids = distinct_ids(ids);
            if ids.len() > MAX_MATRIX_INSTRUMENTS {
                return Err(ApiError::field(
                    "instrumentIds",
                    format!("at most {MAX_MATRIX_INSTRUMENTS} instruments"),
                ));
            }
            let mut rows = Vec::with_capacity(ids.len());
            for id in &ids {
                match catalogue::instrument(&api.db, &viewer, id).await? {
                    Some(row) => rows.push(row),
                    None => {
                        return Err(ApiError::new(
                            Code::NotFound,
                            format!("no such instrument: {id}"),
                        ));
                    }
                }
            }
            rows
        }
    };
    let profiles = instruments
        .iter()
        .map(instrument_profile)
        .collect::<Result<Vec<_>, _>>()?;
    let now = api.clock.now();
    let mut cells = Vec::with_capacity(projects.len());
    for project in &projects {
        let profile = project.match_profile()?;
        cells.push(
            profiles
                .iter()
                .map(|i| {
                    ri_matching::score(&api.matching_weights, &profile, i, now).map_err(|e| e.rule)
                })
                .collect(),
        );
    }
    Ok(Matrix {
        projects,
        instruments,
        cells,
    })
}

/// Every instrument open now (at most [`MAX_MATRIX_INSTRUMENTS`]), soonest deadline first.
async fn open_instruments(api: &Api, viewer: &Viewer) -> Result<Vec<InstrumentRow>, ApiError> {
    let filter = catalogue::InstrumentFilter {
        statuses: vec![DomainInstrumentStatus::Open],
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = catalogue::search_instruments(
            &api.db,
            viewer,
            &filter,
            catalogue::InstrumentSort::DeadlineSoonest,
            catalogue::read::MAX_PAGE,
            after.as_deref(),
        )
        .await?;
        rows.extend(page.items);
        if rows.len() > MAX_MATRIX_INSTRUMENTS {
            return Err(ApiError::field(
                "instrumentIds",
                format!("more than {MAX_MATRIX_INSTRUMENTS} instruments are open: name them"),
            ));
        }
        match (page.has_next_page, page.end_cursor) {
            (true, Some(cursor)) => after = Some(cursor),
            _ => return Ok(rows),
        }
    }
}

impl From<Matrix> for MatchMatrix {
    fn from(m: Matrix) -> Self {
        let rows = m
            .projects
            .into_iter()
            .zip(m.cells)
            .map(|(project, cells)| MatchMatrixRow {
                project: Project(project),
                cells: cells
                    .iter()
                    .zip(&m.instruments)
                    .map(|(cell, instrument)| match cell {
                        Ok(found) => MatchMatrixCell {
                            instrument_id: ID(instrument.id.clone()),
                            score: Some(found.score),
                            excluded_by: None,
                            reason: None,
                            explanation: Some(MatchExplanation::from(&found.explanation)),
                        },
                        Err(rule) => MatchMatrixCell {
                            instrument_id: ID(instrument.id.clone()),
                            score: None,
                            excluded_by: Some(MatchExclusionRule::of(rule)),
                            reason: Some(rule.to_string()),
                            explanation: None,
                        },
                    })
                    .collect(),
            })
            .collect();
        MatchMatrix {
            instruments: m.instruments.into_iter().map(Instrument).collect(),
            rows,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

fn matches_filter(project: &ProjectRow, filter: &ProjectFilter, wanted: FeatureSet) -> bool {
    if let Some(text) = filter.text.as_deref() {
        let haystack =
            format!("{} {} {}", project.acronym, project.title, project.summary).to_lowercase();
        if !text
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
        {
            return false;
        }
    }
    if !wanted.is_empty() {
        let ok = match filter.feature_match {
            FeatureMatch::Any => project.features.intersects(wanted),
            FeatureMatch::All => wanted.is_subset(project.features),
        };
        if !ok {
            return false;
        }
    }
    filter.stages.is_empty()
        || project
            .stage
            .is_some_and(|s| filter.stages.contains(&ProjectStage::from(s)))
}

async fn projects(
    ctx: &Context<'_>,
    filter: ProjectFilter,
    first: u32,
    after: Option<String>,
) -> Result<ProjectConnection, ApiError> {
    let user = reader(principal(ctx))?;
    if filter
        .text
        .as_ref()
        .is_some_and(|t| t.chars().count() > 200)
    {
        return Err(ApiError::field("filter.text", "at most 200 characters"));
    }
    let wanted = features("filter.features", &filter.features)?;
    let api = ctx.data_unchecked::<Api>();
    let all: Vec<ProjectRow> = read::projects(&api.db, &user.tenant)
        .await?
        .into_iter()
        .filter(|p| matches_filter(p, &filter, wanted))
        .collect();
    let start = match after {
        None => 0,
        Some(cursor) => {
            all.iter()
                .position(|p| p.id == cursor)
                .ok_or_else(|| ApiError::field("after", "not a cursor of this list"))?
                + 1
        }
    };
    let total_count = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let page: Vec<ProjectRow> = all
        .into_iter()
        .skip(start)
        .take(first as usize + 1)
        .collect();
    let has_next_page = page.len() > first as usize;
    let nodes: Vec<Project> = page.into_iter().take(first as usize).map(Project).collect();
    Ok(ProjectConnection {
        page_info: PageInfo {
            has_next_page,
            end_cursor: nodes.last().map(|p| p.0.id.clone()),
        },
        nodes,
        total_count,
    })
}

async fn feature_gaps(
    ctx: &Context<'_>,
    tenant: Option<String>,
) -> Result<Vec<FeatureGap>, ApiError> {
    let user = reader(principal(ctx))?;
    let tenant = match tenant {
        None => user.tenant.clone(),
        Some(raw) => {
            let slug =
                TenantSlug::parse(&raw).map_err(|e| ApiError::field("tenant", e.to_string()))?;
            if slug != user.tenant && !user.has_role(Role::PlatformAdmin) {
                return Err(ApiError::forbidden(
                    "only your own tenant's feature gaps (or, for a platform admin, any tenant's)",
                ));
            }
            slug
        }
    };
    let api = ctx.data_unchecked::<Api>();
    Ok(read::feature_needs(&api.db, &tenant)
        .await?
        .into_iter()
        .map(|n| FeatureGap {
            feature: Feature(n.feature),
            projects: n.projects,
            open_instruments: n.open_instruments,
        })
        .collect())
}

/// Projects, their matches and the feature gaps: queries.
#[derive(Debug, Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// Your tenant's projects, by acronym; `after` is the previous page's `endCursor`.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProjectFilter>,
        #[graphql(desc = "Default 50, at most 100.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ProjectConnection> {
        let first = super::query::first(first, 50)?;
        Ok(projects(ctx, filter.unwrap_or_default(), first, after).await?)
    }

    /// One of your tenant's projects; null for an unknown id or another tenant's project.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Project>> {
        let user = reader(principal(ctx))?;
        let Ok(id) = project_id(id.as_str()) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let row = read::project(&api.db, &user.tenant, &id)
            .await
            .map_err(ApiError::from)?;
        Ok(row.map(Project))
    }

    /// The features your tenant's projects declare, in taxonomy order, each with how many of
    /// them need it and how many instruments open now fund it: what curators should look
    /// for. `tenant` (default: yours) may name another tenant for platform admins only.
    async fn feature_gaps(
        &self,
        ctx: &Context<'_>,
        tenant: Option<String>,
    ) -> async_graphql::Result<Vec<FeatureGap>> {
        Ok(feature_gaps(ctx, tenant).await?)
    }

    /// Your tenant's projects (rows) by instruments (columns), each cell the score or the rule
    /// that excludes the pair. Default rows: all your projects, by acronym; default columns:
    /// every instrument open now, soonest deadline first (at most 200). Ids in the order given;
    /// an unknown one is NOT_FOUND. Also a CSV download: `/exports/match-matrix.csv`.
    async fn match_matrix(
        &self,
        ctx: &Context<'_>,
        project_ids: Option<Vec<ID>>,
        instrument_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<MatchMatrix> {
        let user = reader(principal(ctx))?;
        let api = ctx.data_unchecked::<Api>();
        let ids = |ids: Option<Vec<ID>>| ids.map(|v| v.into_iter().map(|i| i.0).collect());
        let project_ids: Option<Vec<String>> = ids(project_ids);
        let instrument_ids: Option<Vec<String>> = ids(instrument_ids);
        let matrix =
            match_matrix(api, user, project_ids.as_deref(), instrument_ids.as_deref()).await?;
        Ok(matrix.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

async fn change(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i64>,
    command: impl FnOnce() -> Result<ProjectCommand, ApiError>,
    recorded: Option<Uuid>,
) -> Result<ProjectChange, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let user = writer(principal(ctx), &WRITE_ROLES, "changing projects")?;
    let command = command()?;
    let expected = super::mutation::expected(expected_version)?;
    let id = project_id(id.as_str())?;
    let v = execute(api, user, &id, expected, command).await?;
    Ok(ProjectChange {
        id: ID(id),
        version: version(v),
        recorded_id: recorded.map(|r| ID(r.to_string())),
    })
}

/// Projects: mutations, for the tenant's follow-up managers (and tenant admins).
#[derive(Debug, Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Registers a funded project of your tenant; declare its features next.
    async fn register_project(
        &self,
        ctx: &Context<'_>,
        input: RegisterProjectInput,
    ) -> async_graphql::Result<ProjectChange> {
        let api = ctx.data_unchecked::<Api>();
        let user = writer(principal(ctx), &WRITE_ROLES, "registering projects")?;
        let details = input.parse().map_err(ApiError::from)?;
        // A suspended tenant hears so before it hears about its acronyms.
        app(api)
            .authorise(&caller(user), &policy::CHANGE_PROJECTS, &user.tenant)
            .await
            .map_err(ApiError::from)?;
        let taken = read::projects(&api.db, &user.tenant)
            .await
            .map_err(ApiError::from)?
            .iter()
            .any(|p| p.acronym.to_lowercase() == details.acronym.as_str().to_lowercase());
        if taken {
            return Err(ApiError::field(
                "acronym",
                format!(
                    "your tenant already has a project {}",
                    details.acronym.as_str()
                ),
            )
            .into());
        }
        let id = Uuid::now_v7().to_string();
        let command = ProjectCommand::Register {
            tenant: user.tenant.clone(),
            details,
        };
        let v = execute(api, user, &id, Some(0), command).await?;
        Ok(ProjectChange {
            id: ID(id),
            version: version(v),
            recorded_id: None,
        })
    }

    /// Changes the given details; the history records old and new values.
    async fn revise_project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseProjectInput,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::Revise {
                patch: input.parse()?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Adds features (taxonomy codes such as T1, D2).
    async fn declare_project_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::DeclareFeatures {
                features: self::features("features", &features)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Removes features.
    async fn retract_project_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RetractFeatures {
                features: self::features("features", &features)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Where else the project applies (`environmental protection, construction`), as the whole
    /// new text; empty clears it.
    async fn note_project_applications_beyond_security(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        applications: String,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::NoteApplicationsBeyondSecurity {
                applications: ShortText::parse("applications", &applications)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }

    /// Records a success milestone; `recordedId` is its id.
    async fn record_project_milestone(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: MilestoneInput,
    ) -> async_graphql::Result<ProjectChange> {
        let milestone = Uuid::now_v7();
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RecordMilestone {
                id: milestone,
                criterion: input.criterion.into(),
                date: input.date,
                description: MilestoneDescription::parse("description", &input.description)?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(milestone)).await?)
    }

    /// Records an application to a funding instrument; `recordedId` is its id. One recorded as
    /// AWARDED also records its RECOGNITION milestone.
    async fn record_funding_application(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: FundingApplicationInput,
    ) -> async_graphql::Result<ProjectChange> {
        let api = ctx.data_unchecked::<Api>();
        // Checked before the catalogue is asked for the instrument's name.
        writer(principal(ctx), &WRITE_ROLES, "changing projects")?;
        let instrument_id = input
            .instrument_id
            .as_ref()
            .map(|i| InstrumentRef::parse_id("instrumentId", i.as_str()))
            .transpose()
            .map_err(ApiError::from)?;
        let instrument_name = match (&input.instrument_name, &instrument_id) {
            (Some(name), _) => Title::parse("instrumentName", name).map_err(ApiError::from)?,
            (None, Some(instrument)) => {
                let viewer = super::query::viewer(ctx);
                let row = catalogue::instrument(&api.db, &viewer, instrument.as_str())
                    .await
                    .map_err(ApiError::from)?;
                let Some(row) = row else {
                    return Err(ApiError::field(
                        "instrumentName",
                        "give the instrument's name: the catalogue has no such instrument",
                    )
                    .into());
                };
                Title::parse("instrumentName", &row.title).map_err(ApiError::from)?
            }
            (None, None) => {
                return Err(ApiError::field(
                    "instrumentName",
                    "give instrumentName or instrumentId",
                )
                .into());
            }
        };
        let application = Uuid::now_v7();
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::RecordFundingApplication {
                id: application,
                instrument_id,
                instrument_name,
                status: input.status.into(),
                date: input.date,
                amount: money(input.amount.as_ref())?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(application)).await?)
    }

    /// Moves a funding application forward; AWARDED also records its RECOGNITION milestone.
    async fn change_funding_application_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        application_id: ID,
        input: FundingApplicationStatusInput,
    ) -> async_graphql::Result<ProjectChange> {
        let application = Uuid::parse_str(application_id.as_str())
            .map_err(|_| ApiError::not_found("funding application"))?;
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::UpdateFundingApplication {
                id: application,
                status: input.status.into(),
                date: input.date,
                amount: money(input.amount.as_ref())?,
                evidence_link: evidence(input.evidence_link.as_deref())?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, Some(application)).await?)
    }

    /// Sets the score (0 to 1) from which a newly matching instrument is notified.
    async fn set_project_match_threshold(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        match_threshold: f64,
    ) -> async_graphql::Result<ProjectChange> {
        let command = || -> Result<ProjectCommand, ApiError> {
            Ok(ProjectCommand::SetMatchThreshold {
                threshold: MatchThreshold::parse("matchThreshold", match_threshold)?,
            })
        };
        Ok(change(ctx, &id, expected_version, command, None).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn inputs_name_the_offending_field() {
        let input = RegisterProjectInput {
            acronym: "C-SHIELD".into(),
            title: "Shield".into(),
            open_call: None,
            stage: Some(ProjectStage::Demonstrator),
            security_domain: None,
            consortium: vec![
                ConsortiumMemberInput {
                    name: "Acme".into(),
                    country: "LT".into(),
                },
                ConsortiumMemberInput {
                    name: "acme".into(),
                    country: "DK".into(),
                },
            ],
            lead_country: None,
            summary: String::new(),
        };
        assert_eq!(input.parse().map(|_| ()).unwrap_err().field, "consortium");
        let bad_country = RegisterProjectInput {
            consortium: vec![ConsortiumMemberInput {
                name: "Acme".into(),
                country: "XX".into(),
            }],
            ..input.clone()
        };
        assert_eq!(
            bad_country.parse().map(|_| ()).unwrap_err().field,
            "consortium.country"
        );
        let ok = RegisterProjectInput {
            consortium: vec![],
            lead_country: Some("lt".into()),
            ..input
        };
        let details = ok.parse().unwrap();
        assert_eq!(details.lead_country.unwrap().as_str(), "LT");

        let negative = MoneyInput {
            amount: -5,
            currency: "EUR".into(),
        };
        assert_eq!(money(Some(&negative)).unwrap_err().field, "amount");
        let currency = MoneyInput {
            amount: 5,
            currency: "EURO".into(),
        };
        assert_eq!(money(Some(&currency)).unwrap_err().field, "amount.currency");
        assert_eq!(
            min_score_of(Some(1.5)).unwrap_err().field.as_deref(),
            Some("minScore")
        );
        assert_eq!(min_score_of(None).unwrap(), 0.0);
    }

    #[test]
    fn a_revision_clears_with_null_and_keeps_what_is_undefined() {
        let patch = ReviseProjectInput {
            open_call: MaybeUndefined::Null,
            lead_country: MaybeUndefined::Value("DK".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(patch.open_call, Some(None));
        assert_eq!(patch.stage, None);
        assert_eq!(
            patch.lead_country.flatten().map(|c| c.to_string()),
            Some("DK".to_owned())
        );
    }

    #[test]
    fn exclusion_rules_have_stable_codes() {
        let rule = ExclusionRule::CallNotOpen {
            status: MatchStatus::Closed,
        };
        assert_eq!(MatchExclusionRule::of(&rule).code(), "CALL_NOT_OPEN");
        assert_eq!(
            MatchExclusionRule::of(&ExclusionRule::Draft).code(),
            "DRAFT"
        );
    }

    #[test]
    fn ids_are_deduplicated_in_order() {
        let ids = ["b", " a", "b", "", "c"].map(String::from);
        assert_eq!(distinct_ids(&ids), vec!["b", "a", "c"]);
    }
}
