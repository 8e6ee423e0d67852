//! Object types: sessions, milestones, the cluster dashboard, suggestions, and what
//! mutations return.

use super::*;

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
                    shared_by: p.owner.map(|o| o.to_string()),
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

/// A project of your tenant, or shared with it, not in the cluster, whose features resemble
/// its members'.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct SuggestedProject {
    pub id: ID,
    /// The tenant it belongs to: yours, or one that shares it with yours.
    pub tenant: String,
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
            tenant: s.owner.to_string(),
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
