//! The read API over the catalogue, the tenant directory and the audit trail, for the GraphQL
//! layer.
//!
//! Every function that reads a table under row-level security runs in its own short, read-only,
//! repeatable-read transaction that first sets `app.tenant` to the viewer's tenant ('' when
//! anonymous) and `app.platform_admin`: the database, not the query, decides which drafts and
//! audit entries the viewer sees. Repeatable read gives a page, its total and its facets one
//! snapshot.

use ri_domain::instrument::{
    CoverLevel, InstrumentKind, InstrumentStatus, Periodicity, TargetOrganisation,
};
use ri_domain::tenant::{TenantKind, TenantStatus};
use ri_domain::values::{CountryCode, CurrencyCode, FundingRange, LanguageCode};
use ri_domain::{Role, TenantSlug};
use ri_taxonomy::{FeatureCode, FeatureSet};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};
use time::{Date, OffsetDateTime};

use super::codes::from_code;
use super::cursor::Cursor;
use super::search::{EFFECTIVE_STATUS, Order, Search};

/// Most items a page holds, whatever `first` asks for.
pub const MAX_PAGE: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Bad input, naming the argument (`after`, `text`): the API's `BAD_USER_INPUT`.
    #[error("{field}: {reason}")]
    BadInput { field: &'static str, reason: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A row the projections wrote does not read back: a bug, not bad input.
    #[error("stored {what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// Who is reading: anonymous (no tenant), a member of a tenant, or a platform admin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    pub tenant: Option<TenantSlug>,
    /// Sees every tenant's drafts and audit entries.
    pub platform_admin: bool,
}

impl Viewer {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn member_of(tenant: TenantSlug) -> Self {
        Self {
            tenant: Some(tenant),
            platform_admin: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeatureMatch {
    /// At least one of the features.
    #[default]
    Any,
    /// Every one of the features.
    All,
}

/// The public search's filter. Empty lists and `None` filter nothing, except `statuses`:
/// empty means open only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstrumentFilter {
    /// Web-search syntax (`"border control" -maritime`), over title, programme and summary.
    pub text: Option<String>,
    pub cover_levels: Vec<CoverLevel>,
    /// Instruments covering any of these countries.
    pub countries: Vec<CountryCode>,
    pub kinds: Vec<InstrumentKind>,
    pub features: FeatureSet,
    pub feature_match: FeatureMatch,
    /// Statuses as of now: an open call whose deadline has passed counts as closed.
    pub statuses: Vec<InstrumentStatus>,
    /// Instruments with a deadline at or after this instant.
    pub deadline_from: Option<OffsetDateTime>,
    /// Instruments with a deadline at or before this instant.
    pub deadline_to: Option<OffsetDateTime>,
    pub tenant: Option<TenantSlug>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InstrumentSort {
    /// Soonest deadline first; instruments without a deadline last.
    #[default]
    DeadlineSoonest,
    /// Most recently changed first.
    RecentlyUpdated,
    /// Best text match first (title over programme over summary); without a text, the same as
    /// `DeadlineSoonest`.
    Relevance,
}

/// One instrument as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentRow {
    pub id: String,
    pub tenant: TenantSlug,
    /// The curating tenant's name; `None` only while the tenant directory lags.
    pub tenant_name: Option<String>,
    /// The curating tenant is suspended: its instruments stay visible, marked.
    pub tenant_suspended: bool,
    /// The aggregate's version (its last event's sequence): the `expectedVersion` to send.
    pub version: i64,
    /// As of now: an open call whose deadline has passed reads as closed.
    pub status: InstrumentStatus,
    pub title: String,
    pub kind: InstrumentKind,
    pub cover_level: CoverLevel,
    pub countries: Vec<CountryCode>,
    pub programme: Option<String>,
    pub link: Option<String>,
    pub summary: String,
    pub target_organisations: Vec<TargetOrganisation>,
    pub funding: Option<FundingRange>,
    pub periodicity: Option<Periodicity>,
    pub languages: Vec<LanguageCode>,
    pub features: FeatureSet,
    pub opening_date: Option<Date>,
    pub deadline: Option<OffsetDateTime>,
    pub time_zone: Option<String>,
    pub drafted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The latest publication.
    pub published_at: Option<OffsetDateTime>,
}

/// Counts of the instruments matching the current filter (the whole result, not the page), by
/// value, most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub features: Vec<(FeatureCode, i64)>,
    pub countries: Vec<(String, i64)>,
    pub cover_levels: Vec<(CoverLevel, i64)>,
    pub kinds: Vec<(InstrumentKind, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentPage {
    pub items: Vec<InstrumentRow>,
    /// Each item's cursor, for `after` (Relay edges).
    pub cursors: Vec<String>,
    /// Instruments matching the filter, on every page.
    pub total_count: i64,
    pub facets: Facets,
    /// The cursor of the last item, for `after`.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    pub slug: TenantSlug,
    pub name: String,
    pub kind: TenantKind,
    pub country: CountryCode,
    pub website: Option<String>,
    pub domains: Vec<String>,
    pub member_count: Option<u32>,
    /// `Active` or `Suspended`.
    pub status: TenantStatus,
    /// The Tenant aggregate's version: the `expectedVersion` to send.
    pub version: i64,
    pub registered_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One field an event changed; values as people read them, `None` for "not set".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The event's position in the log.
    pub position: i64,
    pub tenant: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub actor: String,
    pub recorded_at: OffsetDateTime,
    pub changes: Vec<FieldChange>,
    /// What happened, in a sentence ("deadline moved from 2025-05-03 to 2025-05-17").
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// Oldest first.
    pub items: Vec<AuditEntry>,
    pub total_count: i64,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

/// A read-only transaction in which row-level security sees `viewer`.
async fn as_viewer(
    pool: &PgPool,
    viewer: &Viewer,
) -> Result<Transaction<'static, Postgres>, ReadError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    sqlx::query(
        "SELECT set_config('app.tenant', $1, true), set_config('app.platform_admin', $2, true), \
                set_config('app.projector', '', true)",
    )
    .bind(viewer.tenant.as_ref().map_or("", TenantSlug::as_str))
    .bind(if viewer.platform_admin { "on" } else { "" })
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

const INSTRUMENT_COLUMNS: &str = "c.id, c.tenant, c.version, c.title, c.kind, c.cover_level, \
     c.countries, c.programme, c.link, c.summary, c.target_organisations, c.funding_min, \
     c.funding_max, c.currency, c.periodicity, c.languages, c.features, c.opening_date, \
     c.deadline, c.time_zone, c.drafted_at, c.updated_at, c.published_at, \
     t.name AS tenant_name, coalesce(t.status = 'SUSPENDED', false) AS tenant_suspended";

fn instrument_select(qb: &mut QueryBuilder<Postgres>) {
    qb.push(INSTRUMENT_COLUMNS)
        .push(", ")
        .push(EFFECTIVE_STATUS)
        .push(" AS status");
}

/// The public instrument search: a page of `first` (at most [`MAX_PAGE`]) instruments after
/// the cursor `after`, with the total and the facets of the whole result.
pub async fn search_instruments(
    pool: &PgPool,
    viewer: &Viewer,
    filter: &InstrumentFilter,
    sort: InstrumentSort,
    first: u32,
    after: Option<&str>,
) -> Result<InstrumentPage, ReadError> {
    let search = Search::new(filter, sort)?;
    let after = after.map(Cursor::decode).transpose()?;
    let first = first.min(MAX_PAGE);

    let mut page = QueryBuilder::new("SELECT ");
    instrument_select(&mut page);
    page.push(search.sort_column());
    search.push_from(&mut page);
    page.push(" LEFT JOIN tenants t ON t.slug = c.tenant");
    search.push_where(&mut page);
    search.push_after(&mut page, after.as_ref())?;
    search.push_order(&mut page);
    page.push(" LIMIT ").push_bind(i64::from(first) + 1);

    let mut facets =
        QueryBuilder::new("WITH m AS (SELECT c.kind, c.cover_level, c.countries, c.feature_codes");
    search.push_from(&mut facets);
    search.push_where(&mut facets);
    facets.push(
        ") SELECT 'total'::text AS facet, ''::text AS value, count(*) AS n FROM m \
         UNION ALL SELECT 'feature', f, count(*) FROM m CROSS JOIN LATERAL unnest(m.feature_codes) \
             AS f GROUP BY f \
         UNION ALL SELECT 'country', x, count(*) FROM m CROSS JOIN LATERAL unnest(m.countries) \
             AS x GROUP BY x \
         UNION ALL SELECT 'cover_level', m.cover_level, count(*) FROM m GROUP BY m.cover_level \
         UNION ALL SELECT 'kind', m.kind, count(*) FROM m GROUP BY m.kind",
    );

    let mut tx = as_viewer(pool, viewer).await?;
    let rows = page.build().fetch_all(&mut *tx).await?;
    let counts: Vec<(String, String, i64)> = facets.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;

    let has_next_page = rows.len() > first as usize;
    let mut items = Vec::with_capacity(rows.len());
    let mut cursors = Vec::with_capacity(rows.len());
    for row in rows.iter().take(first as usize) {
        let item = decode_instrument(row)?;
        let cursor = match search.order {
            Order::Deadline => Cursor::Deadline {
                k: item.deadline,
                id: item.id.clone(),
            },
            Order::Updated => Cursor::Updated {
                k: item.updated_at,
                id: item.id.clone(),
            },
            Order::Relevance => Cursor::Relevance {
                k: row.try_get::<f32, _>("rank")?.to_bits(),
                id: item.id.clone(),
            },
        };
        cursors.push(cursor.encode());
        items.push(item);
    }
    let end_cursor = cursors.last().cloned();
    let (total_count, facets) = decode_facets(counts)?;
    Ok(InstrumentPage {
        items,
        cursors,
        total_count,
        facets,
        end_cursor,
        has_next_page,
    })
}

/// One instrument, if the viewer may see it (another tenant's draft is `None`).
pub async fn instrument(
    pool: &PgPool,
    viewer: &Viewer,
    id: &str,
) -> Result<Option<InstrumentRow>, ReadError> {
    let mut query = QueryBuilder::new("SELECT ");
    instrument_select(&mut query);
    query
        .push(
            " FROM catalogue_instruments c LEFT JOIN tenants t ON t.slug = c.tenant \
             WHERE c.id = ",
        )
        .push_bind(id);
    let mut tx = as_viewer(pool, viewer).await?;
    let row = query.build().fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    row.as_ref().map(decode_instrument).transpose()
}

const TENANT_COLUMNS: &str = "slug, name, kind, country, website, domains, member_count, status, \
     version, registered_at, updated_at";

/// Every registered tenant, by name.
pub async fn tenants(pool: &PgPool) -> Result<Vec<TenantRow>, ReadError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name, slug"
    )))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(decode_tenant).collect()
}

pub async fn tenant(pool: &PgPool, slug: &TenantSlug) -> Result<Option<TenantRow>, ReadError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"
    )))
    .bind(slug.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.as_ref().map(decode_tenant).transpose()
}

/// The roles `subject` holds in `tenant`, in [`Role`] order.
pub async fn roles_of(
    pool: &PgPool,
    tenant: &TenantSlug,
    subject: &str,
) -> Result<Vec<Role>, ReadError> {
    let mut tx = pool.begin().await?;
    let raw: Vec<String> =
        sqlx::query_scalar("SELECT role FROM tenant_roles WHERE tenant = $1 AND subject = $2")
            .bind(tenant.as_str())
            .bind(subject)
            .fetch_all(&mut *tx)
            .await?;
    let mut roles = raw
        .iter()
        .map(|r| r.parse::<Role>().map_err(|e| malformed("role", e)))
        .collect::<Result<Vec<_>, _>>()?;
    roles.sort();
    tx.commit().await?;
    Ok(roles)
}

/// The tenants that grant `subject` a role, by slug (where a person signing in acts, unless
/// they ask for one of them). The read model: the grants in the log have the last word.
pub async fn tenants_granting(pool: &PgPool, subject: &str) -> Result<Vec<TenantSlug>, ReadError> {
    let mut tx = pool.begin().await?;
    let raw: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT r.tenant FROM tenant_roles r JOIN tenants t ON t.slug = r.tenant \
         WHERE r.subject = $1 AND t.status = 'ACTIVE' ORDER BY r.tenant",
    )
    .bind(subject)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    raw.iter()
        .map(|t| TenantSlug::parse(t).map_err(|e| malformed("tenant", e)))
        .collect()
}

/// Everyone some tenant granted a role, with their roles there, by tenant and subject (at most
/// `limit` pairs): the development sign-in's people to pick from.
pub async fn people_with_roles(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<(TenantSlug, String, Vec<Role>)>, ReadError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT tenant, subject, array_agg(role ORDER BY role) FROM tenant_roles \
         GROUP BY tenant, subject ORDER BY tenant, subject LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|(tenant, subject, roles)| {
            let tenant = TenantSlug::parse(&tenant).map_err(|e| malformed("tenant", e))?;
            let mut roles = roles
                .iter()
                .map(|r| r.parse::<Role>().map_err(|e| malformed("role", e)))
                .collect::<Result<Vec<_>, _>>()?;
            roles.sort();
            Ok((tenant, subject, roles))
        })
        .collect()
}

/// The history of one aggregate, oldest first, as far as the viewer may see it (its own
/// tenant's aggregates; every tenant's for a platform admin).
pub async fn audit_trail(
    pool: &PgPool,
    viewer: &Viewer,
    aggregate_id: &str,
    first: u32,
    after: Option<&str>,
) -> Result<AuditPage, ReadError> {
    let after = match after.map(Cursor::decode).transpose()? {
        None => 0,
        Some(Cursor::Audit { p }) => p,
        Some(_) => {
            return Err(ReadError::BadInput {
                field: "after",
                reason: "the cursor belongs to another list".to_owned(),
            });
        }
    };
    let first = first.min(MAX_PAGE);
    let mut tx = as_viewer(pool, viewer).await?;
    let rows = sqlx::query(
        "SELECT position, tenant, aggregate_type, aggregate_id, sequence, event_type, actor, \
                recorded_at, changes, summary \
         FROM audit_entries WHERE aggregate_id = $1 AND position > $2 \
         ORDER BY position LIMIT $3",
    )
    .bind(aggregate_id)
    .bind(after)
    .bind(i64::from(first) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let total_count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_entries WHERE aggregate_id = $1")
            .bind(aggregate_id)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;

    let has_next_page = rows.len() > first as usize;
    let items = rows
        .iter()
        .take(first as usize)
        .map(|row| {
            let Json(changes) = row.try_get::<Json<Vec<FieldChange>>, _>("changes")?;
            Ok(AuditEntry {
                position: row.try_get("position")?,
                tenant: row.try_get("tenant")?,
                aggregate_type: row.try_get("aggregate_type")?,
                aggregate_id: row.try_get("aggregate_id")?,
                sequence: row.try_get("sequence")?,
                event_type: row.try_get("event_type")?,
                actor: row.try_get("actor")?,
                recorded_at: row.try_get("recorded_at")?,
                changes,
                summary: row.try_get("summary")?,
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    let end_cursor = items
        .last()
        .map(|e| Cursor::Audit { p: e.position }.encode());
    Ok(AuditPage {
        items,
        total_count,
        end_cursor,
        has_next_page,
    })
}

/// A read-only transaction in which row-level security sees `tenant`.
pub(crate) async fn as_tenant(
    pool: &PgPool,
    tenant: &TenantSlug,
) -> Result<Transaction<'static, Postgres>, ReadError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    sqlx::query(
        "SELECT set_config('app.tenant', $1, true), set_config('app.platform_admin', '', true), \
                set_config('app.projector', '', true)",
    )
    .bind(tenant.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> ReadError {
    ReadError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// A unit enum stored by its serde name.
pub(crate) fn enumerated<T: DeserializeOwned>(
    what: &'static str,
    raw: &str,
) -> Result<T, ReadError> {
    from_code(raw).ok_or_else(|| malformed(what, format!("unknown value {raw:?}")))
}

fn decode_instrument(row: &PgRow) -> Result<InstrumentRow, ReadError> {
    let tenant: String = row.try_get("tenant")?;
    let countries: Vec<String> = row.try_get("countries")?;
    let targets: Vec<String> = row.try_get("target_organisations")?;
    let languages: Vec<String> = row.try_get("languages")?;
    let currency: Option<String> = row.try_get("currency")?;
    let amount = |column: &str| -> Result<Option<u64>, ReadError> {
        let n: Option<i64> = row.try_get(column)?;
        n.map(u64::try_from)
            .transpose()
            .map_err(|e| malformed("funding", e))
    };
    let funding = match currency {
        Some(code) => Some(FundingRange {
            min: amount("funding_min")?,
            max: amount("funding_max")?,
            currency: CurrencyCode::parse("currency", &code)
                .map_err(|e| malformed("currency", e))?,
        }),
        None => None,
    };
    Ok(InstrumentRow {
        id: row.try_get("id")?,
        tenant: TenantSlug::parse(&tenant).map_err(|e| malformed("tenant", e))?,
        tenant_name: row.try_get("tenant_name")?,
        tenant_suspended: row.try_get("tenant_suspended")?,
        version: row.try_get("version")?,
        status: enumerated("status", row.try_get("status")?)?,
        title: row.try_get("title")?,
        kind: enumerated("kind", row.try_get("kind")?)?,
        cover_level: enumerated("cover_level", row.try_get("cover_level")?)?,
        countries: countries
            .iter()
            .map(|c| CountryCode::parse("countries", c).map_err(|e| malformed("countries", e)))
            .collect::<Result<_, _>>()?,
        programme: row.try_get("programme")?,
        link: row.try_get("link")?,
        summary: row.try_get("summary")?,
        target_organisations: targets
            .iter()
            .map(|t| enumerated("target_organisations", t))
            .collect::<Result<_, _>>()?,
        funding,
        periodicity: row
            .try_get::<Option<&str>, _>("periodicity")?
            .map(|p| enumerated("periodicity", p))
            .transpose()?,
        languages: languages
            .iter()
            .map(|l| LanguageCode::parse("languages", l).map_err(|e| malformed("languages", e)))
            .collect::<Result<_, _>>()?,
        features: FeatureSet::from_bits(row.try_get("features")?)
            .map_err(|e| malformed("features", e))?,
        opening_date: row.try_get("opening_date")?,
        deadline: row.try_get("deadline")?,
        time_zone: row.try_get("time_zone")?,
        drafted_at: row.try_get("drafted_at")?,
        updated_at: row.try_get("updated_at")?,
        published_at: row.try_get("published_at")?,
    })
}

fn decode_tenant(row: &PgRow) -> Result<TenantRow, ReadError> {
    let slug: String = row.try_get("slug")?;
    let country: String = row.try_get("country")?;
    let members: Option<i64> = row.try_get("member_count")?;
    Ok(TenantRow {
        slug: TenantSlug::parse(&slug).map_err(|e| malformed("slug", e))?,
        name: row.try_get("name")?,
        kind: enumerated("tenant kind", row.try_get("kind")?)?,
        country: CountryCode::parse("country", &country).map_err(|e| malformed("country", e))?,
        website: row.try_get("website")?,
        domains: row.try_get("domains")?,
        member_count: members
            .map(u32::try_from)
            .transpose()
            .map_err(|e| malformed("member_count", e))?,
        status: enumerated("tenant status", row.try_get("status")?)?,
        version: row.try_get("version")?,
        registered_at: row.try_get("registered_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The total and the facets, each most frequent first, then in taxonomy order (features) or
/// by spelling.
fn decode_facets(counts: Vec<(String, String, i64)>) -> Result<(i64, Facets), ReadError> {
    let mut total = 0;
    let mut features = Vec::new();
    let (mut countries, mut cover_levels, mut kinds) = (vec![], vec![], vec![]);
    for (facet, value, n) in counts {
        match facet.as_str() {
            "total" => total = n,
            "feature" => features.push((
                value
                    .parse::<FeatureCode>()
                    .map_err(|e| malformed("feature_codes", e))?,
                n,
            )),
            "country" => countries.push((value, n)),
            "cover_level" => cover_levels.push((value, n)),
            "kind" => kinds.push((value, n)),
            _ => {}
        }
    }
    features.sort_by_key(|(code, n)| (std::cmp::Reverse(*n), *code));
    for list in [&mut countries, &mut cover_levels, &mut kinds] {
        list.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    }
    let facets = Facets {
        features,
        countries,
        cover_levels: cover_levels
            .iter()
            .map(|(v, n)| Ok((enumerated("cover_level", v)?, *n)))
            .collect::<Result<_, ReadError>>()?,
        kinds: kinds
            .iter()
            .map(|(v, n)| Ok((enumerated("kind", v)?, *n)))
            .collect::<Result<_, ReadError>>()?,
    };
    Ok((total, facets))
}
