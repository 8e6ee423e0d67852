//! End-user areas and project clusters, the project clustering practice of the SecurIT
//! deliverable D2.5 (section 3.3), written by a tenant's follow-up managers (the API checks the
//! `follow_up_manager` role; the aggregates record facts).
//!
//! - [`EndUserArea`]: an end-user centric area, named and described within a security domain
//!   (one of SecurIT's three, or the tenant's own).
//! - [`ProjectCluster`]: a cluster formed for an area, with its projects (the tenant's own; a
//!   project may sit in several clusters), its follow-up manager, its engaged stakeholders, and
//!   as entities with caller-chosen ids: its demo events (agenda, invitations with the hash of
//!   each personal link's token, and the practitioners' feedback per project), and its
//!   follow-up sessions with their next steps. Demo events live inside the cluster so that one
//!   aggregate decides, consistently, that an agenda holds only the cluster's projects, that a
//!   project on a coming agenda stays in the cluster, and that each invitation gives one
//!   feedback per project, editable until the event's feedback window closes.
//!
//! Time-dependent rules (an event is not scheduled in the past, an invitation expires, a
//! window closes) read the clock of [`ClusterServices`].

mod aggregate;
mod area;
mod values;

pub use aggregate::{
    CLUSTER, ClusterCommand, ClusterError, ClusterEvent, ClusterServices, DemoEvent,
    DemoEventState, DemoEventStatus, FeedbackState, FollowUpSession, Invitation, InvitationState,
    MAX_AGENDA, MAX_EVENTS, MAX_INVITATIONS, MAX_PROJECTS, MAX_SESSIONS, MAX_STAKEHOLDERS,
    MAX_STEPS, NextStep, NextStepPlan, PROJECT_ASSIGNED_VERSION, ProjectCluster, SessionState,
};
pub use area::{AreaCommand, AreaError, AreaEvent, END_USER_AREA, EndUserArea};
pub use values::{
    AggregateRef, AreaDomain, AssignedProject, Attendees, Email, Feedback, FeedbackSource,
    FeedbackWindow, Practitioner, PractitionerSector, ProjectRef, Rating, Stakeholder,
    StakeholderKind, TimeZoneName, TokenHash, Venue,
};
