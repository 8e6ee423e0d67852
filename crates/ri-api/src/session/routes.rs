//! The sign-in endpoints of the web interface:
//!
//! - `GET /auth/options`: which ways to sign in this service offers (JSON, for the pages).
//! - `GET /auth/login?return=<path>&tenant=<slug>`: to the OpenID provider (303), with the
//!   flow's state, nonce and PKCE verifier in a signed, HttpOnly cookie scoped to `/auth`.
//! - `GET /auth/callback`: back from the provider; the code is exchanged, the ID token
//!   verified, the tenant chosen (the one asked for, else the first that grants the person a
//!   role), the session cookies set, and the browser sent back to where it started.
//! - `POST /auth/logout`: ends the session; answers where to go to sign out at the provider.
//! - `POST /auth/dev` (only with the development sign-in switched on): a session for a token
//!   the API accepts (`regional-invest token`), or for a person some tenant granted a role
//!   (`GET /auth/dev/people` lists them), so development and tests need no provider.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ri_domain::TenantSlug;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::oidc::Oidc;
use super::{Sessions, cookie_value, local_path};
use crate::access::Access;
use crate::auth::{Identity, Principal};

/// The cookie that carries the sign-in flow from `/auth/login` to `/auth/callback`.
const FLOW_COOKIE: &str = "ri_oidc";
/// The audience of the flow's token.
const FLOW_AUDIENCE: &str = "regional-invest/oidc-flow";
/// How long a person may take at the provider's page.
const FLOW_TTL: Duration = Duration::from_secs(15 * 60);

/// What the sign-in endpoints need.
#[derive(Debug, Clone)]
pub struct SignInState {
    pub sessions: Sessions,
    pub oidc: Option<Oidc>,
    /// Whether `POST /auth/dev` is served (development and tests only).
    pub development: bool,
    pub access: Access,
    /// For the tenants that grant a person a role.
    pub db: PgPool,
}

pub fn routes(state: SignInState) -> Router {
    Router::new()
        .route("/auth/options", get(options))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route("/auth/dev", post(development))
        .route("/auth/dev/people", get(development_people))
        .with_state(state)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    /// The provider's name, when signing in through one is configured.
    provider: Option<String>,
    /// Whether the development sign-in (pasting a token) is offered.
    development: bool,
}

async fn options(State(state): State<SignInState>) -> Response {
    let body = Options {
        provider: state.oidc.as_ref().map(|o| o.config().display_name.clone()),
        development: state.development,
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    #[serde(default, rename = "return")]
    return_to: Option<String>,
    #[serde(default)]
    tenant: Option<String>,
}

/// The flow's state between the redirect to the provider and the callback.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    #[serde(default)]
    tenant: Option<String>,
}

async fn login(State(state): State<SignInState>, Query(query): Query<LoginQuery>) -> Response {
    let Some(oidc) = &state.oidc else {
        return page(
            StatusCode::NOT_FOUND,
            "Sign-in is not configured",
            "This service has no identity provider configured.",
            "/",
        );
    };
    let return_to = local_path(query.return_to.as_deref());
    let authorization = match oidc.authorize().await {
        Ok(authorization) => authorization,
        Err(e) => {
            tracing::warn!(error = %e, "OpenID sign-in could not start");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                &format!("{e}. Try again in a moment."),
                &login_path(&return_to),
            );
        }
    };
    let flow = Flow {
        state: authorization.state,
        nonce: authorization.nonce,
        verifier: authorization.verifier,
        return_to,
        tenant: query.tenant.filter(|t| TenantSlug::parse(t).is_ok()),
    };
    let token = match state.sessions.sign(FLOW_AUDIENCE, FLOW_TTL, &flow) {
        Ok(token) => token,
        Err(e) => return internal(&e.to_string()),
    };
    let cookie = state.sessions.cookie(
        FLOW_COOKIE,
        token,
        true,
        "/auth",
        time::Duration::minutes(15),
    );
    let mut response = redirect(&authorization.url);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

async fn callback(
    State(state): State<SignInState>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(oidc) = &state.oidc else {
        return page(StatusCode::NOT_FOUND, "Sign-in is not configured", "", "/");
    };
    let flow: Option<Flow> = cookie_value(&headers, FLOW_COOKIE)
        .and_then(|token| state.sessions.verify(FLOW_AUDIENCE, token).ok());
    let Some(flow) = flow else {
        return page(
            StatusCode::BAD_REQUEST,
            "Sign-in took too long",
            "This sign-in was started too long ago, or in another browser. Start again.",
            "/auth/login",
        );
    };
    let again = login_path(&flow.return_to);
    let mut response = match finish(&state, oidc, &flow, &query).await {
        Ok((identity, cookies)) => {
            tracing::info!(subject = %identity.subject, tenant = %identity.tenant, "signed in");
            let mut response = redirect(&flow.return_to);
            for cookie in cookies {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err((status, title, message)) => page(status, title, &message, &again),
    };
    // The flow is over either way.
    let spent = state.sessions.cookie(
        FLOW_COOKIE,
        String::new(),
        true,
        "/auth",
        time::Duration::ZERO,
    );
    response.headers_mut().append(header::SET_COOKIE, spent);
    response
}

type Refusal = (StatusCode, &'static str, String);

async fn finish(
    state: &SignInState,
    oidc: &Oidc,
    flow: &Flow,
    query: &CallbackQuery,
) -> Result<(Identity, Vec<HeaderValue>), Refusal> {
    if let Some(error) = &query.error {
        let reason = query.error_description.as_deref().unwrap_or(error);
        return Err((
            StatusCode::UNAUTHORIZED,
            "Sign-in was not completed",
            format!("The sign-in service said: {reason}."),
        ));
    }
    let (Some(code), Some(returned_state)) = (&query.code, &query.state) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "Sign-in was not completed",
            "The sign-in service sent the browser back without a result.".to_owned(),
        ));
    };
    if returned_state != &flow.state {
        return Err((
            StatusCode::BAD_REQUEST,
            "Sign-in was not completed",
            "This answer belongs to another sign-in. Start again.".to_owned(),
        ));
    }
    let signed_in = oidc
        .finish(code, &flow.verifier, &flow.nonce)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "OpenID sign-in failed");
            (StatusCode::BAD_GATEWAY, "Sign-in failed", e.to_string())
        })?;
    let tenant = choose_tenant(state, &signed_in.subject, flow.tenant.as_deref()).await?;
    let identity = Identity {
        subject: signed_in.subject,
        tenant,
    };
    // The grants in the log decide, not the read model that chose the tenant.
    let user = state
        .access
        .user(identity.clone())
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, "Sign-in failed", e.message))?;
    if user.roles.is_empty() {
        return Err(no_role(&identity.subject));
    }
    session_for(state, identity)
}

/// A session for `identity`, and the cookies that start it.
fn session_for(
    state: &SignInState,
    identity: Identity,
) -> Result<(Identity, Vec<HeaderValue>), Refusal> {
    let token = state.sessions.mint(&identity).map_err(|e| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            e.to_string(),
        )
    })?;
    Ok((identity, state.sessions.start_cookies(&token)))
}

fn no_role(subject: &str) -> Refusal {
    (
        StatusCode::FORBIDDEN,
        "No role here yet",
        format!(
            "You signed in as {subject}, but no organisation on Regional Invest has given you \
             a role. Ask your organisation's administrator to grant you one."
        ),
    )
}

/// The tenant a person acts for: the one they asked for if it grants them a role (or they are
/// a platform admin and it exists), else the first by slug that grants them one.
async fn choose_tenant(
    state: &SignInState,
    subject: &str,
    asked: Option<&str>,
) -> Result<TenantSlug, Refusal> {
    let unavailable = |e: ri_projections::catalogue::read::ReadError| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in failed",
            format!("The service could not read its organisations: {e}"),
        )
    };
    let granting = ri_projections::catalogue::read::tenants_granting(&state.db, subject)
        .await
        .map_err(unavailable)?;
    if let Some(asked) = asked.and_then(|t| TenantSlug::parse(t).ok()) {
        if granting.contains(&asked) {
            return Ok(asked);
        }
        if state.access.is_platform_admin(subject) {
            return Ok(asked);
        }
    }
    granting.into_iter().next().ok_or_else(|| no_role(subject))
}

#[derive(Serialize)]
struct LoggedOut {
    /// Where to send the browser: the provider's sign-out page, or this site's front page.
    redirect: String,
}

async fn logout(State(state): State<SignInState>) -> Response {
    let redirect = match &state.oidc {
        Some(oidc) => oidc.end_session_url().await,
        None => None,
    }
    .unwrap_or_else(|| "/".to_owned());
    let mut response = (
        [(header::CACHE_CONTROL, "no-store")],
        Json(LoggedOut { redirect }),
    )
        .into_response();
    for cookie in state.sessions.end_cookies() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A pasted token, or a person picked from `GET /auth/dev/people`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DevSignIn {
    Token { token: String },
    Person { subject: String, tenant: String },
}

#[derive(Serialize)]
struct Person {
    subject: String,
    tenant: String,
    roles: Vec<&'static str>,
}

/// The people the development sign-in offers: everyone some tenant granted a role.
async fn development_people(State(state): State<SignInState>) -> Response {
    if !state.development {
        return (
            StatusCode::NOT_FOUND,
            Json(SignInError {
                error: "the development sign-in is off".to_owned(),
            }),
        )
            .into_response();
    }
    match ri_projections::catalogue::read::people_with_roles(&state.db, 100).await {
        Ok(people) => {
            let people: Vec<Person> = people
                .into_iter()
                .map(|(tenant, subject, roles)| Person {
                    subject,
                    tenant: tenant.as_str().to_owned(),
                    roles: roles.iter().map(|r| r.as_str()).collect(),
                })
                .collect();
            ([(header::CACHE_CONTROL, "no-store")], Json(people)).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(SignInError {
                error: e.to_string(),
            }),
        )
            .into_response(),
    }
}

#[derive(Serialize)]
struct SignInError {
    error: String,
}

async fn development(
    State(state): State<SignInState>,
    headers: HeaderMap,
    Json(body): Json<DevSignIn>,
) -> Response {
    let refuse =
        |status: StatusCode, error: String| (status, Json(SignInError { error })).into_response();
    if !state.development {
        return refuse(
            StatusCode::NOT_FOUND,
            "the development sign-in is off".to_owned(),
        );
    }
    if !super::from_own_pages(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "sign in from this site's own pages".to_owned(),
        );
    }
    let identity = match body {
        DevSignIn::Token { token } => {
            let token = token.trim();
            let token = token
                .strip_prefix("Bearer ")
                .or_else(|| token.strip_prefix("bearer "))
                .unwrap_or(token);
            match state
                .access
                .principal(Some(&format!("Bearer {token}")))
                .await
            {
                Ok(Principal::User(user)) => Identity {
                    subject: user.subject,
                    tenant: user.tenant,
                },
                Ok(Principal::Anonymous) => {
                    return refuse(StatusCode::UNAUTHORIZED, "paste a token".to_owned());
                }
                Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.message),
            }
        }
        DevSignIn::Person { subject, tenant } => {
            let Ok(tenant) = TenantSlug::parse(&tenant) else {
                return refuse(StatusCode::BAD_REQUEST, "no such tenant".to_owned());
            };
            if subject.trim().is_empty() {
                return refuse(StatusCode::BAD_REQUEST, "pick a person".to_owned());
            }
            Identity { subject, tenant }
        }
    };
    // As the API would take the token: its tenant, whatever it grants (anyone may watch).
    match session_for(&state, identity) {
        Ok((_, cookies)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            for cookie in cookies {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err((status, _, message)) => refuse(status, message),
    }
}

fn login_path(return_to: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("/auth/login?return={encoded}")
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => internal("the redirect is not a valid header"),
    }
}

fn internal(message: &str) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-in failed",
        message,
        "/",
    )
}

/// A page of the site's look that says what went wrong and offers the way on.
fn page(status: StatusCode, title: &str, message: &str, next: &str) -> Response {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let action = if next.starts_with("/auth/login") {
        "Try again"
    } else {
        "Back to Regional Invest"
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Regional Invest</title>\
         <link rel=\"stylesheet\" href=\"/assets/css/app.css\"></head><body>\
         <main id=\"main\"><h1>{title}</h1><p class=\"notice notice-error\" role=\"alert\">{message}</p>\
         <p><a href=\"{next}\">{action}</a> · <a href=\"/\">Search</a></p></main></body></html>",
        title = escape(title),
        message = escape(message),
        next = escape(next),
    );
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors 'none'",
            ),
        ],
        Html(html),
    )
        .into_response()
}
