//! Projects shared across tenants (issue 16): which tenants a project is shared with, the
//! projects other tenants share with a tenant, and the practitioners' feedback on a project
//! from every cluster that holds it. Row-level security decides what crosses: a tenant reads
//! another's project only while it is shared with it, and feedback on a project is readable
//! by the tenant that collected it, the project's own tenant, and the tenants it is shared with.

use ri_domain::TenantSlug;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use super::read::{PROJECT_COLUMNS, ProjectRow, with_records};
use crate::catalogue::ReadError;
use crate::catalogue::read::{as_tenant, enumerated, malformed};

/// A tenant a project is shared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRow {
    pub tenant: TenantSlug,
    pub shared_at: OffsetDateTime,
}

/// The tenants `tenant`'s project `id` is shared with, by slug.
pub async fn shares(
    pool: &PgPool,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<ShareRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows: Vec<(String, OffsetDateTime)> = sqlx::query_as(
        "SELECT shared_with, shared_at FROM project_shares \
         WHERE tenant = $1 AND project_id = $2 ORDER BY shared_with",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|(slug, shared_at)| {
            Ok(ShareRow {
                tenant: TenantSlug::parse(&slug).map_err(|e| malformed("shared_with", e))?,
                shared_at,
            })
        })
        .collect()
}

/// The tenant of the project `id` that `reader` may read now: its own (first), or one that
/// shares it with the reader's.
pub(super) async fn readable_owner(
    pool: &PgPool,
    reader: &TenantSlug,
    id: &str,
) -> Result<Option<TenantSlug>, ReadError> {
    let mut tx = as_tenant(pool, reader).await?;
    let owner: Option<String> = sqlx::query_scalar(
        "SELECT p.tenant FROM projects p WHERE p.id = $2 \
           AND (p.tenant = $1 OR EXISTS (SELECT 1 FROM project_shares s \
               WHERE s.tenant = p.tenant AND s.project_id = p.id AND s.shared_with = $1)) \
         ORDER BY p.tenant <> $1 LIMIT 1",
    )
    .bind(reader.as_str())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    owner
        .map(|o| TenantSlug::parse(&o).map_err(|e| malformed("tenant", e)))
        .transpose()
}

/// The projects other tenants share with `tenant` now, by acronym; `ids` narrows them to
/// those ids.
pub async fn shared_projects(
    pool: &PgPool,
    tenant: &TenantSlug,
    ids: Option<&[String]>,
) -> Result<Vec<ProjectRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{PROJECT_COLUMNS} p WHERE p.tenant <> $1 \
           AND ($2::text[] IS NULL OR p.id = ANY($2)) \
           AND EXISTS (SELECT 1 FROM project_shares s \
               WHERE s.tenant = p.tenant AND s.project_id = p.id AND s.shared_with = $1) \
         ORDER BY lower(p.acronym), p.id"
    )))
    .bind(tenant.as_str())
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let projects = with_records(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(projects)
}

/// One practitioner's feedback on a project, from a demo event of some tenant's cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFeedbackRow {
    /// The tenant whose cluster collected it.
    pub collected_by: TenantSlug,
    pub cluster_id: String,
    pub event_id: uuid::Uuid,
    pub organisation: String,
    pub country: String,
    pub sector: ri_domain::cluster::PractitionerSector,
    pub relevance: i16,
    pub usability: i16,
    pub would_pilot: bool,
    pub feature_codes: Vec<String>,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The feedback on `owner`'s project `id` that `reader` may read, oldest first: from the
/// reader's own clusters, and, when the reader is the project's tenant or the project is shared
/// with it, from every cluster that holds it.
pub async fn project_feedback(
    pool: &PgPool,
    reader: &TenantSlug,
    owner: &TenantSlug,
    id: &str,
) -> Result<Vec<ProjectFeedbackRow>, ReadError> {
    let mut tx = as_tenant(pool, reader).await?;
    let rows = sqlx::query(
        "SELECT tenant, cluster_id, event_id, organisation, country, sector, relevance, \
             usability, would_pilot, feature_codes, comment, submitted_at, updated_at \
         FROM cluster_feedback WHERE project_owner = $1 AND project_id = $2 \
         ORDER BY submitted_at, tenant, cluster_id, respondent_id",
    )
    .bind(owner.as_str())
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            let collected_by: String = row.try_get("tenant")?;
            Ok(ProjectFeedbackRow {
                collected_by: TenantSlug::parse(&collected_by)
                    .map_err(|e| malformed("tenant", e))?,
                cluster_id: row.try_get("cluster_id")?,
                event_id: row.try_get("event_id")?,
                organisation: row.try_get("organisation")?,
                country: row.try_get("country")?,
                sector: enumerated("sector", row.try_get("sector")?)?,
                relevance: row.try_get("relevance")?,
                usability: row.try_get("usability")?,
                would_pilot: row.try_get("would_pilot")?,
                feature_codes: row.try_get("feature_codes")?,
                comment: row.try_get("comment")?,
                submitted_at: row.try_get("submitted_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}
