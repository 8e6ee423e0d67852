//! Projects: the funded projects a tenant follows up, written by its follow-up managers (the
//! API checks the `follow_up_manager` role; the aggregate records facts).
//!
//! A project is registered with its details (acronym, title, open call, stage, security domain,
//! consortium with countries, lead country, summary) and then, in any order: its features are
//! declared and retracted (the same taxonomy instruments are tagged with, so that the two can be
//! matched); its applications beyond security are noted; success milestones are recorded under
//! the deliverable's three criteria; funding applications are recorded and moved forward
//! (`PLANNED` → `SUBMITTED` → `AWARDED` | `REJECTED`, never back, never after a decision), an
//! award recording a RECOGNITION milestone in the same command; and the score from which a
//! match is worth a notification is set (0.5 until then). A project may be shared with other
//! tenants (and the share withdrawn): they may then assign it to their clusters.

mod aggregate;
mod values;

pub use aggregate::{
    AWARD_MILESTONE_NAMESPACE, MAX_RECORDS, MAX_SHARES, PROJECT, Project, ProjectCommand,
    ProjectError, ProjectEvent, award_milestone_id,
};
pub use values::{
    Acronym, Consortium, ConsortiumMember, FundingApplication, FundingApplicationStatus,
    InstrumentRef, MatchThreshold, MilestoneDescription, Money, OpenCall, ProjectChanges,
    ProjectDetails, ProjectPatch, SecurityDomain, Stage, SuccessCriterion, SuccessMilestone,
};
