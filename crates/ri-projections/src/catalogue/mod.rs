//! The instrument catalogue, the tenant directory and the audit trail: three projections of the
//! Tenant and FundingInstrument events, and the read API the GraphQL layer calls.
//!
//! - [`Catalogue`] (`catalogue_instruments`): one row per funding instrument, with a weighted
//!   full-text vector and the features as codes for the public search.
//! - [`Tenants`] (`tenants`, `tenant_roles`): every registered tenant and its role grants.
//! - [`Audit`] (`audit_entries`): one row per event of either aggregate, with the fields it
//!   changed (old and new values as display strings) and a sentence people can read.
//!
//! `catalogue_instruments` and `audit_entries` are under row-level security: the projections set
//! `app.projector` in their transaction, and every function in [`read`] runs in a short read-only
//! transaction that first sets `app.tenant` to the viewer's tenant, so drafts and audit entries
//! of other tenants are invisible to it whatever the query says.

pub(crate) mod as_of;
pub(crate) mod audit;
pub(crate) mod codes;
pub(crate) mod cursor;
pub(crate) mod instruments;
pub mod read;
mod search;
pub(crate) mod tenants;

pub use as_of::{instrument_as_of, tenant_as_of};
pub use audit::Audit;
pub use instruments::Catalogue;
pub use read::MAX_PAGE;
pub use read::{
    AuditEntry, AuditPage, Facets, FeatureMatch, FieldChange, InstrumentFilter, InstrumentPage,
    InstrumentRow, InstrumentSort, ReadError, TenantRow, Viewer, audit_trail, instrument, roles_of,
    search_instruments, tenant, tenants,
};
pub use tenants::Tenants;

use sqlx::PgConnection;

use crate::error::ProjectionError;

/// Lets the current transaction write the tables under row-level security (the policies admit
/// `app.projector = 'on'`). Transaction-local, so it never leaks into the pool.
pub(crate) async fn as_projector(conn: &mut PgConnection) -> Result<(), ProjectionError> {
    sqlx::query("SELECT set_config('app.projector', 'on', true)")
        .execute(conn)
        .await?;
    Ok(())
}
