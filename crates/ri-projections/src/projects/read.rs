//! The read API over the projects, for the GraphQL layer and the matcher.
//!
//! Every function takes the tenant it reads for and runs in its own short, read-only,
//! repeatable-read transaction that first sets `app.tenant` to that tenant: row-level security,
//! not only the query, keeps other tenants' projects out. Instruments come from
//! `catalogue_public` (every published instrument, whoever curates it).

use std::collections::HashMap;

use ri_domain::TenantSlug;
use ri_domain::project::{
    ConsortiumMember, FundingApplicationStatus, MatchThreshold, Money, ProjectDetails,
    SecurityDomain, Stage, SuccessCriterion,
};
use ri_domain::values::{CountryCode, CurrencyCode};
use ri_matching::{
    Country, CoverLevel, InstrumentKind, InstrumentProfile, InstrumentStatus, ProjectProfile,
};
use ri_taxonomy::{FeatureCode, FeatureSet};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::catalogue::ReadError;
use crate::catalogue::read::{as_tenant, enumerated, malformed};

/// One project as its tenant sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: String,
    pub tenant: TenantSlug,
    /// The aggregate's version (its last event's sequence): the `expectedVersion` to send.
    pub version: i64,
    pub acronym: String,
    pub title: String,
    pub open_call: Option<String>,
    pub stage: Option<Stage>,
    pub security_domain: Option<SecurityDomain>,
    pub consortium: Vec<ConsortiumMember>,
    pub lead_country: Option<CountryCode>,
    /// The lead's and the consortium members' countries, each once, sorted: what national and
    /// regional instruments are matched against.
    pub countries: Vec<CountryCode>,
    pub summary: String,
    pub features: FeatureSet,
    pub applications_beyond_security: Option<String>,
    /// The score from which a match is worth a notification.
    pub match_threshold: MatchThreshold,
    /// By date, then in the order recorded.
    pub milestones: Vec<MilestoneRow>,
    /// In the order recorded.
    pub funding_applications: Vec<FundingApplicationRow>,
    pub registered_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl ProjectRow {
    /// The project as the matcher sees it.
    pub fn match_profile(&self) -> Result<ProjectProfile, ReadError> {
        Ok(ProjectProfile {
            features: self.features,
            stage: self.stage.map(matching_stage),
            countries: self
                .countries
                .iter()
                .map(matching_country)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRow {
    pub id: Uuid,
    pub criterion: SuccessCriterion,
    pub date: Date,
    pub description: String,
    pub evidence_link: Option<String>,
    /// The funding application whose award this milestone records.
    pub funding_application: Option<Uuid>,
    pub recorded_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingApplicationRow {
    pub id: Uuid,
    /// The instrument's id in the catalogue, when the application names one.
    pub instrument_id: Option<String>,
    pub instrument_name: String,
    pub status: FundingApplicationStatus,
    /// The day it reached its status.
    pub status_date: Date,
    pub amount: Option<Money>,
    pub recorded_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One project of the tenant, as the matcher needs it, with what notifications need besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMatchProfile {
    pub id: String,
    pub acronym: String,
    pub version: i64,
    pub match_threshold: MatchThreshold,
    pub profile: ProjectProfile,
}

/// Everything matching one tenant's projects needs, from one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchProfiles {
    /// The tenant's projects, by acronym.
    pub projects: Vec<ProjectMatchProfile>,
    /// Every published instrument (not drafts), by id, whatever its status: the matcher's
    /// eligibility rules decide, and can say why one is left out.
    pub instruments: Vec<InstrumentProfile>,
}

/// How much one feature is needed by a tenant's projects and offered by open instruments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureNeed {
    pub feature: FeatureCode,
    /// The tenant's projects that declare it.
    pub projects: i64,
    /// Instruments open now (an open call whose deadline has passed does not count) that fund
    /// it, whoever curates them.
    pub open_instruments: i64,
}

fn feature_set(bits: i64) -> Result<FeatureSet, ReadError> {
    FeatureSet::from_bits(bits).map_err(|e| malformed("features", e))
}

fn matching_stage(stage: Stage) -> ri_matching::Stage {
    match stage {
        Stage::Prototyping => ri_matching::Stage::Prototyping,
        Stage::Demonstrator => ri_matching::Stage::Demonstrator,
    }
}

fn matching_country(code: &CountryCode) -> Result<Country, ReadError> {
    code.as_str().parse().map_err(|e| malformed("countries", e))
}

pub(super) const PROJECT_COLUMNS: &str = "SELECT tenant, id, version, details, features, \
     applications_beyond_security, match_threshold, registered_at, updated_at FROM projects";

/// The tenant's projects, by acronym (ignoring case), with their milestones and applications.
pub async fn projects(pool: &PgPool, tenant: &TenantSlug) -> Result<Vec<ProjectRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PROJECT_COLUMNS} WHERE tenant = $1 ORDER BY lower(acronym), id"
    )))
    .bind(tenant.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let projects = with_records(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(projects)
}

/// The tenant's project `id`; `None` when the tenant has none of that id (another tenant's
/// project included).
pub async fn project(
    pool: &PgPool,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Option<ProjectRow>, ReadError> {
    Ok(projects_by_ids(pool, tenant, &[id.to_owned()])
        .await?
        .into_iter()
        .next())
}

/// Those of `ids` that are the tenant's projects, by acronym (ignoring case); ids that are not
/// are left out.
pub async fn projects_by_ids(
    pool: &PgPool,
    tenant: &TenantSlug,
    ids: &[String],
) -> Result<Vec<ProjectRow>, ReadError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PROJECT_COLUMNS} WHERE tenant = $1 AND id = ANY($2) ORDER BY lower(acronym), id"
    )))
    .bind(tenant.as_str())
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let projects = with_records(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(projects)
}

/// What matching the tenant's projects needs: their profiles and every published instrument's.
pub async fn match_profiles(
    pool: &PgPool,
    tenant: &TenantSlug,
) -> Result<MatchProfiles, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows: Vec<(String, i64, Json<ProjectDetails>, i64, f64)> = sqlx::query_as(
        "SELECT id, version, details, features, match_threshold FROM projects \
         WHERE tenant = $1 ORDER BY lower(acronym), id",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let instruments = instruments(&mut tx).await?;
    tx.commit().await?;

    let projects = rows
        .into_iter()
        .map(|(id, version, Json(details), features, threshold)| {
            Ok(ProjectMatchProfile {
                acronym: details.acronym.as_str().to_owned(),
                version,
                match_threshold: threshold_of(threshold)?,
                profile: ProjectProfile {
                    features: feature_set(features)?,
                    stage: details.stage.map(matching_stage),
                    countries: details
                        .countries()
                        .iter()
                        .map(matching_country)
                        .collect::<Result<_, _>>()?,
                },
                id,
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    Ok(MatchProfiles {
        projects,
        instruments,
    })
}

/// Every published instrument (not drafts) as the matcher sees it, by id. The status is as of
/// now: an open call whose deadline has passed reads as closed.
pub async fn instrument_profiles(pool: &PgPool) -> Result<Vec<InstrumentProfile>, ReadError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let instruments = instruments(&mut tx).await?;
    tx.commit().await?;
    Ok(instruments)
}

/// id, features, kind, cover level, countries, status as of now, deadline.
type InstrumentTuple = (
    String,
    i64,
    String,
    String,
    Vec<String>,
    String,
    Option<OffsetDateTime>,
);

async fn instruments(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<Vec<InstrumentProfile>, ReadError> {
    let rows: Vec<InstrumentTuple> = sqlx::query_as(
        "SELECT id, features, kind, cover_level, countries, \
                 CASE WHEN status = 'OPEN' AND deadline <= now() THEN 'CLOSED' ELSE status END, \
                 deadline \
             FROM catalogue_public ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(
            |(id, features, kind, cover_level, countries, status, deadline)| {
                Ok(InstrumentProfile {
                    id,
                    features: feature_set(features)?,
                    kind: enumerated::<InstrumentKind>("kind", &kind)?,
                    cover_level: enumerated::<CoverLevel>("cover_level", &cover_level)?,
                    countries: countries
                        .iter()
                        .map(|c| c.parse().map_err(|e| malformed("countries", e)))
                        .collect::<Result<_, _>>()?,
                    status: enumerated::<InstrumentStatus>("status", &status)?,
                    deadline,
                })
            },
        )
        .collect()
}

/// For each feature any of the tenant's projects declares: how many of them do, and how many
/// instruments open now fund it; in taxonomy order.
pub async fn feature_needs(
    pool: &PgPool,
    tenant: &TenantSlug,
) -> Result<Vec<FeatureNeed>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "WITH needs AS ( \
             SELECT f, count(*) AS n FROM projects p \
             CROSS JOIN LATERAL unnest(p.feature_codes) AS f \
             WHERE p.tenant = $1 GROUP BY f) \
         SELECT needs.f, needs.n, ( \
             SELECT count(*) FROM catalogue_public c \
             WHERE c.feature_codes @> ARRAY[needs.f] AND c.status = 'OPEN' \
                 AND (c.deadline IS NULL OR c.deadline > now())) \
         FROM needs",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut needs = rows
        .into_iter()
        .map(|(code, projects, open_instruments)| {
            Ok(FeatureNeed {
                feature: code.parse().map_err(|e| malformed("feature_codes", e))?,
                projects,
                open_instruments,
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    needs.sort_by_key(|n| n.feature);
    Ok(needs)
}

pub(super) fn threshold_of(raw: f64) -> Result<MatchThreshold, ReadError> {
    MatchThreshold::parse("match_threshold", raw).map_err(|e| malformed("match_threshold", e))
}

/// The projects of `rows` with their milestones and funding applications (each of its own
/// tenant's: a project shared with the reader is another tenant's).
pub(super) async fn with_records(
    tx: &mut Transaction<'static, Postgres>,
    rows: &[PgRow],
) -> Result<Vec<ProjectRow>, ReadError> {
    let ids = rows
        .iter()
        .map(|r| r.try_get::<String, _>("id"))
        .collect::<Result<Vec<_>, _>>()?;
    let tenants = rows
        .iter()
        .map(|r| r.try_get::<String, _>("tenant"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut milestones: HashMap<String, Vec<MilestoneRow>> = HashMap::new();
    let mut applications: HashMap<String, Vec<FundingApplicationRow>> = HashMap::new();
    if !ids.is_empty() {
        let rows = sqlx::query(
            "SELECT project_id, id, criterion, date, description, evidence_link, \
                 funding_application, recorded_at \
             FROM project_milestones m \
             JOIN UNNEST($1::text[], $2::text[]) AS k(owner, project) \
                 ON m.tenant = k.owner AND m.project_id = k.project \
             ORDER BY project_id, date, position",
        )
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            milestones
                .entry(row.try_get("project_id")?)
                .or_default()
                .push(MilestoneRow {
                    id: row.try_get("id")?,
                    criterion: enumerated("criterion", row.try_get("criterion")?)?,
                    date: row.try_get("date")?,
                    description: row.try_get("description")?,
                    evidence_link: row.try_get("evidence_link")?,
                    funding_application: row.try_get("funding_application")?,
                    recorded_at: row.try_get("recorded_at")?,
                });
        }
        let rows = sqlx::query(
            "SELECT project_id, id, instrument_id, instrument_name, status, status_date, amount, \
                 currency, recorded_at, updated_at \
             FROM project_applications a \
             JOIN UNNEST($1::text[], $2::text[]) AS k(owner, project) \
                 ON a.tenant = k.owner AND a.project_id = k.project \
             ORDER BY project_id, position",
        )
        .bind(&tenants)
        .bind(&ids)
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            applications
                .entry(row.try_get("project_id")?)
                .or_default()
                .push(decode_application(row)?);
        }
    }
    rows.iter()
        .map(|row| {
            let id: String = row.try_get("id")?;
            let milestones = milestones.remove(&id).unwrap_or_default();
            let applications = applications.remove(&id).unwrap_or_default();
            decode_project(row, milestones, applications)
        })
        .collect()
}

fn decode_application(row: &PgRow) -> Result<FundingApplicationRow, ReadError> {
    let amount: Option<i64> = row.try_get("amount")?;
    let currency: Option<String> = row.try_get("currency")?;
    let amount = match (amount, currency) {
        (Some(amount), Some(currency)) => Some(
            Money::new(
                u64::try_from(amount).map_err(|e| malformed("amount", e))?,
                CurrencyCode::parse("currency", &currency).map_err(|e| malformed("currency", e))?,
            )
            .map_err(|e| malformed("amount", e))?,
        ),
        (None, None) => None,
        _ => return Err(malformed("amount", "an amount without a currency")),
    };
    Ok(FundingApplicationRow {
        id: row.try_get("id")?,
        instrument_id: row.try_get("instrument_id")?,
        instrument_name: row.try_get("instrument_name")?,
        status: enumerated("status", row.try_get("status")?)?,
        status_date: row.try_get("status_date")?,
        amount,
        recorded_at: row.try_get("recorded_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_project(
    row: &PgRow,
    milestones: Vec<MilestoneRow>,
    funding_applications: Vec<FundingApplicationRow>,
) -> Result<ProjectRow, ReadError> {
    let tenant: String = row.try_get("tenant")?;
    let Json(details) = row.try_get::<Json<ProjectDetails>, _>("details")?;
    Ok(ProjectRow {
        id: row.try_get("id")?,
        tenant: TenantSlug::parse(&tenant).map_err(|e| malformed("tenant", e))?,
        version: row.try_get("version")?,
        countries: details.countries(),
        acronym: details.acronym.as_str().to_owned(),
        title: details.title.as_str().to_owned(),
        open_call: details.open_call.map(|c| c.as_str().to_owned()),
        stage: details.stage,
        security_domain: details.security_domain,
        consortium: details.consortium.members().to_vec(),
        lead_country: details.lead_country,
        summary: details.summary.as_str().to_owned(),
        features: feature_set(row.try_get("features")?)?,
        applications_beyond_security: row.try_get("applications_beyond_security")?,
        match_threshold: threshold_of(row.try_get("match_threshold")?)?,
        milestones,
        funding_applications,
        registered_at: row.try_get("registered_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
