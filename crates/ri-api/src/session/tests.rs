#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use ri_domain::TenantSlug;

use super::*;
use crate::auth::{AuthConfig, Authenticator, mint_token};

const SECRET: &str = "a-session-secret-of-at-least-thirty-two-bytes";

fn sessions() -> Sessions {
    Sessions::new(&SessionConfig {
        secret: SECRET.to_owned(),
        ttl: Duration::from_secs(600),
        secure: false,
    })
    .unwrap()
}

fn identity() -> Identity {
    Identity {
        subject: "mira".to_owned(),
        tenant: TenantSlug::parse("safe").unwrap(),
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

#[test]
fn a_session_names_who_signed_in_and_for_which_tenant() {
    let sessions = sessions();
    let token = sessions.mint(&identity()).unwrap();
    assert_eq!(sessions.identity(&token).unwrap(), identity());
    let cookie = format!("other=1; {SESSION_COOKIE}={token}");
    let request = headers(&[("cookie", &cookie), ("sec-fetch-site", "same-origin")]);
    assert_eq!(sessions.identity_of(&request), Some(identity()));
}

#[test]
fn a_session_signed_with_another_secret_or_for_another_purpose_is_refused() {
    let token = sessions().mint(&identity()).unwrap();
    let other = Sessions::new(&SessionConfig {
        secret: "another-secret-that-is-also-long-enough-32".to_owned(),
        ttl: Duration::from_secs(600),
        secure: false,
    })
    .unwrap();
    assert!(other.identity(&token).is_err());
    // The sign-in flow's state is signed with the same secret but is no session.
    #[derive(serde::Serialize)]
    struct Claims {
        sub: &'static str,
        tenant: &'static str,
    }
    let flow = sessions()
        .sign(
            "regional-invest/oidc-flow",
            Duration::from_secs(60),
            Claims {
                sub: "mira",
                tenant: "safe",
            },
        )
        .unwrap();
    assert!(sessions().identity(&flow).is_err());
}

#[test]
fn a_session_is_no_bearer_token_and_a_bearer_token_no_session() {
    let config = AuthConfig {
        issuer: "regional-invest".to_owned(),
        audience: "regional-invest".to_owned(),
        hs256_secret: Some(SECRET.to_owned()),
        rs256_public_key_pem: None,
        rs256_private_key_pem: None,
    };
    let bearer = mint_token(&config, "mira", &identity().tenant, Duration::from_secs(60)).unwrap();
    assert!(sessions().identity(&bearer).is_err());
    let session = sessions().mint(&identity()).unwrap();
    let api = Authenticator::new(&config).unwrap();
    assert!(
        api.authenticate(Some(&format!("Bearer {session}")))
            .is_err()
    );
}

#[test]
fn a_cookie_from_another_site_signs_nobody_in() {
    let sessions = sessions();
    let token = sessions.mint(&identity()).unwrap();
    let cookie = format!("{SESSION_COOKIE}={token}");
    for refused in [
        headers(&[("cookie", &cookie), ("sec-fetch-site", "cross-site")]),
        headers(&[("cookie", &cookie), ("sec-fetch-site", "same-site")]),
        headers(&[
            ("cookie", &cookie),
            ("host", "invest.example"),
            ("origin", "https://evil.example"),
        ]),
    ] {
        assert_eq!(sessions.identity_of(&refused), None, "{refused:?}");
    }
    let own = headers(&[
        ("cookie", &cookie),
        ("host", "invest.example"),
        ("origin", "https://invest.example"),
        ("sec-fetch-site", "same-origin"),
    ]);
    assert_eq!(sessions.identity_of(&own), Some(identity()));
    // A tool that sends neither header (curl with the cookie) is not a browser of another site.
    assert_eq!(
        sessions.identity_of(&headers(&[("cookie", &cookie)])),
        Some(identity())
    );
}

#[test]
fn an_expired_or_garbled_session_signs_nobody_in() {
    let sessions = sessions();
    let garbled = headers(&[("cookie", "ri_session=not.a.token")]);
    assert_eq!(sessions.identity_of(&garbled), None);
    let empty = headers(&[("cookie", "ri_session=")]);
    assert_eq!(sessions.identity_of(&empty), None);
    // Signed with the right secret, but it ended an hour ago (past the 30 s of leeway).
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({
            "sub": "mira", "tenant": "safe", "iss": SESSION_ISSUER, "aud": SESSION_AUDIENCE,
            "exp": OffsetDateTime::now_utc().unix_timestamp() - 3600,
        }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let refused = sessions.identity(&expired);
    assert!(matches!(refused, Err(AuthError::Expired)), "{refused:?}");
}

#[test]
fn cookies_are_http_only_lax_and_secure_over_https() {
    let plain = sessions();
    let start = plain.start_cookies("abc");
    let session = start[0].to_str().unwrap();
    assert!(session.starts_with("ri_session=abc"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "{session}");
    let marker = start[1].to_str().unwrap();
    assert!(marker.starts_with("ri_signed_in=1"), "{marker}");
    assert!(!marker.contains("HttpOnly"), "{marker}");
    assert!(session.contains("Max-Age=600"), "{session}");
    assert!(marker.contains("Max-Age=87000"), "a day longer: {marker}");

    let secure = Sessions::new(&SessionConfig {
        secret: SECRET.to_owned(),
        ttl: Duration::from_secs(600),
        secure: true,
    })
    .unwrap();
    assert!(
        secure.start_cookies("abc")[0]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let ended = secure.end_cookies();
    assert!(ended[0].to_str().unwrap().contains("Max-Age=0"));
}

#[test]
fn only_paths_of_this_site_are_returned_to() {
    assert_eq!(local_path(Some("/projects?tenant=x")), "/projects?tenant=x");
    for outside in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "projects",
        "/a b",
    ] {
        assert_eq!(local_path(Some(outside)), "/", "{outside}");
    }
    assert_eq!(local_path(None), "/");
}

#[test]
fn a_short_secret_is_refused() {
    assert!(
        Sessions::new(&SessionConfig {
            secret: "short".to_owned(),
            ttl: Duration::from_secs(600),
            secure: false,
        })
        .is_err()
    );
}
