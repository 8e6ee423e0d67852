use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::values::{
    AggregateRef, AssignedProject, Attendees, Email, Feedback, FeedbackSource, FeedbackWindow,
    Practitioner, ProjectRef, Stakeholder, TimeZoneName, TokenHash, Venue, iso_date,
};
use crate::instrument::{Clock, SystemClock};
use crate::tenant::TenantSlug;
use crate::values::{Change, FieldError, ShortText, Summary, Title};
use crate::when;

pub const CLUSTER: &str = "ProjectCluster";

/// Most projects one cluster holds.
pub const MAX_PROJECTS: usize = 200;
/// Most stakeholders one cluster records.
pub const MAX_STAKEHOLDERS: usize = 100;
/// Most demo events one cluster schedules.
pub const MAX_EVENTS: usize = 100;
/// Most projects on one agenda.
pub const MAX_AGENDA: usize = 50;
/// Most invitations to one demo event.
pub const MAX_INVITATIONS: usize = 500;
/// Most follow-up sessions one cluster records.
pub const MAX_SESSIONS: usize = 200;
/// Most next steps of one follow-up session.
pub const MAX_STEPS: usize = 50;

/// What a cluster's commands need from outside: the time, so that "in the past", "expired" and
/// "the window has closed" are decided against a clock tests can choose.
#[derive(Debug, Clone)]
pub struct ClusterServices {
    pub clock: Arc<dyn Clock>,
}

impl Default for ClusterServices {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
        }
    }
}

/// A demo event as scheduled: when and where, and which of the cluster's projects demonstrate,
/// in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoEvent {
    /// Chosen by the caller.
    pub id: Uuid,
    pub title: Title,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// The zone the organiser gave the time in, for showing it.
    pub time_zone: TimeZoneName,
    pub venue: Venue,
    pub agenda: Vec<AssignedProject>,
    pub feedback_window: FeedbackWindow,
}

impl DemoEvent {
    /// When practitioners can no longer give or edit feedback.
    pub fn feedback_closes_at(&self) -> OffsetDateTime {
        self.feedback_window.closes(self.starts_at)
    }

    fn on_agenda(&self, project_id: &AggregateRef) -> Option<&AssignedProject> {
        self.agenda.iter().find(|p| &p.id == project_id)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DemoEventStatus {
    #[default]
    Scheduled,
    Held,
    Cancelled,
}

/// A practitioner's invitation to a demo event, with the hash of their link's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Chosen by the caller.
    pub id: Uuid,
    pub practitioner: Practitioner,
    pub email: Email,
    pub token_sha256: TokenHash,
    /// When the link stops working; `None`: when the event's feedback window closes.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A follow-up step as the command gives it: the project by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextStepPlan {
    pub id: Uuid,
    pub project_id: AggregateRef,
    pub action: Title,
    pub owner: Title,
    pub due: Date,
}

/// A step agreed at a follow-up session, naming the project with its acronym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    pub id: Uuid,
    pub project: AssignedProject,
    pub action: Title,
    /// A person or an organisation.
    pub owner: Title,
    #[serde(with = "iso_date")]
    pub due: Date,
}

/// A follow-up session: when, who was there, what was said and what is to happen next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpSession {
    /// Chosen by the caller.
    pub id: Uuid,
    #[serde(with = "iso_date")]
    pub date: Date,
    /// The demo event it follows up, if any.
    pub demo_event_id: Option<Uuid>,
    pub attendees: Attendees,
    pub notes: Summary,
    pub next_steps: Vec<NextStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterCommand {
    Form {
        tenant: TenantSlug,
        /// An end-user area of the tenant (the API checks it exists).
        area_id: AggregateRef,
        name: Title,
        description: Summary,
    },
    /// The given fields; the event records only what changed.
    Revise {
        area_id: Option<AggregateRef>,
        name: Option<Title>,
        description: Option<Summary>,
    },
    /// A project the API found among the caller's tenant's projects.
    AssignProject {
        project: ProjectRef,
    },
    RemoveProject {
        project_id: AggregateRef,
    },
    AssignFollowUpManager {
        /// The user's subject (`sub` claim).
        subject: String,
    },
    EngageStakeholder {
        stakeholder: Stakeholder,
    },
    DisengageStakeholder {
        id: Uuid,
    },
    ScheduleDemoEvent {
        id: Uuid,
        title: Title,
        starts_at: OffsetDateTime,
        time_zone: TimeZoneName,
        venue: Venue,
        /// Projects of the cluster, in the order they demonstrate.
        agenda: Vec<AggregateRef>,
        feedback_window: FeedbackWindow,
    },
    RescheduleDemoEvent {
        id: Uuid,
        starts_at: OffsetDateTime,
        time_zone: TimeZoneName,
        /// `None` keeps the venue.
        venue: Option<Venue>,
    },
    ReviseDemoAgenda {
        id: Uuid,
        agenda: Vec<AggregateRef>,
    },
    CancelDemoEvent {
        id: Uuid,
        reason: ShortText,
    },
    MarkDemoEventHeld {
        id: Uuid,
    },
    InvitePractitioner {
        event_id: Uuid,
        invitation: Invitation,
    },
    /// A new link for an invitation (the old one was lost or leaked): the old token stops
    /// working.
    ReissueInvitation {
        invitation_id: Uuid,
        token_sha256: TokenHash,
        expires_at: Option<OffsetDateTime>,
    },
    RevokeInvitation {
        invitation_id: Uuid,
        reason: ShortText,
    },
    /// Feedback through an invitation's link: the API found the invitation by the token's hash
    /// and passes both; the aggregate checks them again.
    SubmitDemoFeedback {
        invitation_id: Uuid,
        token_sha256: TokenHash,
        project_id: AggregateRef,
        feedback: Feedback,
    },
    /// Feedback a follow-up manager transcribes from a paper sheet; one sheet is one
    /// practitioner's answers.
    RecordPaperFeedback {
        event_id: Uuid,
        sheet_id: Uuid,
        practitioner: Practitioner,
        project_id: AggregateRef,
        feedback: Feedback,
    },
    RecordFollowUpSession {
        id: Uuid,
        date: Date,
        demo_event_id: Option<Uuid>,
        attendees: Attendees,
        notes: Summary,
        next_steps: Vec<NextStepPlan>,
    },
    AddNextStep {
        session_id: Uuid,
        step: NextStepPlan,
    },
    CompleteNextStep {
        step_id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterEvent {
    ClusterFormed {
        tenant: TenantSlug,
        area_id: AggregateRef,
        name: Title,
        description: Summary,
    },
    ClusterRevised {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        area_id: Option<Change<AggregateRef>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Change<Title>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Change<Summary>>,
    },
    /// Version 2 adds `owner`: the tenant that shared the project, when it is not the
    /// cluster's (version 1 knew only the cluster's own projects).
    ProjectAssignedToCluster {
        project: AssignedProject,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<TenantSlug>,
    },
    ProjectRemovedFromCluster {
        project: AssignedProject,
    },
    FollowUpManagerAssigned {
        old: Option<String>,
        new: String,
    },
    StakeholderEngaged {
        stakeholder: Stakeholder,
    },
    StakeholderDisengaged {
        stakeholder: Stakeholder,
    },
    DemoEventScheduled {
        event: DemoEvent,
    },
    DemoEventRescheduled {
        id: Uuid,
        #[serde(with = "time::serde::rfc3339")]
        old_starts_at: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        new_starts_at: OffsetDateTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_zone: Option<Change<TimeZoneName>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        venue: Option<Change<Venue>>,
    },
    DemoAgendaRevised {
        id: Uuid,
        old: Vec<AssignedProject>,
        new: Vec<AssignedProject>,
    },
    DemoEventCancelled {
        id: Uuid,
        reason: ShortText,
    },
    DemoEventHeld {
        id: Uuid,
    },
    PractitionerInvited {
        event_id: Uuid,
        invitation: Invitation,
    },
    InvitationReissued {
        event_id: Uuid,
        invitation_id: Uuid,
        token_sha256: TokenHash,
        #[serde(with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
    },
    InvitationRevoked {
        event_id: Uuid,
        invitation_id: Uuid,
        reason: ShortText,
    },
    DemoFeedbackSubmitted {
        event_id: Uuid,
        source: FeedbackSource,
        project: AssignedProject,
        feedback: Feedback,
    },
    DemoFeedbackRevised {
        event_id: Uuid,
        source: FeedbackSource,
        project: AssignedProject,
        old: Feedback,
        new: Feedback,
    },
    FollowUpSessionRecorded {
        session: FollowUpSession,
    },
    NextStepAdded {
        session_id: Uuid,
        step: NextStep,
    },
    NextStepCompleted {
        session_id: Uuid,
        step_id: Uuid,
        #[serde(with = "iso_date")]
        completed_on: Date,
    },
}

impl ClusterEvent {
    pub const TYPES: [&'static str; 20] = [
        "ClusterFormed",
        "ClusterRevised",
        "ProjectAssignedToCluster",
        "ProjectRemovedFromCluster",
        "FollowUpManagerAssigned",
        "StakeholderEngaged",
        "StakeholderDisengaged",
        "DemoEventScheduled",
        "DemoEventRescheduled",
        "DemoAgendaRevised",
        "DemoEventCancelled",
        "DemoEventHeld",
        "PractitionerInvited",
        "InvitationReissued",
        "InvitationRevoked",
        "DemoFeedbackSubmitted",
        "DemoFeedbackRevised",
        "FollowUpSessionRecorded",
        "NextStepAdded",
        "NextStepCompleted",
    ];
}

impl DomainEvent for ClusterEvent {
    fn event_type(&self) -> String {
        match self {
            ClusterEvent::ClusterFormed { .. } => "ClusterFormed",
            ClusterEvent::ClusterRevised { .. } => "ClusterRevised",
            ClusterEvent::ProjectAssignedToCluster { .. } => "ProjectAssignedToCluster",
            ClusterEvent::ProjectRemovedFromCluster { .. } => "ProjectRemovedFromCluster",
            ClusterEvent::FollowUpManagerAssigned { .. } => "FollowUpManagerAssigned",
            ClusterEvent::StakeholderEngaged { .. } => "StakeholderEngaged",
            ClusterEvent::StakeholderDisengaged { .. } => "StakeholderDisengaged",
            ClusterEvent::DemoEventScheduled { .. } => "DemoEventScheduled",
            ClusterEvent::DemoEventRescheduled { .. } => "DemoEventRescheduled",
            ClusterEvent::DemoAgendaRevised { .. } => "DemoAgendaRevised",
            ClusterEvent::DemoEventCancelled { .. } => "DemoEventCancelled",
            ClusterEvent::DemoEventHeld { .. } => "DemoEventHeld",
            ClusterEvent::PractitionerInvited { .. } => "PractitionerInvited",
            ClusterEvent::InvitationReissued { .. } => "InvitationReissued",
            ClusterEvent::InvitationRevoked { .. } => "InvitationRevoked",
            ClusterEvent::DemoFeedbackSubmitted { .. } => "DemoFeedbackSubmitted",
            ClusterEvent::DemoFeedbackRevised { .. } => "DemoFeedbackRevised",
            ClusterEvent::FollowUpSessionRecorded { .. } => "FollowUpSessionRecorded",
            ClusterEvent::NextStepAdded { .. } => "NextStepAdded",
            ClusterEvent::NextStepCompleted { .. } => "NextStepCompleted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            ClusterEvent::ProjectAssignedToCluster { .. } => PROJECT_ASSIGNED_VERSION.to_string(),
            _ => "1".to_owned(),
        }
    }
}

/// The current version of `ProjectAssignedToCluster` (2: with the sharing tenant as `owner`).
pub const PROJECT_ASSIGNED_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    #[error("the cluster already exists")]
    AlreadyExists,
    /// Never formed, or another tenant's: both look the same to the caller.
    #[error("no such cluster")]
    NotFound,
    #[error("nothing would change")]
    Unchanged,
    #[error("project {0} belongs to another tenant")]
    ForeignProject(String),
    #[error("project {0} is already in the cluster")]
    ProjectAlreadyAssigned(String),
    #[error("project {0} is not in the cluster")]
    ProjectNotAssigned(String),
    #[error("project {project_id} is on the agenda of the coming demo event {event_id}")]
    ProjectOnAgenda { project_id: String, event_id: Uuid },
    #[error("the cluster already has a stakeholder {0}")]
    StakeholderExists(Uuid),
    #[error("the cluster has no stakeholder {0}")]
    NoSuchStakeholder(Uuid),
    #[error("the cluster already has a demo event {0}")]
    DemoEventExists(Uuid),
    #[error("the cluster has no demo event {0}")]
    NoSuchDemoEvent(Uuid),
    #[error("the demo event is {status:?}; {reason}")]
    DemoEventStatus {
        status: DemoEventStatus,
        reason: &'static str,
    },
    #[error("the demo event has feedback; {0}")]
    DemoEventHasFeedback(&'static str),
    #[error("the cluster already has an invitation {0}")]
    InvitationExists(Uuid),
    #[error("{0} is already invited to this demo event")]
    AlreadyInvited(String),
    /// Unknown invitation: the link is wrong.
    #[error("no such invitation")]
    NoSuchInvitation,
    /// The link's token is not the invitation's current one: it was replaced by a new link.
    #[error("this link has been replaced by a newer one")]
    TokenSuperseded,
    #[error("this invitation has been revoked")]
    InvitationRevoked,
    #[error("this invitation has expired")]
    InvitationExpired,
    #[error("the demo event was cancelled")]
    DemoEventCancelled,
    #[error("feedback opens when the demo event starts")]
    FeedbackNotOpen,
    #[error("the demo event's feedback window has closed")]
    FeedbackWindowClosed,
    #[error("project {0} is not on the demo event's agenda")]
    ProjectNotOnAgenda(String),
    #[error("the cluster already has a follow-up session {0}")]
    SessionExists(Uuid),
    #[error("the cluster has no follow-up session {0}")]
    NoSuchSession(Uuid),
    #[error("the cluster already has a next step {0}")]
    NextStepExists(Uuid),
    #[error("the cluster has no next step {0}")]
    NoSuchNextStep(Uuid),
    #[error("next step {0} is already completed")]
    NextStepAlreadyCompleted(Uuid),
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

/// An invitation as the cluster keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationState {
    pub invitation: Invitation,
    pub revoked: bool,
    /// Tokens it had before the current one.
    pub past_tokens: Vec<TokenHash>,
}

/// One practitioner's feedback on one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackState {
    pub source: FeedbackSource,
    pub project_id: AggregateRef,
    pub feedback: Feedback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoEventState {
    pub event: DemoEvent,
    pub status: DemoEventStatus,
    pub invitations: Vec<InvitationState>,
    pub feedback: Vec<FeedbackState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub session: FollowUpSession,
    /// The ids of its completed steps.
    pub completed: Vec<Uuid>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCluster {
    pub tenant: Option<TenantSlug>,
    pub area_id: Option<AggregateRef>,
    pub name: Option<Title>,
    pub description: Option<Summary>,
    /// In the order assigned.
    pub projects: Vec<AssignedProject>,
    pub follow_up_manager: Option<String>,
    pub stakeholders: Vec<Stakeholder>,
    pub events: Vec<DemoEventState>,
    pub sessions: Vec<SessionState>,
}

fn subject(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 255 || s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "followUpManager",
            "must be a user's subject of 1 to 255 characters",
        ));
    }
    Ok(s.to_owned())
}

impl ProjectCluster {
    fn formed(&self) -> Result<&TenantSlug, ClusterError> {
        self.tenant.as_ref().ok_or(ClusterError::NotFound)
    }

    pub fn project(&self, id: &AggregateRef) -> Option<&AssignedProject> {
        self.projects.iter().find(|p| &p.id == id)
    }

    pub fn demo_event(&self, id: Uuid) -> Option<&DemoEventState> {
        self.events.iter().find(|e| e.event.id == id)
    }

    fn demo(&self, id: Uuid) -> Result<&DemoEventState, ClusterError> {
        self.demo_event(id).ok_or(ClusterError::NoSuchDemoEvent(id))
    }

    fn demo_mut(&mut self, id: Uuid) -> Option<&mut DemoEventState> {
        self.events.iter_mut().find(|e| e.event.id == id)
    }

    /// The invitation `id` and its event.
    pub fn invitation(&self, id: Uuid) -> Option<(&DemoEventState, &InvitationState)> {
        self.events.iter().find_map(|e| {
            e.invitations
                .iter()
                .find(|i| i.invitation.id == id)
                .map(|i| (e, i))
        })
    }

    fn token_used(&self, token: &TokenHash) -> bool {
        self.events
            .iter()
            .flat_map(|e| &e.invitations)
            .any(|i| &i.invitation.token_sha256 == token || i.past_tokens.contains(token))
    }

    fn step_exists(&self, id: Uuid) -> bool {
        self.sessions
            .iter()
            .flat_map(|s| &s.session.next_steps)
            .any(|s| s.id == id)
    }

    /// The agenda `ids` as the cluster's projects: 1 to [`MAX_AGENDA`] of them, each once.
    fn agenda(&self, ids: Vec<AggregateRef>) -> Result<Vec<AssignedProject>, ClusterError> {
        if ids.is_empty() {
            return Err(
                FieldError::new("agenda", "a demo event needs at least one project").into(),
            );
        }
        if ids.len() > MAX_AGENDA {
            return Err(FieldError::new("agenda", format!("at most {MAX_AGENDA} projects")).into());
        }
        let mut agenda: Vec<AssignedProject> = Vec::with_capacity(ids.len());
        for id in ids {
            if agenda.iter().any(|p| p.id == id) {
                return Err(
                    FieldError::new("agenda", format!("project {id} is on it twice")).into(),
                );
            }
            let project = self
                .project(&id)
                .ok_or_else(|| ClusterError::ProjectNotAssigned(id.to_string()))?;
            agenda.push(project.clone());
        }
        Ok(agenda)
    }

    /// A demo event that can still change: scheduled, not held or cancelled.
    fn scheduled(&self, id: Uuid, reason: &'static str) -> Result<&DemoEventState, ClusterError> {
        let demo = self.demo(id)?;
        if demo.status != DemoEventStatus::Scheduled {
            return Err(ClusterError::DemoEventStatus {
                status: demo.status,
                reason,
            });
        }
        Ok(demo)
    }

    fn next_step(&self, plan: NextStepPlan, after: Date) -> Result<NextStep, ClusterError> {
        let project = self
            .project(&plan.project_id)
            .ok_or_else(|| ClusterError::ProjectNotAssigned(plan.project_id.to_string()))?
            .clone();
        when::day("due", plan.due)?;
        if plan.due < after {
            return Err(FieldError::new(
                "due",
                format!("{} is before the session's date {after}", plan.due),
            )
            .into());
        }
        Ok(NextStep {
            id: plan.id,
            project,
            action: plan.action,
            owner: plan.owner,
            due: plan.due,
        })
    }

    /// The event of feedback `feedback` from `source` on `project_id` at demo event `demo`:
    /// the first from that respondent on that project, or a revision of it. `None` when it
    /// would change nothing.
    fn feedback_event(
        demo: &DemoEventState,
        source: FeedbackSource,
        project_id: &AggregateRef,
        feedback: Feedback,
    ) -> Result<Option<ClusterEvent>, ClusterError> {
        let project = demo
            .event
            .on_agenda(project_id)
            .ok_or_else(|| ClusterError::ProjectNotOnAgenda(project_id.to_string()))?
            .clone();
        let respondent = source.respondent_id();
        let earlier = demo
            .feedback
            .iter()
            .find(|f| f.source.respondent_id() == respondent && &f.project_id == project_id);
        let event_id = demo.event.id;
        Ok(match earlier {
            None => Some(ClusterEvent::DemoFeedbackSubmitted {
                event_id,
                source,
                project,
                feedback,
            }),
            Some(earlier) if earlier.feedback == feedback => None,
            Some(earlier) => Some(ClusterEvent::DemoFeedbackRevised {
                event_id,
                source,
                project,
                old: earlier.feedback.clone(),
                new: feedback,
            }),
        })
    }

    /// Whether demo event `demo` takes feedback at `now`: not cancelled, started, and its
    /// window still open.
    fn takes_feedback(demo: &DemoEventState, now: OffsetDateTime) -> Result<(), ClusterError> {
        if demo.status == DemoEventStatus::Cancelled {
            return Err(ClusterError::DemoEventCancelled);
        }
        if now < demo.event.starts_at {
            return Err(ClusterError::FeedbackNotOpen);
        }
        if now >= demo.event.feedback_closes_at() {
            return Err(ClusterError::FeedbackWindowClosed);
        }
        Ok(())
    }
}

fn in_future(
    field: &'static str,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), FieldError> {
    if at <= now {
        return Err(FieldError::new(field, "must be in the future"));
    }
    Ok(())
}

impl Aggregate for ProjectCluster {
    const TYPE: &'static str = CLUSTER;
    type Command = ClusterCommand;
    type Event = ClusterEvent;
    type Error = ClusterError;
    type Services = ClusterServices;

    async fn handle(
        &mut self,
        command: ClusterCommand,
        services: &ClusterServices,
        sink: &EventSink<Self>,
    ) -> Result<(), ClusterError> {
        let now = services.clock.now();
        if !matches!(command, ClusterCommand::Form { .. }) {
            self.formed()?;
        }
        let event = match command {
            ClusterCommand::Form {
                tenant,
                area_id,
                name,
                description,
            } => {
                if self.tenant.is_some() {
                    return Err(ClusterError::AlreadyExists);
                }
                ClusterEvent::ClusterFormed {
                    tenant,
                    area_id,
                    name,
                    description,
                }
            }
            ClusterCommand::Revise {
                area_id,
                name,
                description,
            } => {
                let area_id = match (area_id, &self.area_id) {
                    (Some(new), Some(old)) => Change::between(old, &new),
                    _ => None,
                };
                let name = match (name, &self.name) {
                    (Some(new), Some(old)) => Change::between(old, &new),
                    _ => None,
                };
                let description = match (description, &self.description) {
                    (Some(new), Some(old)) => Change::between(old, &new),
                    _ => None,
                };
                if area_id.is_none() && name.is_none() && description.is_none() {
                    return Err(ClusterError::Unchanged);
                }
                ClusterEvent::ClusterRevised {
                    area_id,
                    name,
                    description,
                }
            }
            ClusterCommand::AssignProject { project } => {
                let own = Some(&project.tenant) == self.tenant.as_ref();
                if !own && !project.shared {
                    return Err(ClusterError::ForeignProject(project.id.to_string()));
                }
                if self.project(&project.id).is_some() {
                    return Err(ClusterError::ProjectAlreadyAssigned(project.id.to_string()));
                }
                if self.projects.len() >= MAX_PROJECTS {
                    return Err(FieldError::new(
                        "projects",
                        format!("a cluster holds at most {MAX_PROJECTS} projects"),
                    )
                    .into());
                }
                ClusterEvent::ProjectAssignedToCluster {
                    project: AssignedProject {
                        id: project.id,
                        acronym: project.acronym,
                    },
                    owner: (!own).then_some(project.tenant),
                }
            }
            ClusterCommand::RemoveProject { project_id } => {
                let project = self
                    .project(&project_id)
                    .ok_or_else(|| ClusterError::ProjectNotAssigned(project_id.to_string()))?;
                if let Some(demo) = self.events.iter().find(|e| {
                    e.status == DemoEventStatus::Scheduled
                        && e.event.on_agenda(&project_id).is_some()
                }) {
                    return Err(ClusterError::ProjectOnAgenda {
                        project_id: project_id.to_string(),
                        event_id: demo.event.id,
                    });
                }
                ClusterEvent::ProjectRemovedFromCluster {
                    project: project.clone(),
                }
            }
            ClusterCommand::AssignFollowUpManager { subject: raw } => {
                let new = subject(&raw)?;
                if self.follow_up_manager.as_deref() == Some(new.as_str()) {
                    return Err(ClusterError::Unchanged);
                }
                ClusterEvent::FollowUpManagerAssigned {
                    old: self.follow_up_manager.clone(),
                    new,
                }
            }
            ClusterCommand::EngageStakeholder { stakeholder } => {
                if self.stakeholders.iter().any(|s| s.id == stakeholder.id) {
                    return Err(ClusterError::StakeholderExists(stakeholder.id));
                }
                if self.stakeholders.len() >= MAX_STAKEHOLDERS {
                    return Err(FieldError::new(
                        "stakeholders",
                        format!("a cluster records at most {MAX_STAKEHOLDERS} stakeholders"),
                    )
                    .into());
                }
                ClusterEvent::StakeholderEngaged { stakeholder }
            }
            ClusterCommand::DisengageStakeholder { id } => {
                let stakeholder = self
                    .stakeholders
                    .iter()
                    .find(|s| s.id == id)
                    .ok_or(ClusterError::NoSuchStakeholder(id))?;
                ClusterEvent::StakeholderDisengaged {
                    stakeholder: stakeholder.clone(),
                }
            }
            ClusterCommand::ScheduleDemoEvent {
                id,
                title,
                starts_at,
                time_zone,
                venue,
                agenda,
                feedback_window,
            } => {
                if self.demo_event(id).is_some() {
                    return Err(ClusterError::DemoEventExists(id));
                }
                if self.events.len() >= MAX_EVENTS {
                    return Err(FieldError::new(
                        "demoEvents",
                        format!("a cluster schedules at most {MAX_EVENTS} demo events"),
                    )
                    .into());
                }
                when::instant("startsAt", starts_at)?;
                feedback_window.checked_closes("startsAt", starts_at)?;
                in_future("startsAt", starts_at, now)?;
                ClusterEvent::DemoEventScheduled {
                    event: DemoEvent {
                        id,
                        title,
                        starts_at,
                        time_zone,
                        venue,
                        agenda: self.agenda(agenda)?,
                        feedback_window,
                    },
                }
            }
            ClusterCommand::RescheduleDemoEvent {
                id,
                starts_at,
                time_zone,
                venue,
            } => {
                let demo = self.scheduled(id, "only a scheduled demo event can be rescheduled")?;
                if !demo.feedback.is_empty() {
                    return Err(ClusterError::DemoEventHasFeedback(
                        "it can no longer be rescheduled",
                    ));
                }
                when::instant("startsAt", starts_at)?;
                demo.event
                    .feedback_window
                    .checked_closes("startsAt", starts_at)?;
                in_future("startsAt", starts_at, now)?;
                let starts_on = when::earliest_day(starts_at);
                if let Some(earlier) = self
                    .sessions
                    .iter()
                    .find(|s| s.session.demo_event_id == Some(id) && s.session.date < starts_on)
                {
                    return Err(FieldError::new(
                        "startsAt",
                        format!(
                            "the follow-up session of {} would be before the demo event",
                            earlier.session.date
                        ),
                    )
                    .into());
                }
                let time_zone = Change::between(&demo.event.time_zone, &time_zone);
                let venue = venue.and_then(|new| Change::between(&demo.event.venue, &new));
                if starts_at == demo.event.starts_at && time_zone.is_none() && venue.is_none() {
                    return Err(ClusterError::Unchanged);
                }
                ClusterEvent::DemoEventRescheduled {
                    id,
                    old_starts_at: demo.event.starts_at,
                    new_starts_at: starts_at,
                    time_zone,
                    venue,
                }
            }
            ClusterCommand::ReviseDemoAgenda { id, agenda } => {
                let demo = self.scheduled(id, "only a scheduled demo event's agenda can change")?;
                if !demo.feedback.is_empty() {
                    return Err(ClusterError::DemoEventHasFeedback("its agenda is fixed"));
                }
                let new = self.agenda(agenda)?;
                if new == demo.event.agenda {
                    return Err(ClusterError::Unchanged);
                }
                ClusterEvent::DemoAgendaRevised {
                    id,
                    old: demo.event.agenda.clone(),
                    new,
                }
            }
            ClusterCommand::CancelDemoEvent { id, reason } => {
                let demo = self.scheduled(id, "only a scheduled demo event can be cancelled")?;
                if !demo.feedback.is_empty() {
                    return Err(ClusterError::DemoEventHasFeedback(
                        "it took place and cannot be cancelled",
                    ));
                }
                ClusterEvent::DemoEventCancelled { id, reason }
            }
            ClusterCommand::MarkDemoEventHeld { id } => {
                let demo = self.scheduled(id, "only a scheduled demo event can be held")?;
                if now < demo.event.starts_at {
                    return Err(
                        FieldError::new("startsAt", "the demo event has not started yet").into(),
                    );
                }
                ClusterEvent::DemoEventHeld { id }
            }
            ClusterCommand::InvitePractitioner {
                event_id,
                invitation,
            } => {
                let demo = self.demo(event_id)?;
                if demo.status == DemoEventStatus::Cancelled {
                    return Err(ClusterError::DemoEventCancelled);
                }
                if now >= demo.event.feedback_closes_at() {
                    return Err(ClusterError::FeedbackWindowClosed);
                }
                if self.invitation(invitation.id).is_some() {
                    return Err(ClusterError::InvitationExists(invitation.id));
                }
                if demo
                    .invitations
                    .iter()
                    .any(|i| !i.revoked && i.invitation.email.same_as(&invitation.email))
                {
                    return Err(ClusterError::AlreadyInvited(invitation.email.to_string()));
                }
                if demo.invitations.len() >= MAX_INVITATIONS {
                    return Err(FieldError::new(
                        "invitations",
                        format!("a demo event takes at most {MAX_INVITATIONS} invitations"),
                    )
                    .into());
                }
                if self.token_used(&invitation.token_sha256) {
                    return Err(FieldError::new("token", "this token is already in use").into());
                }
                if let Some(at) = invitation.expires_at {
                    when::instant("expiresAt", at)?;
                    in_future("expiresAt", at, now)?;
                }
                ClusterEvent::PractitionerInvited {
                    event_id,
                    invitation,
                }
            }
            ClusterCommand::ReissueInvitation {
                invitation_id,
                token_sha256,
                expires_at,
            } => {
                let (demo, invitation) = self
                    .invitation(invitation_id)
                    .ok_or(ClusterError::NoSuchInvitation)?;
                if invitation.revoked {
                    return Err(ClusterError::InvitationRevoked);
                }
                if demo.status == DemoEventStatus::Cancelled {
                    return Err(ClusterError::DemoEventCancelled);
                }
                if now >= demo.event.feedback_closes_at() {
                    return Err(ClusterError::FeedbackWindowClosed);
                }
                if self.token_used(&token_sha256) {
                    return Err(FieldError::new("token", "this token is already in use").into());
                }
                if let Some(at) = expires_at {
                    when::instant("expiresAt", at)?;
                    in_future("expiresAt", at, now)?;
                }
                ClusterEvent::InvitationReissued {
                    event_id: demo.event.id,
                    invitation_id,
                    token_sha256,
                    expires_at,
                }
            }
            ClusterCommand::RevokeInvitation {
                invitation_id,
                reason,
            } => {
                let (demo, invitation) = self
                    .invitation(invitation_id)
                    .ok_or(ClusterError::NoSuchInvitation)?;
                if invitation.revoked {
                    return Err(ClusterError::InvitationRevoked);
                }
                ClusterEvent::InvitationRevoked {
                    event_id: demo.event.id,
                    invitation_id,
                    reason,
                }
            }
            ClusterCommand::SubmitDemoFeedback {
                invitation_id,
                token_sha256,
                project_id,
                feedback,
            } => {
                let (demo, invitation) = self
                    .invitation(invitation_id)
                    .ok_or(ClusterError::NoSuchInvitation)?;
                if invitation.invitation.token_sha256 != token_sha256 {
                    return Err(if invitation.past_tokens.contains(&token_sha256) {
                        ClusterError::TokenSuperseded
                    } else {
                        ClusterError::NoSuchInvitation
                    });
                }
                if invitation.revoked {
                    return Err(ClusterError::InvitationRevoked);
                }
                ProjectCluster::takes_feedback(demo, now)?;
                if invitation.invitation.expires_at.is_some_and(|at| now >= at) {
                    return Err(ClusterError::InvitationExpired);
                }
                let source = FeedbackSource::Invitation { invitation_id };
                match ProjectCluster::feedback_event(demo, source, &project_id, feedback)? {
                    Some(event) => event,
                    // The same answers again (a double submit): nothing to record.
                    None => return Ok(()),
                }
            }
            ClusterCommand::RecordPaperFeedback {
                event_id,
                sheet_id,
                practitioner,
                project_id,
                feedback,
            } => {
                let demo = self.demo(event_id)?;
                if demo.status == DemoEventStatus::Cancelled {
                    return Err(ClusterError::DemoEventCancelled);
                }
                if now < demo.event.starts_at {
                    return Err(ClusterError::FeedbackNotOpen);
                }
                if self.invitation(sheet_id).is_some() {
                    return Err(FieldError::new(
                        "sheetId",
                        "is the id of an invitation, not of a paper sheet",
                    )
                    .into());
                }
                for other in &self.events {
                    for f in &other.feedback {
                        let FeedbackSource::Paper {
                            sheet_id: sheet,
                            practitioner: recorded,
                        } = &f.source
                        else {
                            continue;
                        };
                        if *sheet != sheet_id {
                            continue;
                        }
                        if other.event.id != event_id {
                            return Err(FieldError::new(
                                "sheetId",
                                "this sheet belongs to another demo event",
                            )
                            .into());
                        }
                        if *recorded != practitioner {
                            return Err(FieldError::new(
                                "practitioner",
                                "this sheet was recorded for another practitioner",
                            )
                            .into());
                        }
                    }
                }
                // Transcribing paper is not bound by the feedback window: sheets come in late.
                let source = FeedbackSource::Paper {
                    sheet_id,
                    practitioner,
                };
                match ProjectCluster::feedback_event(demo, source, &project_id, feedback)? {
                    Some(event) => event,
                    None => return Ok(()),
                }
            }
            ClusterCommand::RecordFollowUpSession {
                id,
                date,
                demo_event_id,
                attendees,
                notes,
                next_steps,
            } => {
                if self.sessions.iter().any(|s| s.session.id == id) {
                    return Err(ClusterError::SessionExists(id));
                }
                if self.sessions.len() >= MAX_SESSIONS {
                    return Err(FieldError::new(
                        "sessions",
                        format!("a cluster records at most {MAX_SESSIONS} follow-up sessions"),
                    )
                    .into());
                }
                when::day("date", date)?;
                if let Some(event_id) = demo_event_id {
                    let demo = self.demo(event_id)?;
                    // Not before the day the event started anywhere on Earth: the session's
                    // day may be given in any time zone.
                    let starts_on = when::earliest_day(demo.event.starts_at);
                    if date < starts_on {
                        return Err(FieldError::new(
                            "date",
                            format!("{date} is before its demo event (started {starts_on})"),
                        )
                        .into());
                    }
                }
                if next_steps.len() > MAX_STEPS {
                    return Err(FieldError::new(
                        "nextSteps",
                        format!("a session has at most {MAX_STEPS} next steps"),
                    )
                    .into());
                }
                let mut steps: Vec<NextStep> = Vec::with_capacity(next_steps.len());
                for plan in next_steps {
                    if self.step_exists(plan.id) || steps.iter().any(|s| s.id == plan.id) {
                        return Err(ClusterError::NextStepExists(plan.id));
                    }
                    steps.push(self.next_step(plan, date)?);
                }
                ClusterEvent::FollowUpSessionRecorded {
                    session: FollowUpSession {
                        id,
                        date,
                        demo_event_id,
                        attendees,
                        notes,
                        next_steps: steps,
                    },
                }
            }
            ClusterCommand::AddNextStep { session_id, step } => {
                let session = self
                    .sessions
                    .iter()
                    .find(|s| s.session.id == session_id)
                    .ok_or(ClusterError::NoSuchSession(session_id))?;
                if self.step_exists(step.id) {
                    return Err(ClusterError::NextStepExists(step.id));
                }
                if session.session.next_steps.len() >= MAX_STEPS {
                    return Err(FieldError::new(
                        "nextSteps",
                        format!("a session has at most {MAX_STEPS} next steps"),
                    )
                    .into());
                }
                ClusterEvent::NextStepAdded {
                    session_id,
                    step: self.next_step(step, session.session.date)?,
                }
            }
            ClusterCommand::CompleteNextStep { step_id } => {
                let session = self
                    .sessions
                    .iter()
                    .find(|s| s.session.next_steps.iter().any(|n| n.id == step_id))
                    .ok_or(ClusterError::NoSuchNextStep(step_id))?;
                if session.completed.contains(&step_id) {
                    return Err(ClusterError::NextStepAlreadyCompleted(step_id));
                }
                ClusterEvent::NextStepCompleted {
                    session_id: session.session.id,
                    step_id,
                    completed_on: now.to_offset(time::UtcOffset::UTC).date(),
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ClusterEvent) {
        match event {
            ClusterEvent::ClusterFormed {
                tenant,
                area_id,
                name,
                description,
            } => {
                self.tenant = Some(tenant);
                self.area_id = Some(area_id);
                self.name = Some(name);
                self.description = Some(description);
            }
            ClusterEvent::ClusterRevised {
                area_id,
                name,
                description,
            } => {
                if let Some(c) = area_id {
                    self.area_id = Some(c.new);
                }
                if let Some(c) = name {
                    self.name = Some(c.new);
                }
                if let Some(c) = description {
                    self.description = Some(c.new);
                }
            }
            ClusterEvent::ProjectAssignedToCluster { project, .. } => self.projects.push(project),
            ClusterEvent::ProjectRemovedFromCluster { project } => {
                self.projects.retain(|p| p.id != project.id);
            }
            ClusterEvent::FollowUpManagerAssigned { new, .. } => {
                self.follow_up_manager = Some(new);
            }
            ClusterEvent::StakeholderEngaged { stakeholder } => {
                self.stakeholders.push(stakeholder);
            }
            ClusterEvent::StakeholderDisengaged { stakeholder } => {
                self.stakeholders.retain(|s| s.id != stakeholder.id);
            }
            ClusterEvent::DemoEventScheduled { event } => self.events.push(DemoEventState {
                event,
                status: DemoEventStatus::Scheduled,
                invitations: vec![],
                feedback: vec![],
            }),
            ClusterEvent::DemoEventRescheduled {
                id,
                new_starts_at,
                time_zone,
                venue,
                ..
            } => {
                if let Some(demo) = self.demo_mut(id) {
                    demo.event.starts_at = new_starts_at;
                    if let Some(c) = time_zone {
                        demo.event.time_zone = c.new;
                    }
                    if let Some(c) = venue {
                        demo.event.venue = c.new;
                    }
                }
            }
            ClusterEvent::DemoAgendaRevised { id, new, .. } => {
                if let Some(demo) = self.demo_mut(id) {
                    demo.event.agenda = new;
                }
            }
            ClusterEvent::DemoEventCancelled { id, .. } => {
                if let Some(demo) = self.demo_mut(id) {
                    demo.status = DemoEventStatus::Cancelled;
                }
            }
            ClusterEvent::DemoEventHeld { id } => {
                if let Some(demo) = self.demo_mut(id) {
                    demo.status = DemoEventStatus::Held;
                }
            }
            ClusterEvent::PractitionerInvited {
                event_id,
                invitation,
            } => {
                if let Some(demo) = self.demo_mut(event_id) {
                    demo.invitations.push(InvitationState {
                        invitation,
                        revoked: false,
                        past_tokens: vec![],
                    });
                }
            }
            ClusterEvent::InvitationReissued {
                event_id,
                invitation_id,
                token_sha256,
                expires_at,
            } => {
                if let Some(i) = self.demo_mut(event_id).and_then(|d| {
                    d.invitations
                        .iter_mut()
                        .find(|i| i.invitation.id == invitation_id)
                }) {
                    let old = std::mem::replace(&mut i.invitation.token_sha256, token_sha256);
                    i.past_tokens.push(old);
                    i.invitation.expires_at = expires_at;
                }
            }
            ClusterEvent::InvitationRevoked {
                event_id,
                invitation_id,
                ..
            } => {
                if let Some(i) = self.demo_mut(event_id).and_then(|d| {
                    d.invitations
                        .iter_mut()
                        .find(|i| i.invitation.id == invitation_id)
                }) {
                    i.revoked = true;
                }
            }
            ClusterEvent::DemoFeedbackSubmitted {
                event_id,
                source,
                project,
                feedback,
            } => {
                if let Some(demo) = self.demo_mut(event_id) {
                    demo.feedback.push(FeedbackState {
                        source,
                        project_id: project.id,
                        feedback,
                    });
                }
            }
            ClusterEvent::DemoFeedbackRevised {
                event_id,
                source,
                project,
                new,
                ..
            } => {
                if let Some(f) = self.demo_mut(event_id).and_then(|d| {
                    d.feedback.iter_mut().find(|f| {
                        f.source.respondent_id() == source.respondent_id()
                            && f.project_id == project.id
                    })
                }) {
                    f.feedback = new;
                }
            }
            ClusterEvent::FollowUpSessionRecorded { session } => {
                self.sessions.push(SessionState {
                    session,
                    completed: vec![],
                });
            }
            ClusterEvent::NextStepAdded { session_id, step } => {
                if let Some(s) = self
                    .sessions
                    .iter_mut()
                    .find(|s| s.session.id == session_id)
                {
                    s.session.next_steps.push(step);
                }
            }
            ClusterEvent::NextStepCompleted {
                session_id,
                step_id,
                ..
            } => {
                if let Some(s) = self
                    .sessions
                    .iter_mut()
                    .find(|s| s.session.id == session_id)
                {
                    s.completed.push(step_id);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
