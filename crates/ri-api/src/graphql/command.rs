//! How resolvers reach the application layer ([`ri_app`]): the caller of the request, the
//! versions the API speaks, and the command's failure in the API's terms.

use cqrs_es::Aggregate;
use ri_app::{App, Caller, Policy};

use super::Api;
use super::error::{ApiError, from_failure};
use crate::auth::User;
use crate::trace::current_traceparent;

/// The application layer on the request's log.
pub(crate) fn app(api: &Api) -> App {
    App::new(api.log.clone())
}

/// The signed-in user as the caller of commands, in the request's trace.
pub(crate) fn caller(user: &User) -> Caller {
    Caller::new(
        user.subject.clone(),
        user.tenant.clone(),
        user.roles.clone(),
    )
    .with_traceparent(current_traceparent())
}

/// `expectedVersion` as the log counts.
pub(crate) fn expected(version: Option<i64>) -> Result<Option<usize>, ApiError> {
    version
        .map(|v| {
            usize::try_from(v)
                .map_err(|_| ApiError::field("expectedVersion", "must not be negative"))
        })
        .transpose()
}

/// A version as the API reports it.
pub(crate) fn version(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Runs the signed-in `user`'s `command` on their own tenant's aggregate `id` under `policy`;
/// another tenant's stream is `what` NOT_FOUND, the aggregate's refusal is worded by `refusal`.
/// Returns the new version as the log counts.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute_own<A>(
    api: &Api,
    user: &User,
    policy: &Policy,
    what: &str,
    id: &str,
    command: A::Command,
    services: impl Fn() -> A::Services,
    expected: Option<usize>,
    refusal: impl FnOnce(A::Error) -> ApiError,
) -> Result<usize, ApiError>
where
    A: Aggregate,
    A::Command: Clone,
{
    app(api)
        .execute::<A>(
            &caller(user),
            policy,
            &user.tenant,
            id,
            command,
            services,
            expected,
        )
        .await
        .map_err(|f| from_failure(f, what, refusal))
}
