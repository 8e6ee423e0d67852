//! Authentication: who is calling, from the `Authorization` header.
//!
//! A request without the header is anonymous. `Authorization: Bearer <JWT>` is verified by an
//! [`Authenticator`] and names an [`Identity`]: who the caller is (`sub`) and the tenant they
//! act for (`tenant`, a slug). A token says nothing about what its holder may do: a `roles`
//! claim is ignored, and [`crate::access::Access`] gives a [`User`] the roles their tenant
//! granted them (decision 0008). Any other header value, and any token that does not verify,
//! is an [`AuthError`] whose message is safe to show the client.
//!
//! Verification pins one algorithm per deployment: RS256 against a configured public key in
//! production, otherwise HS256 against a shared secret (development and tests). A token signed
//! with any other algorithm (including `none`, and HS256 "signed" with the RSA public key) is
//! refused. `exp`, `iss`, `aud` and `sub` are required; `exp` gets [`LEEWAY_SECONDS`] of clock
//! skew and no more. [`mint_token`] makes tokens that the same configuration verifies (the
//! `regional-invest token` command and tests).

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ri_domain::{Role, TenantSlug, TenantSlugError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Clock skew tolerated on `exp` (and `nbf`, when a token has one), in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// The shortest HS256 secret accepted: as long as the hash output (RFC 7518, section 3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// A longer bearer token is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// How tokens are verified (and, in development and tests, minted).
///
/// With `rs256_public_key_pem` set, tokens are RS256 and verified with that key (production);
/// otherwise they are HS256 with `hs256_secret`. Its `Debug` output redacts the secret and the
/// private key.
#[derive(Clone)]
pub struct AuthConfig {
    /// The required `iss` claim.
    pub issuer: String,
    /// The required `aud` claim (a token's `aud` may be this string or an array holding it).
    pub audience: String,
    /// The HS256 shared secret, at least [`MIN_HS256_SECRET_BYTES`] long.
    pub hs256_secret: Option<String>,
    /// The RS256 public key (`-----BEGIN PUBLIC KEY-----` or `RSA PUBLIC KEY`) that verifies.
    pub rs256_public_key_pem: Option<String>,
    /// The RS256 private key, only for minting in tests and development.
    pub rs256_private_key_pem: Option<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("hs256_secret", &redacted(&self.hs256_secret))
            .field("rs256_public_key_pem", &self.rs256_public_key_pem)
            .field(
                "rs256_private_key_pem",
                &redacted(&self.rs256_private_key_pem),
            )
            .finish()
    }
}

/// Who presented a valid token: the token's `sub` and `tenant`, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`.
    pub subject: String,
    /// The tenant the token was issued for: the one the caller acts for.
    pub tenant: TenantSlug,
}

/// A caller who presented a valid token, with the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The token's `sub`.
    pub subject: String,
    /// The tenant the token was issued for.
    pub tenant: TenantSlug,
    /// What the caller's tenant granted them (and `platform_admin` when the configuration names
    /// them), in [`Role::ALL`] order; never the token's claims.
    pub roles: Vec<Role>,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Who is calling: nobody in particular, or a verified user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Principal {
    #[default]
    Anonymous,
    User(User),
}

impl Principal {
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::Anonymous => None,
            Principal::User(user) => Some(user),
        }
    }

    pub fn tenant(&self) -> Option<&TenantSlug> {
        self.user().map(|user| &user.tenant)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.user().is_some_and(|user| user.has_role(role))
    }

    pub fn is_platform_admin(&self) -> bool {
        self.has_role(Role::PlatformAdmin)
    }
}

/// Why a caller could not be authenticated (the first group: safe to show the client, and an
/// `UNAUTHENTICATED` at the API), or why authentication could not be set up or a token minted
/// (the last group: the server's configuration).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the Authorization header must be \"Bearer <token>\"")]
    MalformedHeader,
    #[error("the bearer token is malformed")]
    MalformedToken,
    #[error("the token's signing algorithm is not accepted")]
    WrongAlgorithm,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    #[error("the token's audience is not accepted")]
    WrongAudience,
    #[error("the token lacks the {0:?} claim")]
    MissingClaim(String),
    #[error("the token's tenant claim is invalid: {0}")]
    BadTenant(TenantSlugError),

    #[error("authentication is not configured: {0}")]
    NotConfigured(&'static str),
    #[error("the authentication key is invalid: {0}")]
    InvalidKey(String),
    #[error("could not mint the token: {0}")]
    Minting(String),
}

/// Verifies bearer tokens for one configuration. Cheap to clone; its `Debug` output shows no key.
#[derive(Clone)]
pub struct Authenticator {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// RS256 when a public key is configured (production), else HS256 with the secret; an error
    /// if neither is, or if the key is unusable.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthError> {
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err(AuthError::NotConfigured(
                "the token issuer and audience must not be empty",
            ));
        }
        let (algorithm, key) = match (&config.rs256_public_key_pem, &config.hs256_secret) {
            (Some(pem), _) => {
                if pem.contains("PRIVATE KEY") {
                    return Err(AuthError::InvalidKey(
                        "the RS256 verification key must be the public key, not the private one"
                            .to_owned(),
                    ));
                }
                let key = DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| AuthError::InvalidKey(format!("RS256 public key: {e}")))?;
                (Algorithm::RS256, key)
            }
            (None, Some(secret)) => {
                check_secret(secret)?;
                (
                    Algorithm::HS256,
                    DecodingKey::from_secret(secret.as_bytes()),
                )
            }
            (None, None) => {
                return Err(AuthError::NotConfigured(
                    "neither an RS256 public key nor an HS256 secret is configured",
                ));
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        Ok(Self {
            algorithm,
            key,
            validation,
        })
    }

    /// The algorithm every accepted token must be signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// `None` (no Authorization header) is nobody in particular; `Bearer <jwt>` is verified
    /// and names its identity; anything else is an error.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Option<Identity>, AuthError> {
        let Some(header) = authorization else {
            return Ok(None);
        };
        let token = bearer_token(header)?;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::MalformedToken);
        }
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.key, &self.validation)
            .map_err(|e| verification_error(e.into_kind()))?;
        data.claims.into_identity().map(Some)
    }
}

/// Mints a token (HS256 with the secret, or RS256 with the private key when given); claims
/// `sub`, `tenant`, `iat`, `exp` = now + `ttl`, `iss`, `aud`. What its holder may do is what
/// their tenant grants them.
///
/// A configuration that verifies with an RS256 public key but holds no private key cannot mint:
/// such tokens come from the identity provider, and an HS256 token would not verify.
pub fn mint_token(
    config: &AuthConfig,
    subject: &str,
    tenant: &TenantSlug,
    ttl: Duration,
) -> Result<String, AuthError> {
    let (algorithm, key) = match (
        &config.rs256_private_key_pem,
        &config.rs256_public_key_pem,
        &config.hs256_secret,
    ) {
        (Some(pem), _, _) => {
            let key = EncodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| AuthError::InvalidKey(format!("RS256 private key: {e}")))?;
            (Algorithm::RS256, key)
        }
        (None, Some(_), _) => {
            return Err(AuthError::NotConfigured(
                "RS256 verification is configured without a private key to sign with",
            ));
        }
        (None, None, Some(secret)) => {
            check_secret(secret)?;
            (
                Algorithm::HS256,
                EncodingKey::from_secret(secret.as_bytes()),
            )
        }
        (None, None, None) => {
            return Err(AuthError::NotConfigured(
                "neither an RS256 private key nor an HS256 secret is configured",
            ));
        }
    };
    if subject.is_empty() {
        return Err(AuthError::MissingClaim("sub".to_owned()));
    }
    let iat = OffsetDateTime::now_utc().unix_timestamp();
    let exp = i64::try_from(ttl.as_secs())
        .ok()
        .and_then(|ttl| iat.checked_add(ttl))
        .ok_or_else(|| AuthError::Minting("the lifetime is too long".to_owned()))?;
    let claims = OutgoingClaims {
        sub: subject,
        tenant: tenant.as_str(),
        iat,
        exp,
        iss: &config.issuer,
        aud: &config.audience,
    };
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &key)
        .map_err(|e| AuthError::Minting(e.to_string()))
}

fn check_secret(secret: &str) -> Result<(), AuthError> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(AuthError::InvalidKey(format!(
            "the HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes long"
        )));
    }
    Ok(())
}

/// The request's `Authorization` header as text: `None` without one; an error (so 401, never
/// anonymous) when it is not visible ASCII (`Bearer \xff\xfe`) or is sent more than once.
pub fn authorization_header(headers: &axum::http::HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::MalformedHeader);
    }
    authorization_text(value.as_bytes()).map(Some)
}

/// The bytes of an `Authorization` header as text, when they are printable ASCII (RFC 9110
/// token68 and auth-param characters are a subset).
pub fn authorization_text(bytes: &[u8]) -> Result<&str, AuthError> {
    if !bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\t')
    {
        return Err(AuthError::MalformedHeader);
    }
    std::str::from_utf8(bytes).map_err(|_| AuthError::MalformedHeader)
}

/// The token of `Bearer <token>` (the scheme in any case, RFC 9110 section 11.1). Only
/// printable ASCII: a token with other characters is malformed, not unknown.
fn bearer_token(header: &str) -> Result<&str, AuthError> {
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedHeader)?;
    let token = token.trim_start();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AuthError::MalformedHeader);
    }
    Ok(token)
}

pub(crate) fn verification_error(kind: ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => AuthError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim(claim),
        ErrorKind::InvalidRsaKey(reason) => AuthError::InvalidKey(reason),
        _ => AuthError::MalformedToken,
    }
}

/// The claims read from a verified token, beyond those `jsonwebtoken` validates. Any other
/// claim (an identity provider's `roles`, `groups`, …) is ignored.
#[derive(Deserialize)]
struct IncomingClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

impl IncomingClaims {
    fn into_identity(self) -> Result<Identity, AuthError> {
        let missing = |claim: &str| AuthError::MissingClaim(claim.to_owned());
        let subject = self
            .sub
            .filter(|sub| !sub.is_empty())
            .ok_or_else(|| missing("sub"))?;
        let tenant = self.tenant.ok_or_else(|| missing("tenant"))?;
        let tenant = TenantSlug::parse(&tenant).map_err(AuthError::BadTenant)?;
        Ok(Identity { subject, tenant })
    }
}

#[derive(Serialize)]
struct OutgoingClaims<'a> {
    sub: &'a str,
    tenant: &'a str,
    iat: i64,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
    use proptest::prelude::*;

    #[test]
    fn a_header_that_is_not_printable_ascii_is_malformed_not_absent() {
        let mut headers = HeaderMap::new();
        assert!(matches!(authorization_header(&headers), Ok(None)));
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        );
        assert!(matches!(
            authorization_header(&headers),
            Err(AuthError::MalformedHeader)
        ));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(authorization_header(&headers).unwrap(), Some("Bearer abc"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer def"));
        assert!(matches!(
            authorization_header(&headers),
            Err(AuthError::MalformedHeader)
        ));
    }

    proptest! {
        #[test]
        fn header_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(text) = authorization_text(&bytes) {
                let _ = bearer_token(text);
            }
        }

        #[test]
        fn bearer_parsing_never_panics_and_keeps_only_printable_tokens(header in "\\PC{0,80}") {
            if let Ok(token) = bearer_token(&header) {
                prop_assert!(!token.is_empty());
                prop_assert!(token.bytes().all(|b| b.is_ascii_graphic()));
            }
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_one_token() {
        assert_eq!(bearer_token("Bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token("bearer  abc").ok(), Some("abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearer a b",
            "Bearerabc",
            "Bearer \u{ff}\u{fe}",
            "Bearer abc\u{0}",
            "Bearer ab\u{7f}",
        ] {
            assert!(
                matches!(bearer_token(bad), Err(AuthError::MalformedHeader)),
                "{bad:?}"
            );
        }
    }
}
