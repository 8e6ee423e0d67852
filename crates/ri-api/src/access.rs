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
use crate::session::Sessions;

/// Authenticates a request and gives its caller their roles. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Access {
    auth: Authenticator,
    app: App,
    platform_admins: Arc<BTreeSet<String>>,
    sessions: Option<Sessions>,
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
            sessions: None,
        }
    }

    /// Also signs in requests of the web interface by their session cookie (when they carry
    /// no `Authorization` header).
    #[must_use]
    pub fn with_sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// The sessions this service signs, when it has any.
    pub fn sessions(&self) -> Option<&Sessions> {
        self.sessions.as_ref()
    }

    /// Whether the configuration names `subject` a platform admin.
    pub fn is_platform_admin(&self, subject: &str) -> bool {
        self.platform_admins.contains(subject)
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
    /// UNAUTHENTICATED. Without that header, a valid session cookie from this service's own
    /// pages signs the request in (an expired or foreign one signs nobody in).
    pub async fn principal_of(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Principal, AppError> {
        let authorization = authorization_header(headers)
            .map_err(|e| AppError::new(Code::Unauthenticated, e.to_string()))?;
        if authorization.is_none()
            && let Some(identity) = self.sessions.as_ref().and_then(|s| s.identity_of(headers))
        {
            return Ok(Principal::User(self.user(identity).await?));
        }
        self.principal(authorization).await
    }

    /// The caller named by a session token (a WebSocket's, from its upgrade request).
    pub async fn session_principal(&self, token: &str) -> Result<Principal, AppError> {
        let identity = self
            .sessions
            .as_ref()
            .ok_or_else(|| AppError::new(Code::Unauthenticated, "this service has no sessions"))?
            .identity(token)
            .map_err(|e| {
                AppError::new(
                    Code::Unauthenticated,
                    format!("the session is not valid: {e}"),
                )
            })?;
        Ok(Principal::User(self.user(identity).await?))
    }

    /// `identity` with the roles its tenant grants it. A tenant that is not registered grants
    /// nothing; a suspended one keeps its grants (its writes are refused for being suspended).
    pub async fn user(&self, identity: Identity) -> Result<User, AppError> {
        let tenant = self.app.tenant(&identity.tenant).await?;
        let mut roles = match tenant.status {
            TenantStatus::Unregistered => Vec::new(),
            TenantStatus::Active | TenantStatus::Suspended => tenant.roles_of(&identity.subject),
        };
        if self.is_platform_admin(&identity.subject) {
            roles.push(Role::PlatformAdmin);
        }
        Ok(User {
            subject: identity.subject,
            tenant: identity.tenant,
            roles,
        })
    }
}
