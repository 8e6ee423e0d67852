//! Browser sessions (issue 13, item 1; decision 0009). The web interface never holds a token:
//! signing in (through the OpenID provider, [`oidc`], or the development sign-in) ends with the
//! service setting two cookies:
//!
//! - `ri_session`: a short JWT of the service's own (HS256 with the session secret, issuer and
//!   audience of their own, so it is never accepted as a bearer token nor a bearer token as
//!   it), naming the person (`sub`) and the tenant they act for. `HttpOnly`, so no script can
//!   read it; `SameSite=Lax`, so no other site's form or fetch carries it; `Secure` when the
//!   public URL is https.
//! - `ri_signed_in=1`: readable by the pages, so they know without a request that a session
//!   exists (or existed: it lasts a day longer, so that a page notices a session that ended
//!   and signs in again). It holds nothing secret.
//!
//! A request without an `Authorization` header is signed in by a valid session cookie when it
//! comes from this service's own pages (`Sec-Fetch-Site` and, on a WebSocket, `Origin`); a
//! cookie that has expired, does not verify or arrives from another site signs nobody in. What
//! the person may do is still what their tenant grants (decision 0008).

pub mod oidc;
pub mod routes;

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngExt;
use ri_domain::TenantSlug;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::auth::{AuthError, Identity, LEEWAY_SECONDS, MIN_HS256_SECRET_BYTES};

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "ri_session";
/// The cookie the pages read to know a session exists (no secret in it).
pub const SIGNED_IN_COOKIE: &str = "ri_signed_in";
/// The issuer of session tokens (and of the sign-in flow's state).
const SESSION_ISSUER: &str = "regional-invest/session";
/// The audience of session tokens.
const SESSION_AUDIENCE: &str = "regional-invest/web";
/// The default lifetime of a session.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// How sessions are signed and their cookies set.
#[derive(Clone)]
pub struct SessionConfig {
    /// The HS256 secret sessions are signed with, at least [`MIN_HS256_SECRET_BYTES`] long;
    /// every replica needs the same.
    pub secret: String,
    /// How long a session lasts; then the person signs in again (at the provider, usually
    /// without typing anything).
    pub ttl: Duration,
    /// Whether cookies are `Secure` (the service is reached over https).
    pub secure: bool,
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("secret", &"[redacted]")
            .field("ttl", &self.ttl)
            .field("secure", &self.secure)
            .finish()
    }
}

/// Signs and verifies sessions. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    secure: bool,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

/// What a session names (`exp`, `iss` and `aud` are checked by `jsonwebtoken`).
#[derive(serde::Deserialize)]
struct SessionClaims {
    sub: String,
    tenant: String,
}

impl Sessions {
    pub fn new(config: &SessionConfig) -> Result<Self, AuthError> {
        if config.secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(AuthError::InvalidKey(format!(
                "the session secret must be at least {MIN_HS256_SECRET_BYTES} bytes long"
            )));
        }
        if config.ttl.is_zero() {
            return Err(AuthError::NotConfigured("a session must last a while"));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(config.secret.as_bytes()),
            decoding: DecodingKey::from_secret(config.secret.as_bytes()),
            ttl: config.ttl,
            secure: config.secure,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A signed token of `claims` for `audience`, valid for `ttl`.
    pub(crate) fn sign<T: Serialize>(
        &self,
        audience: &str,
        ttl: Duration,
        claims: T,
    ) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Envelope<'a, T> {
            #[serde(flatten)]
            claims: T,
            iss: &'a str,
            aud: &'a str,
            exp: i64,
        }
        let exp = expiry(ttl)?;
        let envelope = Envelope {
            claims,
            iss: SESSION_ISSUER,
            aud: audience,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &envelope, &self.encoding)
            .map_err(|e| AuthError::Minting(e.to_string()))
    }

    /// The claims of a token [`Self::sign`] made for `audience`, if it verifies and has not
    /// expired.
    pub(crate) fn verify<T: DeserializeOwned>(
        &self,
        audience: &str,
        token: &str,
    ) -> Result<T, AuthError> {
        if token.len() > crate::auth::MAX_TOKEN_BYTES {
            return Err(AuthError::MalformedToken);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[SESSION_ISSUER]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| crate::auth::verification_error(e.into_kind()))
    }

    /// A session token for `identity`, valid for the configured lifetime.
    pub fn mint(&self, identity: &Identity) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            sub: &'a str,
            tenant: &'a str,
            iat: i64,
        }
        self.sign(
            SESSION_AUDIENCE,
            self.ttl,
            Claims {
                sub: &identity.subject,
                tenant: identity.tenant.as_str(),
                iat: OffsetDateTime::now_utc().unix_timestamp(),
            },
        )
    }

    /// Who a session token names, if it verifies and has not expired.
    pub fn identity(&self, token: &str) -> Result<Identity, AuthError> {
        let claims: SessionClaims = self.verify(SESSION_AUDIENCE, token)?;
        if claims.sub.is_empty() {
            return Err(AuthError::MissingClaim("sub".to_owned()));
        }
        let tenant = TenantSlug::parse(&claims.tenant).map_err(AuthError::BadTenant)?;
        Ok(Identity {
            subject: claims.sub,
            tenant,
        })
    }

    /// The session token of a request from this service's own pages, if it carries one.
    pub fn token_of<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        if !from_own_pages(headers) {
            return None;
        }
        cookie_value(headers, SESSION_COOKIE)
    }

    /// The identity of a request's session cookie: `None` without a cookie, from another
    /// site, or when it does not verify (an expired session signs nobody in; the pages then
    /// offer to sign in again).
    pub fn identity_of(&self, headers: &HeaderMap) -> Option<Identity> {
        self.token_of(headers)
            .and_then(|token| self.identity(token).ok())
    }

    /// The `Set-Cookie` values that start a session with `token`.
    pub fn start_cookies(&self, token: &str) -> Vec<HeaderValue> {
        let max_age = time::Duration::try_from(self.ttl).unwrap_or(time::Duration::HOUR);
        // The marker outlives the session by a day, so the pages notice a session that ended
        // (the API answers them anonymously) and sign in again, rather than just look signed out.
        let marker_age = max_age.saturating_add(time::Duration::DAY);
        vec![
            self.cookie(SESSION_COOKIE, token.to_owned(), true, "/", max_age),
            self.cookie(SIGNED_IN_COOKIE, "1".to_owned(), false, "/", marker_age),
        ]
    }

    /// The `Set-Cookie` values that end the session.
    pub fn end_cookies(&self) -> Vec<HeaderValue> {
        vec![
            self.cookie(
                SESSION_COOKIE,
                String::new(),
                true,
                "/",
                time::Duration::ZERO,
            ),
            self.cookie(
                SIGNED_IN_COOKIE,
                String::new(),
                false,
                "/",
                time::Duration::ZERO,
            ),
        ]
    }

    pub(crate) fn cookie(
        &self,
        name: &'static str,
        value: String,
        http_only: bool,
        path: &'static str,
        max_age: time::Duration,
    ) -> HeaderValue {
        let cookie = Cookie::build((name, value))
            .path(path)
            .http_only(http_only)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(max_age)
            .build();
        // Names, base64url values and the attributes above are all visible ASCII.
        HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
    }
}

/// 256 random bits in base64url (the flow's state, nonce and PKCE verifier).
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn expiry(ttl: Duration) -> Result<i64, AuthError> {
    i64::try_from(ttl.as_secs())
        .ok()
        .and_then(|ttl| OffsetDateTime::now_utc().unix_timestamp().checked_add(ttl))
        .ok_or_else(|| AuthError::Minting("the lifetime is too long".to_owned()))
}

/// The value of the cookie `name` in a request's `Cookie` headers (the first, if sent twice).
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// Whether a request comes from this service's own pages: the browser's `Sec-Fetch-Site`, when
/// sent, says `same-origin` (or `none`: typed in the address bar), and an `Origin`, when sent,
/// names the host the request went to. Another site's request, even where the browser sends
/// our cookies with it, is not signed in by them.
pub fn from_own_pages(headers: &HeaderMap) -> bool {
    let site_ok = match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
        None => true,
        Some(site) => site == b"same-origin" || site == b"none",
    };
    let origin_ok = match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let authority = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, authority)| authority);
            matches!((host, authority), (Some(host), Some(authority)) if host.eq_ignore_ascii_case(authority))
        }
    };
    site_ok && origin_ok
}

/// Where to go back to after signing in: a path of this site (`/projects?x=1`), else `/`.
pub fn local_path(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 2048
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests;
