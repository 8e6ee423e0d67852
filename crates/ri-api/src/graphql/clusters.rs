//! Project clusters over GraphQL (docs/clusters.md): a tenant's end-user areas, its clusters of
//! projects around them, demo events with invited practitioners and their feedback, follow-up
//! sessions with next steps, engaged stakeholders; the dashboard of a cluster, the projects
//! suggested for it, the practitioner's feedback link, and the cluster's events as they happen.
//!
//! Who may do what:
//! - every mutation but `submitDemoFeedback` is for a `follow_up_manager` (or `tenant_admin`) of
//!   the tenant, acting on the tenant's own areas and clusters: another tenant's id loads an
//!   empty stream and is NOT_FOUND, and nothing is stored;
//! - the queries and `clusterActivity` are for any signed-in user of the tenant, and show only
//!   its own clusters (row-level security in the read model);
//! - `invitation(token)` and `submitDemoFeedback(token, …)` need no account: the link's token
//!   (256 random bits, of which only the SHA-256 is ever stored) is the credential. Every use of
//!   a token is counted first, per token and per client address, and refused with RATE_LIMITED
//!   (and `Retry-After`) beyond the limits of `ri_projections::clusters::AttemptLimit`.
//!
//! Mutations take `expectedVersion` (optional) and return the cluster's (or area's) version.
//! All writes to one cluster serialise on its version; a write without `expectedVersion`
//! (practitioners' feedback never has one) is retried a few times on a version conflict, the
//! command being decided again on the reloaded cluster.

use std::time::Duration;

use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Json, Object, SimpleObject,
};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, EventStore};
use futures_util::{Stream, StreamExt};
use rand::RngExt;
use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain as DomainArea, AreaError, Attendees, CLUSTER,
    ClusterCommand, ClusterError, ClusterEvent, ClusterServices, Email,
    EndUserArea as AreaAggregate, Feedback, FeedbackWindow, Invitation as DomainInvitation,
    NextStepPlan, Practitioner, ProjectCluster, ProjectRef, Rating, Stakeholder, TimeZoneName,
    TokenHash, Venue,
};
use ri_domain::project::{Acronym, Project};
use ri_domain::tenant::TenantStatus;
use ri_domain::values::{CountryCode, FieldError, Link, ShortText, Summary, Title};
use ri_domain::{EventMetadata, Role, TenantSlug};
use ri_eventstore::StoreError;
use ri_projections::clusters::{self as read, Attempt, AttemptLimit, InvitationAccess};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::enums::SuccessCriterion;
use super::error::{ApiError, Code, from_command};
use super::http::ClientIp;
use super::inputs::features;
use super::objects::{Feature, features as feature_list};
use super::{Api, principal};
use crate::auth::User;
use crate::trace::current_traceparent;

/// How many times a command without `expectedVersion` is tried when the cluster changed
/// meanwhile: enough for a room of practitioners answering the same demo event at once.
const ATTEMPTS: u32 = 8;
/// The longest pause between two tries.
const MAX_BACK_OFF: Duration = Duration::from_millis(400);
/// Longer link tokens are not looked up (ours have 43 characters).
const MAX_TOKEN_CHARS: usize = 128;
/// Where a practitioner's link points, followed by the token.
const FEEDBACK_PATH: &str = "/feedback/";
/// Suggestions returned unless `first` says otherwise.
const DEFAULT_SUGGESTIONS: i32 = 10;

// ---------------------------------------------------------------------------------------------
// Enums

/// The security domain an end-user area lies in: one of SecurIT's three, or the tenant's own
/// (`OWN`, named by `ownDomain`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AreaDomain {
    SensitiveInfrastructureProtection,
    DisasterResilience,
    PublicSpaceProtection,
    Own,
}

impl AreaDomain {
    fn code(self) -> &'static str {
        match self {
            AreaDomain::SensitiveInfrastructureProtection => "SENSITIVE_INFRASTRUCTURE_PROTECTION",
            AreaDomain::DisasterResilience => "DISASTER_RESILIENCE",
            AreaDomain::PublicSpaceProtection => "PUBLIC_SPACE_PROTECTION",
            AreaDomain::Own => "OWN",
        }
    }

    fn of(domain: &DomainArea) -> Self {
        match domain {
            DomainArea::SensitiveInfrastructureProtection => {
                AreaDomain::SensitiveInfrastructureProtection
            }
            DomainArea::DisasterResilience => AreaDomain::DisasterResilience,
            DomainArea::PublicSpaceProtection => AreaDomain::PublicSpaceProtection,
            DomainArea::Own(_) => AreaDomain::Own,
        }
    }
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::cluster::DemoEventStatus")]
pub(crate) enum DemoEventStatus {
    Scheduled,
    Held,
    Cancelled,
}

/// Where a security practitioner works.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::cluster::PractitionerSector")]
pub(crate) enum PractitionerSector {
    LawEnforcement,
    FireAndRescue,
    EmergencyMedical,
    CivilProtection,
    BorderGuard,
    Defence,
    Municipality,
    CriticalInfrastructureOperator,
    PrivateSecurity,
    EventOrganiser,
    Other,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_domain::cluster::StakeholderKind")]
pub(crate) enum StakeholderKind {
    Investor,
    Integrator,
    EndUserOrganisation,
    /// The European Anti-Crime Technology Development Association.
    Eactda,
    /// NATO's Defence Innovation Accelerator for the North Atlantic.
    Diana,
    Other,
}

/// What a practitioner's link can do now.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "ri_projections::clusters::InvitationState")]
pub(crate) enum InvitationState {
    /// Feedback can be given and edited.
    Open,
    /// The demo event has not started yet.
    NotOpenYet,
    /// The link was replaced by a newer one.
    Replaced,
    Revoked,
    /// The demo event was cancelled.
    Cancelled,
    /// The demo event's feedback window has closed.
    WindowClosed,
    /// The invitation's own expiry has passed.
    Expired,
}

impl InvitationState {
    /// The `reason` extension of an error refusing a link in this state.
    fn reason(self) -> &'static str {
        match self {
            InvitationState::Open => "OPEN",
            InvitationState::NotOpenYet => "NOT_OPEN_YET",
            InvitationState::Replaced => "REPLACED",
            InvitationState::Revoked => "REVOKED",
            InvitationState::Cancelled => "CANCELLED",
            InvitationState::WindowClosed => "WINDOW_CLOSED",
            InvitationState::Expired => "EXPIRED",
        }
    }
}

/// Whose answers a feedback entry holds: a practitioner through their link, or a paper sheet a
/// follow-up manager transcribed.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FeedbackSource {
    Invitation,
    Paper,
}

// ---------------------------------------------------------------------------------------------
// Objects

/// An end-user centric area (public event security, CI operators' needs) of your tenant.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct EndUserArea {
    pub id: ID,
    /// Pass as `expectedVersion` to change it.
    pub version: i64,
    pub name: String,
    pub domain: AreaDomain,
    /// The name of the tenant's own domain, for `OWN`.
    pub own_domain: Option<String>,
    pub description: String,
    /// Your tenant's clusters formed for it.
    pub cluster_count: i64,
    pub named_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::AreaRow> for EndUserArea {
    fn from(row: read::AreaRow) -> Self {
        EndUserArea {
            id: ID(row.id),
            version: row.version,
            name: row.name,
            domain: AreaDomain::of(&row.domain),
            own_domain: row.domain.own_name().map(str::to_owned),
            description: row.description,
            cluster_count: row.clusters,
            named_at: row.named_at,
            updated_at: row.updated_at,
        }
    }
}

/// The area a cluster is formed for; name and domain are null while the area is not (yet) in
/// the read model.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterArea {
    pub id: ID,
    pub name: Option<String>,
    pub domain: Option<AreaDomain>,
    pub own_domain: Option<String>,
}

fn cluster_area(row: &read::ClusterRow) -> ClusterArea {
    ClusterArea {
        id: ID(row.area_id.clone()),
        name: row.area_name.clone(),
        domain: row.area_domain.as_ref().map(AreaDomain::of),
        own_domain: row
            .area_domain
            .as_ref()
            .and_then(DomainArea::own_name)
            .map(str::to_owned),
    }
}

/// A cluster as the list shows it, with its counts.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterSummary {
    pub id: ID,
    /// Pass as `expectedVersion` to change it.
    pub version: i64,
    pub name: String,
    pub description: String,
    pub area: ClusterArea,
    /// The follow-up manager's subject.
    pub follow_up_manager: Option<String>,
    pub project_count: i64,
    /// Demo events starting later, not cancelled.
    pub upcoming_event_count: i64,
    pub open_step_count: i64,
    pub overdue_step_count: i64,
    pub formed_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::ClusterRow> for ClusterSummary {
    fn from(row: read::ClusterRow) -> Self {
        ClusterSummary {
            area: cluster_area(&row),
            id: ID(row.id),
            version: row.version,
            name: row.name,
            description: row.description,
            follow_up_manager: row.follow_up_manager,
            project_count: row.projects,
            upcoming_event_count: row.upcoming_events,
            open_step_count: row.open_steps,
            overdue_step_count: row.overdue_steps,
            formed_at: row.formed_at,
            updated_at: row.updated_at,
        }
    }
}

/// A project of a cluster.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterProject {
    pub id: ID,
    /// The current acronym (the one at assignment when the project is not registered).
    pub acronym: String,
    pub title: Option<String>,
    /// Whether your tenant's projects hold it.
    pub registered: bool,
    pub features: Vec<Feature>,
    pub open_call: Option<String>,
    pub assigned_at: OffsetDateTime,
}

/// Someone else interested in the cluster's innovations: an investor, an integrator, EACTDA…
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterStakeholder {
    pub id: ID,
    pub kind: StakeholderKind,
    pub name: String,
    pub note: String,
    pub engaged_at: OffsetDateTime,
}

/// A project on a demo event's agenda.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct AgendaProject {
    pub id: ID,
    pub acronym: String,
    pub title: Option<String>,
    pub features: Vec<Feature>,
}

fn agenda(items: Vec<read::AgendaItem>) -> Vec<AgendaProject> {
    items
        .into_iter()
        .map(|a| AgendaProject {
            id: ID(a.project_id),
            acronym: a.acronym,
            title: a.title,
            features: feature_list(a.features),
        })
        .collect()
}

/// A demo event of a cluster: when, where, its agenda, and how its feedback goes.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub(crate) struct DemoEvent {
    pub id: ID,
    pub title: String,
    /// In UTC, as every `DateTime`; show it in `timeZone`.
    pub starts_at: OffsetDateTime,
    /// The IANA zone the organiser gave the time in, e.g. `Europe/Vilnius`.
    pub time_zone: String,
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// In the order the projects demonstrate.
    pub agenda: Vec<AgendaProject>,
    pub status: DemoEventStatus,
    pub cancel_reason: Option<String>,
    pub feedback_window_days: i32,
    /// When practitioners can no longer give or edit feedback.
    pub feedback_closes_at: OffsetDateTime,
    /// Invitations not revoked.
    pub invitation_count: i64,
    /// Practitioners (links and paper sheets) who gave feedback.
    pub respondent_count: i64,
    /// Feedback given, one per practitioner and project.
    pub feedback_count: i64,
    pub scheduled_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    #[graphql(skip)]
    pub tenant: TenantSlug,
    #[graphql(skip)]
    pub cluster_id: String,
}

#[ComplexObject]
impl DemoEvent {
    /// The practitioners invited, by organisation (never their links).
    async fn invitations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<DemoInvitation>> {
        let api = ctx.data_unchecked::<Api>();
        let id = uuid(&self.id).ok_or_else(|| ApiError::not_found("demo event"))?;
        let rows = read::invitations(&api.db, &self.tenant, &self.cluster_id, id)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(DemoInvitation::from).collect())
    }

    /// Every feedback given at this event, oldest first.
    async fn feedback(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FeedbackEntry>> {
        let api = ctx.data_unchecked::<Api>();
        let id = uuid(&self.id).ok_or_else(|| ApiError::not_found("demo event"))?;
        let rows = read::feedback_entries(&api.db, &self.tenant, &self.cluster_id, Some(id))
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(FeedbackEntry::from).collect())
    }
}

impl DemoEvent {
    fn of(row: read::DemoEventRow, tenant: &TenantSlug, cluster_id: &str) -> Self {
        DemoEvent {
            id: ID(row.id.to_string()),
            title: row.title,
            starts_at: row.starts_at,
            time_zone: row.time_zone,
            place: row.place,
            online_link: row.online_link,
            agenda: agenda(row.agenda),
            status: row.status.into(),
            cancel_reason: row.cancel_reason,
            feedback_window_days: row.feedback_window_days,
            feedback_closes_at: row.feedback_closes_at,
            invitation_count: row.invitations,
            respondent_count: row.respondents,
            feedback_count: row.feedback,
            scheduled_at: row.scheduled_at,
            updated_at: row.updated_at,
            tenant: tenant.clone(),
            cluster_id: cluster_id.to_owned(),
        }
    }
}

/// A practitioner's invitation to a demo event, as its organisers see it.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct DemoInvitation {
    pub id: ID,
    pub event_id: ID,
    pub organisation: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub sector: PractitionerSector,
    pub email: String,
    /// Null: when the event's feedback window closes.
    pub expires_at: Option<OffsetDateTime>,
    pub revoked: bool,
    pub revoke_reason: Option<String>,
    /// Links issued: 1, plus one per reissue.
    pub links_issued: i64,
    /// Projects it gave feedback on.
    pub feedback_count: i64,
    pub invited_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<read::InvitationRow> for DemoInvitation {
    fn from(row: read::InvitationRow) -> Self {
        DemoInvitation {
            id: ID(row.id.to_string()),
            event_id: ID(row.event_id.to_string()),
            organisation: row.organisation,
            country: row.country,
            sector: row.sector.into(),
            email: row.email,
            expires_at: row.expires_at,
            revoked: row.revoked,
            revoke_reason: row.revoke_reason,
            links_issued: row.links_issued,
            feedback_count: row.feedback,
            invited_at: row.invited_at,
            updated_at: row.updated_at,
        }
    }
}

/// One practitioner's feedback on one project.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackEntry {
    pub event_id: ID,
    /// The invitation's id, or the paper sheet's.
    pub respondent_id: ID,
    pub source: FeedbackSource,
    pub project_id: ID,
    pub acronym: String,
    pub organisation: String,
    pub country: String,
    pub sector: PractitionerSector,
    /// 1 (poor) to 5 (excellent).
    pub relevance: i32,
    pub usability: i32,
    pub would_pilot: bool,
    pub relevant_features: Vec<Feature>,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Times it was edited.
    pub revisions: i32,
}

impl From<read::FeedbackRow> for FeedbackEntry {
    fn from(row: read::FeedbackRow) -> Self {
        FeedbackEntry {
            event_id: ID(row.event_id.to_string()),
            respondent_id: ID(row.respondent_id.to_string()),
            source: if row.paper {
                FeedbackSource::Paper
            } else {
                FeedbackSource::Invitation
            },
            project_id: ID(row.project_id),
            acronym: row.acronym,
            organisation: row.organisation,
            country: row.country,
            sector: row.sector.into(),
            relevance: i32::from(row.relevance),
            usability: i32::from(row.usability),
            would_pilot: row.would_pilot,
            relevant_features: feature_list(row.relevant_features),
            comment: row.comment,
            submitted_at: row.submitted_at,
            updated_at: row.updated_at,
            revisions: row.revisions,
        }
    }
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackFeatureCount {
    pub feature: Feature,
    /// Feedback citing it as relevant.
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackCountryCount {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub count: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackSectorCount {
    pub sector: PractitionerSector,
    pub count: i64,
}

/// What practitioners said about one project of the cluster, over all its demo events.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectFeedbackSummary {
    pub project_id: ID,
    pub acronym: String,
    pub count: i64,
    /// Null without feedback.
    pub mean_relevance: Option<f64>,
    pub mean_usability: Option<f64>,
    /// The share (0 to 1) of practitioners who would pilot it.
    pub would_pilot_share: Option<f64>,
    /// The five features most cited as relevant, most cited first (taxonomy order on a tie).
    pub top_features: Vec<FeedbackFeatureCount>,
    /// By practitioners' country, most first, then by code.
    pub by_country: Vec<FeedbackCountryCount>,
    /// By practitioners' sector, most first, then by code.
    pub by_sector: Vec<FeedbackSectorCount>,
}

impl From<read::ProjectFeedbackSummary> for ProjectFeedbackSummary {
    fn from(s: read::ProjectFeedbackSummary) -> Self {
        ProjectFeedbackSummary {
            project_id: ID(s.project_id),
            acronym: s.acronym,
            count: s.count,
            mean_relevance: s.mean_relevance,
            mean_usability: s.mean_usability,
            would_pilot_share: s.would_pilot_share,
            top_features: s
                .top_features
                .into_iter()
                .map(|c| FeedbackFeatureCount {
                    feature: Feature(c.value),
                    count: c.count,
                })
                .collect(),
            by_country: s
                .by_country
                .into_iter()
                .map(|c| FeedbackCountryCount {
                    country: c.value,
                    count: c.count,
                })
                .collect(),
            by_sector: s
                .by_sector
                .into_iter()
                .map(|c| FeedbackSectorCount {
                    sector: c.value.into(),
                    count: c.count,
                })
                .collect(),
        }
    }
}

/// A step agreed at a follow-up session.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct NextStep {
    pub id: ID,
    pub session_id: ID,
    pub project_id: ID,
    pub acronym: String,
    pub action: String,
    /// A person or an organisation.
    pub owner: String,
    pub due: Date,
    pub completed_on: Option<Date>,
    /// Due before today (UTC) and not completed.
    pub overdue: bool,
}

impl From<read::NextStepRow> for NextStep {
    fn from(row: read::NextStepRow) -> Self {
        NextStep {
            id: ID(row.id.to_string()),
            session_id: ID(row.session_id.to_string()),
            project_id: ID(row.project_id),
            acronym: row.acronym,
            action: row.action,
            owner: row.owner,
            due: row.due,
            completed_on: row.completed_on,
            overdue: row.overdue,
        }
    }
}

/// A follow-up session: when, who was there, what was said and what is to happen next.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FollowUpSession {
    pub id: ID,
    pub date: Date,
    /// The demo event it follows up, if any.
    pub demo_event_id: Option<ID>,
    pub attendees: Vec<String>,
    pub notes: String,
    /// By due date.
    pub next_steps: Vec<NextStep>,
    pub recorded_at: OffsetDateTime,
}

impl From<read::SessionRow> for FollowUpSession {
    fn from(row: read::SessionRow) -> Self {
        FollowUpSession {
            id: ID(row.id.to_string()),
            date: row.date,
            demo_event_id: row.demo_event_id.map(|id| ID(id.to_string())),
            attendees: row.attendees,
            notes: row.notes,
            next_steps: row.next_steps.into_iter().map(NextStep::from).collect(),
            recorded_at: row.recorded_at,
        }
    }
}

/// A success milestone of one of the cluster's projects (recognition, new collaborations and
/// markets, operational deployment).
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterMilestone {
    pub id: ID,
    pub project_id: ID,
    pub acronym: String,
    pub criterion: SuccessCriterion,
    pub date: Date,
    pub description: String,
    pub evidence_link: Option<String>,
}

impl From<read::ProjectMilestone> for ClusterMilestone {
    fn from(m: read::ProjectMilestone) -> Self {
        ClusterMilestone {
            id: ID(m.id.to_string()),
            project_id: ID(m.project_id),
            acronym: m.acronym,
            criterion: m.criterion.into(),
            date: m.date,
            description: m.description,
            evidence_link: m.evidence_link,
        }
    }
}

/// A cluster's dashboard: the cluster, its projects, people, events, the practitioners'
/// feedback per project, the follow-up and its projects' success, all from one snapshot.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct Cluster {
    pub id: ID,
    /// Pass as `expectedVersion` to change it.
    pub version: i64,
    pub name: String,
    pub description: String,
    pub area: ClusterArea,
    /// The follow-up manager's subject.
    pub follow_up_manager: Option<String>,
    pub project_count: i64,
    /// Demo events starting later, not cancelled.
    pub upcoming_event_count: i64,
    pub open_step_count: i64,
    pub overdue_step_count: i64,
    pub formed_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// In the order assigned.
    pub projects: Vec<ClusterProject>,
    pub stakeholders: Vec<ClusterStakeholder>,
    /// Starting later, soonest first; cancelled ones included, marked.
    pub upcoming_events: Vec<DemoEvent>,
    /// Started already, latest first.
    pub past_events: Vec<DemoEvent>,
    /// One per project, in the order assigned.
    pub feedback: Vec<ProjectFeedbackSummary>,
    /// Latest first.
    pub sessions: Vec<FollowUpSession>,
    /// Not completed, by due date.
    pub open_steps: Vec<NextStep>,
    /// Open steps due before today.
    pub overdue_steps: Vec<NextStep>,
    /// Of the cluster's projects, by date.
    pub milestones: Vec<ClusterMilestone>,
}

impl From<read::ClusterDashboard> for Cluster {
    fn from(d: read::ClusterDashboard) -> Self {
        let tenant = d.cluster.tenant.clone();
        let id = d.cluster.id.clone();
        let summary = ClusterSummary::from(d.cluster);
        let event = |row: read::DemoEventRow| DemoEvent::of(row, &tenant, &id);
        Cluster {
            projects: d
                .projects
                .into_iter()
                .map(|p| ClusterProject {
                    id: ID(p.project_id),
                    acronym: p.acronym,
                    title: p.title,
                    registered: p.registered,
                    features: feature_list(p.features),
                    open_call: p.open_call,
                    assigned_at: p.assigned_at,
                })
                .collect(),
            stakeholders: d
                .stakeholders
                .into_iter()
                .map(|s| ClusterStakeholder {
                    id: ID(s.id.to_string()),
                    kind: s.kind.into(),
                    name: s.name,
                    note: s.note,
                    engaged_at: s.engaged_at,
                })
                .collect(),
            upcoming_events: d.upcoming_events.into_iter().map(event).collect(),
            past_events: d.past_events.into_iter().map(event).collect(),
            feedback: d
                .feedback
                .into_iter()
                .map(ProjectFeedbackSummary::from)
                .collect(),
            sessions: d.sessions.into_iter().map(FollowUpSession::from).collect(),
            open_steps: d.open_steps.into_iter().map(NextStep::from).collect(),
            overdue_steps: d.overdue_steps.into_iter().map(NextStep::from).collect(),
            milestones: d
                .milestones
                .into_iter()
                .map(ClusterMilestone::from)
                .collect(),
            id: summary.id,
            version: summary.version,
            name: summary.name,
            description: summary.description,
            area: summary.area,
            follow_up_manager: summary.follow_up_manager,
            project_count: summary.project_count,
            upcoming_event_count: summary.upcoming_event_count,
            open_step_count: summary.open_step_count,
            overdue_step_count: summary.overdue_step_count,
            formed_at: summary.formed_at,
            updated_at: summary.updated_at,
        }
    }
}

/// A feature a suggested project shares with the cluster's projects.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct SuggestionFeature {
    pub feature: Feature,
    /// How many of the cluster's projects declare it.
    pub members: i64,
}

/// A project of your tenant, not in the cluster, whose features resemble its members'.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct SuggestedProject {
    pub id: ID,
    pub acronym: String,
    pub title: String,
    pub features: Vec<Feature>,
    /// The mean Jaccard similarity of its features to each member's (members with features),
    /// from 0 to 1.
    pub score: f64,
    /// Why: the features it shares with the cluster's projects, most shared first.
    pub shared_features: Vec<SuggestionFeature>,
    /// The acronym of the member it resembles most.
    pub closest_member: Option<String>,
}

impl From<read::Suggestion> for SuggestedProject {
    fn from(s: read::Suggestion) -> Self {
        SuggestedProject {
            id: ID(s.project_id),
            acronym: s.acronym,
            title: s.title,
            features: feature_list(s.features),
            score: s.score,
            shared_features: s
                .shared_features
                .into_iter()
                .map(|f| SuggestionFeature {
                    feature: Feature(f.feature),
                    members: f.members,
                })
                .collect(),
            closest_member: s.closest_member,
        }
    }
}

/// Feedback the practitioner gave through their link.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct GivenFeedback {
    pub project_id: ID,
    pub acronym: String,
    pub relevance: i32,
    pub usability: i32,
    pub would_pilot: bool,
    pub relevant_features: Vec<Feature>,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a practitioner's link opens: the demo event, its agenda and the feedback given so far
/// (agenda and feedback are empty for a replaced or revoked link).
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackInvitation {
    pub state: InvitationState,
    /// The practitioner's organisation.
    pub organisation: String,
    pub event_title: String,
    /// In UTC, as every `DateTime`; show it in `timeZone`.
    pub starts_at: OffsetDateTime,
    pub time_zone: String,
    /// The invitation's own expiry, if it has one.
    pub expires_at: Option<OffsetDateTime>,
    /// Feedback can be given and edited until then.
    pub feedback_closes_at: OffsetDateTime,
    pub agenda: Vec<AgendaProject>,
    pub feedback: Vec<GivenFeedback>,
}

impl From<InvitationAccess> for FeedbackInvitation {
    fn from(a: InvitationAccess) -> Self {
        FeedbackInvitation {
            state: a.state.into(),
            organisation: a.organisation,
            event_title: a.event_title,
            starts_at: a.starts_at,
            time_zone: a.time_zone,
            expires_at: a.expires_at,
            feedback_closes_at: a.feedback_closes_at,
            agenda: agenda(a.agenda),
            feedback: a
                .feedback
                .into_iter()
                .map(|f| GivenFeedback {
                    project_id: ID(f.project_id),
                    acronym: f.acronym,
                    relevance: i32::from(f.relevance),
                    usability: i32::from(f.usability),
                    would_pilot: f.would_pilot,
                    relevant_features: feature_list(f.relevant_features),
                    comment: f.comment,
                    submitted_at: f.submitted_at,
                    updated_at: f.updated_at,
                })
                .collect(),
        }
    }
}

/// The result of a change to an end-user area.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct AreaChange {
    pub id: ID,
    /// The area's version after the change; pass it as `expectedVersion` next time.
    pub version: i64,
}

/// The result of a change to a cluster.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ClusterChange {
    /// The cluster's id.
    pub id: ID,
    /// The cluster's version after the change; pass it as `expectedVersion` next time.
    pub version: i64,
    /// The id of what the change made or acted on within the cluster: the demo event, the
    /// stakeholder, the paper sheet, the follow-up session, the next step.
    pub entity_id: Option<ID>,
}

/// A practitioner's invitation and their personal link, shown this once: send it to them.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct InvitationLink {
    /// The cluster's id.
    pub id: ID,
    pub version: i64,
    pub invitation_id: ID,
    /// `/feedback/<token>`: prefix the web interface's address. Only the token's SHA-256 is
    /// stored; the link cannot be shown again, only replaced (`reissueInvitation`).
    pub link: String,
}

/// A recorded follow-up session, with the ids of its next steps in the order given.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FollowUpSessionChange {
    /// The cluster's id.
    pub id: ID,
    pub version: i64,
    pub session_id: ID,
    pub next_step_ids: Vec<ID>,
}

/// Feedback received through a practitioner's link.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct FeedbackReceipt {
    pub project_id: ID,
    pub acronym: String,
    pub received_at: OffsetDateTime,
}

/// One event of a project cluster, as recorded.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub(crate) struct ClusterActivity {
    /// Unique per event; a re-published copy carries the same id.
    pub event_id: ID,
    pub cluster_id: ID,
    /// The event type, e.g. `DemoFeedbackSubmitted` (docs/events.md).
    #[graphql(name = "type")]
    pub event_type: String,
    /// The cluster's version after this event.
    pub version: i64,
    pub recorded_at: OffsetDateTime,
    /// The event's payload as stored (docs/events.md).
    pub payload: Json<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Inputs

#[derive(InputObject, Debug, Clone)]
pub(crate) struct NameEndUserAreaInput {
    pub name: String,
    pub domain: AreaDomain,
    /// The tenant's own domain's name; only with `domain: OWN`.
    pub own_domain: Option<String>,
    #[graphql(default)]
    pub description: String,
}

/// The fields to change; the others stay.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ReviseEndUserAreaInput {
    pub name: Option<String>,
    pub domain: Option<AreaDomain>,
    /// With `domain: OWN`.
    pub own_domain: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FormClusterInput {
    /// One of your tenant's end-user areas.
    pub area_id: ID,
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

/// The fields to change; the others stay.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct ReviseClusterInput {
    pub area_id: Option<ID>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct StakeholderInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub kind: StakeholderKind,
    pub name: String,
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct ScheduleDemoEventInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub title: String,
    /// RFC 3339, in the future.
    pub starts_at: OffsetDateTime,
    /// The IANA zone to show the time in, e.g. `Europe/Vilnius`.
    pub time_zone: String,
    /// A place, an online link, or both.
    pub place: Option<String>,
    pub online_link: Option<String>,
    /// The cluster's projects that demonstrate, in order (1 to 50).
    pub agenda: Vec<ID>,
    /// Days after the start during which practitioners give feedback (1 to 90; 14).
    pub feedback_window_days: Option<i32>,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct PractitionerInput {
    pub organisation: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub sector: PractitionerSector,
}

impl PractitionerInput {
    fn parse(&self) -> Result<Practitioner, FieldError> {
        Ok(Practitioner {
            organisation: Title::parse("organisation", &self.organisation)?,
            country: CountryCode::parse("country", &self.country)?,
            sector: self.sector.into(),
        })
    }
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct InvitePractitionerInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub practitioner: PractitionerInput,
    pub email: String,
    /// When the link stops working; default: when the event's feedback window closes.
    pub expires_at: Option<OffsetDateTime>,
}

/// A practitioner's answers on one project.
#[derive(InputObject, Debug, Clone)]
pub(crate) struct FeedbackInput {
    /// 1 (poor) to 5 (excellent).
    pub relevance: i32,
    /// 1 (poor) to 5 (excellent).
    pub usability: i32,
    pub would_pilot: bool,
    /// Taxonomy codes of the features found relevant.
    #[graphql(default)]
    pub relevant_features: Vec<String>,
    #[graphql(default)]
    pub comment: String,
}

impl FeedbackInput {
    fn parse(&self) -> Result<Feedback, FieldError> {
        Ok(Feedback {
            relevance: Rating::parse("relevance", i64::from(self.relevance))?,
            usability: Rating::parse("usability", i64::from(self.usability))?,
            would_pilot: self.would_pilot,
            relevant_features: features("relevantFeatures", &self.relevant_features)?,
            comment: Summary::parse("comment", &self.comment)?,
        })
    }
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct PaperFeedbackInput {
    /// The sheet's UUID (one sheet is one practitioner's answers); one is made when absent.
    pub sheet_id: Option<ID>,
    pub practitioner: PractitionerInput,
    pub project_id: ID,
    pub feedback: FeedbackInput,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct NextStepInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    /// A project of the cluster.
    pub project_id: ID,
    pub action: String,
    /// A person or an organisation.
    pub owner: String,
    /// On or after the session's date.
    pub due: Date,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FollowUpSessionInput {
    /// A UUID of your choosing; one is made when absent.
    pub id: Option<ID>,
    pub date: Date,
    /// The demo event it follows up, if any.
    pub demo_event_id: Option<ID>,
    pub attendees: Vec<String>,
    #[graphql(default)]
    pub notes: String,
    #[graphql(default)]
    pub next_steps: Vec<NextStepInput>,
}

fn next_step(input: &NextStepInput) -> Result<NextStepPlan, ApiError> {
    Ok(NextStepPlan {
        id: entity_id("nextSteps.id", input.id.as_ref())?,
        project_id: AggregateRef::parse("projectId", &input.project_id)?,
        action: Title::parse("action", &input.action)?,
        owner: Title::parse("owner", &input.owner)?,
        due: input.due,
    })
}

// ---------------------------------------------------------------------------------------------
// Who, which, and how errors read

fn signed_in<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    principal(ctx).user().ok_or_else(ApiError::unauthenticated)
}

/// A signed-in follow-up manager (or tenant admin) of an active tenant, or why not.
async fn manager<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    let user = signed_in(ctx)?;
    if !(user.has_role(Role::FollowUpManager) || user.has_role(Role::TenantAdmin)) {
        return Err(ApiError::forbidden(
            "running project clusters needs the follow_up_manager or tenant_admin role",
        ));
    }
    let api = ctx.data_unchecked::<Api>();
    match ri_projections::catalogue::tenant(&api.db, &user.tenant).await? {
        Some(tenant) if tenant.status == TenantStatus::Suspended => Err(ApiError::forbidden(
            "your tenant is suspended and cannot make changes",
        )),
        Some(_) => Ok(user),
        None => Err(ApiError::forbidden("your tenant is not registered")),
    }
}

fn uuid(id: &ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// The id of an aggregate of ours (areas and clusters have UUIDs); anything else is `what`
/// NOT_FOUND.
fn aggregate_id(id: &ID, what: &str) -> Result<String, ApiError> {
    uuid(id)
        .map(|u| u.to_string())
        .ok_or_else(|| ApiError::not_found(what))
}

/// The id of an entity within a cluster: the UUID given, or a new one.
fn entity_id(field: &'static str, id: Option<&ID>) -> Result<Uuid, ApiError> {
    match id {
        None => Ok(Uuid::now_v7()),
        Some(id) => uuid(id).ok_or_else(|| ApiError::field(field, "must be a UUID")),
    }
}

/// The id of an entity the caller names (a demo event, an invitation): unknown when malformed.
fn known_id(id: &ID, what: &str) -> Result<Uuid, ApiError> {
    uuid(id).ok_or_else(|| ApiError::not_found(what))
}

fn version(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn metadata(user: &User) -> EventMetadata {
    EventMetadata::new(
        user.subject.clone(),
        user.tenant.clone(),
        user.roles.clone(),
    )
    .with_traceparent(current_traceparent())
}

/// The aggregate `id` of `tenant` as its events in the log make it (default: none there).
async fn load<A: Aggregate>(api: &Api, tenant: &TenantSlug, id: &str) -> Result<A, ApiError> {
    let store = PersistedEventStore::<_, A>::new_event_store(api.log.for_tenant(tenant.clone()));
    match store.load_aggregate(id).await {
        Ok(context) => Ok(context.aggregate),
        Err(AggregateError::DatabaseConnectionError(e)) => {
            tracing::warn!(error = %e, "database unavailable");
            Err(ApiError::new(
                Code::Unavailable,
                "the database is not answering; try again",
            ))
        }
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// Whether `tenant` has the end-user area `id`: the read model, or, while it lags, the log.
async fn area_exists(api: &Api, tenant: &TenantSlug, id: &str) -> Result<bool, ApiError> {
    if read::area(&api.db, tenant, id).await?.is_some() {
        return Ok(true);
    }
    Ok(load::<AreaAggregate>(api, tenant, id).await?.name.is_some())
}

/// The caller's tenant's project `raw`, as a cluster takes it: from the projects read model
/// (row-level security shows only the tenant's own), or, while it lags, from the log. Anything
/// else (another tenant's project, an unknown id) is BAD_USER_INPUT on `projectId`.
async fn own_project(api: &Api, tenant: &TenantSlug, raw: &str) -> Result<ProjectRef, ApiError> {
    let id = AggregateRef::parse("projectId", raw)?;
    let not_yours = || {
        ApiError::field(
            "projectId",
            format!("{raw} is not a project of your tenant"),
        )
    };
    let found = match ri_projections::projects::project(&api.db, tenant, id.as_str()).await? {
        Some(row) => Some((row.tenant, row.acronym)),
        None => {
            let project = load::<Project>(api, tenant, id.as_str()).await?;
            match (project.tenant, project.details) {
                (Some(owner), Some(details)) => Some((owner, details.acronym.to_string())),
                _ => None,
            }
        }
    };
    let (owner, acronym) = found.ok_or_else(not_yours)?;
    if owner != *tenant {
        return Err(not_yours());
    }
    Ok(ProjectRef {
        id,
        tenant: owner,
        acronym: Acronym::parse("projectId", &acronym)?,
    })
}

impl From<AreaError> for ApiError {
    fn from(e: AreaError) -> Self {
        match e {
            AreaError::Invalid(f) => f.into(),
            AreaError::NotFound => ApiError::not_found("end-user area"),
            AreaError::AlreadyExists => ApiError::new(Code::Conflict, e.to_string()),
            AreaError::Unchanged => ApiError::new(Code::BadUserInput, e.to_string()),
        }
    }
}

/// A cluster's refusal as a follow-up manager reads it.
impl From<ClusterError> for ApiError {
    fn from(e: ClusterError) -> Self {
        let message = e.to_string();
        match e {
            ClusterError::Invalid(f) => f.into(),
            ClusterError::NotFound => ApiError::not_found("cluster"),
            ClusterError::AlreadyExists
            | ClusterError::StakeholderExists(_)
            | ClusterError::DemoEventExists(_)
            | ClusterError::InvitationExists(_)
            | ClusterError::SessionExists(_)
            | ClusterError::NextStepExists(_) => ApiError::new(Code::Conflict, message),
            ClusterError::Unchanged => ApiError::new(Code::BadUserInput, message),
            ClusterError::ForeignProject(_)
            | ClusterError::ProjectAlreadyAssigned(_)
            | ClusterError::ProjectNotAssigned(_)
            | ClusterError::ProjectOnAgenda { .. }
            | ClusterError::ProjectNotOnAgenda(_) => ApiError::field("projectId", message),
            ClusterError::NoSuchStakeholder(_) => ApiError::not_found("stakeholder"),
            ClusterError::NoSuchDemoEvent(_) => ApiError::not_found("demo event"),
            ClusterError::DemoEventStatus { .. }
            | ClusterError::DemoEventHasFeedback(_)
            | ClusterError::DemoEventCancelled
            | ClusterError::FeedbackNotOpen
            | ClusterError::FeedbackWindowClosed => ApiError::field("eventId", message),
            ClusterError::AlreadyInvited(_) => ApiError::field("email", message),
            ClusterError::NoSuchInvitation => ApiError::not_found("invitation"),
            ClusterError::TokenSuperseded
            | ClusterError::InvitationRevoked
            | ClusterError::InvitationExpired => ApiError::field("invitationId", message),
            ClusterError::NoSuchSession(_) => ApiError::not_found("follow-up session"),
            ClusterError::NoSuchNextStep(_) => ApiError::not_found("next step"),
            ClusterError::NextStepAlreadyCompleted(_) => ApiError::field("stepId", message),
        }
    }
}

/// Maps a cluster's refusal; `project_field` names where a project that is not the cluster's
/// came from (`agenda`, `nextSteps`).
fn naming_projects(project_field: &'static str) -> impl Fn(ClusterError) -> ApiError {
    move |e| match e {
        ClusterError::ProjectNotAssigned(_) => ApiError::field(project_field, e.to_string()),
        other => other.into(),
    }
}

/// What a command on `what` returned, `refusal` mapping the aggregate's own errors. A stream of
/// another tenant is NOT_FOUND, as if it did not exist.
fn command_error<E>(err: AggregateError<E>, what: &str, refusal: &dyn Fn(E) -> ApiError) -> ApiError
where
    E: std::error::Error + Into<ApiError>,
{
    if let Some(StoreError::TenantMismatch { .. }) = StoreError::find(&err) {
        return ApiError::not_found(what);
    }
    match err {
        AggregateError::UserError(e) => refusal(e),
        other => from_command(other),
    }
}

/// A random pause before the next try after `attempt` tries: up to 10 ms, 20 ms, 40 ms, … (at
/// most [`MAX_BACK_OFF`]), so that racing writers spread out.
async fn back_off(attempt: u32) {
    let ceiling = Duration::from_millis(10)
        .saturating_mul(1 << attempt.min(10))
        .min(MAX_BACK_OFF);
    let pause = rand::rng().random_range(ceiling / 4..=ceiling);
    tracing::debug!(
        attempt,
        ?pause,
        "the cluster changed meanwhile; trying again"
    );
    tokio::time::sleep(pause).await;
}

fn is_conflict<E>(err: &AggregateError<E>) -> bool
where
    E: std::error::Error,
{
    matches!(err, AggregateError::AggregateConflict)
        || matches!(StoreError::find(err), Some(StoreError::Conflict))
}

/// Runs `command` on the cluster `id` of `meta.tenant`. Without `expected`, a version conflict
/// is tried again (up to [`ATTEMPTS`] times in all), the command decided anew.
async fn execute_cluster(
    api: &Api,
    id: &str,
    meta: &EventMetadata,
    expected: Option<usize>,
    command: ClusterCommand,
) -> Result<i64, AggregateError<ClusterError>> {
    let mut attempt = 1;
    loop {
        let services = ClusterServices {
            clock: api.clock.clone(),
        };
        let result = api
            .log
            .execute_at::<ProjectCluster>(
                &meta.tenant,
                id,
                command.clone(),
                meta,
                services,
                expected,
            )
            .await;
        match result {
            Ok(v) => return Ok(version(v)),
            Err(e) if is_conflict(&e) && expected.is_none() && attempt < ATTEMPTS => {
                back_off(attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs a follow-up manager's `command` on their tenant's cluster `id`.
async fn run(
    ctx: &Context<'_>,
    user: &User,
    id: &ID,
    expected_version: Option<i64>,
    command: ClusterCommand,
    refusal: &(dyn Fn(ClusterError) -> ApiError + Sync),
) -> Result<(String, i64), ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let id = aggregate_id(id, "cluster")?;
    let expected = super::mutation::expected(expected_version)?;
    let v = execute_cluster(api, &id, &metadata(user), expected, command)
        .await
        .map_err(|e| command_error(e, "cluster", refusal))?;
    Ok((id, v))
}

async fn change(
    ctx: &Context<'_>,
    user: &User,
    id: &ID,
    expected_version: Option<i64>,
    command: ClusterCommand,
    entity: Option<Uuid>,
) -> Result<ClusterChange, ApiError> {
    let (id, version) = run(
        ctx,
        user,
        id,
        expected_version,
        command,
        &|e: ClusterError| e.into(),
    )
    .await?;
    Ok(ClusterChange {
        id: ID(id),
        version,
        entity_id: entity.map(|e| ID(e.to_string())),
    })
}

async fn run_area(
    ctx: &Context<'_>,
    user: &User,
    id: &str,
    expected_version: Option<i64>,
    command: AreaCommand,
) -> Result<AreaChange, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    let v = api
        .log
        .execute_at::<AreaAggregate>(
            &user.tenant,
            id,
            command,
            &metadata(user),
            (),
            super::mutation::expected(expected_version)?,
        )
        .await
        .map_err(|e| command_error(e, "end-user area", &|e: AreaError| e.into()))?;
    Ok(AreaChange {
        id: ID(id.to_owned()),
        version: version(v),
    })
}

fn domain(kind: AreaDomain, own: Option<&str>) -> Result<DomainArea, ApiError> {
    Ok(DomainArea::parse(kind.code(), own)?)
}

// ---------------------------------------------------------------------------------------------
// Practitioner links

/// A fresh link token (256 random bits, base64url: 43 characters) and its SHA-256.
fn link_token() -> Result<(String, TokenHash), ApiError> {
    let (token, hash) = crate::secret::new_token();
    Ok((token, TokenHash::parse("token", &hash)?))
}

fn link(token: &str) -> String {
    format!("{FEEDBACK_PATH}{token}")
}

/// A token as given (a whole link is accepted too), when it can be one of ours.
fn token_of(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    let token = raw.rsplit_once(FEEDBACK_PATH).map_or(raw, |(_, t)| t);
    (!token.is_empty() && token.chars().count() <= MAX_TOKEN_CHARS).then_some(token)
}

fn invalid_link() -> async_graphql::Error {
    ApiError::new(
        Code::NotFound,
        "this link is not valid: check it against the e-mail you received",
    )
    .into()
}

/// A link that exists but cannot take feedback (now), with the state as `reason`.
fn link_refused(state: InvitationState) -> async_graphql::Error {
    let error = match state {
        InvitationState::Open => return invalid_link(),
        InvitationState::NotOpenYet => ApiError::new(
            Code::BadUserInput,
            "feedback opens when the demo event starts",
        ),
        InvitationState::Replaced => ApiError::forbidden(
            "this link has been replaced by a newer one: use the latest link you received",
        ),
        InvitationState::Revoked => ApiError::forbidden("this invitation has been revoked"),
        InvitationState::Cancelled => ApiError::forbidden("the demo event was cancelled"),
        InvitationState::WindowClosed => ApiError::forbidden(
            "the demo event's feedback window has closed: feedback can no longer be given",
        ),
        InvitationState::Expired => ApiError::forbidden("this invitation has expired"),
    };
    async_graphql::Error::from(error).extend_with(|_, ext| ext.set("reason", state.reason()))
}

/// A cluster's refusal as a practitioner reads it.
fn practitioner_refusal(e: ClusterError) -> async_graphql::Error {
    match e {
        ClusterError::NotFound | ClusterError::NoSuchInvitation => invalid_link(),
        ClusterError::TokenSuperseded => link_refused(InvitationState::Replaced),
        ClusterError::InvitationRevoked => link_refused(InvitationState::Revoked),
        ClusterError::DemoEventCancelled => link_refused(InvitationState::Cancelled),
        ClusterError::FeedbackWindowClosed => link_refused(InvitationState::WindowClosed),
        ClusterError::InvitationExpired => link_refused(InvitationState::Expired),
        ClusterError::FeedbackNotOpen => link_refused(InvitationState::NotOpenYet),
        other => ApiError::from(other).into(),
    }
}

/// Counts an attempt to use the link whose token hashes to `hash`, under the token and under
/// the client's address; RATE_LIMITED (with `Retry-After`) when either is over its limit.
async fn count_attempt(ctx: &Context<'_>, hash: &str) -> async_graphql::Result<()> {
    let api = ctx.data_unchecked::<Api>();
    let now = api.clock.now();
    let address = ctx
        .data_opt::<ClientIp>()
        .and_then(|c| c.0)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let keys = [
        (format!("token:{hash}"), AttemptLimit::PER_TOKEN),
        (format!("ip:{address}"), AttemptLimit::PER_ADDRESS),
    ];
    let mut wait: Option<i64> = None;
    for (key, limit) in keys {
        match read::record_feedback_attempt(&api.db, &key, limit, now)
            .await
            .map_err(ApiError::from)?
        {
            Attempt::Allowed { .. } => {}
            Attempt::Limited { retry_after } => {
                let seconds = retry_after.whole_seconds().max(1);
                wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
            }
        }
    }
    let Some(seconds) = wait else {
        return Ok(());
    };
    ctx.insert_http_header("retry-after", seconds.to_string());
    Err(async_graphql::Error::from(ApiError::new(
        Code::RateLimited,
        format!("too many attempts with this link or from your address; try again in {seconds} s"),
    ))
    .extend_with(|_, ext| ext.set("retryAfter", seconds)))
}

/// What the link with `token` opens, after counting the attempt; `None` for a link that never
/// was.
async fn open_link(
    ctx: &Context<'_>,
    token: &str,
) -> async_graphql::Result<Option<(InvitationAccess, TokenHash)>> {
    let token = token_of(token);
    let hash = crate::secret::sha256_hex(token.unwrap_or_default());
    count_attempt(ctx, &hash).await?;
    if token.is_none() {
        return Ok(None);
    }
    let api = ctx.data_unchecked::<Api>();
    let access = read::invitation_by_token_hash(&api.db, &hash, api.clock.now())
        .await
        .map_err(ApiError::from)?;
    let hash = TokenHash::parse("token", &hash).map_err(ApiError::from)?;
    Ok(access.map(|a| (a, hash)))
}

async fn submit_feedback(
    ctx: &Context<'_>,
    token: &str,
    project_id: &ID,
    input: &FeedbackInput,
) -> async_graphql::Result<FeedbackReceipt> {
    let Some((access, hash)) = open_link(ctx, token).await? else {
        return Err(invalid_link());
    };
    let state = InvitationState::from(access.state);
    if state != InvitationState::Open {
        return Err(link_refused(state));
    }
    let feedback = input.parse().map_err(ApiError::from)?;
    let project = AggregateRef::parse("projectId", project_id).map_err(ApiError::from)?;
    let Some(acronym) = access
        .agenda
        .iter()
        .find(|a| a.project_id == project.as_str())
        .map(|a| a.acronym.clone())
    else {
        return Err(ApiError::field(
            "projectId",
            format!("project {project} is not on the demo event's agenda"),
        )
        .into());
    };
    let api = ctx.data_unchecked::<Api>();
    // The token proved who this is: the invitation acts, in its cluster's tenant, with no role.
    let meta = EventMetadata::new(
        format!("invitation:{}", access.invitation_id),
        access.tenant.clone(),
        vec![],
    )
    .with_traceparent(current_traceparent());
    let command = ClusterCommand::SubmitDemoFeedback {
        invitation_id: access.invitation_id,
        token_sha256: hash,
        project_id: project.clone(),
        feedback,
    };
    // Many practitioners answer at once: a conflict is tried again on the reloaded cluster.
    match execute_cluster(api, &access.cluster_id, &meta, None, command).await {
        Ok(_) => Ok(FeedbackReceipt {
            project_id: ID(project.to_string()),
            acronym,
            received_at: api.clock.now(),
        }),
        Err(AggregateError::UserError(e)) => Err(practitioner_refusal(e)),
        Err(e) => Err(command_error(e, "cluster", &|e: ClusterError| e.into()).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Subscription

/// The cluster `cluster_id` of the caller's tenant's events as the relay publishes them.
pub(crate) async fn activity(
    ctx: &Context<'_>,
    cluster_id: ID,
) -> Result<impl Stream<Item = ClusterActivity> + Send + use<>, ApiError> {
    let user = signed_in(ctx)?;
    let api = ctx.data_unchecked::<Api>();
    let id = aggregate_id(&cluster_id, "cluster")?;
    if load::<ProjectCluster>(api, &user.tenant, &id)
        .await?
        .tenant
        .is_none()
    {
        return Err(ApiError::not_found("cluster"));
    }
    let subject = format!(
        "{}.{}.{}.*",
        api.event_subject_prefix,
        user.tenant.as_str(),
        CLUSTER.to_lowercase()
    );
    let events = super::subscription::relayed_events(api, subject).await?;
    Ok(events.filter_map(move |received| {
        let event = received.event;
        let mine = event.aggregate_id == id;
        std::future::ready(mine.then(|| {
            let _entered = received.span.enter();
            ClusterActivity {
                event_type: ClusterEvent::TYPES
                    .into_iter()
                    .find(|t| t.eq_ignore_ascii_case(&event.event))
                    .map_or_else(|| event.event.clone(), str::to_owned),
                event_id: ID(event.event_id),
                cluster_id: ID(event.aggregate_id),
                version: event.sequence,
                recorded_at: event.recorded_at,
                payload: Json(event.payload),
            }
        }))
    }))
}

// ---------------------------------------------------------------------------------------------
// Roots

/// End-user areas and project clusters: queries.
#[derive(Debug, Default)]
pub struct ClusterQuery;

#[Object]
impl ClusterQuery {
    /// Your tenant's end-user areas, by name.
    async fn areas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EndUserArea>> {
        let user = signed_in(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let rows = read::areas(&api.db, &user.tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(EndUserArea::from).collect())
    }

    /// One of your tenant's end-user areas; null for an unknown id or another tenant's.
    async fn area(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<EndUserArea>> {
        let user = signed_in(ctx)?;
        let Some(id) = uuid(&id) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let row = read::area(&api.db, &user.tenant, &id.to_string())
            .await
            .map_err(ApiError::from)?;
        Ok(row.map(EndUserArea::from))
    }

    /// Your tenant's project clusters, by name, with their counts.
    async fn clusters(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ClusterSummary>> {
        let user = signed_in(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let rows = read::clusters(&api.db, &user.tenant, api.clock.now())
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(ClusterSummary::from).collect())
    }

    /// The dashboard of one of your tenant's clusters; null for an unknown id or another
    /// tenant's.
    async fn cluster(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Cluster>> {
        let user = signed_in(ctx)?;
        let Some(id) = uuid(&id) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let dashboard =
            read::cluster_dashboard(&api.db, &user.tenant, &id.to_string(), api.clock.now())
                .await
                .map_err(ApiError::from)?;
        Ok(dashboard.map(Cluster::from))
    }

    /// Your tenant's projects not in the cluster whose features resemble its projects', best
    /// first, each explained by the features it shares with them. NOT_FOUND for a cluster that
    /// is not your tenant's.
    async fn suggested_projects(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        #[graphql(desc = "Default: 10; at most 50.")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<SuggestedProject>> {
        let user = signed_in(ctx)?;
        let id = aggregate_id(&cluster_id, "cluster")?;
        let first = super::query::first(first, DEFAULT_SUGGESTIONS)?;
        let api = ctx.data_unchecked::<Api>();
        let suggestions = read::suggested_projects(&api.db, &user.tenant, &id, first)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("cluster"))?;
        Ok(suggestions
            .into_iter()
            .map(SuggestedProject::from)
            .collect())
    }

    /// What a practitioner's feedback link opens, for anyone holding it (no account needed):
    /// the demo event, its agenda and the feedback given so far. `token` is the link's last
    /// part (the whole link is accepted too). Null for a link that never was; every look-up
    /// counts towards the link's and the address's attempt limits (RATE_LIMITED beyond them).
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> async_graphql::Result<Option<FeedbackInvitation>> {
        let opened = open_link(ctx, &token).await?;
        Ok(opened.map(|(access, _)| FeedbackInvitation::from(access)))
    }
}

/// End-user areas and project clusters: mutations, one per command.
#[derive(Debug, Default)]
pub struct ClusterMutation;

#[Object]
impl ClusterMutation {
    /// Names an end-user centric area of your tenant within a security domain (step 1 of the
    /// clustering practice).
    async fn name_end_user_area(
        &self,
        ctx: &Context<'_>,
        input: NameEndUserAreaInput,
    ) -> async_graphql::Result<AreaChange> {
        let user = manager(ctx).await?;
        let command = AreaCommand::Name {
            tenant: user.tenant.clone(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            domain: domain(input.domain, input.own_domain.as_deref())?,
            description: Summary::parse("description", &input.description)
                .map_err(ApiError::from)?,
        };
        let id = Uuid::now_v7().to_string();
        Ok(run_area(ctx, user, &id, Some(0), command).await?)
    }

    /// Changes the given fields of an end-user area; the history records old and new values.
    async fn revise_end_user_area(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseEndUserAreaInput,
    ) -> async_graphql::Result<AreaChange> {
        let user = manager(ctx).await?;
        let id = aggregate_id(&id, "end-user area")?;
        let domain = match (input.domain, input.own_domain.as_deref()) {
            (Some(kind), own) => Some(domain(kind, own)?),
            (None, Some(_)) => {
                return Err(ApiError::field("domain", "give domain: OWN with ownDomain").into());
            }
            (None, None) => None,
        };
        let command = AreaCommand::Revise {
            name: input
                .name
                .as_deref()
                .map(|n| Title::parse("name", n))
                .transpose()
                .map_err(ApiError::from)?,
            domain,
            description: input
                .description
                .as_deref()
                .map(|d| Summary::parse("description", d))
                .transpose()
                .map_err(ApiError::from)?,
        };
        Ok(run_area(ctx, user, &id, expected_version, command).await?)
    }

    /// Forms a cluster of your tenant for one of its end-user areas (step 2).
    async fn form_cluster(
        &self,
        ctx: &Context<'_>,
        input: FormClusterInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let api = ctx.data_unchecked::<Api>();
        let area_id = AggregateRef::parse("areaId", &input.area_id).map_err(ApiError::from)?;
        let command = ClusterCommand::Form {
            tenant: user.tenant.clone(),
            area_id: area_id.clone(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            description: Summary::parse("description", &input.description)
                .map_err(ApiError::from)?,
        };
        if !area_exists(api, &user.tenant, area_id.as_str()).await? {
            return Err(ApiError::field("areaId", "no such end-user area of your tenant").into());
        }
        let id = ID(Uuid::now_v7().to_string());
        Ok(change(ctx, user, &id, Some(0), command, None).await?)
    }

    /// Changes the given fields of a cluster (its area, name, description).
    async fn revise_cluster(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: ReviseClusterInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let api = ctx.data_unchecked::<Api>();
        let area_id = input
            .area_id
            .as_ref()
            .map(|a| AggregateRef::parse("areaId", a))
            .transpose()
            .map_err(ApiError::from)?;
        if let Some(area) = &area_id
            && !area_exists(api, &user.tenant, area.as_str()).await?
        {
            return Err(ApiError::field("areaId", "no such end-user area of your tenant").into());
        }
        let command = ClusterCommand::Revise {
            area_id,
            name: input
                .name
                .as_deref()
                .map(|n| Title::parse("name", n))
                .transpose()
                .map_err(ApiError::from)?,
            description: input
                .description
                .as_deref()
                .map(|d| Summary::parse("description", d))
                .transpose()
                .map_err(ApiError::from)?,
        };
        Ok(change(ctx, user, &id, expected_version, command, None).await?)
    }

    /// Adds one of your tenant's projects to the cluster (step 2). BAD_USER_INPUT on
    /// `projectId` for a project that is not your tenant's.
    async fn assign_project_to_cluster(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        project_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let api = ctx.data_unchecked::<Api>();
        let project = own_project(api, &user.tenant, &project_id).await?;
        let command = ClusterCommand::AssignProject { project };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Takes a project out of the cluster; not while it is on a coming demo event's agenda.
    async fn remove_project_from_cluster(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        project_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let project_id = AggregateRef::parse("projectId", &project_id).map_err(ApiError::from)?;
        let command = ClusterCommand::RemoveProject { project_id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Makes a user (by subject) the cluster's follow-up manager (step 3).
    async fn assign_follow_up_manager(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        subject: String,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let command = ClusterCommand::AssignFollowUpManager { subject };
        Ok(change(ctx, user, &cluster_id, expected_version, command, None).await?)
    }

    /// Records a stakeholder interested in the cluster's innovations (step 7).
    async fn engage_stakeholder(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: StakeholderInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = entity_id("id", input.id.as_ref())?;
        let stakeholder = Stakeholder {
            id,
            kind: input.kind.into(),
            name: Title::parse("name", &input.name).map_err(ApiError::from)?,
            note: ShortText::parse("note", &input.note).map_err(ApiError::from)?,
        };
        let command = ClusterCommand::EngageStakeholder { stakeholder };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    async fn disengage_stakeholder(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        stakeholder_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&stakeholder_id, "stakeholder")?;
        let command = ClusterCommand::DisengageStakeholder { id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Schedules a demo event of the cluster's projects for end-users (step 4); `startsAt` must
    /// be in the future.
    async fn schedule_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: ScheduleDemoEventInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = entity_id("id", input.id.as_ref())?;
        let command = ClusterCommand::ScheduleDemoEvent {
            id,
            title: Title::parse("title", &input.title).map_err(ApiError::from)?,
            starts_at: input.starts_at,
            time_zone: TimeZoneName::parse("timeZone", &input.time_zone).map_err(ApiError::from)?,
            venue: venue(input.place.as_deref(), input.online_link.as_deref())?,
            agenda: agenda_ids(&input.agenda)?,
            feedback_window: input
                .feedback_window_days
                .map(|d| FeedbackWindow::parse("feedbackWindowDays", i64::from(d)))
                .transpose()
                .map_err(ApiError::from)?
                .unwrap_or_default(),
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("agenda"),
        )
        .await?;
        Ok(ClusterChange {
            id: ID(cluster),
            version,
            entity_id: Some(ID(id.to_string())),
        })
    }

    /// Moves a scheduled demo event (no feedback yet) to a new future time; the venue stays
    /// unless a place or link is given.
    #[allow(clippy::too_many_arguments)]
    async fn reschedule_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        starts_at: OffsetDateTime,
        time_zone: String,
        place: Option<String>,
        online_link: Option<String>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&event_id, "demo event")?;
        let venue = if place.is_some() || online_link.is_some() {
            Some(venue(place.as_deref(), online_link.as_deref())?)
        } else {
            None
        };
        let command = ClusterCommand::RescheduleDemoEvent {
            id,
            starts_at,
            time_zone: TimeZoneName::parse("timeZone", &time_zone).map_err(ApiError::from)?,
            venue,
        };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Replaces a scheduled demo event's agenda (no feedback yet).
    async fn revise_demo_agenda(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        agenda: Vec<ID>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&event_id, "demo event")?;
        let command = ClusterCommand::ReviseDemoAgenda {
            id,
            agenda: agenda_ids(&agenda)?,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("agenda"),
        )
        .await?;
        Ok(ClusterChange {
            id: ID(cluster),
            version,
            entity_id: Some(ID(id.to_string())),
        })
    }

    /// Cancels a scheduled demo event that has no feedback.
    async fn cancel_demo_event(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&event_id, "demo event")?;
        let reason = ShortText::parse("reason", &reason).map_err(ApiError::from)?;
        let command = ClusterCommand::CancelDemoEvent { id, reason };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Records that a demo event that has started took place.
    async fn mark_demo_event_held(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&event_id, "demo event")?;
        let command = ClusterCommand::MarkDemoEventHeld { id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Invites a security practitioner to give feedback on a demo event (step 5). The result
    /// holds their personal link, shown this once; only its token's SHA-256 is stored.
    async fn invite_practitioner(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        input: InvitePractitionerInput,
    ) -> async_graphql::Result<InvitationLink> {
        let user = manager(ctx).await?;
        let event_id = known_id(&event_id, "demo event")?;
        let invitation_id = entity_id("id", input.id.as_ref())?;
        let (token, token_sha256) = link_token()?;
        let command = ClusterCommand::InvitePractitioner {
            event_id,
            invitation: DomainInvitation {
                id: invitation_id,
                practitioner: input.practitioner.parse().map_err(ApiError::from)?,
                email: Email::parse("email", &input.email).map_err(ApiError::from)?,
                token_sha256,
                expires_at: input.expires_at,
            },
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &|e: ClusterError| e.into(),
        )
        .await?;
        Ok(InvitationLink {
            id: ID(cluster),
            version,
            invitation_id: ID(invitation_id.to_string()),
            link: link(&token),
        })
    }

    /// Issues a new link for an invitation (the old one was lost or leaked): the old link stops
    /// working, and reads as replaced.
    async fn reissue_invitation(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        invitation_id: ID,
        expected_version: Option<i64>,
        expires_at: Option<OffsetDateTime>,
    ) -> async_graphql::Result<InvitationLink> {
        let user = manager(ctx).await?;
        let invitation_id = known_id(&invitation_id, "invitation")?;
        let (token, token_sha256) = link_token()?;
        let command = ClusterCommand::ReissueInvitation {
            invitation_id,
            token_sha256,
            expires_at,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &|e: ClusterError| e.into(),
        )
        .await?;
        Ok(InvitationLink {
            id: ID(cluster),
            version,
            invitation_id: ID(invitation_id.to_string()),
            link: link(&token),
        })
    }

    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        invitation_id: ID,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&invitation_id, "invitation")?;
        let reason = ShortText::parse("reason", &reason).map_err(ApiError::from)?;
        let command = ClusterCommand::RevokeInvitation {
            invitation_id: id,
            reason,
        };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Gives feedback on a project of a demo event's agenda through a practitioner's link; no
    /// account needed, the link's token is the credential. A second answer on the same project
    /// replaces the first until the event's feedback window closes. Errors: NOT_FOUND for a
    /// wrong link; FORBIDDEN with `reason` REPLACED, REVOKED, CANCELLED, WINDOW_CLOSED or
    /// EXPIRED; BAD_USER_INPUT for a rating outside 1 to 5 (`relevance`, `usability`), a project
    /// not on the agenda (`projectId`), or before the event starts (`reason` NOT_OPEN_YET);
    /// RATE_LIMITED after too many attempts with the link or from the address.
    async fn submit_demo_feedback(
        &self,
        ctx: &Context<'_>,
        token: String,
        project_id: ID,
        input: FeedbackInput,
    ) -> async_graphql::Result<FeedbackReceipt> {
        submit_feedback(ctx, &token, &project_id, &input).await
    }

    /// Records one practitioner's answers from a paper sheet (after the event has started; not
    /// bound by the feedback window).
    async fn record_paper_feedback(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        event_id: ID,
        expected_version: Option<i64>,
        input: PaperFeedbackInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let event_id = known_id(&event_id, "demo event")?;
        let sheet_id = entity_id("sheetId", input.sheet_id.as_ref())?;
        let command = ClusterCommand::RecordPaperFeedback {
            event_id,
            sheet_id,
            practitioner: input.practitioner.parse().map_err(ApiError::from)?,
            project_id: AggregateRef::parse("projectId", &input.project_id)
                .map_err(ApiError::from)?,
            feedback: input.feedback.parse().map_err(ApiError::from)?,
        };
        Ok(change(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            Some(sheet_id),
        )
        .await?)
    }

    /// Records a follow-up session with the next steps agreed (step 6).
    async fn record_follow_up_session(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        expected_version: Option<i64>,
        input: FollowUpSessionInput,
    ) -> async_graphql::Result<FollowUpSessionChange> {
        let user = manager(ctx).await?;
        let id = entity_id("id", input.id.as_ref())?;
        let names = input
            .attendees
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>();
        let next_steps = input
            .next_steps
            .iter()
            .map(next_step)
            .collect::<Result<Vec<_>, _>>()?;
        let step_ids = next_steps
            .iter()
            .map(|s| ID(s.id.to_string()))
            .collect::<Vec<_>>();
        let command = ClusterCommand::RecordFollowUpSession {
            id,
            date: input.date,
            demo_event_id: input
                .demo_event_id
                .as_ref()
                .map(|e| known_id(e, "demo event"))
                .transpose()?,
            attendees: Attendees::parse("attendees", &names).map_err(ApiError::from)?,
            notes: Summary::parse("notes", &input.notes).map_err(ApiError::from)?,
            next_steps,
        };
        let (cluster, version) = run(
            ctx,
            user,
            &cluster_id,
            expected_version,
            command,
            &naming_projects("nextSteps"),
        )
        .await?;
        Ok(FollowUpSessionChange {
            id: ID(cluster),
            version,
            session_id: ID(id.to_string()),
            next_step_ids: step_ids,
        })
    }

    /// Adds a next step to a follow-up session.
    async fn add_next_step(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        session_id: ID,
        expected_version: Option<i64>,
        input: NextStepInput,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let session_id = known_id(&session_id, "follow-up session")?;
        let step = next_step(&input)?;
        let id = step.id;
        let command = ClusterCommand::AddNextStep { session_id, step };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }

    /// Marks a next step done, today (UTC).
    async fn complete_next_step(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        step_id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<ClusterChange> {
        let user = manager(ctx).await?;
        let id = known_id(&step_id, "next step")?;
        let command = ClusterCommand::CompleteNextStep { step_id: id };
        Ok(change(ctx, user, &cluster_id, expected_version, command, Some(id)).await?)
    }
}

fn venue(place: Option<&str>, online_link: Option<&str>) -> Result<Venue, ApiError> {
    let place = place.map(|p| ShortText::parse("place", p)).transpose()?;
    let online_link = online_link
        .filter(|l| !l.trim().is_empty())
        .map(|l| Link::parse("onlineLink", l))
        .transpose()?;
    Ok(Venue::new(place, online_link)?)
}

fn agenda_ids(ids: &[ID]) -> Result<Vec<AggregateRef>, ApiError> {
    Ok(ids
        .iter()
        .map(|id| AggregateRef::parse("agenda", id))
        .collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn link_tokens_are_43_url_safe_characters_and_only_their_hash_is_kept() {
        let (token, hash) = link_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash.as_str(), crate::secret::sha256_hex(&token));
        assert_ne!(link_token().unwrap().0, token);
        assert_eq!(link(&token), format!("/feedback/{token}"));
    }

    #[test]
    fn a_token_is_taken_alone_or_from_its_link() {
        assert_eq!(token_of(" abc "), Some("abc"));
        assert_eq!(token_of("https://ri.example.eu/feedback/abc"), Some("abc"));
        assert_eq!(token_of(""), None);
        assert_eq!(token_of(&"x".repeat(MAX_TOKEN_CHARS + 1)), None);
    }
}
