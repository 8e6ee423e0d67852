//! What a caller may do: the token says who they are ([`Identity`]); their roles are what their
//! tenant granted them, read from the tenant's own events in the log (not a read model, which
//! may lag: a revoked role is gone from the next request on), and `platform_admin` for the
//! subjects the configuration names. Every permission check of the request and every
//! notification recipient list reads these same grants (decision 0008).

use std::collections::BTreeSet;
use std::sync::Arc;

use ri_app::{App, AppError, Code};
use ri_domain::Role;
use ri_domain::tenant::TenantStatus;

use crate::auth::{Authenticator, Identity, Principal, User, authorization_header};

/// Authenticates a request and gives its caller their roles. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Access {
    auth: Authenticator,
    app: App,
    platform_admins: Arc<BTreeSet<String>>,
}

impl Access {
    /// Tokens verified by `auth`, grants read from `app`'s log; the subjects in
    /// `platform_admins` are platform admins whatever tenant their token names.
    pub fn new(
        auth: Authenticator,
        app: App,
        platform_admins: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            auth,
            app,
            platform_admins: Arc::new(platform_admins.into_iter().collect()),
        }
    }

    /// The caller of a request with this `Authorization` header: anonymous without one; a user
    /// with their granted roles for a valid token; UNAUTHENTICATED for any other header, and
    /// UNAVAILABLE when the log cannot be read.
    pub async fn principal(&self, authorization: Option<&str>) -> Result<Principal, AppError> {
        let identity = self
            .auth
            .authenticate(authorization)
            .map_err(|e| AppError::new(Code::Unauthenticated, e.to_string()))?;
        match identity {
            None => Ok(Principal::Anonymous),
            Some(identity) => Ok(Principal::User(self.user(identity).await?)),
        }
    }

    /// [`Self::principal`] of a request's headers; a malformed `Authorization` header is
    /// UNAUTHENTICATED.
    pub async fn principal_of(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Principal, AppError> {
        let authorization = authorization_header(headers)
            .map_err(|e| AppError::new(Code::Unauthenticated, e.to_string()))?;
        self.principal(authorization).await
    }

    /// `identity` with the roles its tenant grants it. A tenant that is not registered grants
    /// nothing; a suspended one keeps its grants (its writes are refused for being suspended).
    pub async fn user(&self, identity: Identity) -> Result<User, AppError> {
        let tenant = self.app.tenant(&identity.tenant).await?;
        let mut roles = match tenant.status {
            TenantStatus::Unregistered => Vec::new(),
            TenantStatus::Active | TenantStatus::Suspended => tenant.roles_of(&identity.subject),
        };
        if self.platform_admins.contains(&identity.subject) {
            roles.push(Role::PlatformAdmin);
        }
        Ok(User {
            subject: identity.subject,
            tenant: identity.tenant,
            roles,
        })
    }
}
