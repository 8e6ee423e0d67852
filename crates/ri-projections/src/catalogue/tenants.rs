//! The `tenants` projection: every registered tenant with its profile and status, and who
//! holds which role in it.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::TenantSlug;
use ri_domain::tenant::{TENANT, TenantEvent, TenantProfile, TenantStatus};
use ri_domain::values::CountryCode;
use ri_eventstore::StoredEvent;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;

use super::codes::{code, decode, decode_all, from_code};
use super::read::TenantRow;
use crate::error::ProjectionError;
use crate::projection::Projection;

#[derive(Debug, Clone, Copy, Default)]
pub struct Tenants;

/// A `tenants` row, to and from the table as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    slug: String,
    name: String,
    kind: String,
    country: String,
    website: Option<String>,
    domains: Vec<String>,
    member_count: Option<i64>,
    status: String,
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    registered_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

impl Row {
    fn registered(e: &StoredEvent, profile: &TenantProfile) -> Self {
        Row {
            slug: e.aggregate_id.clone(),
            name: profile.name.to_string(),
            kind: code(&profile.kind),
            country: profile.country.to_string(),
            website: profile.website.as_ref().map(|w| w.as_str().to_owned()),
            domains: profile.domains.iter().map(|d| d.to_string()).collect(),
            member_count: profile.member_count.map(i64::from),
            status: code(&TenantStatus::Active),
            version: e.sequence,
            registered_at: e.recorded_at,
            updated_at: e.recorded_at,
        }
    }

    fn apply(&mut self, e: &StoredEvent, event: &TenantEvent) {
        match event {
            TenantEvent::TenantRegistered { profile, .. } => *self = Row::registered(e, profile),
            TenantEvent::TenantProfileUpdated {
                name,
                kind,
                country,
                website,
                domains,
                member_count,
            } => {
                if let Some(c) = name {
                    self.name = c.new.to_string();
                }
                if let Some(c) = kind {
                    self.kind = code(&c.new);
                }
                if let Some(c) = country {
                    self.country = c.new.to_string();
                }
                if let Some(c) = website {
                    self.website = c.new.as_ref().map(|w| w.as_str().to_owned());
                }
                if let Some(c) = domains {
                    self.domains = c.new.iter().map(|d| d.to_string()).collect();
                }
                if let Some(c) = member_count {
                    self.member_count = c.new.map(i64::from);
                }
            }
            TenantEvent::TenantSuspended { .. } => self.status = code(&TenantStatus::Suspended),
            TenantEvent::TenantReinstated => self.status = code(&TenantStatus::Active),
            TenantEvent::RoleGranted { .. } | TenantEvent::RoleRevoked { .. } => {}
        }
        self.version = e.sequence;
        self.updated_at = e.recorded_at;
    }
}

impl Row {
    /// One tenant's row folded from its events (in order), as the projection folds them;
    /// `None` before it was registered. An event that does not decode is skipped, as the
    /// projection skips it (decision 0004).
    pub(crate) fn fold(events: &[StoredEvent]) -> Option<Row> {
        let mut row: Option<Row> = None;
        for e in events {
            Row::fold_one(&mut row, e);
        }
        row
    }

    /// [`Row::fold`]'s step: folds the next event of one tenant onto `row`; false when it
    /// was skipped because it does not decode.
    pub(crate) fn fold_one(row: &mut Option<Row>, e: &StoredEvent) -> bool {
        let event: TenantEvent = match decode(e) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(position = e.position, %error, "event skipped in an as-of read");
                return false;
            }
        };
        match (row.as_mut(), &event) {
            (None, TenantEvent::TenantRegistered { profile, .. }) => {
                *row = Some(Row::registered(e, profile));
            }
            (None, _) => {}
            (Some(row), event) => row.apply(e, event),
        }
        true
    }

    /// The name the directory shows.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the tenant is suspended (its instruments show it).
    pub(crate) fn is_suspended(&self) -> bool {
        self.status == code(&TenantStatus::Suspended)
    }

    /// The row as the read API returns it.
    pub(crate) fn to_tenant_row(&self) -> Result<TenantRow, String> {
        let parsed = |what: &str, raw: &str| format!("{what}: unknown value {raw:?}");
        Ok(TenantRow {
            slug: TenantSlug::parse(&self.slug).map_err(|e| e.to_string())?,
            name: self.name.clone(),
            kind: from_code(&self.kind).ok_or_else(|| parsed("kind", &self.kind))?,
            country: CountryCode::parse("country", &self.country).map_err(|e| e.to_string())?,
            website: self.website.clone(),
            domains: self.domains.clone(),
            member_count: self
                .member_count
                .map(u32::try_from)
                .transpose()
                .map_err(|e| e.to_string())?,
            status: from_code(&self.status).ok_or_else(|| parsed("status", &self.status))?,
            version: self.version,
            registered_at: self.registered_at,
            updated_at: self.updated_at,
        })
    }
}

/// (tenant, subject, role)
type Grant = (String, String, String);

impl Projection for Tenants {
    fn name(&self) -> &'static str {
        "tenants"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["tenants", "tenant_roles"]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mine = decode_all::<TenantEvent>(events, TENANT)?;
            if mine.is_empty() {
                return Ok(());
            }
            super::as_projector(&mut *conn).await?;

            let slugs = mine
                .iter()
                .map(|(e, _)| e.aggregate_id.as_str())
                .collect::<BTreeSet<_>>();
            let mut rows = load(&mut *conn, &slugs).await?;
            let mut touched = BTreeSet::new();
            // The last word on each grant in this batch: held or not.
            let mut grants: BTreeMap<Grant, bool> = BTreeMap::new();
            for (e, event) in &mine {
                let slug = e.aggregate_id.as_str();
                if let TenantEvent::TenantRegistered { slug: named, .. } = event
                    && named.as_str() != slug
                {
                    return Err(ProjectionError::BadEvent {
                        position: e.position,
                        reason: format!(
                            "tenant {named} is registered under the aggregate id {slug:?}; \
                             a tenant's aggregate id must be its slug"
                        ),
                    });
                }
                match (rows.get_mut(slug), event) {
                    (Some(row), event) => row.apply(e, event),
                    (None, TenantEvent::TenantRegistered { profile, .. }) => {
                        rows.insert(slug.to_owned(), Row::registered(e, profile));
                    }
                    (None, _) => {
                        tracing::warn!(
                            position = e.position,
                            slug,
                            "event of a tenant never registered; not projected"
                        );
                        continue;
                    }
                }
                touched.insert(slug);
                match event {
                    TenantEvent::RoleGranted { subject, role } => {
                        grants.insert((slug.to_owned(), subject.clone(), code(role)), true);
                    }
                    TenantEvent::RoleRevoked { subject, role } => {
                        grants.insert((slug.to_owned(), subject.clone(), code(role)), false);
                    }
                    _ => {}
                }
            }
            let changed = rows
                .values()
                .filter(|r| touched.contains(r.slug.as_str()))
                .collect::<Vec<_>>();
            upsert(&mut *conn, &changed).await?;
            write_grants(conn, &grants).await
        }
        .boxed()
    }
}

async fn load(
    conn: &mut PgConnection,
    slugs: &BTreeSet<&str>,
) -> Result<BTreeMap<String, Row>, ProjectionError> {
    let slugs = slugs.iter().copied().collect::<Vec<_>>();
    let rows: Vec<Json<Row>> =
        sqlx::query_scalar("SELECT to_jsonb(t) FROM tenants t WHERE t.slug = ANY($1)")
            .bind(&slugs)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|Json(row)| (row.slug.clone(), row))
        .collect())
}

async fn upsert(conn: &mut PgConnection, rows: &[&Row]) -> Result<(), ProjectionError> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO tenants AS t (slug, name, kind, country, website, domains, member_count, \
             status, version, registered_at, updated_at) \
         SELECT * FROM jsonb_to_recordset($1) AS r(slug text, name text, kind text, \
             country text, website text, domains text[], member_count int8, status text, \
             version int8, registered_at timestamptz, updated_at timestamptz) \
         ON CONFLICT (slug) DO UPDATE SET \
             name = EXCLUDED.name, kind = EXCLUDED.kind, country = EXCLUDED.country, \
             website = EXCLUDED.website, domains = EXCLUDED.domains, \
             member_count = EXCLUDED.member_count, status = EXCLUDED.status, \
             version = EXCLUDED.version, registered_at = EXCLUDED.registered_at, \
             updated_at = EXCLUDED.updated_at",
    )
    .bind(Json(rows))
    .execute(conn)
    .await?;
    Ok(())
}

async fn write_grants(
    conn: &mut PgConnection,
    grants: &BTreeMap<Grant, bool>,
) -> Result<(), ProjectionError> {
    let (mut tenants, mut subjects, mut roles, mut held) = (vec![], vec![], vec![], vec![]);
    for ((tenant, subject, role), h) in grants {
        tenants.push(tenant.as_str());
        subjects.push(subject.as_str());
        roles.push(role.as_str());
        held.push(*h);
    }
    if tenants.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH g AS (SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[]) \
                    AS g(tenant, subject, role, held)), \
              revoked AS (DELETE FROM tenant_roles r USING g \
                          WHERE NOT g.held AND (r.tenant, r.subject, r.role) \
                                = (g.tenant, g.subject, g.role)) \
         INSERT INTO tenant_roles (tenant, subject, role) \
         SELECT tenant, subject, role FROM g WHERE held ON CONFLICT DO NOTHING",
    )
    .bind(&tenants)
    .bind(&subjects)
    .bind(&roles)
    .bind(&held)
    .execute(conn)
    .await?;
    Ok(())
}
