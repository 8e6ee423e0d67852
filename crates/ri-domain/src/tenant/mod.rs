//! Tenants: the cluster organisations (consortium partners and ambassador clusters) that curate
//! instruments and run projects. [`TenantSlug`] is a tenant's stable key; [`Tenant`] is the
//! aggregate that holds its profile, status and role grants.

mod aggregate;
mod slug;

pub use aggregate::{
    TENANT, Tenant, TenantCommand, TenantError, TenantEvent, TenantKind, TenantProfile,
    TenantStatus,
};
pub use slug::{TenantSlug, TenantSlugError};
