//! The rows of demo events, invitation tokens, feedback and next steps the `clusters`
//! projection writes, and the columns they share.

use ri_domain::cluster::{
    AssignedProject, DemoEvent, Feedback, FeedbackSource, NextStep, Practitioner, Venue,
};
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalogue::codes::code;
use crate::error::ProjectionError;
use crate::instants::{plus_days, storable};

pub(super) fn offset_of(at: OffsetDateTime) -> String {
    let (h, m, _) = at.offset().as_hms();
    let sign = if at.offset().is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

pub(super) fn agenda_columns(agenda: &[AssignedProject]) -> (Vec<String>, Vec<String>) {
    agenda
        .iter()
        .map(|p| (p.id.to_string(), p.acronym.to_string()))
        .unzip()
}

pub(super) fn venue_columns(venue: &Venue) -> (Option<&str>, Option<&str>) {
    (
        venue.place.as_ref().map(|p| p.as_str()),
        venue.online_link.as_ref().map(|l| l.as_str()),
    )
}

pub(super) async fn insert_demo_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: &DemoEvent,
) -> Result<(), ProjectionError> {
    let starts_at = storable(e.position, "demo event start", event.starts_at)?;
    // Not `DemoEvent::feedback_closes_at`: its addition is unchecked.
    let closes_at = plus_days(
        e.position,
        "demo event start plus its feedback window",
        starts_at,
        i64::from(event.feedback_window.days()),
    )?;
    let (ids, acronyms) = agenda_columns(&event.agenda);
    let (place, link) = venue_columns(&event.venue);
    sqlx::query(
        "INSERT INTO cluster_demo_events (tenant, cluster_id, id, title, starts_at, time_zone, \
             utc_offset, place, online_link, agenda, agenda_acronyms, feedback_window_days, \
             feedback_closes_at, status, cancel_reason, scheduled_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'SCHEDULED', NULL, \
             $14, $14) \
         ON CONFLICT (tenant, cluster_id, id) DO NOTHING",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(event.id)
    .bind(event.title.as_str())
    .bind(starts_at)
    .bind(event.time_zone.as_str())
    .bind(offset_of(event.starts_at))
    .bind(place)
    .bind(link)
    .bind(&ids)
    .bind(&acronyms)
    .bind(i32::from(event.feedback_window.days()))
    .bind(closes_at)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn set_event_status(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event_id: Uuid,
    status: &str,
    reason: Option<&str>,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE cluster_demo_events SET status = $4, cancel_reason = $5, updated_at = $6 \
         WHERE tenant = $1 AND cluster_id = $2 AND id = $3",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(event_id)
    .bind(status)
    .bind(reason)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn issue_token(
    conn: &mut PgConnection,
    e: &StoredEvent,
    invitation_id: Uuid,
    token_sha256: &str,
) -> Result<(), ProjectionError> {
    let done = sqlx::query(
        "INSERT INTO cluster_invitation_tokens (token_sha256, tenant, cluster_id, \
             invitation_id, issued_at, retired_at) \
         VALUES ($1, $2, $3, $4, $5, NULL) \
         ON CONFLICT (token_sha256) DO NOTHING",
    )
    .bind(token_sha256)
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(invitation_id)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        tracing::warn!(
            position = e.position,
            invitation = %invitation_id,
            "a token hash already belongs to another invitation; the first keeps it"
        );
    }
    Ok(())
}

/// A feedback row, first or revised. For an invitation, the practitioner is the invitation's.
pub(super) async fn upsert_feedback(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event_id: Uuid,
    source: &FeedbackSource,
    project: &AssignedProject,
    feedback: &Feedback,
) -> Result<(), ProjectionError> {
    let paper: Option<&Practitioner> = match source {
        FeedbackSource::Paper { practitioner, .. } => Some(practitioner),
        FeedbackSource::Invitation { .. } => None,
    };
    let codes = feedback
        .relevant_features
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect::<Vec<_>>();
    let done = sqlx::query(
        "INSERT INTO cluster_feedback (tenant, cluster_id, event_id, respondent_id, project_id, \
             acronym, source, organisation, country, sector, relevance, usability, would_pilot, \
             feature_codes, comment, submitted_at, updated_at, revisions, project_owner) \
         SELECT $1, $2, $3, $4, $5, $6, $7, p.organisation, p.country, p.sector, $11, $12, $13, \
             $14, $15, $16, $16, 0, \
             coalesce((SELECT owner FROM cluster_projects \
                 WHERE tenant = $1 AND cluster_id = $2 AND project_id = $5), $1) \
         FROM (SELECT $8::text AS organisation, $9::text AS country, $10::text AS sector \
               WHERE $7 = 'PAPER' \
               UNION ALL \
               SELECT organisation, country, sector FROM cluster_invitations \
               WHERE $7 = 'INVITATION' AND tenant = $1 AND cluster_id = $2 AND id = $4) p \
         ON CONFLICT (tenant, cluster_id, respondent_id, project_id) DO UPDATE SET \
             relevance = EXCLUDED.relevance, usability = EXCLUDED.usability, \
             would_pilot = EXCLUDED.would_pilot, feature_codes = EXCLUDED.feature_codes, \
             comment = EXCLUDED.comment, updated_at = EXCLUDED.updated_at, \
             revisions = cluster_feedback.revisions + 1",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(event_id)
    .bind(source.respondent_id())
    .bind(project.id.as_str())
    .bind(project.acronym.as_str())
    .bind(source.code())
    .bind(paper.map(|p| p.organisation.as_str()))
    .bind(paper.map(|p| p.country.as_str()))
    .bind(paper.map(|p| code(&p.sector)))
    .bind(i16::from(feedback.relevance.value()))
    .bind(i16::from(feedback.usability.value()))
    .bind(feedback.would_pilot)
    .bind(&codes)
    .bind(feedback.comment.as_str())
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        tracing::warn!(
            position = e.position,
            respondent = %source.respondent_id(),
            "feedback through an invitation the cluster never made; not projected"
        );
    }
    Ok(())
}

pub(super) async fn insert_step(
    conn: &mut PgConnection,
    e: &StoredEvent,
    session_id: Uuid,
    step: &NextStep,
    index: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO cluster_next_steps (tenant, cluster_id, session_id, id, project_id, acronym, \
             action, owner, due, completed_on, added_at, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11) \
         ON CONFLICT (tenant, cluster_id, id) DO NOTHING",
    )
    .bind(&e.tenant)
    .bind(&e.aggregate_id)
    .bind(session_id)
    .bind(step.id)
    .bind(step.project.id.as_str())
    .bind(step.project.acronym.as_str())
    .bind(step.action.as_str())
    .bind(step.owner.as_str())
    .bind(step.due)
    .bind(e.recorded_at)
    // Steps of one event keep their order (a session holds at most 50).
    .bind(e.position.saturating_mul(100).saturating_add(index))
    .execute(conn)
    .await?;
    Ok(())
}
