//! Bearer-token authentication: what verifies, and each way a token is refused. Pure: no
//! database, no server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ri_api::auth::{AuthConfig, AuthError, Authenticator, Identity, LEEWAY_SECONDS, mint_token};
use ri_domain::TenantSlug;
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
const PRIVATE_PEM: &str = include_str!("fixtures/test-only-rs256-private.pem");
const PUBLIC_PEM: &str = include_str!("fixtures/test-only-rs256-public.pem");
const HOUR: Duration = Duration::from_secs(3600);

fn hs256() -> AuthConfig {
    AuthConfig {
        issuer: "regional-invest".to_owned(),
        audience: "regional-invest".to_owned(),
        hs256_secret: Some(SECRET.to_owned()),
        rs256_public_key_pem: None,
        rs256_private_key_pem: None,
    }
}

fn rs256() -> AuthConfig {
    AuthConfig {
        hs256_secret: None,
        rs256_public_key_pem: Some(PUBLIC_PEM.to_owned()),
        rs256_private_key_pem: Some(PRIVATE_PEM.to_owned()),
        ..hs256()
    }
}

fn tenant() -> TenantSlug {
    TenantSlug::parse("securit").unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Valid claims for [`hs256`], to be spoiled one at a time.
fn claims() -> Value {
    json!({
        "sub": "ana",
        "tenant": "securit",
        "roles": ["curator"],
        "iat": now(),
        "exp": now() + 3600,
        "iss": "regional-invest",
        "aud": "regional-invest",
    })
}

fn sign_hs256(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn authenticate(config: &AuthConfig, token: &str) -> Result<Option<Identity>, AuthError> {
    Authenticator::new(config)
        .unwrap()
        .authenticate(Some(&bearer(token)))
}

#[test]
fn no_header_is_nobody_in_particular() {
    let identity = Authenticator::new(&hs256())
        .unwrap()
        .authenticate(None)
        .unwrap();
    assert_eq!(identity, None);
}

#[test]
fn a_minted_hs256_token_round_trips_to_its_identity() {
    let config = hs256();
    let token = mint_token(&config, "ana", &tenant(), HOUR).unwrap();
    assert_eq!(
        authenticate(&config, &token).unwrap(),
        Some(Identity {
            subject: "ana".to_owned(),
            tenant: tenant(),
        })
    );

    // The claims are the documented ones, and none says what the holder may do.
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(&token)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "ana");
    assert_eq!(claims["tenant"], "securit");
    assert_eq!(claims.get("roles"), None);
    assert_eq!(claims["iss"], "regional-invest");
    assert_eq!(claims["aud"], "regional-invest");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 3600);
    assert!((iat - now()).abs() <= 5);
}

#[test]
fn a_forged_signature_is_refused() {
    let forged = sign_hs256(&claims(), "another-secret-that-is-long-enough-for-hs256");
    assert!(matches!(
        authenticate(&hs256(), &forged),
        Err(AuthError::BadSignature)
    ));

    // Claims changed after signing: the signature no longer matches.
    let token = sign_hs256(&claims(), SECRET);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut elevated = claims();
    elevated["tenant"] = json!("another-cluster");
    parts[1] = {
        use base64_url_safe as b64;
        b64::encode(&serde_json::to_vec(&elevated).unwrap())
    };
    let tampered = parts.join(".");
    let read: Value = jsonwebtoken::dangerous::insecure_decode_claims(&tampered).unwrap();
    assert_eq!(read["tenant"], json!("another-cluster"));
    assert!(matches!(
        authenticate(&hs256(), &tampered),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn an_expired_token_is_refused_beyond_the_leeway() {
    let mut expired = claims();
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - i64::try_from(LEEWAY_SECONDS).unwrap() - 5);
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&expired, SECRET)),
        Err(AuthError::Expired)
    ));

    // Within the clock-skew leeway it still passes.
    let mut just_expired = claims();
    just_expired["exp"] = json!(now() - 5);
    assert!(authenticate(&hs256(), &sign_hs256(&just_expired, SECRET)).is_ok());

    // And a token without `exp` is no better than an expired one.
    let mut eternal = claims();
    eternal.as_object_mut().unwrap().remove("exp");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&eternal, SECRET)),
        Err(AuthError::MissingClaim(claim)) if claim == "exp"
    ));
}

#[test]
fn a_wrong_audience_is_refused() {
    let mut other = claims();
    other["aud"] = json!("someone-else");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&other, SECRET)),
        Err(AuthError::WrongAudience)
    ));

    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("aud");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&missing, SECRET)),
        Err(AuthError::MissingClaim(claim)) if claim == "aud"
    ));

    // The same token is refused by a service configured for another audience.
    let token = mint_token(&hs256(), "ana", &tenant(), HOUR).unwrap();
    let elsewhere = AuthConfig {
        audience: "another-service".to_owned(),
        ..hs256()
    };
    assert!(matches!(
        authenticate(&elsewhere, &token),
        Err(AuthError::WrongAudience)
    ));
}

#[test]
fn a_wrong_issuer_is_refused() {
    let mut other = claims();
    other["iss"] = json!("https://evil.example");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&other, SECRET)),
        Err(AuthError::WrongIssuer)
    ));

    let mut missing = claims();
    missing.as_object_mut().unwrap().remove("iss");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&missing, SECRET)),
        Err(AuthError::MissingClaim(claim)) if claim == "iss"
    ));
}

#[test]
fn a_roles_claim_is_ignored_whatever_it_says() {
    // Roles are what the tenant grants (ri_api::access): a token's claims name no more than who.
    let ana = Some(Identity {
        subject: "ana".to_owned(),
        tenant: tenant(),
    });
    let mut other = claims();
    for roles in [
        json!(["platform_admin"]),
        json!(["curator", "superuser"]),
        json!("Curator"),
        json!(null),
    ] {
        other["roles"] = roles;
        assert_eq!(
            authenticate(&hs256(), &sign_hs256(&other, SECRET)).unwrap(),
            ana
        );
    }
}

#[test]
fn a_bad_or_missing_tenant_is_refused() {
    let mut other = claims();
    other["tenant"] = json!("Not A Slug");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&other, SECRET)),
        Err(AuthError::BadTenant(_))
    ));

    other.as_object_mut().unwrap().remove("tenant");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&other, SECRET)),
        Err(AuthError::MissingClaim(claim)) if claim == "tenant"
    ));
}

#[test]
fn a_missing_subject_is_refused() {
    let mut other = claims();
    other.as_object_mut().unwrap().remove("sub");
    assert!(matches!(
        authenticate(&hs256(), &sign_hs256(&other, SECRET)),
        Err(AuthError::MissingClaim(claim)) if claim == "sub"
    ));
}

#[test]
fn a_malformed_header_or_token_is_an_error_not_anonymous() {
    let authenticator = Authenticator::new(&hs256()).unwrap();
    for header in [
        "Basic x",
        "Bearer",
        "Bearer ",
        "",
        "Bearer a b",
        "Token abc.def.ghi",
    ] {
        assert!(
            matches!(
                authenticator.authenticate(Some(header)),
                Err(AuthError::MalformedHeader)
            ),
            "{header:?}"
        );
    }
    for header in ["Bearer a.b", "Bearer a.b.c", "Bearer not-a-jwt"] {
        assert!(
            matches!(
                authenticator.authenticate(Some(header)),
                Err(AuthError::MalformedToken)
            ),
            "{header:?}"
        );
    }
    let huge = format!("Bearer {}", "a".repeat(20_000));
    assert!(matches!(
        authenticator.authenticate(Some(&huge)),
        Err(AuthError::MalformedToken)
    ));
}

#[test]
fn an_unsigned_token_is_refused() {
    // alg "none": header and claims, empty signature.
    let header = base64_url_safe::encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64_url_safe::encode(&serde_json::to_vec(&claims()).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert!(authenticate(&hs256(), &token).is_err(), "{token}");
    }
}

#[test]
fn a_token_minted_with_the_private_key_verifies_against_the_public_key() {
    let config = rs256();
    let token = mint_token(&config, "ops", &tenant(), HOUR).unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        Algorithm::RS256
    );
    // The verifier needs only the public key.
    let verifier = AuthConfig {
        rs256_private_key_pem: None,
        ..rs256()
    };
    assert_eq!(
        authenticate(&verifier, &token).unwrap(),
        Some(Identity {
            subject: "ops".to_owned(),
            tenant: tenant(),
        })
    );
}

#[test]
fn hs256_tokens_are_refused_by_an_rs256_authenticator_and_vice_versa() {
    let rs256_verifier = AuthConfig {
        rs256_private_key_pem: None,
        // A secret configured alongside does not re-enable HS256.
        hs256_secret: Some(SECRET.to_owned()),
        ..rs256()
    };

    // The classic confusion: HS256 "signed" with the public key's PEM text as the secret.
    let with_pem_as_secret = AuthConfig {
        hs256_secret: Some(PUBLIC_PEM.to_owned()),
        ..hs256()
    };
    let confused = mint_token(&with_pem_as_secret, "ana", &tenant(), HOUR).unwrap();
    assert!(matches!(
        authenticate(&rs256_verifier, &confused),
        Err(AuthError::WrongAlgorithm)
    ));

    // An honest HS256 token with the configured secret: still not RS256.
    let hs_token = mint_token(&hs256(), "ana", &tenant(), HOUR).unwrap();
    assert!(matches!(
        authenticate(&rs256_verifier, &hs_token),
        Err(AuthError::WrongAlgorithm)
    ));

    // And an RS256 token means nothing to an HS256 authenticator.
    let rs_token = mint_token(&rs256(), "ana", &tenant(), HOUR).unwrap();
    assert!(matches!(
        authenticate(&hs256(), &rs_token),
        Err(AuthError::WrongAlgorithm)
    ));
}

#[test]
fn an_rs256_verifier_cannot_mint_hs256_tokens_in_its_place() {
    let verifier_only = AuthConfig {
        rs256_private_key_pem: None,
        hs256_secret: Some(SECRET.to_owned()),
        ..rs256()
    };
    assert!(matches!(
        mint_token(&verifier_only, "ana", &tenant(), HOUR),
        Err(AuthError::NotConfigured(_))
    ));
}

#[test]
fn configuration_errors_are_reported_at_construction() {
    let nothing = AuthConfig {
        hs256_secret: None,
        ..hs256()
    };
    assert!(matches!(
        Authenticator::new(&nothing),
        Err(AuthError::NotConfigured(_))
    ));

    let short = AuthConfig {
        hs256_secret: Some("short".to_owned()),
        ..hs256()
    };
    assert!(matches!(
        Authenticator::new(&short),
        Err(AuthError::InvalidKey(_))
    ));

    let private_as_public = AuthConfig {
        rs256_public_key_pem: Some(PRIVATE_PEM.to_owned()),
        ..rs256()
    };
    assert!(matches!(
        Authenticator::new(&private_as_public),
        Err(AuthError::InvalidKey(_))
    ));

    let garbage = AuthConfig {
        rs256_public_key_pem: Some("not a pem".to_owned()),
        ..rs256()
    };
    assert!(matches!(
        Authenticator::new(&garbage),
        Err(AuthError::InvalidKey(_))
    ));
}

#[test]
fn debug_output_shows_no_secret() {
    let config = rs256();
    let with_secret = hs256();
    for shown in [
        format!("{config:?}"),
        format!("{with_secret:?}"),
        format!("{:?}", Authenticator::new(&with_secret).unwrap()),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(!shown.contains(&PRIVATE_PEM[40..80]), "{shown}");
    }
}

/// Unpadded base64url, as JWTs use it (enough for hand-made tokens).
mod base64_url_safe {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub(super) fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }
}
