//! Browser sessions at the service's edge (decision 0009): a session cookie signs in requests
//! of this service's own pages only, over HTTP and WebSocket; a bearer token still wins; the
//! development sign-in is off unless configured and never makes a session of a bad token.
//! The OpenID sign-in itself runs against a real provider in `web.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, WS_WAIT};
use futures_util::{SinkExt, StreamExt};
use ri_domain::Role;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ME: &str = "{ me { authenticated subject tenant roles } }";

/// `me` as the API answers a request with `headers`.
async fn me(app: &TestApp, headers: &[(&str, &str)]) -> Value {
    let mut request = app.http.post(app.url()).json(&json!({ "query": ME }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body: Value = request.send().await.unwrap().json().await.unwrap();
    body["data"]["me"].clone()
}

/// The `ri_session` cookie a response sets (its value).
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("ri_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// The first answer to a `connection_init` without a token on a socket opened with `headers`:
/// `"connection_ack"`, or `"closed <code>"`.
async fn socket_answer(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut request = app.ws_url().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (name, value) in headers {
        let name: axum::http::HeaderName = name.parse().unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text(
        json!({"type": "connection_init", "payload": {}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    loop {
        match tokio::time::timeout(WS_WAIT, ws.next())
            .await
            .expect("an answer")
        {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                return message["type"].as_str().unwrap().to_owned();
            }
            Some(Ok(Message::Close(frame))) => {
                return format!("closed {}", frame.map(|f| u16::from(f.code)).unwrap_or(0));
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_session_signs_in_this_site_s_own_pages_and_nobody_else_s() {
    let app = TestApp::start_with(|c| c.dev_sign_in = true).await;
    let base = format!("http://{}", app.app.addr);
    let dev = |body: Value, site: &'static str| {
        app.http
            .post(format!("{base}/auth/dev"))
            .header("sec-fetch-site", site)
            .json(&body)
            .send()
    };

    // A token the API would refuse makes no session.
    let refused = dev(json!({"token": "not-a-token"}), "same-origin")
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(session_cookie(&refused), None);
    let reason: Value = refused.json().await.unwrap();
    assert!(
        reason["error"].as_str().unwrap().contains("malformed"),
        "{reason}"
    );

    app.tenant("l3ce", "LT").await;
    app.tenant("safe", "FR").await;
    let token = app.token("ana", "l3ce", &[Role::Curator]).await;
    // Another site's page cannot turn a token into a session in this browser.
    let foreign = dev(json!({"token": token}), "cross-site").await.unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(session_cookie(&foreign), None);

    let signed_in = dev(json!({"token": format!("Bearer {token}")}), "same-origin")
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 204);
    let session = session_cookie(&signed_in).expect("a session cookie");
    assert_ne!(
        session, token,
        "the session is the service's own, not the token"
    );
    let cookie = format!("ri_signed_in=1; ri_session={session}");

    // The session is who the token named, with what their tenant grants them.
    let ana = me(&app, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_eq!(
        (&ana["subject"], &ana["tenant"]),
        (&json!("ana"), &json!("l3ce"))
    );
    let host = app.app.addr.to_string();
    let own_origin = format!("http://{host}");
    assert_eq!(
        me(
            &app,
            &[("cookie", &cookie), ("sec-fetch-site", "same-origin")]
        )
        .await,
        ana
    );
    assert_eq!(
        me(&app, &[("cookie", &cookie), ("origin", &own_origin)]).await,
        ana
    );
    // The same cookie on another site's request signs nobody in.
    for foreign in [
        vec![
            ("cookie", cookie.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("cookie", cookie.as_str()), ("sec-fetch-site", "same-site")],
        vec![
            ("cookie", cookie.as_str()),
            ("origin", "http://evil.example"),
        ],
    ] {
        assert_eq!(
            me(&app, &foreign).await["authenticated"],
            false,
            "{foreign:?}"
        );
    }
    // A tampered session signs nobody in, and is no error for the public's reads.
    let tampered = format!("ri_session={}x", session);
    assert_eq!(
        me(&app, &[("cookie", &tampered)]).await["authenticated"],
        false
    );
    // A bearer token wins over the cookie.
    let ona = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    let bearer = format!("Bearer {ona}");
    assert_eq!(
        me(&app, &[("cookie", &cookie), ("authorization", &bearer)]).await["subject"],
        "ona"
    );

    // A WebSocket of this site's page is signed in by the cookie; another site's is refused.
    assert_eq!(
        socket_answer(&app, &[("cookie", &cookie), ("origin", &own_origin)]).await,
        "connection_ack"
    );
    assert_eq!(
        socket_answer(
            &app,
            &[("cookie", &cookie), ("origin", "http://evil.example")]
        )
        .await,
        "closed 4403"
    );

    // The development sign-in offers everyone a tenant granted a role, and signs in as them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let people = loop {
        let people: Value = app
            .http
            .get(format!("{base}/auth/dev/people"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if people
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["subject"] == "ona")
        {
            break people;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the people never included ona: {people}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(
        people
            .as_array()
            .unwrap()
            .contains(&json!({"subject": "ana", "tenant": "l3ce", "roles": ["curator"]})),
        "{people}"
    );
    // A person without a name, or of a tenant that cannot be, makes no session.
    for bad in [
        json!({"subject": " ", "tenant": "safe"}),
        json!({"subject": "ona", "tenant": "Not A Slug"}),
    ] {
        let refused = dev(bad.clone(), "same-origin").await.unwrap();
        assert_eq!(refused.status(), 400, "{bad}");
        assert_eq!(session_cookie(&refused), None, "{bad}");
    }
    let picked = dev(json!({"subject": "ona", "tenant": "safe"}), "same-origin")
        .await
        .unwrap();
    assert_eq!(picked.status(), 204);
    let ona_cookie = format!("ri_session={}", session_cookie(&picked).unwrap());
    assert_eq!(me(&app, &[("cookie", &ona_cookie)]).await["subject"], "ona");

    // Signing out clears both cookies.
    let out = app
        .http
        .post(format!("{base}/auth/logout"))
        .send()
        .await
        .unwrap();
    let cleared: Vec<&str> = out
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        ["ri_session=;", "ri_signed_in=;"].iter().all(|name| cleared
            .iter()
            .any(|c| c.starts_with(name) && c.contains("Max-Age=0"))),
        "{cleared:?}"
    );
    let body: Value = out.json().await.unwrap();
    assert_eq!(body["redirect"], "/");
    app.app.stop().await;
}

#[tokio::test]
async fn without_the_development_sign_in_a_token_never_becomes_a_session() {
    let app = TestApp::start().await;
    let base = format!("http://{}", app.app.addr);
    let token = app.token("ana", "l3ce", &[Role::Curator]).await;
    let refused = app
        .http
        .post(format!("{base}/auth/dev"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert_eq!(session_cookie(&refused), None);
    let options: Value = app
        .http
        .get(format!("{base}/auth/options"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(options, json!({"provider": null, "development": false}));
    // No provider configured: signing in through one says so.
    let login = app
        .http
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 404);
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("Sign-in is not configured")
    );
    app.app.stop().await;
}
