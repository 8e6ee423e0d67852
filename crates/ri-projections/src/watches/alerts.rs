//! Project match alerts (issue 5): when an instrument is published or revised so that a
//! project newly scores at or above the project's match threshold, the follow-up managers of
//! the project's tenant get a `PROJECT_MATCH` notification, once per (project, instrument).
//!
//! Like the watches, this is decided in log order against the projection's own state: the
//! projects (the Project aggregate's state, folded with its own `apply`), the tenants' role
//! grants (the Tenant aggregate's state) and the instruments (`watch_instruments`). The score
//! is `ri_matching::score` with the service's weights (`matching_weights`) at the event's time.

use cqrs_es::Aggregate;
use ri_domain::Role;
use ri_domain::project::{Project, ProjectEvent};
use ri_domain::tenant::{Tenant, TenantEvent};
use ri_eventstore::StoredEvent;
use ri_matching::{Country, InstrumentProfile, ProjectProfile, Weights};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::NOTIFICATION_NAMESPACE;
use crate::catalogue::codes::from_code;
use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

fn bad(e: &StoredEvent, reason: impl Into<String>) -> ProjectionError {
    ProjectionError::BadEvent {
        position: e.position,
        reason: reason.into(),
    }
}

/// Folds a Project event into the projection's copy of the project.
pub(super) async fn project_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: ProjectEvent,
) -> Result<(), ProjectionError> {
    let state: Option<Json<Project>> =
        sqlx::query_scalar("SELECT state FROM alert_projects WHERE id = $1")
            .bind(&e.aggregate_id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut project = state.map(|Json(p)| p).unwrap_or_default();
    project.apply(event);
    sqlx::query(
        "INSERT INTO alert_projects (id, tenant, state) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state",
    )
    .bind(&e.aggregate_id)
    .bind(&e.tenant)
    .bind(Json(&project))
    .execute(conn)
    .await?;
    Ok(())
}

/// Folds a Tenant event into the projection's copy of the tenant (for its role grants).
pub(super) async fn tenant_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: TenantEvent,
) -> Result<(), ProjectionError> {
    let state: Option<Json<Tenant>> =
        sqlx::query_scalar("SELECT state FROM alert_tenants WHERE slug = $1")
            .bind(&e.aggregate_id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut tenant = state.map(|Json(t)| t).unwrap_or_default();
    tenant.apply(event);
    sqlx::query(
        "INSERT INTO alert_tenants (slug, state) VALUES ($1, $2) \
         ON CONFLICT (slug) DO UPDATE SET state = EXCLUDED.state",
    )
    .bind(&e.aggregate_id)
    .bind(Json(&tenant))
    .execute(conn)
    .await?;
    Ok(())
}

fn instrument_profile(e: &StoredEvent, row: &Row) -> Result<InstrumentProfile, ProjectionError> {
    let code = |what: &str, raw: &str| bad(e, format!("instrument {what} {raw:?} is unknown"));
    Ok(InstrumentProfile {
        id: row.id.clone(),
        features: ri_taxonomy::FeatureSet::from_bits(row.features)
            .map_err(|err| bad(e, err.to_string()))?,
        kind: from_code(&row.kind).ok_or_else(|| code("kind", &row.kind))?,
        cover_level: from_code(&row.cover_level)
            .ok_or_else(|| code("cover level", &row.cover_level))?,
        countries: row
            .countries
            .iter()
            .filter_map(|c| c.parse::<Country>().ok())
            .collect(),
        status: from_code(&row.status).ok_or_else(|| code("status", &row.status))?,
        deadline: row.deadline,
    })
}

fn project_profile(project: &Project) -> Option<ProjectProfile> {
    let details = project.details.as_ref()?;
    Some(ProjectProfile {
        features: project.features,
        stage: details.stage.map(|s| match s {
            ri_domain::project::Stage::Prototyping => ri_matching::Stage::Prototyping,
            ri_domain::project::Stage::Demonstrator => ri_matching::Stage::Demonstrator,
        }),
        countries: details
            .countries()
            .iter()
            .filter_map(|c| c.as_str().parse::<Country>().ok())
            .collect(),
    })
}

/// After instrument event `e` left the instrument as `row` (not a draft): alerts for every
/// project that now scores at or above its threshold and never did for this instrument.
pub(super) async fn instrument_changed(
    conn: &mut PgConnection,
    weights: &Weights,
    e: &StoredEvent,
    row: &Row,
) -> Result<(), ProjectionError> {
    let instrument = instrument_profile(e, row)?;
    let projects: Vec<(String, String, Json<Project>)> =
        sqlx::query_as("SELECT id, tenant, state FROM alert_projects ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    if projects.is_empty() {
        return Ok(());
    }
    let alerted: Vec<String> =
        sqlx::query_scalar("SELECT project_id FROM project_alerts WHERE instrument_id = $1")
            .bind(&row.id)
            .fetch_all(&mut *conn)
            .await?;
    for (project_id, tenant, Json(project)) in projects {
        if alerted.contains(&project_id) {
            continue;
        }
        let Some(profile) = project_profile(&project) else {
            continue;
        };
        let Ok(m) = ri_matching::score(weights, &profile, &instrument, e.recorded_at) else {
            continue; // ineligible pairs are never matches
        };
        if m.score < project.match_threshold.value() {
            continue;
        }
        sqlx::query(
            "INSERT INTO project_alerts (project_id, instrument_id, score, at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&project_id)
        .bind(&row.id)
        .bind(m.score)
        .bind(e.recorded_at)
        .execute(&mut *conn)
        .await?;
        let managers = managers(conn, &tenant).await?;
        let acronym = project
            .details
            .as_ref()
            .map(|d| d.acronym.to_string())
            .unwrap_or_default();
        let message = format!(
            "\"{}\" scores {:.2} for {acronym}, at or above its threshold of {:.2}",
            row.title,
            m.score,
            project.match_threshold.value()
        );
        for manager in managers {
            let id = Uuid::new_v5(
                &NOTIFICATION_NAMESPACE,
                format!("{}:{project_id}:{manager}", e.event_id).as_bytes(),
            );
            sqlx::query(
                "INSERT INTO public.notifications (id, tenant, recipient, kind, project_id, \
                     instrument_id, title, message, deadline, created_at) \
                 VALUES ($1, $2, $3, 'PROJECT_MATCH', $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(&tenant)
            .bind(&manager)
            .bind(&project_id)
            .bind(&row.id)
            .bind(&row.title)
            .bind(&message)
            .bind(row.deadline)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The follow-up managers of `tenant`, as its events granted them.
async fn managers(conn: &mut PgConnection, tenant: &str) -> Result<Vec<String>, ProjectionError> {
    let state: Option<Json<Tenant>> =
        sqlx::query_scalar("SELECT state FROM alert_tenants WHERE slug = $1")
            .bind(tenant)
            .fetch_optional(conn)
            .await?;
    Ok(state
        .map(|Json(t)| {
            t.grants
                .into_iter()
                .filter(|(_, role)| *role == Role::FollowUpManager)
                .map(|(subject, _)| subject)
                .collect()
        })
        .unwrap_or_default())
}
