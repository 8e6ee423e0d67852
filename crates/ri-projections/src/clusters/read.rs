//! The read API over end-user areas and project clusters, for the GraphQL layer.
//!
//! Every function takes the tenant it reads for and runs in its own short, read-only,
//! repeatable-read transaction that first sets `app.tenant` to that tenant: row-level security,
//! not only the query, keeps other tenants' clusters out, and one snapshot makes a dashboard's
//! numbers agree with each other. The one exception is [`invitation_by_token_hash`], for
//! practitioners without an account: it finds the invitation through the SECURITY DEFINER
//! function `invitation_by_token`, then reads on as the invitation's tenant.
//!
//! Functions whose answer depends on the time (upcoming or past, overdue, expired) take `now`.

use std::collections::HashMap;

use ri_domain::TenantSlug;
use ri_domain::cluster::{
    AreaDomain, DemoEventStatus, PractitionerSector, StakeholderKind, TokenHash,
};
use ri_domain::project::SuccessCriterion;
use ri_taxonomy::{FeatureCode, FeatureSet};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Row, Transaction};
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::catalogue::ReadError;
use crate::catalogue::read::{as_tenant, enumerated, malformed};

/// Most features a feedback summary names as most cited.
pub const TOP_FEATURES: usize = 5;

/// Most suggestions one call returns, whatever `limit` asks for.
pub const MAX_SUGGESTIONS: u32 = 50;

/// An end-user area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRow {
    pub id: String,
    pub tenant: TenantSlug,
    /// The aggregate's version: the `expectedVersion` to send.
    pub version: i64,
    pub name: String,
    pub domain: AreaDomain,
    pub description: String,
    /// The tenant's clusters formed for it.
    pub clusters: i64,
    pub named_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A cluster as the list of clusters shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRow {
    pub id: String,
    pub tenant: TenantSlug,
    /// The aggregate's version: the `expectedVersion` to send.
    pub version: i64,
    pub area_id: String,
    /// `None` when the area is not (or not yet) in the read model.
    pub area_name: Option<String>,
    pub area_domain: Option<AreaDomain>,
    pub name: String,
    pub description: String,
    /// The follow-up manager's subject.
    pub follow_up_manager: Option<String>,
    pub projects: i64,
    /// Demo events starting after `now`, not cancelled.
    pub upcoming_events: i64,
    pub open_steps: i64,
    pub overdue_steps: i64,
    pub formed_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A project of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterProject {
    pub project_id: String,
    /// The current acronym (the one at assignment when the project is not registered).
    pub acronym: String,
    pub title: Option<String>,
    /// Whether the projects read model holds it for the cluster's tenant (false too once
    /// another tenant's project is no longer shared with it).
    pub registered: bool,
    pub features: FeatureSet,
    pub open_call: Option<String>,
    pub assigned_at: OffsetDateTime,
    /// The tenant that shared it, when it is not the cluster's own project.
    pub owner: Option<TenantSlug>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakeholderRow {
    pub id: Uuid,
    pub kind: StakeholderKind,
    pub name: String,
    pub note: String,
    pub engaged_at: OffsetDateTime,
}

/// A project on a demo event's agenda.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgendaItem {
    pub project_id: String,
    pub acronym: String,
    pub title: Option<String>,
    pub features: FeatureSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoEventRow {
    pub id: Uuid,
    pub title: String,
    /// In the offset the organiser gave.
    pub starts_at: OffsetDateTime,
    pub time_zone: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// In order.
    pub agenda: Vec<AgendaItem>,
    pub status: DemoEventStatus,
    pub cancel_reason: Option<String>,
    pub feedback_window_days: i32,
    pub feedback_closes_at: OffsetDateTime,
    /// Invitations not revoked.
    pub invitations: i64,
    /// Practitioners (invitations and paper sheets) who gave feedback.
    pub respondents: i64,
    /// Feedback given, one per practitioner and project.
    pub feedback: i64,
    pub scheduled_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// How often one value occurs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountShare<T> {
    pub value: T,
    pub count: i64,
}

/// What practitioners said about one project of the cluster, over all its demo events.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFeedbackSummary {
    pub project_id: String,
    pub acronym: String,
    pub count: i64,
    /// Means over the feedback, `None` without feedback.
    pub mean_relevance: Option<f64>,
    pub mean_usability: Option<f64>,
    /// The share (0 to 1) of practitioners who would pilot it.
    pub would_pilot_share: Option<f64>,
    /// The most cited relevant features, most cited first (taxonomy order on a tie), at most
    /// [`TOP_FEATURES`].
    pub top_features: Vec<CountShare<FeatureCode>>,
    /// By practitioners' country (ISO alpha-2), most first, then by code.
    pub by_country: Vec<CountShare<String>>,
    /// By practitioners' sector, most first, then by code.
    pub by_sector: Vec<CountShare<PractitionerSector>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStepRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub project_id: String,
    pub acronym: String,
    pub action: String,
    pub owner: String,
    pub due: Date,
    pub completed_on: Option<Date>,
    /// Due before today (of `now`, UTC) and not completed.
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: Uuid,
    pub date: Date,
    pub demo_event_id: Option<Uuid>,
    pub attendees: Vec<String>,
    pub notes: String,
    /// By due date.
    pub next_steps: Vec<NextStepRow>,
    pub recorded_at: OffsetDateTime,
}

/// A success milestone of one of the cluster's projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMilestone {
    pub project_id: String,
    pub acronym: String,
    pub id: Uuid,
    pub criterion: SuccessCriterion,
    pub date: Date,
    pub description: String,
    pub evidence_link: Option<String>,
}

/// Everything a follow-up manager's dashboard shows of one cluster, from one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDashboard {
    pub cluster: ClusterRow,
    /// In the order assigned.
    pub projects: Vec<ClusterProject>,
    pub stakeholders: Vec<StakeholderRow>,
    /// Starting after `now` (cancelled ones included, marked), soonest first.
    pub upcoming_events: Vec<DemoEventRow>,
    /// Started at or before `now`, latest first.
    pub past_events: Vec<DemoEventRow>,
    /// One per project of the cluster, in the order assigned.
    pub feedback: Vec<ProjectFeedbackSummary>,
    /// Latest first.
    pub sessions: Vec<SessionRow>,
    /// Not completed, by due date.
    pub open_steps: Vec<NextStepRow>,
    /// The open steps due before today.
    pub overdue_steps: Vec<NextStepRow>,
    /// Of the cluster's projects, by date.
    pub milestones: Vec<ProjectMilestone>,
}

/// An invitation as the follow-up manager sees it (never its token hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub organisation: String,
    pub country: String,
    pub sector: PractitionerSector,
    pub email: String,
    /// `None`: when the event's feedback window closes.
    pub expires_at: Option<OffsetDateTime>,
    pub revoked: bool,
    pub revoke_reason: Option<String>,
    /// Links issued (1, plus one per reissue).
    pub links_issued: i64,
    /// Projects it gave feedback on.
    pub feedback: i64,
    pub invited_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One practitioner's feedback on one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    pub event_id: Uuid,
    /// The invitation's id, or the paper sheet's.
    pub respondent_id: Uuid,
    /// `true` when a follow-up manager recorded it from paper.
    pub paper: bool,
    pub project_id: String,
    pub acronym: String,
    pub organisation: String,
    pub country: String,
    pub sector: PractitionerSector,
    pub relevance: u8,
    pub usability: u8,
    pub would_pilot: bool,
    pub relevant_features: FeatureSet,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub revisions: i32,
}

/// What a practitioner's link can do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// Feedback can be given and edited.
    Open,
    /// The event has not started yet.
    NotOpenYet,
    /// The link was replaced by a newer one (already used up).
    Replaced,
    Revoked,
    /// The demo event was cancelled.
    Cancelled,
    /// The event's feedback window has closed.
    WindowClosed,
    /// The invitation's own expiry has passed.
    Expired,
}

/// What a practitioner's link opens: the invitation, its event and, for a link that is still
/// the invitation's, the agenda and the feedback given so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationAccess {
    pub invitation_id: Uuid,
    pub tenant: TenantSlug,
    pub cluster_id: String,
    pub event_id: Uuid,
    pub state: InvitationState,
    pub organisation: String,
    pub event_title: String,
    /// In the offset the organiser gave.
    pub starts_at: OffsetDateTime,
    pub time_zone: String,
    /// The invitation's own expiry, if it has one.
    pub expires_at: Option<OffsetDateTime>,
    pub feedback_closes_at: OffsetDateTime,
    /// Empty for a replaced or revoked link.
    pub agenda: Vec<AgendaItem>,
    /// This invitation's feedback; empty for a replaced or revoked link.
    pub feedback: Vec<FeedbackRow>,
}

/// A feature a suggested project shares with the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFeature {
    pub feature: FeatureCode,
    /// How many of the cluster's projects declare it.
    pub members: i64,
}

/// A project of the tenant not in the cluster whose features resemble its members'.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub project_id: String,
    /// The tenant it belongs to: the cluster's, or one that shared it with the cluster's.
    pub owner: TenantSlug,
    pub acronym: String,
    pub title: String,
    pub features: FeatureSet,
    /// The mean Jaccard similarity of its features to each member's (members with features),
    /// from 0 to 1.
    pub score: f64,
    /// The explanation: the features it shares with the cluster's projects, most shared first
    /// (taxonomy order on a tie).
    pub shared_features: Vec<SharedFeature>,
    /// The member it resembles most, by acronym.
    pub closest_member: Option<String>,
}

fn slug(raw: &str) -> Result<TenantSlug, ReadError> {
    TenantSlug::parse(raw).map_err(|e| malformed("tenant", e))
}

fn feature_set(bits: Option<i64>) -> Result<FeatureSet, ReadError> {
    bits.map_or(Ok(FeatureSet::default()), |bits| {
        FeatureSet::from_bits(bits).map_err(|e| malformed("features", e))
    })
}

fn codes_set(codes: &[String]) -> Result<FeatureSet, ReadError> {
    FeatureSet::parse(codes.iter().map(String::as_str)).map_err(|e| malformed("feature_codes", e))
}

fn domain(code: &str, own: Option<&str>) -> Result<AreaDomain, ReadError> {
    AreaDomain::parse(code, own).map_err(|e| malformed("domain", e))
}

/// `at` shown in the offset `raw` (`+02:00`) it was given in.
fn in_offset(at: OffsetDateTime, raw: &str) -> Result<OffsetDateTime, ReadError> {
    let offset = UtcOffset::parse(
        raw,
        format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .map_err(|e| malformed("utc_offset", e))?;
    Ok(at.to_offset(offset))
}

fn today(now: OffsetDateTime) -> Date {
    now.to_offset(UtcOffset::UTC).date()
}

const AREA_SELECT: &str = "SELECT a.tenant, a.id, a.version, a.name, a.domain, a.own_domain, \
     a.description, a.named_at, a.updated_at, \
     (SELECT count(*) FROM clusters c WHERE c.tenant = a.tenant AND c.area_id = a.id) AS clusters \
     FROM cluster_areas a";

fn decode_area(row: &PgRow) -> Result<AreaRow, ReadError> {
    Ok(AreaRow {
        id: row.try_get("id")?,
        tenant: slug(row.try_get("tenant")?)?,
        version: row.try_get("version")?,
        name: row.try_get("name")?,
        domain: domain(row.try_get("domain")?, row.try_get("own_domain")?)?,
        description: row.try_get("description")?,
        clusters: row.try_get("clusters")?,
        named_at: row.try_get("named_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The tenant's end-user areas, by name.
pub async fn areas(pool: &PgPool, tenant: &TenantSlug) -> Result<Vec<AreaRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{AREA_SELECT} WHERE a.tenant = $1 ORDER BY lower(a.name), a.id"
    )))
    .bind(tenant.as_str())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(decode_area).collect()
}

/// The tenant's end-user area `id`; `None` for another tenant's.
pub async fn area(
    pool: &PgPool,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Option<AreaRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{AREA_SELECT} WHERE a.tenant = $1 AND a.id = $2"
    )))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    row.as_ref().map(decode_area).transpose()
}

/// `$1` tenant, `$2` now, `$3` today.
const CLUSTER_SELECT: &str = "SELECT c.tenant, c.id, c.version, c.area_id, a.name AS area_name, \
     a.domain AS area_domain, a.own_domain, c.name, c.description, c.follow_up_manager, \
     c.formed_at, c.updated_at, \
     (SELECT count(*) FROM cluster_projects p \
      WHERE p.tenant = c.tenant AND p.cluster_id = c.id) AS projects, \
     (SELECT count(*) FROM cluster_demo_events e \
      WHERE e.tenant = c.tenant AND e.cluster_id = c.id AND e.starts_at > $2 \
        AND e.status <> 'CANCELLED') AS upcoming_events, \
     (SELECT count(*) FROM cluster_next_steps s \
      WHERE s.tenant = c.tenant AND s.cluster_id = c.id AND s.completed_on IS NULL) AS open_steps, \
     (SELECT count(*) FROM cluster_next_steps s \
      WHERE s.tenant = c.tenant AND s.cluster_id = c.id AND s.completed_on IS NULL \
        AND s.due < $3) AS overdue_steps \
     FROM clusters c LEFT JOIN cluster_areas a ON a.tenant = c.tenant AND a.id = c.area_id";

fn decode_cluster(row: &PgRow) -> Result<ClusterRow, ReadError> {
    let area_domain: Option<String> = row.try_get("area_domain")?;
    Ok(ClusterRow {
        id: row.try_get("id")?,
        tenant: slug(row.try_get("tenant")?)?,
        version: row.try_get("version")?,
        area_id: row.try_get("area_id")?,
        area_name: row.try_get("area_name")?,
        area_domain: area_domain
            .map(|d| domain(&d, row.try_get("own_domain")?))
            .transpose()?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        follow_up_manager: row.try_get("follow_up_manager")?,
        projects: row.try_get("projects")?,
        upcoming_events: row.try_get("upcoming_events")?,
        open_steps: row.try_get("open_steps")?,
        overdue_steps: row.try_get("overdue_steps")?,
        formed_at: row.try_get("formed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The tenant's clusters, by name, with their counts as of `now`.
pub async fn clusters(
    pool: &PgPool,
    tenant: &TenantSlug,
    now: OffsetDateTime,
) -> Result<Vec<ClusterRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{CLUSTER_SELECT} WHERE c.tenant = $1 ORDER BY lower(c.name), c.id"
    )))
    .bind(tenant.as_str())
    .bind(now)
    .bind(today(now))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(decode_cluster).collect()
}

/// The dashboard of the tenant's cluster `id` as of `now`; `None` when the tenant has no such
/// cluster (another tenant's included).
pub async fn cluster_dashboard(
    pool: &PgPool,
    tenant: &TenantSlug,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<ClusterDashboard>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let dashboard = dashboard_in(&mut tx, tenant, id, now).await?;
    tx.commit().await?;
    Ok(dashboard)
}

/// The dashboard as the tables `tx` sees read it (the live ones, or a fold's temporary copies,
/// `super::as_of`), with `now` deciding what is upcoming and overdue.
pub(super) async fn dashboard_in(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
    now: OffsetDateTime,
) -> Result<Option<ClusterDashboard>, ReadError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{CLUSTER_SELECT} WHERE c.tenant = $1 AND c.id = $4"
    )))
    .bind(tenant.as_str())
    .bind(now)
    .bind(today(now))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let cluster = decode_cluster(&row)?;
    let projects = cluster_projects(tx, tenant, id).await?;
    let stakeholders = stakeholders(tx, tenant, id).await?;
    let events = demo_events(tx, tenant, id).await?;
    let feedback = feedback_summaries(tx, tenant, id).await?;
    let steps = next_steps(tx, tenant, id, today(now)).await?;
    let sessions = sessions(tx, tenant, id, &steps).await?;
    let milestones = milestones(tx, tenant, id).await?;

    let (mut past_events, upcoming_events): (Vec<_>, Vec<_>) =
        events.into_iter().partition(|e| e.starts_at <= now);
    past_events.reverse();
    let open_steps = steps
        .iter()
        .filter(|s| s.completed_on.is_none())
        .cloned()
        .collect::<Vec<_>>();
    let overdue_steps = open_steps
        .iter()
        .filter(|s| s.overdue)
        .cloned()
        .collect::<Vec<_>>();
    Ok(Some(ClusterDashboard {
        cluster,
        projects,
        stakeholders,
        upcoming_events,
        past_events,
        feedback,
        sessions,
        open_steps,
        overdue_steps,
        milestones,
    }))
}

pub(super) type Tx = Transaction<'static, Postgres>;

async fn cluster_projects(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<ClusterProject>, ReadError> {
    let rows = sqlx::query(
        "SELECT cp.project_id, coalesce(p.acronym, cp.acronym) AS acronym, p.title, \
             p.id IS NOT NULL AS registered, p.features, p.open_call, cp.assigned_at, cp.owner \
         FROM cluster_projects cp \
         LEFT JOIN projects p \
             ON p.tenant = coalesce(cp.owner, cp.tenant) AND p.id = cp.project_id \
         WHERE cp.tenant = $1 AND cp.cluster_id = $2 ORDER BY cp.position",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ClusterProject {
                project_id: row.try_get("project_id")?,
                acronym: row.try_get("acronym")?,
                title: row.try_get("title")?,
                registered: row.try_get("registered")?,
                features: feature_set(row.try_get("features")?)?,
                open_call: row.try_get("open_call")?,
                assigned_at: row.try_get("assigned_at")?,
                owner: row
                    .try_get::<Option<String>, _>("owner")?
                    .map(|o| slug(&o))
                    .transpose()?,
            })
        })
        .collect()
}

async fn stakeholders(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<StakeholderRow>, ReadError> {
    let rows: Vec<(Uuid, String, String, String, OffsetDateTime)> = sqlx::query_as(
        "SELECT id, kind, name, note, engaged_at FROM cluster_stakeholders \
         WHERE tenant = $1 AND cluster_id = $2 ORDER BY position",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(id, kind, name, note, engaged_at)| {
            Ok(StakeholderRow {
                id,
                kind: enumerated("kind", &kind)?,
                name,
                note,
                engaged_at,
            })
        })
        .collect()
}

/// The agenda of each demo event, with the projects' current acronyms, titles and features.
/// `$1` tenant, `$2` cluster, `$3` one event or NULL for all.
const AGENDA: &str = "SELECT e.id AS event_id, a.project_id, \
     coalesce(p.acronym, a.acronym) AS acronym, p.title, p.features \
     FROM cluster_demo_events e \
     CROSS JOIN LATERAL unnest(e.agenda, e.agenda_acronyms) WITH ORDINALITY \
         AS a(project_id, acronym, n) \
     LEFT JOIN projects p ON p.id = a.project_id AND p.tenant = coalesce( \
         (SELECT c.owner FROM cluster_projects c WHERE c.tenant = e.tenant \
              AND c.cluster_id = e.cluster_id AND c.project_id = a.project_id), e.tenant) \
     WHERE e.tenant = $1 AND e.cluster_id = $2 AND ($3::uuid IS NULL OR e.id = $3) \
     ORDER BY e.id, a.n";

async fn agendas(
    tx: &mut Tx,
    tenant: &str,
    cluster: &str,
    event: Option<Uuid>,
) -> Result<HashMap<Uuid, Vec<AgendaItem>>, ReadError> {
    let rows = sqlx::query(AGENDA)
        .bind(tenant)
        .bind(cluster)
        .bind(event)
        .fetch_all(&mut **tx)
        .await?;
    let mut agendas: HashMap<Uuid, Vec<AgendaItem>> = HashMap::new();
    for row in &rows {
        agendas
            .entry(row.try_get("event_id")?)
            .or_default()
            .push(AgendaItem {
                project_id: row.try_get("project_id")?,
                acronym: row.try_get("acronym")?,
                title: row.try_get("title")?,
                features: feature_set(row.try_get("features")?)?,
            });
    }
    Ok(agendas)
}

async fn demo_events(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<DemoEventRow>, ReadError> {
    let rows = sqlx::query(
        "SELECT e.id, e.title, e.starts_at, e.utc_offset, e.time_zone, e.place, e.online_link, \
             e.status, e.cancel_reason, e.feedback_window_days, e.feedback_closes_at, \
             e.scheduled_at, e.updated_at, \
             (SELECT count(*) FROM cluster_invitations i WHERE i.tenant = e.tenant \
                AND i.cluster_id = e.cluster_id AND i.event_id = e.id AND i.status = 'ACTIVE') \
                AS invitations, \
             (SELECT count(DISTINCT f.respondent_id) FROM cluster_feedback f \
              WHERE f.tenant = e.tenant AND f.cluster_id = e.cluster_id AND f.event_id = e.id) \
                AS respondents, \
             (SELECT count(*) FROM cluster_feedback f WHERE f.tenant = e.tenant \
                AND f.cluster_id = e.cluster_id AND f.event_id = e.id) AS feedback \
         FROM cluster_demo_events e WHERE e.tenant = $1 AND e.cluster_id = $2 \
         ORDER BY e.starts_at, e.id",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut agendas = agendas(tx, tenant.as_str(), id, None).await?;
    rows.iter()
        .map(|row| {
            let event_id: Uuid = row.try_get("id")?;
            Ok(DemoEventRow {
                id: event_id,
                title: row.try_get("title")?,
                starts_at: in_offset(row.try_get("starts_at")?, row.try_get("utc_offset")?)?,
                time_zone: row.try_get("time_zone")?,
                place: row.try_get("place")?,
                online_link: row.try_get("online_link")?,
                agenda: agendas.remove(&event_id).unwrap_or_default(),
                status: enumerated("status", row.try_get("status")?)?,
                cancel_reason: row.try_get("cancel_reason")?,
                feedback_window_days: row.try_get("feedback_window_days")?,
                feedback_closes_at: row.try_get("feedback_closes_at")?,
                invitations: row.try_get("invitations")?,
                respondents: row.try_get("respondents")?,
                feedback: row.try_get("feedback")?,
                scheduled_at: row.try_get("scheduled_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

/// The feedback summary of every project of the cluster, computed by the database.
const SUMMARIES: &str = "WITH f AS ( \
         SELECT * FROM cluster_feedback WHERE tenant = $1 AND cluster_id = $2), \
     cp AS ( \
         SELECT project_id, acronym, position, owner FROM cluster_projects \
         WHERE tenant = $1 AND cluster_id = $2) \
     SELECT cp.project_id, coalesce(p.acronym, cp.acronym) AS acronym, \
         count(f.project_id) AS n, \
         avg(f.relevance)::float8 AS relevance, \
         avg(f.usability)::float8 AS usability, \
         avg(f.would_pilot::int)::float8 AS pilot, \
         (SELECT coalesce(jsonb_agg(jsonb_build_array(x.code, x.n)), '[]'::jsonb) FROM ( \
             SELECT code, count(*) AS n FROM f f2 \
             CROSS JOIN LATERAL unnest(f2.feature_codes) AS code \
             WHERE f2.project_id = cp.project_id GROUP BY code) x) AS features, \
         (SELECT coalesce(jsonb_agg(jsonb_build_array(x.country, x.n) \
                                    ORDER BY x.n DESC, x.country), '[]'::jsonb) FROM ( \
             SELECT country, count(*) AS n FROM f f2 \
             WHERE f2.project_id = cp.project_id GROUP BY country) x) AS countries, \
         (SELECT coalesce(jsonb_agg(jsonb_build_array(x.sector, x.n) \
                                    ORDER BY x.n DESC, x.sector), '[]'::jsonb) FROM ( \
             SELECT sector, count(*) AS n FROM f f2 \
             WHERE f2.project_id = cp.project_id GROUP BY sector) x) AS sectors \
     FROM cp \
     LEFT JOIN f ON f.project_id = cp.project_id \
     LEFT JOIN projects p ON p.tenant = coalesce(cp.owner, $1) AND p.id = cp.project_id \
     GROUP BY cp.project_id, cp.acronym, cp.position, p.acronym \
     ORDER BY cp.position";

async fn feedback_summaries(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<ProjectFeedbackSummary>, ReadError> {
    let rows = sqlx::query(SUMMARIES)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|row| {
            let Json(features) = row.try_get::<Json<Vec<(String, i64)>>, _>("features")?;
            let mut top_features = features
                .into_iter()
                .map(|(code, count)| {
                    Ok(CountShare {
                        value: code
                            .parse::<FeatureCode>()
                            .map_err(|e| malformed("feature_codes", e))?,
                        count,
                    })
                })
                .collect::<Result<Vec<_>, ReadError>>()?;
            top_features.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
            top_features.truncate(TOP_FEATURES);
            let Json(countries) = row.try_get::<Json<Vec<(String, i64)>>, _>("countries")?;
            let Json(sectors) = row.try_get::<Json<Vec<(String, i64)>>, _>("sectors")?;
            Ok(ProjectFeedbackSummary {
                project_id: row.try_get("project_id")?,
                acronym: row.try_get("acronym")?,
                count: row.try_get("n")?,
                mean_relevance: row.try_get("relevance")?,
                mean_usability: row.try_get("usability")?,
                would_pilot_share: row.try_get("pilot")?,
                top_features,
                by_country: countries
                    .into_iter()
                    .map(|(value, count)| CountShare { value, count })
                    .collect(),
                by_sector: sectors
                    .into_iter()
                    .map(|(sector, count)| {
                        Ok(CountShare {
                            value: enumerated("sector", &sector)?,
                            count,
                        })
                    })
                    .collect::<Result<_, ReadError>>()?,
            })
        })
        .collect()
}

async fn next_steps(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
    today: Date,
) -> Result<Vec<NextStepRow>, ReadError> {
    let rows = sqlx::query(
        "SELECT s.id, s.session_id, s.project_id, coalesce(p.acronym, s.acronym) AS acronym, \
             s.action, s.owner, s.due, s.completed_on, \
             (s.completed_on IS NULL AND s.due < $3) AS overdue \
         FROM cluster_next_steps s \
         LEFT JOIN projects p ON p.id = s.project_id AND p.tenant = coalesce( \
             (SELECT c.owner FROM cluster_projects c WHERE c.tenant = s.tenant \
                  AND c.cluster_id = s.cluster_id AND c.project_id = s.project_id), s.tenant) \
         WHERE s.tenant = $1 AND s.cluster_id = $2 ORDER BY s.due, s.position",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(today)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(NextStepRow {
                id: row.try_get("id")?,
                session_id: row.try_get("session_id")?,
                project_id: row.try_get("project_id")?,
                acronym: row.try_get("acronym")?,
                action: row.try_get("action")?,
                owner: row.try_get("owner")?,
                due: row.try_get("due")?,
                completed_on: row.try_get("completed_on")?,
                overdue: row.try_get("overdue")?,
            })
        })
        .collect()
}

/// id, date, demo event, attendees, notes, recorded at.
type SessionTuple = (
    Uuid,
    Date,
    Option<Uuid>,
    Vec<String>,
    String,
    OffsetDateTime,
);

async fn sessions(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
    steps: &[NextStepRow],
) -> Result<Vec<SessionRow>, ReadError> {
    let rows: Vec<SessionTuple> = sqlx::query_as(
        "SELECT id, date, demo_event_id, attendees, notes, recorded_at FROM cluster_sessions \
             WHERE tenant = $1 AND cluster_id = $2 ORDER BY date DESC, recorded_at DESC, id",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, date, demo_event_id, attendees, notes, recorded_at)| SessionRow {
                next_steps: steps
                    .iter()
                    .filter(|s| s.session_id == id)
                    .cloned()
                    .collect(),
                id,
                date,
                demo_event_id,
                attendees,
                notes,
                recorded_at,
            },
        )
        .collect())
}

async fn milestones(
    tx: &mut Tx,
    tenant: &TenantSlug,
    id: &str,
) -> Result<Vec<ProjectMilestone>, ReadError> {
    let rows = sqlx::query(
        "SELECT m.project_id, coalesce(p.acronym, cp.acronym) AS acronym, m.id, m.criterion, \
             m.date, m.description, m.evidence_link \
         FROM cluster_projects cp \
         JOIN project_milestones m \
             ON m.tenant = coalesce(cp.owner, cp.tenant) AND m.project_id = cp.project_id \
         LEFT JOIN projects p \
             ON p.tenant = coalesce(cp.owner, cp.tenant) AND p.id = cp.project_id \
         WHERE cp.tenant = $1 AND cp.cluster_id = $2 ORDER BY m.date, m.position",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ProjectMilestone {
                project_id: row.try_get("project_id")?,
                acronym: row.try_get("acronym")?,
                id: row.try_get("id")?,
                criterion: enumerated("criterion", row.try_get("criterion")?)?,
                date: row.try_get("date")?,
                description: row.try_get("description")?,
                evidence_link: row.try_get("evidence_link")?,
            })
        })
        .collect()
}

/// The invitations to demo event `event_id` of the tenant's cluster `cluster_id`, by
/// organisation; empty for another tenant's.
pub async fn invitations(
    pool: &PgPool,
    tenant: &TenantSlug,
    cluster_id: &str,
    event_id: Uuid,
) -> Result<Vec<InvitationRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(
        "SELECT i.id, i.event_id, i.organisation, i.country, i.sector, i.email, i.expires_at, \
             i.status, i.revoke_reason, i.invited_at, i.updated_at, \
             (SELECT count(*) FROM cluster_invitation_tokens t WHERE t.tenant = i.tenant \
                AND t.cluster_id = i.cluster_id AND t.invitation_id = i.id) AS links, \
             (SELECT count(*) FROM cluster_feedback f WHERE f.tenant = i.tenant \
                AND f.cluster_id = i.cluster_id AND f.respondent_id = i.id) AS feedback \
         FROM cluster_invitations i \
         WHERE i.tenant = $1 AND i.cluster_id = $2 AND i.event_id = $3 \
         ORDER BY lower(i.organisation), i.email, i.id",
    )
    .bind(tenant.as_str())
    .bind(cluster_id)
    .bind(event_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter()
        .map(|row| {
            Ok(InvitationRow {
                id: row.try_get("id")?,
                event_id: row.try_get("event_id")?,
                organisation: row.try_get("organisation")?,
                country: row.try_get("country")?,
                sector: enumerated("sector", row.try_get("sector")?)?,
                email: row.try_get("email")?,
                expires_at: row.try_get("expires_at")?,
                revoked: row.try_get::<&str, _>("status")? == "REVOKED",
                revoke_reason: row.try_get("revoke_reason")?,
                links_issued: row.try_get("links")?,
                feedback: row.try_get("feedback")?,
                invited_at: row.try_get("invited_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

/// `$1` tenant, `$2` cluster, `$3` event or NULL, `$4` respondent or NULL.
const FEEDBACK: &str = "SELECT f.event_id, f.respondent_id, f.source, f.project_id, \
     coalesce(p.acronym, f.acronym) AS acronym, f.organisation, f.country, f.sector, \
     f.relevance, f.usability, f.would_pilot, f.feature_codes, f.comment, f.submitted_at, \
     f.updated_at, f.revisions \
     FROM cluster_feedback f \
     LEFT JOIN projects p ON p.tenant = f.tenant AND p.id = f.project_id \
     WHERE f.tenant = $1 AND f.cluster_id = $2 AND ($3::uuid IS NULL OR f.event_id = $3) \
       AND ($4::uuid IS NULL OR f.respondent_id = $4) \
     ORDER BY f.submitted_at, f.respondent_id, f.project_id";

fn decode_feedback(row: &PgRow) -> Result<FeedbackRow, ReadError> {
    let rating = |name: &str| -> Result<u8, ReadError> {
        let raw: i16 = row.try_get(name)?;
        u8::try_from(raw).map_err(|e| malformed("rating", e))
    };
    Ok(FeedbackRow {
        event_id: row.try_get("event_id")?,
        respondent_id: row.try_get("respondent_id")?,
        paper: row.try_get::<&str, _>("source")? == "PAPER",
        project_id: row.try_get("project_id")?,
        acronym: row.try_get("acronym")?,
        organisation: row.try_get("organisation")?,
        country: row.try_get("country")?,
        sector: enumerated("sector", row.try_get("sector")?)?,
        relevance: rating("relevance")?,
        usability: rating("usability")?,
        would_pilot: row.try_get("would_pilot")?,
        relevant_features: codes_set(&row.try_get::<Vec<String>, _>("feature_codes")?)?,
        comment: row.try_get("comment")?,
        submitted_at: row.try_get("submitted_at")?,
        updated_at: row.try_get("updated_at")?,
        revisions: row.try_get("revisions")?,
    })
}

/// The feedback given in the tenant's cluster `cluster_id` (at demo event `event_id` when
/// given), oldest first.
pub async fn feedback_entries(
    pool: &PgPool,
    tenant: &TenantSlug,
    cluster_id: &str,
    event_id: Option<Uuid>,
) -> Result<Vec<FeedbackRow>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let rows = sqlx::query(FEEDBACK)
        .bind(tenant.as_str())
        .bind(cluster_id)
        .bind(event_id)
        .bind(None::<Uuid>)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    rows.iter().map(decode_feedback).collect()
}

/// What the practitioner link whose token hashes to `token_sha256` opens at `now`, whoever's
/// tenant it belongs to; `None` for a hash no invitation ever had. A malformed hash is bad
/// input (`token`).
pub async fn invitation_by_token_hash(
    pool: &PgPool,
    token_sha256: &str,
    now: OffsetDateTime,
) -> Result<Option<InvitationAccess>, ReadError> {
    let hash = TokenHash::parse("token", token_sha256).map_err(|e| ReadError::BadInput {
        field: e.field,
        reason: e.reason,
    })?;
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    sqlx::query(
        "SELECT set_config('app.tenant', '', true), set_config('app.platform_admin', '', true), \
                set_config('app.projector', '', true)",
    )
    .execute(&mut *tx)
    .await?;
    let Some(row) = sqlx::query("SELECT * FROM invitation_by_token($1)")
        .bind(hash.as_str())
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.commit().await?;
        return Ok(None);
    };
    let tenant = slug(row.try_get("tenant")?)?;
    let invitation_id: Uuid = row.try_get("invitation_id")?;
    let cluster_id: String = row.try_get("cluster_id")?;
    let event_id: Uuid = row.try_get("event_id")?;
    let current: bool = row.try_get("current")?;
    let revoked = row.try_get::<&str, _>("status")? == "REVOKED";
    let expires_at: Option<OffsetDateTime> = row.try_get("expires_at")?;
    let starts_at: OffsetDateTime = row.try_get("starts_at")?;
    let closes_at: OffsetDateTime = row.try_get("feedback_closes_at")?;
    let event_status: DemoEventStatus = enumerated("status", row.try_get("event_status")?)?;
    let state = if !current {
        InvitationState::Replaced
    } else if revoked {
        InvitationState::Revoked
    } else if event_status == DemoEventStatus::Cancelled {
        InvitationState::Cancelled
    } else if now >= closes_at {
        InvitationState::WindowClosed
    } else if expires_at.is_some_and(|at| now >= at) {
        InvitationState::Expired
    } else if now < starts_at {
        InvitationState::NotOpenYet
    } else {
        InvitationState::Open
    };
    let (agenda, feedback) = if current && !revoked {
        // The token proved who this is: read on as the invitation's tenant.
        sqlx::query("SELECT set_config('app.tenant', $1, true)")
            .bind(tenant.as_str())
            .execute(&mut *tx)
            .await?;
        let agenda = agendas(&mut tx, tenant.as_str(), &cluster_id, Some(event_id))
            .await?
            .remove(&event_id)
            .unwrap_or_default();
        let rows = sqlx::query(FEEDBACK)
            .bind(tenant.as_str())
            .bind(&cluster_id)
            .bind(event_id)
            .bind(invitation_id)
            .fetch_all(&mut *tx)
            .await?;
        let feedback = rows
            .iter()
            .map(decode_feedback)
            .collect::<Result<Vec<_>, _>>()?;
        (agenda, feedback)
    } else {
        (Vec::new(), Vec::new())
    };
    let access = InvitationAccess {
        invitation_id,
        cluster_id,
        event_id,
        state,
        organisation: row.try_get("organisation")?,
        event_title: row.try_get("event_title")?,
        starts_at: in_offset(starts_at, row.try_get("utc_offset")?)?,
        time_zone: row.try_get("time_zone")?,
        expires_at,
        feedback_closes_at: closes_at,
        agenda,
        feedback,
        tenant,
    };
    tx.commit().await?;
    Ok(Some(access))
}

/// Projects of the tenant, or shared with it, not in its cluster `cluster_id` whose features
/// resemble those of the cluster's projects, best first, at most `limit` (and [`MAX_SUGGESTIONS`]); each with the
/// features it shares with them. `None` when the tenant has no such cluster. Projects without
/// features, and projects sharing none, are never suggested.
pub async fn suggested_projects(
    pool: &PgPool,
    tenant: &TenantSlug,
    cluster_id: &str,
    limit: u32,
) -> Result<Option<Vec<Suggestion>>, ReadError> {
    let mut tx = as_tenant(pool, tenant).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clusters WHERE tenant = $1 AND id = $2)")
            .bind(tenant.as_str())
            .bind(cluster_id)
            .fetch_one(&mut *tx)
            .await?;
    if !exists {
        tx.commit().await?;
        return Ok(None);
    }
    let members: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT p.id, p.acronym, p.features FROM cluster_projects cp \
         JOIN projects p ON p.tenant = coalesce(cp.owner, cp.tenant) AND p.id = cp.project_id \
         WHERE cp.tenant = $1 AND cp.cluster_id = $2 AND p.features <> 0 \
         ORDER BY cp.position",
    )
    .bind(tenant.as_str())
    .bind(cluster_id)
    .fetch_all(&mut *tx)
    .await?;
    let ranked: Vec<(String, String, String, i64, f64, String)> = sqlx::query_as(
        "WITH members AS ( \
             SELECT p.features FROM cluster_projects cp \
             JOIN projects p \
                 ON p.tenant = coalesce(cp.owner, cp.tenant) AND p.id = cp.project_id \
             WHERE cp.tenant = $1 AND cp.cluster_id = $2 AND p.features <> 0), \
         candidates AS ( \
             SELECT p.id, p.acronym, p.title, p.features, p.tenant FROM projects p \
             WHERE p.features <> 0 \
               AND (p.tenant = $1 OR EXISTS (SELECT 1 FROM project_shares s \
                   WHERE s.tenant = p.tenant AND s.project_id = p.id AND s.shared_with = $1)) \
               AND NOT EXISTS ( \
                 SELECT 1 FROM cluster_projects cp \
                 WHERE cp.tenant = $1 AND cp.cluster_id = $2 AND cp.project_id = p.id)) \
         SELECT c.id, c.acronym, c.title, c.features, \
             avg(bit_count((c.features & m.features)::bit(64))::float8 \
                 / bit_count((c.features | m.features)::bit(64))) AS score, c.tenant \
         FROM candidates c CROSS JOIN members m \
         GROUP BY c.id, c.acronym, c.title, c.features, c.tenant \
         HAVING bool_or(c.features & m.features <> 0) \
         ORDER BY score DESC, lower(c.acronym), c.id \
         LIMIT $3",
    )
    .bind(tenant.as_str())
    .bind(cluster_id)
    .bind(i64::from(limit.min(MAX_SUGGESTIONS)))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let members = members
        .into_iter()
        .map(|(_, acronym, bits)| Ok((acronym, feature_set(Some(bits))?)))
        .collect::<Result<Vec<_>, ReadError>>()?;
    ranked
        .into_iter()
        .map(|(project_id, acronym, title, bits, score, owner)| {
            let features = feature_set(Some(bits))?;
            let mut shared_features = features
                .iter()
                .map(|feature| SharedFeature {
                    feature,
                    members: members.iter().filter(|(_, m)| m.contains(feature)).count() as i64,
                })
                .filter(|s| s.members > 0)
                .collect::<Vec<_>>();
            shared_features
                .sort_by(|a, b| b.members.cmp(&a.members).then(a.feature.cmp(&b.feature)));
            let jaccard = |m: FeatureSet| {
                let union = features.union(m).len();
                if union == 0 {
                    0.0
                } else {
                    features.intersection(m).len() as f64 / union as f64
                }
            };
            let closest_member = members
                .iter()
                .map(|(acronym, m)| (acronym, jaccard(*m)))
                .filter(|(_, j)| *j > 0.0)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(acronym, _)| acronym.clone());
            Ok(Suggestion {
                owner: slug(&owner)?,
                project_id,
                acronym,
                title,
                features,
                score,
                shared_features,
                closest_member,
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()
        .map(Some)
}
