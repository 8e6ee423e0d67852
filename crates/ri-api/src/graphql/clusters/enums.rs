//! The enums of the cluster API.

use super::*;

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
    pub(super) fn code(self) -> &'static str {
        match self {
            AreaDomain::SensitiveInfrastructureProtection => "SENSITIVE_INFRASTRUCTURE_PROTECTION",
            AreaDomain::DisasterResilience => "DISASTER_RESILIENCE",
            AreaDomain::PublicSpaceProtection => "PUBLIC_SPACE_PROTECTION",
            AreaDomain::Own => "OWN",
        }
    }

    pub(super) fn of(domain: &DomainArea) -> Self {
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
    pub(super) fn reason(self) -> &'static str {
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
