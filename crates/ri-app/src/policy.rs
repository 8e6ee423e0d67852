//! The policy of every kind of command: who may run it, on which tenant, how it is retried.
//! The API, the CSV import and the seed use the same ones.

use ri_domain::Role;

use crate::run::{Policy, TenantRule};

/// Tries in all for a command on a cluster without an expected version: enough for a room of
/// practitioners answering the same demo event at once.
pub const CLUSTER_ATTEMPTS: u32 = 8;

/// Drafting and curating funding instruments.
pub const CURATE_INSTRUMENTS: Policy = Policy {
    roles: &[Role::Curator, Role::TenantAdmin],
    doing: "curating instruments",
    tenant: TenantRule::Active,
    attempts: 1,
};

/// Registering and changing projects.
pub const CHANGE_PROJECTS: Policy = Policy {
    roles: &[Role::FollowUpManager, Role::TenantAdmin],
    doing: "changing projects",
    tenant: TenantRule::Active,
    attempts: 1,
};

/// End-user areas and project clusters.
pub const RUN_CLUSTERS: Policy = Policy {
    roles: &[Role::FollowUpManager, Role::TenantAdmin],
    doing: "running project clusters",
    tenant: TenantRule::Active,
    attempts: CLUSTER_ATTEMPTS,
};

/// A practitioner's feedback through their link: the token is the credential, no role.
pub const GIVE_FEEDBACK: Policy = Policy {
    roles: &[],
    doing: "giving feedback",
    tenant: TenantRule::Active,
    attempts: CLUSTER_ATTEMPTS,
};

/// A user's own watches: any signed-in user of an active tenant.
pub const KEEP_WATCHES: Policy = Policy {
    roles: &[],
    doing: "keeping watches",
    tenant: TenantRule::Active,
    attempts: 1,
};

/// Registering, suspending and reinstating tenants, their profiles and roles. Who may act on
/// which tenant is decided by the caller (platform admin, or the tenant's own tenant admin);
/// the Tenant aggregate refuses changes to a suspended tenant itself.
pub const ADMINISTER_TENANTS: Policy = Policy {
    roles: &[Role::PlatformAdmin, Role::TenantAdmin],
    doing: "administering tenants",
    tenant: TenantRule::Unchecked,
    attempts: 1,
};

/// The platform closing a call whose deadline has passed: bookkeeping of the platform's own,
/// done for a suspended tenant's published calls too.
pub const EXPIRE_CALLS: Policy = Policy {
    roles: &[],
    doing: "closing expired calls",
    tenant: TenantRule::Unchecked,
    attempts: 1,
};
