//! The `projects` projection: each tenant's funded projects (`projects`), their success
//! milestones (`project_milestones`) and their funding applications (`project_applications`),
//! folded from the Project events, and in [`read`] the read API the GraphQL layer and the
//! matcher call.
//!
//! Rows are keyed by (tenant, id): a project belongs to the tenant whose stream holds it. All
//! four tables are under row-level security that shows each tenant its own rows, and those of
//! the projects other tenants share with it (`project_shares`, [`shares`]); the
//! projection writes as `app.projector`, and every read runs in a transaction that sets
//! `app.tenant` to the reader's tenant.

mod as_of;
pub mod read;
mod shares;

use std::collections::{BTreeMap, BTreeSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::project::{
    FundingApplication, Money, PROJECT, ProjectDetails, ProjectEvent, SuccessMilestone,
};
use ri_eventstore::StoredEvent;
use ri_taxonomy::FeatureSet;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::catalogue::as_projector;
use crate::catalogue::codes::{code, decode_all};
use crate::error::ProjectionError;
use crate::projection::Projection;

pub use as_of::project_as_of;
pub use read::{
    FeatureNeed, FundingApplicationRow, MatchProfiles, MilestoneRow, ProjectMatchProfile,
    ProjectRow, feature_needs, instrument_profiles, match_profiles, project, projects,
    projects_by_ids,
};
pub use shares::{ProjectFeedbackRow, ShareRow, project_feedback, shared_projects, shares};

#[derive(Debug, Clone, Copy, Default)]
pub struct Projects;

/// A `projects` row, as the fold holds it between loading and storing.
#[derive(Debug, Clone)]
struct Row {
    tenant: String,
    id: String,
    version: i64,
    details: ProjectDetails,
    features: FeatureSet,
    applications_beyond_security: Option<String>,
    match_threshold: f64,
    registered_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

type Key = (String, String);

impl Projection for Projects {
    fn name(&self) -> &'static str {
        "projects"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "projects",
            "project_milestones",
            "project_applications",
            "project_shares",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mine = decode_all::<ProjectEvent>(events, PROJECT)?;
            if mine.is_empty() {
                return Ok(());
            }
            as_projector(&mut *conn).await?;

            // Fold the batch over the project rows it touches, then write each of them once;
            // milestones and applications are written as their events come.
            let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
            let mut touched = BTreeSet::new();
            for (e, event) in mine {
                let key = (e.tenant.clone(), e.aggregate_id.clone());
                if !rows.contains_key(&key)
                    && let Some(row) = load(&mut *conn, &key).await?
                {
                    rows.insert(key.clone(), row);
                }
                match (rows.get_mut(&key), event) {
                    (None, ProjectEvent::ProjectRegistered { details, .. }) => {
                        rows.insert(key.clone(), Row::registered(e, details));
                    }
                    (None, _) => {
                        tracing::warn!(
                            position = e.position,
                            tenant = e.tenant,
                            id = e.aggregate_id,
                            "event of a project never registered; not projected"
                        );
                        continue;
                    }
                    (Some(row), event) => apply_event(&mut *conn, row, e, event).await?,
                }
                if let Some(row) = rows.get_mut(&key) {
                    row.version = e.sequence;
                    row.updated_at = e.recorded_at;
                }
                touched.insert(key);
            }
            for key in &touched {
                if let Some(row) = rows.get(key) {
                    store(&mut *conn, row).await?;
                }
            }
            Ok(())
        }
        .boxed()
    }
}

impl Row {
    fn registered(e: &StoredEvent, details: ProjectDetails) -> Self {
        Row {
            tenant: e.tenant.clone(),
            id: e.aggregate_id.clone(),
            version: e.sequence,
            details,
            features: FeatureSet::default(),
            applications_beyond_security: None,
            match_threshold: ri_domain::project::MatchThreshold::DEFAULT.value(),
            registered_at: e.recorded_at,
            updated_at: e.recorded_at,
        }
    }
}

async fn apply_event(
    conn: &mut PgConnection,
    row: &mut Row,
    e: &StoredEvent,
    event: ProjectEvent,
) -> Result<(), ProjectionError> {
    match event {
        ProjectEvent::ProjectRegistered { .. } => {
            // The aggregate registers once; a second registration cannot be in the log.
            tracing::warn!(
                position = e.position,
                id = e.aggregate_id,
                "second registration of a project; not projected"
            );
        }
        ProjectEvent::ProjectRevised { changes } => changes.apply_to(&mut row.details),
        ProjectEvent::ProjectFeaturesDeclared { features } => {
            row.features = row.features.union(features);
        }
        ProjectEvent::ProjectFeaturesRetracted { features } => {
            row.features = row.features.difference(features);
        }
        ProjectEvent::ProjectApplicationsBeyondSecurityNoted { applications } => {
            row.applications_beyond_security =
                Some(applications.as_str().to_owned()).filter(|a| !a.is_empty());
        }
        ProjectEvent::SuccessMilestoneRecorded { milestone } => {
            insert_milestone(conn, e, &milestone).await?;
        }
        ProjectEvent::FundingApplicationRecorded { application } => {
            insert_application(conn, e, &application).await?;
        }
        ProjectEvent::FundingApplicationStatusChanged {
            id,
            new,
            date,
            amount,
            ..
        } => {
            sqlx::query(
                "UPDATE project_applications SET status = $4, status_date = $5, updated_at = $6 \
                 WHERE tenant = $1 AND project_id = $2 AND id = $3",
            )
            .bind(&e.tenant)
            .bind(&e.aggregate_id)
            .bind(id)
            .bind(code(&new))
            .bind(date)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            if let Some(change) = amount {
                let (amount, currency) = money(e, change.new.as_ref())?;
                sqlx::query(
                    "UPDATE project_applications SET amount = $4, currency = $5 \
                     WHERE tenant = $1 AND project_id = $2 AND id = $3",
                )
                .bind(&e.tenant)
                .bind(&e.aggregate_id)
                .bind(id)
                .bind(amount)
                .bind(currency)
                .execute(&mut *conn)
                .await?;
            }
        }
        ProjectEvent::ProjectMatchThresholdSet { new, .. } => {
            row.match_threshold = new.value();
        }
        ProjectEvent::ProjectShared { with } => {
            sqlx::query(
                "INSERT INTO project_shares (tenant, project_id, shared_with, shared_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(&e.tenant)
            .bind(&e.aggregate_id)
            .bind(with.as_str())
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
        ProjectEvent::ProjectShareWithdrawn { from } => {
            sqlx::query(
                "DELETE FROM project_shares \
                 WHERE tenant = $1 AND project_id = $2 AND shared_with = $3",
            )
            .bind(&e.tenant)
            .bind(&e.aggregate_id)
            .bind(from.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// An amount as the tables hold it.
fn money(
    e: &StoredEvent,
    money: Option<&Money>,
) -> Result<(Option<i64>, Option<String>), ProjectionError> {
    let Some(money) = money else {
        return Ok((None, None));
    };
    let amount = i64::try_from(money.amount).map_err(|_| ProjectionError::BadEvent {
        position: e.position,
        reason: "an amount exceeds a bigint".to_owned(),
    })?;
    Ok((Some(amount), Some(money.currency.as_str().to_owned())))
}

async fn insert_milestone(
    conn: &mut PgConnection,
    e: &StoredEvent,
    m: &SuccessMilestone,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO project_milestones (tenant, project_id, id, criterion, date, description, \
             evidence_link, funding_application, position, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant, project_id, id) DO NOTHING",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(m.id)
    .bind(code(&m.criterion))
    .bind(m.date)
    .bind(m.description.as_str())
    .bind(m.evidence_link.as_ref().map(|l| l.as_str()))
    .bind(m.funding_application)
    .bind(e.position)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_application(
    conn: &mut PgConnection,
    e: &StoredEvent,
    a: &FundingApplication,
) -> Result<(), ProjectionError> {
    let (amount, currency) = money(e, a.amount.as_ref())?;
    sqlx::query(
        "INSERT INTO project_applications (tenant, project_id, id, instrument_id, \
             instrument_name, status, status_date, amount, currency, position, recorded_at, \
             updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (tenant, project_id, id) DO NOTHING",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(a.id)
    .bind(a.instrument_id.as_ref().map(|i| i.as_str()))
    .bind(a.instrument_name.as_str())
    .bind(code(&a.status))
    .bind(a.date)
    .bind(amount)
    .bind(currency)
    .bind(e.position)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

type StoredRow = (
    i64,
    Json<ProjectDetails>,
    i64,
    Option<String>,
    f64,
    OffsetDateTime,
    OffsetDateTime,
);

async fn load(conn: &mut PgConnection, key: &Key) -> Result<Option<Row>, ProjectionError> {
    let stored: Option<StoredRow> = sqlx::query_as(
        "SELECT version, details, features, applications_beyond_security, match_threshold, \
             registered_at, updated_at \
         FROM projects WHERE tenant = $1 AND id = $2",
    )
    .bind(&key.0)
    .bind(&key.1)
    .fetch_optional(conn)
    .await?;
    let Some((version, Json(details), features, applications, threshold, registered, updated)) =
        stored
    else {
        return Ok(None);
    };
    let features = FeatureSet::from_bits(features).map_err(|err| ProjectionError::BadEvent {
        position: 0,
        reason: format!("project {} holds features it cannot: {err}", key.1),
    })?;
    Ok(Some(Row {
        tenant: key.0.clone(),
        id: key.1.clone(),
        version,
        details,
        features,
        applications_beyond_security: applications,
        match_threshold: threshold,
        registered_at: registered,
        updated_at: updated,
    }))
}

async fn store(conn: &mut PgConnection, row: &Row) -> Result<(), ProjectionError> {
    let d = &row.details;
    sqlx::query(
        "INSERT INTO projects (tenant, id, version, details, acronym, title, open_call, stage, \
             security_domain, countries, summary, features, feature_codes, \
             applications_beyond_security, match_threshold, registered_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (tenant, id) DO UPDATE SET version = EXCLUDED.version, \
             details = EXCLUDED.details, acronym = EXCLUDED.acronym, title = EXCLUDED.title, \
             open_call = EXCLUDED.open_call, stage = EXCLUDED.stage, \
             security_domain = EXCLUDED.security_domain, countries = EXCLUDED.countries, \
             summary = EXCLUDED.summary, features = EXCLUDED.features, \
             feature_codes = EXCLUDED.feature_codes, \
             applications_beyond_security = EXCLUDED.applications_beyond_security, \
             match_threshold = EXCLUDED.match_threshold, updated_at = EXCLUDED.updated_at",
    )
    .bind(&row.tenant)
    .bind(&row.id)
    .bind(row.version)
    .bind(Json(d))
    .bind(d.acronym.as_str())
    .bind(d.title.as_str())
    .bind(d.open_call.as_ref().map(|c| c.as_str()))
    .bind(d.stage.as_ref().map(code))
    .bind(d.security_domain.as_ref().map(code))
    .bind(
        d.countries()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind(d.summary.as_str())
    .bind(row.features.bits())
    .bind(
        row.features
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .bind(&row.applications_beyond_security)
    .bind(row.match_threshold)
    .bind(row.registered_at)
    .bind(row.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}
