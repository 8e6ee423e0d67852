//! Who runs commands, and in which conversation: the metadata every event of theirs carries.

use ri_domain::metadata::SYSTEM_ACTOR;
use ri_domain::{EventMetadata, Role, TenantSlug, TraceParent};
use uuid::Uuid;

/// The one on whose behalf commands run: a signed-in user, a practitioner's link, or the
/// platform itself. One request (or one import, one seed load) is one caller: its commands
/// share the correlation id and the trace; each command gets its own command id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The subject (`sub` claim) of the acting user, or [`SYSTEM_ACTOR`].
    pub actor: String,
    /// The tenant the caller belongs to (the tenant they act for).
    pub tenant: TenantSlug,
    pub roles: Vec<Role>,
    /// Shared by everything this caller's request causes.
    pub correlation_id: Uuid,
    /// What caused the caller's commands (the request itself, unless said otherwise).
    pub causation_id: Uuid,
    pub traceparent: TraceParent,
}

impl Caller {
    /// A caller starting a new conversation.
    pub fn new(actor: impl Into<String>, tenant: TenantSlug, roles: Vec<Role>) -> Self {
        let request = Uuid::now_v7();
        Self {
            actor: actor.into(),
            tenant,
            roles,
            correlation_id: request,
            causation_id: request,
            traceparent: TraceParent::detached(),
        }
    }

    /// The platform acting by itself (the seed, expiry) for `tenant`, with `roles`.
    pub fn system(tenant: TenantSlug, roles: Vec<Role>) -> Self {
        Self::new(SYSTEM_ACTOR, tenant, roles)
    }

    pub fn with_traceparent(mut self, traceparent: TraceParent) -> Self {
        self.traceparent = traceparent;
        self
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The metadata of one new command of this caller on an aggregate of `owner`: a fresh
    /// command id, the caller's conversation and trace.
    pub fn metadata(&self, owner: &TenantSlug) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            tenant: owner.clone(),
            roles: self.roles.clone(),
            command_id: Uuid::now_v7(),
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            traceparent: self.traceparent.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_gets_its_own_id_in_one_conversation() {
        let tenant = TenantSlug::parse("securit").unwrap_or_else(|e| panic!("{e}"));
        let caller = Caller::new("alice", tenant.clone(), vec![Role::Curator]);
        let (a, b) = (caller.metadata(&tenant), caller.metadata(&tenant));
        assert_ne!(a.command_id, b.command_id);
        assert_eq!(a.correlation_id, b.correlation_id);
        assert_eq!(a.traceparent, b.traceparent);
        assert_eq!(a.actor, "alice");
    }
}
