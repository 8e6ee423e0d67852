//! Granting roles outside a request: the development `token --role` command and test harnesses.
//! The platform records the grant in the tenant's own events, as a platform admin granting it
//! through `grantRole` would.

use anyhow::Context;
use ri_app::{App as Commands, Caller, policy};
use ri_domain::tenant::{Tenant, TenantCommand};
use ri_domain::{Role, TenantSlug};
use ri_eventstore::EventLog;

use crate::config::Config;

/// Grants `subject` each of `roles` in `tenant` (granting a held role changes nothing). Refused
/// for `platform_admin`, which the configuration names, and for a tenant that is not registered
/// or is suspended.
pub async fn grant_roles(
    log: &EventLog,
    tenant: &TenantSlug,
    subject: &str,
    roles: &[Role],
) -> anyhow::Result<()> {
    let commands = Commands::new(log.clone());
    let platform = Caller::system(tenant.clone(), vec![Role::PlatformAdmin]);
    for role in roles {
        let command = TenantCommand::GrantRole {
            subject: subject.to_owned(),
            role: *role,
        };
        commands
            .execute::<Tenant>(
                &platform,
                &policy::ADMINISTER_TENANTS,
                tenant,
                tenant.as_str(),
                command,
                || (),
                None,
            )
            .await
            .map_err(crate::seed::failed)
            .with_context(|| format!("grant {} to {subject:?} in {tenant}", role.as_str()))?;
    }
    Ok(())
}

/// [`grant_roles`] on the configured database (the `token` command).
pub async fn grant_roles_in(
    config: &Config,
    tenant: &TenantSlug,
    subject: &str,
    roles: &[Role],
) -> anyhow::Result<()> {
    let log = crate::app::command_log(config).await?;
    let granted = grant_roles(&log, tenant, subject, roles).await;
    log.pool().close().await;
    granted
}
