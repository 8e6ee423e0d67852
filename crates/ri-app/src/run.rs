//! Running one command: authorise (role, and the tenant's own events for its state), decide on
//! the aggregate as the log makes it, append with the caller's metadata, try again on a version
//! conflict when the command allows it, and say what went wrong in the API's terms.

use std::time::Duration;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, EventStore};
use rand::RngExt;
use ri_domain::tenant::{Tenant, TenantStatus};
use ri_domain::{Role, TenantSlug};
use ri_eventstore::{EventLog, StoreError};

use crate::caller::Caller;
use crate::error::{AppError, from_aggregate, is_conflict};

/// The longest pause between two tries of a command after a version conflict.
const MAX_BACK_OFF: Duration = Duration::from_millis(400);

/// What the tenant that owns the aggregate must be for the command to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRule {
    /// Registered and not suspended, as the tenant's own events in the log say (not a read
    /// model, which may lag): every ordinary write.
    Active,
    /// Not checked here: tenant administration, where the Tenant aggregate decides itself.
    Unchecked,
}

/// Who may run a kind of command and how it is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The caller needs one of these roles; none listed: any caller.
    pub roles: &'static [Role],
    /// What the command does, for the refusal ("curating instruments needs …").
    pub doing: &'static str,
    pub tenant: TenantRule,
    /// Tries in all when the aggregate changed meanwhile and the caller gave no expected
    /// version: the command is decided again on the reloaded aggregate. 1: never retried.
    pub attempts: u32,
}

impl Policy {
    /// The role check alone (no I/O), for callers that want it before parsing their input.
    pub fn permits(&self, caller: &Caller) -> Result<(), AppError> {
        if self.roles.is_empty() || self.roles.iter().any(|r| caller.has_role(*r)) {
            return Ok(());
        }
        let names = self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>();
        Err(AppError::forbidden(format!(
            "{} needs the {} role",
            self.doing,
            names.join(" or ")
        )))
    }
}

/// Why a command did not run.
#[derive(Debug)]
pub enum Failure<E> {
    /// The aggregate refused it; only the caller knows how to word that.
    Refused(E),
    /// The aggregate's stream belongs to another tenant than the one the command names.
    OtherTenant,
    /// Anything else, already mapped (FORBIDDEN, CONFLICT, UNAVAILABLE, INTERNAL, …).
    Error(AppError),
}

impl<E> From<AppError> for Failure<E> {
    fn from(e: AppError) -> Self {
        Failure::Error(e)
    }
}

impl<E: std::error::Error> Failure<E> {
    fn of(err: AggregateError<E>) -> Self {
        if let Some(StoreError::TenantMismatch { .. }) = StoreError::find(&err) {
            return Failure::OtherTenant;
        }
        match from_aggregate(&err) {
            Some(mapped) => Failure::Error(mapped),
            None => match err {
                AggregateError::UserError(e) => Failure::Refused(e),
                other => Failure::Error(AppError::internal(&other)),
            },
        }
    }
}

/// The application layer: the one way commands reach the log. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    log: EventLog,
}

impl App {
    pub fn new(log: EventLog) -> Self {
        Self { log }
    }

    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// The tenant `slug` as its own events make it (unregistered when it has none).
    pub async fn tenant(&self, slug: &TenantSlug) -> Result<Tenant, AppError> {
        Ok(self.load::<Tenant>(slug, slug.as_str()).await?.0)
    }

    /// The aggregate `id` of `owner` as the log makes it, and its version (0: no events).
    pub async fn load<A: Aggregate>(
        &self,
        owner: &TenantSlug,
        id: &str,
    ) -> Result<(A, usize), AppError> {
        let store =
            PersistedEventStore::<_, A>::new_event_store(self.log.for_tenant(owner.clone()));
        match store.load_aggregate(id).await {
            Ok(context) => Ok((context.aggregate, context.current_sequence)),
            Err(e) => Err(from_aggregate(&e).unwrap_or_else(|| AppError::internal(&e))),
        }
    }

    /// Whether `caller` may run a command under `policy` on an aggregate of `owner`: the role,
    /// then (for [`TenantRule::Active`]) the owner's state in its own events.
    pub async fn authorise(
        &self,
        caller: &Caller,
        policy: &Policy,
        owner: &TenantSlug,
    ) -> Result<(), AppError> {
        policy.permits(caller)?;
        if policy.tenant == TenantRule::Active {
            let own = *owner == caller.tenant;
            match self.tenant(owner).await?.status {
                TenantStatus::Active => {}
                TenantStatus::Suspended => {
                    return Err(AppError::forbidden(if own {
                        "your tenant is suspended and cannot make changes"
                    } else {
                        "this tenant is suspended and cannot take changes"
                    }));
                }
                TenantStatus::Unregistered => {
                    return Err(AppError::forbidden(if own {
                        "your tenant is not registered"
                    } else {
                        "this tenant is not registered"
                    }));
                }
            }
        }
        Ok(())
    }

    /// Runs `command` for `caller` on the aggregate `id` of `owner` under `policy`, refused as
    /// a conflict unless the aggregate is at `expected` (when given). Returns the aggregate's
    /// version after the command, and records where it committed in the request's
    /// [`Commits`](crate::Commits). `services` makes the aggregate's services for each try.
    // Who, under which rule, on which stream, what, with what, at which version: each is
    // needed, and a struct of them would only be taken apart again here.
    #[allow(clippy::too_many_arguments)]
    pub async fn execute<A>(
        &self,
        caller: &Caller,
        policy: &Policy,
        owner: &TenantSlug,
        id: &str,
        command: A::Command,
        services: impl Fn() -> A::Services,
        expected: Option<usize>,
    ) -> Result<usize, Failure<A::Error>>
    where
        A: Aggregate,
        A::Command: Clone,
    {
        self.authorise(caller, policy, owner).await?;
        let metadata = caller.metadata(owner);
        let mut attempt = 1;
        loop {
            let result = self
                .log
                .execute_at::<A>(owner, id, command.clone(), &metadata, services(), expected)
                .await;
            match result {
                Ok(done) => {
                    crate::commits::record(done.committed);
                    return Ok(done.version);
                }
                Err(e) if is_conflict(&e) && expected.is_none() && attempt < policy.attempts => {
                    back_off(attempt).await;
                    attempt += 1;
                }
                Err(e) => return Err(Failure::of(e)),
            }
        }
    }
}

/// A random pause before the next try after `attempt` tries: up to 10 ms, 20 ms, 40 ms, … (at
/// most [`MAX_BACK_OFF`]), so that racing writers spread out.
async fn back_off(attempt: u32) {
    let ceiling = Duration::from_millis(10)
        .saturating_mul(1 << attempt.min(10))
        .min(MAX_BACK_OFF);
    let pause = rand::rng().random_range(ceiling / 4..=ceiling);
    tracing::debug!(
        attempt,
        ?pause,
        "the aggregate changed meanwhile; trying again"
    );
    tokio::time::sleep(pause).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::policy;

    fn caller(roles: Vec<Role>) -> Caller {
        let tenant = TenantSlug::parse("l3ce").unwrap_or_else(|e| panic!("{e}"));
        Caller::new("ana", tenant, roles)
    }

    #[test]
    fn a_policy_permits_any_of_its_roles_and_names_them_when_it_refuses() {
        let curating = &policy::CURATE_INSTRUMENTS;
        assert!(curating.permits(&caller(vec![Role::Curator])).is_ok());
        assert!(curating.permits(&caller(vec![Role::TenantAdmin])).is_ok());
        let refused = curating
            .permits(&caller(vec![Role::FollowUpManager]))
            .err()
            .unwrap_or_else(|| panic!("a follow-up manager curated"));
        assert_eq!(refused.code, Code::Forbidden);
        assert_eq!(
            refused.message,
            "curating instruments needs the curator or tenant_admin role"
        );
        // Watches need no role; feedback links act with none.
        assert!(policy::KEEP_WATCHES.permits(&caller(vec![])).is_ok());
        assert!(policy::GIVE_FEEDBACK.permits(&caller(vec![])).is_ok());
    }

    #[test]
    fn every_write_but_tenant_administration_and_expiry_needs_an_active_tenant() {
        for p in [
            policy::CURATE_INSTRUMENTS,
            policy::CHANGE_PROJECTS,
            policy::RUN_CLUSTERS,
            policy::GIVE_FEEDBACK,
            policy::KEEP_WATCHES,
        ] {
            assert_eq!(p.tenant, TenantRule::Active, "{}", p.doing);
        }
        assert_eq!(policy::ADMINISTER_TENANTS.tenant, TenantRule::Unchecked);
        assert_eq!(policy::EXPIRE_CALLS.tenant, TenantRule::Unchecked);
    }
}
