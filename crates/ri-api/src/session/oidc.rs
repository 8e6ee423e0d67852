//! The service as an OpenID Connect relying party (a confidential client, or a public one
//! without a secret): the authorization code flow with PKCE (S256), state and nonce.
//!
//! - Discovery (`<issuer>/.well-known/openid-configuration`) on first use, retried on the next
//!   sign-in while the provider cannot be reached, so the service starts without it.
//! - The provider's signing keys (JWKS) are cached; an ID token signed with a key the cache
//!   does not hold (the provider rotated its keys) fetches them again, at most once every
//!   [`MIN_JWKS_REFRESH`]; they are also fetched again once they are [`MAX_JWKS_AGE`] old.
//! - An ID token is accepted when its signature verifies with one of those keys under an
//!   asymmetric algorithm the provider announces, its `iss` is the configured issuer, its
//!   `aud` names this client (and `azp` does when there are several), it has not expired
//!   (with [`LEEWAY_SECONDS`] of clock skew) and its `nonce` is the flow's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};

use crate::auth::LEEWAY_SECONDS;

/// Keys are fetched again at most this often when a token names one the cache lacks. ID tokens
/// come from the provider's own token endpoint, never from the browser, so nobody else can make
/// this service ask for keys; this only spaces out fetches during a rotation.
pub const MIN_JWKS_REFRESH: Duration = Duration::from_secs(1);
/// Keys older than this are fetched again before use.
pub const MAX_JWKS_AGE: Duration = Duration::from_secs(60 * 60);
/// The longest answer read from the provider.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long a request to the provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The signing algorithms an ID token may use: asymmetric only (an HS256 "ID token" would be
/// signed with the client secret, which this service does not treat as a signing key).
const ACCEPTED_ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
];

/// The relying party's configuration.
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its discovery document says it.
    pub issuer: String,
    pub client_id: String,
    /// The client secret (`client_secret_basic`); none for a public client (PKCE only).
    pub client_secret: Option<String>,
    /// This service's public URL (`https://invest.example`), for the redirect URI
    /// (`<public_url>/auth/callback`) and where the provider returns after signing out.
    pub public_url: String,
    /// What the sign-in button calls the provider ("Sign in with …").
    pub display_name: String,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("public_url", &self.public_url)
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// Why signing in through the provider failed. The message is safe to show the person.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in service cannot be reached: {0}")]
    Unreachable(String),
    #[error("the sign-in service answered something unexpected: {0}")]
    Protocol(String),
    #[error("the sign-in service refused: {0}")]
    Refused(String),
    #[error("the identity token was not accepted: {0}")]
    BadIdToken(String),
}

/// The provider's discovery document, as far as it is used.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

struct KeyCache {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
}

/// The relying party. Cheap to clone.
#[derive(Clone)]
pub struct Oidc {
    config: Arc<OidcConfig>,
    http: reqwest::Client,
    discovery: Arc<OnceCell<Discovery>>,
    keys: Arc<Mutex<KeyCache>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the browser is sent to the provider with, and what the callback needs back.
#[derive(Debug)]
pub struct Authorization {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The ID token's `sub`: what the tenants' grants name.
    pub subject: String,
    /// The person's name, when the provider gave one (for display only).
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(serde::de::IgnoredAny),
    Many(Vec<String>),
    #[default]
    None,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Self, OidcError> {
        for (name, value) in [
            ("issuer", &config.issuer),
            ("client id", &config.client_id),
            ("public URL", &config.public_url),
        ] {
            if value.trim().is_empty() {
                return Err(OidcError::Protocol(format!("the {name} is not configured")));
            }
        }
        url::Url::parse(&config.issuer)
            .map_err(|e| OidcError::Protocol(format!("the issuer is not a URL: {e}")))?;
        url::Url::parse(&config.public_url)
            .map_err(|e| OidcError::Protocol(format!("the public URL is not a URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(PROVIDER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        Ok(Self {
            config: Arc::new(config),
            http,
            discovery: Arc::new(OnceCell::new()),
            keys: Arc::new(Mutex::new(KeyCache {
                keys: Vec::new(),
                fetched: None,
            })),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Where the provider sends the browser back.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/auth/callback",
            self.config.public_url.trim_end_matches('/')
        )
    }

    /// The discovery document, fetched on first use.
    pub async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let discovery: Discovery = self.get_json(&url).await?;
                if discovery.issuer != self.config.issuer {
                    return Err(OidcError::Protocol(format!(
                        "its discovery document names the issuer {:?}, not {:?}",
                        discovery.issuer, self.config.issuer
                    )));
                }
                Ok(discovery)
            })
            .await
    }

    /// A new authorization request: the URL to send the browser to, with fresh state, nonce
    /// and PKCE verifier.
    pub async fn authorize(&self) -> Result<Authorization, OidcError> {
        let discovery = self.discovery().await?;
        let state = super::random_token();
        let nonce = super::random_token();
        let verifier = super::random_token();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|e| OidcError::Protocol(format!("authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.redirect_uri())
            .append_pair("scope", "openid profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(Authorization {
            url: url.into(),
            state,
            nonce,
            verifier,
        })
    }

    /// Exchanges the callback's `code` for an ID token and verifies it against `nonce`.
    pub async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<SignedIn, OidcError> {
        let discovery = self.discovery().await?;
        let redirect_uri = self.redirect_uri();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request = self.http.post(&discovery.token_endpoint);
        match &self.config.client_secret {
            // RFC 6749 section 2.3.1: both form-encoded, then Basic.
            Some(secret) => {
                request = request.basic_auth(
                    form_encode(&self.config.client_id),
                    Some(form_encode(secret)),
                );
            }
            None => form.push(("client_id", self.config.client_id.as_str())),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body = read_limited(response).await?;
        #[derive(Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            id_token: Option<String>,
            #[serde(default)]
            error: Option<String>,
            #[serde(default)]
            error_description: Option<String>,
        }
        let answer: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| OidcError::Protocol(format!("token endpoint ({status}): {e}")))?;
        if !status.is_success() {
            let reason = answer
                .error_description
                .or(answer.error)
                .unwrap_or_else(|| status.to_string());
            return Err(OidcError::Refused(truncate(reason)));
        }
        let id_token = answer
            .id_token
            .ok_or_else(|| OidcError::Protocol("the token endpoint sent no id_token".to_owned()))?;
        self.verify_id_token(&id_token, nonce).await
    }

    /// Verifies an ID token from this provider for this client and `nonce`.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<SignedIn, OidcError> {
        let discovery = self.discovery().await?;
        let bad = |reason: &str| OidcError::BadIdToken(reason.to_owned());
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| bad("malformed"))?;
        let announced = &discovery.id_token_signing_alg_values_supported;
        let algorithm_name = format!("{:?}", header.alg);
        if !ACCEPTED_ALGORITHMS.contains(&header.alg)
            || (!announced.is_empty() && !announced.contains(&algorithm_name))
        {
            return Err(bad("its signing algorithm is not accepted"));
        }
        let key = self
            .key(discovery, header.kid.as_deref(), header.alg)
            .await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&discovery.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|e| {
                OidcError::BadIdToken(crate::auth::verification_error(e.into_kind()).to_string())
            })?
            .claims;
        if let Audience::Many(audiences) = &claims.aud
            && audiences.len() > 1
            && claims.azp.as_deref() != Some(self.config.client_id.as_str())
        {
            return Err(bad(
                "it names several audiences but not this client as its party",
            ));
        }
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(bad("its nonce is not this sign-in's"));
        }
        if claims.sub.is_empty() {
            return Err(bad("it names nobody"));
        }
        Ok(SignedIn {
            subject: claims.sub,
            name: claims.name.or(claims.preferred_username),
        })
    }

    /// Where the browser goes to sign out at the provider too (when it offers that).
    pub async fn end_session_url(&self) -> Option<String> {
        let discovery = self.discovery().await.ok()?;
        let mut url = url::Url::parse(discovery.end_session_endpoint.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair(
                "post_logout_redirect_uri",
                &format!("{}/", self.config.public_url.trim_end_matches('/')),
            );
        Some(url.into())
    }

    /// The key for `kid` (or the one key usable with `alg`, when the token names none),
    /// fetching the provider's keys again when the cache lacks it and was not refreshed in the
    /// last [`MIN_JWKS_REFRESH`].
    async fn key(
        &self,
        discovery: &Discovery,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, OidcError> {
        let mut cache = self.keys.lock().await;
        let stale = cache.fetched.is_none_or(|at| at.elapsed() > MAX_JWKS_AGE);
        if stale {
            self.refresh(discovery, &mut cache).await?;
        }
        if let Some(key) = pick(&cache.keys, kid, alg) {
            return key;
        }
        if !stale
            && cache
                .fetched
                .is_none_or(|at| at.elapsed() >= MIN_JWKS_REFRESH)
        {
            self.refresh(discovery, &mut cache).await?;
            if let Some(key) = pick(&cache.keys, kid, alg) {
                return key;
            }
        }
        Err(OidcError::BadIdToken(
            "it is signed with a key the provider does not publish".to_owned(),
        ))
    }

    async fn refresh(&self, discovery: &Discovery, cache: &mut KeyCache) -> Result<(), OidcError> {
        #[derive(Deserialize)]
        struct Keys {
            keys: Vec<serde_json::Value>,
        }
        let keys: Keys = self.get_json(&discovery.jwks_uri).await?;
        // A key of a type this service cannot use (or a malformed one) is skipped, not fatal.
        cache.keys = keys
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .collect();
        cache.fetched = Some(Instant::now());
        Ok(())
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(OidcError::Unreachable(format!("{url} answered {status}")));
        }
        let body = read_limited(response).await?;
        serde_json::from_slice(&body).map_err(|e| OidcError::Protocol(format!("{url}: {e}")))
    }
}

/// The signing key named `kid` (or, without a kid, the only signing key for `alg`'s family).
fn pick(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Option<Result<DecodingKey, OidcError>> {
    let signing = |key: &&Jwk| {
        !matches!(key.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature)
            && key
                .common
                .key_algorithm
                .and_then(|a| Algorithm::try_from(a).ok())
                .is_none_or(|a| a == alg)
    };
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => keys
            .iter()
            .filter(|key| key.common.key_id.as_deref() == Some(kid))
            .filter(signing)
            .collect(),
        None => keys.iter().filter(signing).collect(),
    };
    match candidates.as_slice() {
        [key] => Some(
            DecodingKey::from_jwk(key)
                .map_err(|e| OidcError::BadIdToken(format!("the provider's key is unusable: {e}"))),
        ),
        _ => None,
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| OidcError::Unreachable(e.to_string()))?
    {
        if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
            return Err(OidcError::Protocol("the answer is too long".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn truncate(mut text: String) -> String {
    const MAX: usize = 200;
    if text.len() > MAX {
        let mut end = MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
