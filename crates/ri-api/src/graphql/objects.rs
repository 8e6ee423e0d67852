//! GraphQL object types over the read models and the taxonomy.

use async_graphql::{ComplexObject, Object, SimpleObject};
use ri_taxonomy::{Category as TaxCategory, FeatureCode, FeatureSet};

/// A feature of the SecurIT taxonomy (Annex 1), such as `T1` "AI (ML)".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Feature(pub FeatureCode);

#[Object]
impl Feature {
    async fn code(&self) -> &'static str {
        self.0.as_str()
    }
    async fn label(&self) -> &'static str {
        self.0.feature().label
    }
    /// The category's id, e.g. TECHNIQUE.
    async fn category(&self) -> &'static str {
        self.0.category().id()
    }
}

pub(crate) fn features(set: FeatureSet) -> Vec<Feature> {
    set.iter().map(Feature).collect()
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Category(pub TaxCategory);

#[Object]
impl Category {
    async fn id(&self) -> &'static str {
        self.0.id()
    }
    async fn label(&self) -> &'static str {
        self.0.label()
    }
    async fn prefix(&self) -> String {
        self.0.prefix().to_string()
    }
    async fn description(&self) -> &'static str {
        self.0.description()
    }
    async fn features(&self) -> Vec<Feature> {
        FeatureCode::all()
            .filter(|f| f.category() == self.0)
            .map(Feature)
            .collect()
    }
}

/// The feature taxonomy projects and instruments are described with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Taxonomy;

#[Object]
impl Taxonomy {
    async fn categories(&self) -> Vec<Category> {
        TaxCategory::ALL.into_iter().map(Category).collect()
    }
    async fn features(&self) -> Vec<Feature> {
        FeatureCode::all().map(Feature).collect()
    }
}

/// Who is asking.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub(crate) struct Me {
    pub authenticated: bool,
    pub subject: Option<String>,
    pub tenant: Option<String>,
    pub roles: Vec<super::enums::Role>,
}

#[ComplexObject]
impl Me {
    /// Whether the caller may curate its tenant's instruments.
    async fn can_curate(&self) -> bool {
        self.roles.iter().any(|r| {
            matches!(
                r,
                super::enums::Role::Curator | super::enums::Role::TenantAdmin
            )
        })
    }
}

/// A funding instrument as the catalogue shows it.
#[derive(Debug, Clone)]
pub(crate) struct Instrument(pub ri_projections::catalogue::InstrumentRow);

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Funding {
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub currency: String,
}

/// The tenant that curates an instrument.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Curator {
    pub slug: String,
    pub name: Option<String>,
    /// A suspended tenant's published instruments stay visible, marked.
    pub suspended: bool,
}

#[Object]
impl Instrument {
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.0.id.clone())
    }
    /// Pass as `expectedVersion` to change it.
    async fn version(&self) -> i64 {
        self.0.version
    }
    async fn curator(&self) -> Curator {
        Curator {
            slug: self.0.tenant.to_string(),
            name: self.0.tenant_name.clone(),
            suspended: self.0.tenant_suspended,
        }
    }
    async fn status(&self) -> super::enums::InstrumentStatus {
        self.0.status.into()
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn kind(&self) -> super::enums::InstrumentKind {
        self.0.kind.into()
    }
    async fn cover_level(&self) -> super::enums::CoverLevel {
        self.0.cover_level.into()
    }
    async fn countries(&self) -> Vec<String> {
        self.0.countries.iter().map(ToString::to_string).collect()
    }
    async fn programme(&self) -> Option<&str> {
        self.0.programme.as_deref()
    }
    async fn link(&self) -> Option<&str> {
        self.0.link.as_deref()
    }
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn target_organisations(&self) -> Vec<super::enums::TargetOrganisation> {
        self.0
            .target_organisations
            .iter()
            .map(|t| (*t).into())
            .collect()
    }
    async fn funding(&self) -> Option<Funding> {
        self.0.funding.as_ref().map(|f| Funding {
            min: f.min.and_then(|v| i64::try_from(v).ok()),
            max: f.max.and_then(|v| i64::try_from(v).ok()),
            currency: f.currency.as_str().to_owned(),
        })
    }
    async fn periodicity(&self) -> Option<super::enums::Periodicity> {
        self.0.periodicity.map(Into::into)
    }
    async fn languages(&self) -> Vec<String> {
        self.0
            .languages
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect()
    }
    async fn features(&self) -> Vec<Feature> {
        features(self.0.features)
    }
    async fn opening_date(&self) -> Option<time::Date> {
        self.0.opening_date
    }
    async fn deadline(&self) -> Option<time::OffsetDateTime> {
        self.0.deadline
    }
    /// The IANA time zone the deadline was given in.
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    async fn updated_at(&self) -> time::OffsetDateTime {
        self.0.updated_at
    }
    async fn published_at(&self) -> Option<time::OffsetDateTime> {
        self.0.published_at
    }
    /// Your tenant's projects this instrument fits, best first, with why (see
    /// `Project.matches`); empty when signed out or without a projects role.
    async fn matching_projects(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Default 10, at most 100.")] first: Option<i32>,
        #[graphql(desc = "0 to 1; default 0.")] min_score: Option<f64>,
    ) -> async_graphql::Result<Vec<super::projects::MatchingProject>> {
        Ok(super::projects::matching_projects(ctx, &self.0, first, min_score).await?)
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct InstrumentEdge {
    pub cursor: String,
    pub node: Instrument,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeatureCount {
    pub feature: Feature,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct CountryCount {
    pub country: String,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct CoverLevelCount {
    pub cover_level: super::enums::CoverLevel,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct KindCount {
    pub kind: super::enums::InstrumentKind,
    pub count: i64,
}

/// How many instruments of the current result have each value.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct InstrumentFacets {
    pub features: Vec<FeatureCount>,
    pub countries: Vec<CountryCount>,
    pub cover_levels: Vec<CoverLevelCount>,
    pub kinds: Vec<KindCount>,
}

/// A page of instruments (Relay connection).
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct InstrumentConnection {
    pub edges: Vec<InstrumentEdge>,
    pub nodes: Vec<Instrument>,
    pub page_info: PageInfo,
    pub total_count: i64,
    pub facets: InstrumentFacets,
}

impl From<ri_projections::catalogue::InstrumentPage> for InstrumentConnection {
    fn from(page: ri_projections::catalogue::InstrumentPage) -> Self {
        let nodes: Vec<Instrument> = page.items.into_iter().map(Instrument).collect();
        let edges = nodes
            .iter()
            .zip(page.cursors)
            .map(|(n, cursor)| InstrumentEdge {
                cursor,
                node: n.clone(),
            })
            .collect();
        let f = page.facets;
        Self {
            edges,
            nodes,
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor: page.end_cursor,
            },
            total_count: page.total_count,
            facets: InstrumentFacets {
                features: f
                    .features
                    .into_iter()
                    .map(|(code, count)| FeatureCount {
                        feature: Feature(code),
                        count,
                    })
                    .collect(),
                countries: f
                    .countries
                    .into_iter()
                    .map(|(country, count)| CountryCount { country, count })
                    .collect(),
                cover_levels: f
                    .cover_levels
                    .into_iter()
                    .map(|(c, count)| CoverLevelCount {
                        cover_level: c.into(),
                        count,
                    })
                    .collect(),
                kinds: f
                    .kinds
                    .into_iter()
                    .map(|(k, count)| KindCount {
                        kind: k.into(),
                        count,
                    })
                    .collect(),
            },
        }
    }
}

/// A cluster organisation that curates instruments.
#[derive(Debug, Clone)]
pub(crate) struct Tenant(pub ri_projections::catalogue::TenantRow);

#[Object]
impl Tenant {
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> super::enums::TenantKind {
        self.0.kind.into()
    }
    async fn country(&self) -> String {
        self.0.country.to_string()
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn domains(&self) -> &[String] {
        &self.0.domains
    }
    async fn member_count(&self) -> Option<u32> {
        self.0.member_count
    }
    async fn suspended(&self) -> bool {
        self.0.status == ri_domain::tenant::TenantStatus::Suspended
    }
    async fn version(&self) -> i64 {
        self.0.version
    }
    /// The people this tenant granted roles, by subject, as its events say now (a grant or
    /// revocation shows at once). For the tenant's own admins and platform admins; anyone
    /// else: FORBIDDEN.
    async fn members(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<Member>> {
        super::tenant_manager(ctx, &self.0.slug)?;
        let api = ctx.data_unchecked::<super::Api>();
        let tenant = super::command::app(api)
            .tenant(&self.0.slug)
            .await
            .map_err(super::error::ApiError::from)?;
        let mut subjects: Vec<&str> = tenant.grants.iter().map(|(s, _)| s.as_str()).collect();
        subjects.dedup();
        Ok(subjects
            .into_iter()
            .map(|subject| Member {
                subject: subject.to_owned(),
                roles: tenant
                    .roles_of(subject)
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            })
            .filter(|m| !m.roles.is_empty())
            .collect())
    }
}

/// Someone a tenant granted roles.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Member {
    /// Who (the `sub` of their token).
    pub subject: String,
    /// What the tenant grants them.
    pub roles: Vec<super::enums::Role>,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One change in an aggregate's history.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct AuditEntry {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after this change.
    pub version: i64,
    pub event_type: String,
    pub actor: String,
    pub recorded_at: time::OffsetDateTime,
    pub changes: Vec<FieldChange>,
    /// The change as a sentence, where one helps ("deadline moved from … to …").
    pub summary: Option<String>,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct AuditConnection {
    pub nodes: Vec<AuditEntry>,
    pub page_info: PageInfo,
    pub total_count: i64,
}

impl From<ri_projections::catalogue::AuditPage> for AuditConnection {
    fn from(page: ri_projections::catalogue::AuditPage) -> Self {
        Self {
            nodes: page
                .items
                .into_iter()
                .map(|e| AuditEntry {
                    position: e.position,
                    aggregate_type: e.aggregate_type,
                    aggregate_id: e.aggregate_id,
                    version: e.sequence,
                    event_type: e.event_type,
                    actor: e.actor,
                    recorded_at: e.recorded_at,
                    changes: e
                        .changes
                        .into_iter()
                        .map(|c| FieldChange {
                            field: c.field,
                            old: c.old,
                            new: c.new,
                        })
                        .collect(),
                    summary: e.summary,
                })
                .collect(),
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor: page.end_cursor,
            },
            total_count: page.total_count,
        }
    }
}
