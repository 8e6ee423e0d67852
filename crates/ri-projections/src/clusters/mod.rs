//! The `clusters` projection: each tenant's end-user areas (`cluster_areas`) and project
//! clusters (`clusters`), with the clusters' projects, stakeholders, demo events, invitations
//! (and every token hash each ever had), feedback, follow-up sessions and next steps, folded
//! from the EndUserArea and ProjectCluster events; in [`read`] the read API the GraphQL layer
//! calls (the dashboard, the token lookup, the suggestions), and in [`attempts`] the shared
//! counter that rate-limits feedback attempts.
//!
//! Rows are keyed by tenant: an aggregate belongs to the tenant whose stream holds it, so one
//! tenant's cluster never touches another's rows, whatever ids the events name. Every table is
//! under row-level security (see the migration `20261126000007_clusters.sql`); the projection
//! writes as `app.projector`, and reads set `app.tenant`. The rows of demo events, tokens,
//! feedback and steps are written in `rows.rs`.
//!
//! Robustness: an event of an area or cluster never formed is logged and skipped; a project id
//! the cluster names is stored as given, and every read joins it with the projects read model
//! *of the cluster's tenant*, so a project that is not the tenant's shows as unregistered and
//! reveals nothing of anyone else's.

mod as_of;
pub mod attempts;
pub(crate) mod audit;
pub mod read;
mod rows;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::cluster::{AreaEvent, CLUSTER, ClusterEvent, END_USER_AREA, FeedbackWindow};
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;

use crate::catalogue::as_projector;
use crate::catalogue::codes::{code, decode};
use crate::error::ProjectionError;
use crate::instants::{plus_days, storable, storable_opt};
use crate::projection::Projection;
use rows::{
    agenda_columns, insert_demo_event, insert_step, issue_token, offset_of, set_event_status,
    upsert_feedback, venue_columns,
};

pub use as_of::cluster_dashboard_as_of;
pub use attempts::{Attempt, AttemptLimit, record_feedback_attempt};
pub use read::{
    AgendaItem, AreaRow, ClusterDashboard, ClusterProject, ClusterRow, CountShare, DemoEventRow,
    FeedbackRow, InvitationAccess, InvitationRow, InvitationState, NextStepRow,
    ProjectFeedbackSummary, ProjectMilestone, SessionRow, SharedFeature, StakeholderRow,
    Suggestion, area, areas, cluster_dashboard, clusters, feedback_entries,
    invitation_by_token_hash, invitations, suggested_projects,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct Clusters;

#[derive(Debug)]
enum Decoded {
    Area(AreaEvent),
    Cluster(Box<ClusterEvent>),
}

impl Projection for Clusters {
    fn name(&self) -> &'static str {
        "clusters"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "cluster_areas",
            "clusters",
            "cluster_projects",
            "cluster_stakeholders",
            "cluster_demo_events",
            "cluster_invitations",
            "cluster_invitation_tokens",
            "cluster_feedback",
            "cluster_sessions",
            "cluster_next_steps",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mut mine = Vec::new();
            for e in events {
                match e.aggregate_type.as_str() {
                    END_USER_AREA => mine.push((e, Decoded::Area(decode(e)?))),
                    CLUSTER => mine.push((e, Decoded::Cluster(Box::new(decode(e)?)))),
                    _ => {}
                }
            }
            if mine.is_empty() {
                return Ok(());
            }
            as_projector(&mut *conn).await?;
            for (e, decoded) in mine {
                match decoded {
                    Decoded::Area(event) => area_event(&mut *conn, e, event).await?,
                    Decoded::Cluster(event) => cluster_event(&mut *conn, e, *event).await?,
                }
            }
            Ok(())
        }
        .boxed()
    }
}

fn skipped(e: &StoredEvent, what: &str) {
    tracing::warn!(
        position = e.position,
        tenant = e.tenant,
        id = e.aggregate_id,
        event = e.event_type,
        "event of {what} never formed; not projected"
    );
}

async fn area_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: AreaEvent,
) -> Result<(), ProjectionError> {
    let (tenant, id) = (e.tenant.as_str(), e.aggregate_id.as_str());
    let done = match event {
        AreaEvent::EndUserAreaNamed {
            name,
            domain,
            description,
            ..
        } => {
            sqlx::query(
                "INSERT INTO cluster_areas (tenant, id, version, name, domain, own_domain, \
                     description, named_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (tenant, id) DO NOTHING",
            )
            .bind(tenant)
            .bind(id)
            .bind(e.sequence)
            .bind(name.as_str())
            .bind(domain.code())
            .bind(domain.own_name())
            .bind(description.as_str())
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?
        }
        AreaEvent::EndUserAreaRevised {
            name,
            domain,
            description,
        } => {
            let domain = domain.map(|c| c.new);
            sqlx::query(
                "UPDATE cluster_areas SET name = coalesce($3, name), \
                     domain = coalesce($4, domain), \
                     own_domain = CASE WHEN $4::text IS NULL THEN own_domain ELSE $5 END, \
                     description = coalesce($6, description), version = $7, updated_at = $8 \
                 WHERE tenant = $1 AND id = $2",
            )
            .bind(tenant)
            .bind(id)
            .bind(name.as_ref().map(|c| c.new.as_str()))
            .bind(domain.as_ref().map(|d| d.code()))
            .bind(domain.as_ref().and_then(|d| d.own_name()))
            .bind(description.as_ref().map(|c| c.new.as_str()))
            .bind(e.sequence)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?
        }
    };
    if done.rows_affected() == 0 {
        skipped(e, "an end-user area");
    }
    Ok(())
}

/// The cluster row's version and time, after any of its events.
async fn touch(conn: &mut PgConnection, e: &StoredEvent) -> Result<bool, ProjectionError> {
    let done = sqlx::query(
        "UPDATE clusters SET version = $3, updated_at = $4 WHERE tenant = $1 AND id = $2",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(e.sequence)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

async fn cluster_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: ClusterEvent,
) -> Result<(), ProjectionError> {
    let (tenant, id) = (e.tenant.as_str(), e.aggregate_id.as_str());
    if let ClusterEvent::ClusterFormed {
        area_id,
        name,
        description,
        ..
    } = &event
    {
        sqlx::query(
            "INSERT INTO clusters (tenant, id, version, area_id, name, description, \
                 follow_up_manager, formed_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7) \
             ON CONFLICT (tenant, id) DO NOTHING",
        )
        .bind(tenant)
        .bind(id)
        .bind(e.sequence)
        .bind(area_id.as_str())
        .bind(name.as_str())
        .bind(description.as_str())
        .bind(e.recorded_at)
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    if !touch(&mut *conn, e).await? {
        skipped(e, "a cluster");
        return Ok(());
    }
    match event {
        ClusterEvent::ClusterFormed { .. } => {}
        ClusterEvent::ClusterRevised {
            area_id,
            name,
            description,
        } => {
            sqlx::query(
                "UPDATE clusters SET area_id = coalesce($3, area_id), name = coalesce($4, name), \
                     description = coalesce($5, description) \
                 WHERE tenant = $1 AND id = $2",
            )
            .bind(tenant)
            .bind(id)
            .bind(area_id.as_ref().map(|c| c.new.as_str()))
            .bind(name.as_ref().map(|c| c.new.as_str()))
            .bind(description.as_ref().map(|c| c.new.as_str()))
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::ProjectAssignedToCluster { project, owner } => {
            sqlx::query(
                "INSERT INTO cluster_projects (tenant, cluster_id, project_id, acronym, \
                     assigned_at, position, owner) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tenant, cluster_id, project_id) DO NOTHING",
            )
            .bind(tenant)
            .bind(id)
            .bind(project.id.as_str())
            .bind(project.acronym.as_str())
            .bind(e.recorded_at)
            .bind(e.position)
            .bind(owner.as_ref().map(|o| o.as_str()))
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::ProjectRemovedFromCluster { project } => {
            sqlx::query(
                "DELETE FROM cluster_projects \
                 WHERE tenant = $1 AND cluster_id = $2 AND project_id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(project.id.as_str())
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::FollowUpManagerAssigned { new, .. } => {
            sqlx::query("UPDATE clusters SET follow_up_manager = $3 WHERE tenant = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .bind(&new)
                .execute(&mut *conn)
                .await?;
        }
        ClusterEvent::StakeholderEngaged { stakeholder: s } => {
            sqlx::query(
                "INSERT INTO cluster_stakeholders (tenant, cluster_id, id, kind, name, note, \
                     engaged_at, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (tenant, cluster_id, id) DO NOTHING",
            )
            .bind(tenant)
            .bind(id)
            .bind(s.id)
            .bind(code(&s.kind))
            .bind(s.name.as_str())
            .bind(s.note.as_str())
            .bind(e.recorded_at)
            .bind(e.position)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::StakeholderDisengaged { stakeholder } => {
            sqlx::query(
                "DELETE FROM cluster_stakeholders WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(stakeholder.id)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::DemoEventScheduled { event } => {
            insert_demo_event(&mut *conn, e, &event).await?;
        }
        ClusterEvent::DemoEventRescheduled {
            id: event_id,
            new_starts_at,
            time_zone,
            venue,
            ..
        } => {
            storable(e.position, "demo event start", new_starts_at)?;
            // The window of the stored event is applied in SQL; whatever it is, the close
            // must stay within what the readers can hold.
            plus_days(
                e.position,
                "demo event start plus its feedback window",
                new_starts_at,
                i64::from(FeedbackWindow::MAX_DAYS),
            )?;
            let venue = venue.map(|c| c.new);
            let (place, link) = venue.as_ref().map(venue_columns).unwrap_or((None, None));
            sqlx::query(
                "UPDATE cluster_demo_events SET starts_at = $4, utc_offset = $5, \
                     feedback_closes_at = $4 + make_interval(days => feedback_window_days), \
                     time_zone = coalesce($6, time_zone), \
                     place = CASE WHEN $7 THEN $8 ELSE place END, \
                     online_link = CASE WHEN $7 THEN $9 ELSE online_link END, updated_at = $10 \
                 WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(event_id)
            .bind(new_starts_at)
            .bind(offset_of(new_starts_at))
            .bind(time_zone.as_ref().map(|c| c.new.as_str()))
            .bind(venue.is_some())
            .bind(place)
            .bind(link)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::DemoAgendaRevised {
            id: event_id, new, ..
        } => {
            let (ids, acronyms) = agenda_columns(&new);
            sqlx::query(
                "UPDATE cluster_demo_events SET agenda = $4, agenda_acronyms = $5, updated_at = $6 \
                 WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(event_id)
            .bind(&ids)
            .bind(&acronyms)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::DemoEventCancelled {
            id: event_id,
            reason,
        } => {
            set_event_status(&mut *conn, e, event_id, "CANCELLED", Some(reason.as_str())).await?;
        }
        ClusterEvent::DemoEventHeld { id: event_id } => {
            set_event_status(&mut *conn, e, event_id, "HELD", None).await?;
        }
        ClusterEvent::PractitionerInvited {
            event_id,
            invitation: i,
        } => {
            let expires_at = storable_opt(e.position, "invitation expiry", i.expires_at)?;
            sqlx::query(
                "INSERT INTO cluster_invitations (tenant, cluster_id, event_id, id, organisation, \
                     country, sector, email, token_sha256, expires_at, status, revoke_reason, \
                     invited_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'ACTIVE', NULL, $11, $11) \
                 ON CONFLICT (tenant, cluster_id, id) DO NOTHING",
            )
            .bind(tenant)
            .bind(id)
            .bind(event_id)
            .bind(i.id)
            .bind(i.practitioner.organisation.as_str())
            .bind(i.practitioner.country.as_str())
            .bind(code(&i.practitioner.sector))
            .bind(i.email.as_str())
            .bind(i.token_sha256.as_str())
            .bind(expires_at)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            issue_token(&mut *conn, e, i.id, i.token_sha256.as_str()).await?;
        }
        ClusterEvent::InvitationReissued {
            invitation_id,
            token_sha256,
            expires_at,
            ..
        } => {
            let expires_at = storable_opt(e.position, "invitation expiry", expires_at)?;
            sqlx::query(
                "UPDATE cluster_invitation_tokens SET retired_at = $4 \
                 WHERE tenant = $1 AND cluster_id = $2 AND invitation_id = $3 \
                   AND retired_at IS NULL",
            )
            .bind(tenant)
            .bind(id)
            .bind(invitation_id)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            issue_token(&mut *conn, e, invitation_id, token_sha256.as_str()).await?;
            sqlx::query(
                "UPDATE cluster_invitations SET token_sha256 = $4, expires_at = $5, \
                     updated_at = $6 \
                 WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(invitation_id)
            .bind(token_sha256.as_str())
            .bind(expires_at)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::InvitationRevoked {
            invitation_id,
            reason,
            ..
        } => {
            sqlx::query(
                "UPDATE cluster_invitations SET status = 'REVOKED', revoke_reason = $4, \
                     updated_at = $5 \
                 WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(invitation_id)
            .bind(reason.as_str())
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
        }
        ClusterEvent::DemoFeedbackSubmitted {
            event_id,
            source,
            project,
            feedback,
        } => {
            upsert_feedback(&mut *conn, e, event_id, &source, &project, &feedback).await?;
        }
        ClusterEvent::DemoFeedbackRevised {
            event_id,
            source,
            project,
            new,
            ..
        } => {
            upsert_feedback(&mut *conn, e, event_id, &source, &project, &new).await?;
        }
        ClusterEvent::FollowUpSessionRecorded { session } => {
            sqlx::query(
                "INSERT INTO cluster_sessions (tenant, cluster_id, id, date, demo_event_id, \
                     attendees, notes, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (tenant, cluster_id, id) DO NOTHING",
            )
            .bind(tenant)
            .bind(id)
            .bind(session.id)
            .bind(session.date)
            .bind(session.demo_event_id)
            .bind(
                session
                    .attendees
                    .names()
                    .iter()
                    .map(|n| n.as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(session.notes.as_str())
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            for (i, step) in (0_i64..).zip(&session.next_steps) {
                insert_step(&mut *conn, e, session.id, step, i).await?;
            }
        }
        ClusterEvent::NextStepAdded { session_id, step } => {
            insert_step(&mut *conn, e, session_id, &step, 0).await?;
        }
        ClusterEvent::NextStepCompleted {
            step_id,
            completed_on,
            ..
        } => {
            sqlx::query(
                "UPDATE cluster_next_steps SET completed_on = $4 \
                 WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
            )
            .bind(tenant)
            .bind(id)
            .bind(step_id)
            .bind(completed_on)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
