//! A cluster's dashboard as it stood at a moment (issue 16): the cluster's events (and its
//! end-user areas') recorded until then are applied by the `clusters` projection itself to
//! temporary copies of its tables, in a transaction that is rolled back, and the dashboard is
//! read from them with "now" = then. What the dashboard shows of the projects themselves
//! (current titles, features and milestones) is read from the live projects read model.

use std::collections::BTreeSet;

use ri_domain::TenantSlug;
use ri_domain::cluster::{CLUSTER, ClusterEvent, END_USER_AREA};
use ri_eventstore::{EventLog, StoredEvent};
use sqlx::{AssertSqlSafe, PgPool};
use time::OffsetDateTime;

use super::Clusters;
use super::read::{ClusterDashboard, dashboard_in};
use crate::catalogue::ReadError;
use crate::catalogue::as_of::malformed as history;
use crate::catalogue::codes::decode;
use crate::isolate::apply_isolating;
use crate::projection::Projection;

/// The dashboard of `tenant`'s cluster `id` as it stood at `at`: `None` before it was formed
/// (or for another tenant's cluster, whose events are not in `tenant`'s streams).
pub async fn cluster_dashboard_as_of(
    pool: &PgPool,
    log: &EventLog,
    tenant: &TenantSlug,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<ClusterDashboard>, ReadError> {
    let reader = log.reader();
    let mut events = reader
        .aggregate_until(pool, tenant.as_str(), CLUSTER, id, at)
        .await
        .map_err(history)?;
    if events.is_empty() {
        return Ok(None);
    }
    // The areas it was filed under, with their own events until then.
    let mut areas = BTreeSet::new();
    for e in &events {
        match decode::<ClusterEvent>(e) {
            Ok(ClusterEvent::ClusterFormed { area_id, .. }) => {
                areas.insert(area_id.to_string());
            }
            Ok(ClusterEvent::ClusterRevised {
                area_id: Some(change),
                ..
            }) => {
                areas.insert(change.new.to_string());
            }
            _ => {}
        }
    }
    for area in &areas {
        events.extend(
            reader
                .aggregate_until(pool, tenant.as_str(), END_USER_AREA, area, at)
                .await
                .map_err(history)?,
        );
    }
    events.sort_by_key(StoredEvent::checkpoint);

    // Read-write (temporary tables), never committed.
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await?;
    for table in Clusters.tables() {
        // Unqualified names resolve to the session's temporary tables first.
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TEMPORARY TABLE {table} (LIKE public.{table} INCLUDING ALL) ON COMMIT DROP"
        )))
        .execute(&mut *tx)
        .await?;
    }
    // As the runner applies them: an event the projection cannot apply is skipped (its
    // failure record goes with the rolled-back transaction).
    apply_isolating(&mut tx, &Clusters, &events)
        .await
        .map_err(history)?;
    // Read as the tenant, never as the projector (which every row-level policy admits).
    sqlx::query(
        "SELECT set_config('app.tenant', $1, true), set_config('app.platform_admin', '', true), \
                set_config('app.projector', '', true)",
    )
    .bind(tenant.as_str())
    .execute(&mut *tx)
    .await?;
    let dashboard = dashboard_in(&mut tx, tenant, id, at).await?;
    tx.rollback().await?;
    Ok(dashboard)
}
