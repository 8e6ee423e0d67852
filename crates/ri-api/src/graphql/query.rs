//! Queries. Every read goes through `ri_projections::catalogue::read`, which applies the
//! viewer's tenant under row-level security: what a caller may not see is not there for it.

use async_graphql::{Context, ID, InputObject, Object};
use ri_domain::TenantSlug;
use ri_domain::values::{CountryCode, SearchText};
use ri_domain::when;
use ri_projections::catalogue::{self as read, InstrumentFilter as ReadFilter, ReadError, Viewer};
use time::OffsetDateTime;

use super::enums::{CoverLevel, FeatureMatch, InstrumentKind, InstrumentSort, InstrumentStatus};
use super::error::ApiError;
use super::inputs::features;
use super::objects::{AuditConnection, Instrument, Me, Taxonomy, Tenant};
use super::{Api, principal};

/// Page sizes beyond this are capped.
pub(crate) const MAX_FIRST: i32 = 100;

#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct InstrumentFilter {
    /// Words to find in title, programme and summary.
    pub text: Option<String>,
    #[graphql(default)]
    pub cover_levels: Vec<CoverLevel>,
    /// ISO 3166-1 alpha-2 codes.
    #[graphql(default)]
    pub countries: Vec<String>,
    #[graphql(default)]
    pub kinds: Vec<InstrumentKind>,
    /// Taxonomy codes, e.g. T1, D2.
    #[graphql(default)]
    pub features: Vec<String>,
    #[graphql(default)]
    pub feature_match: FeatureMatch,
    /// Default: OPEN only.
    #[graphql(default)]
    pub statuses: Vec<InstrumentStatus>,
    pub deadline_from: Option<OffsetDateTime>,
    pub deadline_to: Option<OffsetDateTime>,
    /// A tenant's slug: only its instruments.
    pub tenant: Option<String>,
}

impl InstrumentFilter {
    /// Every field checked: text of at most 200 characters without control characters (tabs
    /// and line breaks count as spaces; a NUL is refused, PostgreSQL cannot hold it), instants
    /// within the bounds of `ri_domain::when`: never a panic nor `INTERNAL` on any input.
    pub(crate) fn parse(self) -> Result<ReadFilter, ApiError> {
        let text = self
            .text
            .map(|t| t.replace(|c: char| c.is_whitespace() && c.is_control(), " "))
            .filter(|t| !t.trim().is_empty())
            .map(|t| SearchText::parse("filter.text", &t).map(|t| t.as_str().to_owned()))
            .transpose()?;
        let instant =
            |field, at: Option<OffsetDateTime>| at.map(|at| when::instant(field, at)).transpose();
        Ok(ReadFilter {
            text,
            cover_levels: self.cover_levels.into_iter().map(Into::into).collect(),
            countries: self
                .countries
                .iter()
                .map(|c| CountryCode::parse("filter.countries", c))
                .collect::<Result<_, _>>()?,
            kinds: self.kinds.into_iter().map(Into::into).collect(),
            features: features("filter.features", &self.features)?,
            feature_match: match self.feature_match {
                FeatureMatch::Any => read::FeatureMatch::Any,
                FeatureMatch::All => read::FeatureMatch::All,
            },
            statuses: self.statuses.into_iter().map(Into::into).collect(),
            deadline_from: instant("filter.deadlineFrom", self.deadline_from)?,
            deadline_to: instant("filter.deadlineTo", self.deadline_to)?,
            tenant: self
                .tenant
                .map(|t| {
                    TenantSlug::parse(&t)
                        .map_err(|e| ApiError::field("filter.tenant", e.to_string()))
                })
                .transpose()?,
        })
    }
}

/// Whether `id` can be an aggregate's id at all: at most 200 characters, no control characters.
pub(crate) fn plausible_id(id: &str) -> bool {
    id.len() <= 200 && !id.chars().any(char::is_control)
}

pub(super) fn viewer(ctx: &Context<'_>) -> Viewer {
    let p = principal(ctx);
    Viewer {
        tenant: p.tenant().cloned(),
        platform_admin: p.is_platform_admin(),
    }
}

pub(super) fn first(first: Option<i32>, default: i32) -> Result<u32, ApiError> {
    let n = first.unwrap_or(default);
    if n < 0 {
        return Err(ApiError::field("first", "must not be negative"));
    }
    Ok(n.min(MAX_FIRST) as u32)
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::BadInput { field, reason } => ApiError::field(field, reason),
            ReadError::Database(e) => e.into(),
            other => ApiError::internal(&other),
        }
    }
}

/// Taxonomy, instruments, tenants, history and the caller.
#[derive(Debug, Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// The SecurIT feature taxonomy.
    async fn taxonomy(&self) -> Taxonomy {
        Taxonomy
    }

    /// Searches instruments. Without `statuses`, only OPEN ones; drafts only of your tenant.
    /// Facets are counted "sideways": each facet with its own selection removed, so choosing a
    /// country still shows what the other countries would give; features chosen with ALL are
    /// counted within the result, since choosing one more narrows it (a search for drafts counts
    /// every facet under the full filter). `consistentWith`: a mutation's `logPosition` (the response's
    /// `extensions.logPosition`); the search answers once it reflects that mutation, or
    /// UNAVAILABLE after a few seconds. `asOf`: the search as it was answered at that moment
    /// (not in the future): what was published then, with the fields, status (an open call
    /// whose deadline had passed by then reads CLOSED) and curator it had then; built from
    /// the log for that moment, so the first page can take seconds (UNAVAILABLE when it
    /// cannot be built in time; the next pages reuse it); not for drafts.
    #[allow(clippy::too_many_arguments)] // a resolver's arguments are the field's
    async fn instruments(
        &self,
        ctx: &Context<'_>,
        filter: Option<InstrumentFilter>,
        #[graphql(desc = "Default: DEADLINE_SOONEST.")] sort: Option<InstrumentSort>,
        first: Option<i32>,
        after: Option<String>,
        consistent_with: Option<String>,
        as_of: Option<OffsetDateTime>,
    ) -> async_graphql::Result<super::search_page::SearchPage> {
        let filter = filter.unwrap_or_default().parse()?;
        let sort = match sort.unwrap_or_default() {
            InstrumentSort::DeadlineSoonest => read::InstrumentSort::DeadlineSoonest,
            InstrumentSort::RecentlyUpdated => read::InstrumentSort::RecentlyUpdated,
            InstrumentSort::Relevance => read::InstrumentSort::Relevance,
        };
        let at = super::search::position(consistent_with.as_deref())?;
        let api = ctx.data_unchecked::<Api>();
        let first = self::first(first, 20)?;
        let page = match as_of {
            Some(as_of) => {
                let as_of = when::instant("asOf", as_of).map_err(ApiError::from)?;
                super::search::page_as_of(api, filter, sort, first, after, at, as_of).await?
            }
            None => super::search::page(api, &viewer(ctx), filter, sort, first, after, at).await?,
        };
        Ok(super::search_page::SearchPage(page))
    }

    /// One instrument, if you may see it. `consistentWith`: a mutation's `logPosition`; the
    /// answer waits until it reflects that mutation (or UNAVAILABLE after a few seconds).
    /// `asOf`: the instrument as it stood at that moment (not in the future), folded from its
    /// history (`version` and `updatedAt` are its last change before then; null if it did not
    /// exist yet, or was not yet published and is not yours).
    async fn instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        consistent_with: Option<String>,
        as_of: Option<OffsetDateTime>,
    ) -> async_graphql::Result<Option<Instrument>> {
        let at = super::search::position(consistent_with.as_deref())?;
        if !plausible_id(id.as_str()) {
            // No instrument has such an id (and PostgreSQL refuses a NUL in text).
            return Ok(None);
        }
        let api = ctx.data_unchecked::<Api>();
        if let Some(at) = at {
            super::search::projection_reached(&api.db, "catalogue", at, api.consistency_wait)
                .await?;
        }
        let row = match as_of {
            Some(at) => {
                let at = past(api, at)?;
                ri_projections::catalogue::instrument_as_of(
                    &api.db,
                    &api.log,
                    &viewer(ctx),
                    id.as_str(),
                    at,
                )
                .await
            }
            None => read::instrument(&api.db, &viewer(ctx), id.as_str()).await,
        }
        .map_err(ApiError::from)?;
        Ok(row.map(Instrument))
    }

    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tenant>> {
        let api = ctx.data_unchecked::<Api>();
        let rows = read::tenants(&api.db).await.map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Tenant).collect())
    }

    /// One tenant of the directory. `asOf`: as it stood at that moment (not in the future),
    /// folded from its history (null before it was registered).
    async fn tenant(
        &self,
        ctx: &Context<'_>,
        slug: String,
        as_of: Option<OffsetDateTime>,
    ) -> async_graphql::Result<Option<Tenant>> {
        let Ok(slug) = TenantSlug::parse(&slug) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let row = match as_of {
            Some(at) => {
                let at = past(api, at)?;
                ri_projections::catalogue::tenant_as_of(&api.db, &api.log, &slug, at).await
            }
            None => read::tenant(&api.db, &slug).await,
        }
        .map_err(ApiError::from)?;
        Ok(row.map(Tenant))
    }

    /// The history of an instrument or tenant of yours, oldest first: who changed what, when,
    /// with old and new values.
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        aggregate_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AuditConnection> {
        if principal(ctx).user().is_none() {
            return Err(ApiError::unauthenticated().into());
        }
        if !plausible_id(aggregate_id.as_str()) {
            return Err(ApiError::field("aggregateId", "not an id").into());
        }
        let api = ctx.data_unchecked::<Api>();
        let page = read::audit_trail(
            &api.db,
            &viewer(ctx),
            aggregate_id.as_str(),
            self::first(first, 50)?,
            after.as_deref(),
        )
        .await
        .map_err(ApiError::from)?;
        Ok(page.into())
    }

    /// Who you are, as the API sees you.
    async fn me(&self, ctx: &Context<'_>) -> Me {
        match principal(ctx).user() {
            Some(user) => Me {
                authenticated: true,
                subject: Some(user.subject.clone()),
                tenant: Some(user.tenant.to_string()),
                roles: user.roles.iter().map(|r| (*r).into()).collect(),
            },
            None => Me {
                authenticated: false,
                subject: None,
                tenant: None,
                roles: vec![],
            },
        }
    }
}

#[cfg(test)]
#[path = "query_props.rs"]
mod props;

/// An `asOf` argument: a moment of the log, so not in the future (BAD_USER_INPUT on `asOf`).
pub(crate) fn past(api: &Api, at: OffsetDateTime) -> Result<OffsetDateTime, ApiError> {
    let at = when::instant("asOf", at)?;
    if at > api.clock.now() {
        return Err(ApiError::field(
            "asOf",
            "a moment of the past: the log holds nothing later than now",
        ));
    }
    Ok(at)
}
