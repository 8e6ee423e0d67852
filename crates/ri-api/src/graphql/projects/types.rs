//! Enums and object types: projects, their milestones, applications and matches.

use super::*;

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

pub(super) fn by_category(set: FeatureSet) -> Vec<FeaturesOfCategory> {
    ri_taxonomy::Category::ALL
        .into_iter()
        .filter_map(|category| {
            let part = set.in_category(category);
            (!part.is_empty()).then(|| FeaturesOfCategory {
                category: Category(category),
                features: crate::graphql::objects::features(part),
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
                    features: crate::graphql::objects::features(p.features),
                })
                .collect()
        };
        MatchExplanation {
            matched: parts(&e.matched),
            unmatched: parts(&e.unmatched),
            stage_features: crate::graphql::objects::features(e.stage_features),
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
        crate::graphql::objects::features(self.0.features)
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
    /// The tenant it belongs to (another tenant's when it is shared with yours).
    async fn tenant(&self) -> String {
        self.0.tenant.to_string()
    }
    /// The tenants your tenant shares it with (empty for another tenant's project).
    async fn shared_with(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::sharing::ProjectShare>> {
        let api = ctx.data_unchecked::<Api>();
        let user = reader(principal(ctx))?;
        Ok(super::sharing::shares_of(api, user, &self.0).await?)
    }
    /// The practitioners' feedback on it from demo events: of your tenant's clusters, and, for
    /// your own project or one shared with your tenant, of every cluster that holds it.
    async fn feedback(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::sharing::ProjectFeedback>> {
        let api = ctx.data_unchecked::<Api>();
        let user = reader(principal(ctx))?;
        Ok(super::sharing::feedback_of(api, user, &self.0).await?)
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
        let n = crate::graphql::query::first(first, DEFAULT_MATCHES)? as usize;
        let min_score = min_score_of(min_score)?;
        let viewer = crate::graphql::query::viewer(ctx);
        Ok(matches_of(api, &viewer, &self.0, n, min_score).await?)
    }
}
