//! Roles have one source of truth: what a tenant granted, in its own events. A token says who
//! its holder is and no more (whatever roles it claims); a revoked role is refused from the
//! next request on, with no read model to wait for; no tenant grants `platform_admin` (the
//! configuration names platform admins); a tenant's admins read its members; and project-match
//! alerts reach exactly the follow-up managers the tenant grants the role at the time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ri_domain::Role;
use serde_json::{Value, json};

/// A token signed with the service's own secret for `sub` of `tenant` that claims every role.
fn boastful_token(app: &TestApp, sub: &str, tenant: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "sub": sub,
        "tenant": tenant,
        "roles": ["curator", "follow_up_manager", "tenant_admin", "platform_admin"],
        "iat": now,
        "exp": now + 600,
        "iss": app.config.jwt_issuer,
        "aud": app.config.jwt_audience,
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(app.config.jwt_secret.expose().as_bytes()),
    )
    .unwrap()
}

async fn roles_of(app: &TestApp, token: &str) -> Value {
    app.ok(Some(token), &operation("Me"), json!({})).await["me"]["roles"].clone()
}

fn grant(subject: &str, role: &str) -> Value {
    json!({"slug": "l3ce", "subject": subject, "role": role})
}

#[tokio::test]
async fn a_token_that_claims_more_than_the_grants_gets_only_the_grants() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("safe", "FR").await;
    let before = app.event_count().await;

    // Nothing granted: every role the token claims is ignored.
    let mallory = boastful_token(&app, "mallory", "l3ce");
    assert_eq!(roles_of(&app, &mallory).await, json!([]));
    let me = app.ok(Some(&mallory), &operation("Me"), json!({})).await;
    assert_eq!(me["me"]["canCurate"], false);
    let refused = [
        (
            operation("DraftInstrument"),
            json!({"input": call("Claimed", "LT")}),
        ),
        (
            operation("RegisterTenant"),
            json!({"input": {"slug": "mine", "name": "Mine", "kind": "AMBASSADOR_CLUSTER", "country": "LT"}}),
        ),
        (operation("GrantRole"), grant("mallory", "TENANT_ADMIN")),
        (
            operation("SuspendTenant"),
            json!({"slug": "safe", "reason": "claimed"}),
        ),
        (
            operation("NameEndUserArea"),
            json!({"input": {"name": "Claimed area", "domain": "PUBLIC_SPACE_PROTECTION"}}),
        ),
    ];
    for (query, variables) in &refused {
        let (code, _) = app.error(Some(&mallory), query, variables.clone()).await;
        assert_eq!(code, "FORBIDDEN", "{query}");
    }
    let (code, _) = app
        .error(
            Some(&mallory),
            &operation("ProjectionFailures"),
            json!({"first": 1}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(app.event_count().await, before, "a refused write stored");

    // Granted curator: exactly that, still nothing more.
    let admin = app.token("admin", "platform", &[Role::PlatformAdmin]).await;
    app.ok(
        Some(&admin),
        &operation("GrantRole"),
        grant("mallory", "CURATOR"),
    )
    .await;
    assert_eq!(roles_of(&app, &mallory).await, json!(["CURATOR"]));
    app.ok(Some(&mallory), &refused[0].0, refused[0].1.clone())
        .await;
    for (query, variables) in &refused[1..] {
        let (code, _) = app.error(Some(&mallory), query, variables.clone()).await;
        assert_eq!(code, "FORBIDDEN", "{query}");
    }

    // The same subject acting for another tenant holds what that tenant grants: nothing.
    let elsewhere = boastful_token(&app, "mallory", "safe");
    assert_eq!(roles_of(&app, &elsewhere).await, json!([]));
    app.app.stop().await;
}

#[tokio::test]
async fn a_revoked_role_is_refused_from_the_next_request_on() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let tia = app.token("tia", "l3ce", &[Role::TenantAdmin]).await;
    let ana = app.identity("ana", "l3ce");
    let draft = (
        operation("DraftInstrument"),
        json!({"input": call("Granted", "LT")}),
    );
    let (code, _) = app.error(Some(&ana), &draft.0, draft.1.clone()).await;
    assert_eq!(code, "FORBIDDEN");

    // The tenant's own admin grants; the very next request may curate.
    app.ok(Some(&tia), &operation("GrantRole"), grant("ana", "CURATOR"))
        .await;
    app.ok(Some(&ana), &draft.0, draft.1.clone()).await;

    // Revoked: the very next request is refused, with no read model to wait for.
    app.ok(
        Some(&tia),
        &operation("RevokeRole"),
        grant("ana", "CURATOR"),
    )
    .await;
    let before = app.event_count().await;
    let (code, _) = app.error(Some(&ana), &draft.0, draft.1.clone()).await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(roles_of(&app, &ana).await, json!([]));
    assert_eq!(app.event_count().await, before, "a refused write stored");
    app.app.stop().await;
}

#[tokio::test]
async fn no_tenant_grants_platform_admin_and_admins_read_their_members() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("safe", "FR").await;
    let tia = app.token("tia", "l3ce", &[Role::TenantAdmin]).await;
    let admin = app.token("admin", "platform", &[Role::PlatformAdmin]).await;
    let before = app.event_count().await;

    // Neither the tenant's admin nor a platform admin can grant it: BAD_USER_INPUT on `role`.
    for token in [&tia, &admin] {
        let (code, field) = app
            .error(
                Some(token),
                &operation("GrantRole"),
                grant("tia", "PLATFORM_ADMIN"),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("role"))
        );
    }
    // Nor grant anything in another tenant.
    let (code, _) = app
        .error(
            Some(&tia),
            &operation("GrantRole"),
            json!({"slug": "safe", "subject": "tia", "role": "TENANT_ADMIN"}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(app.event_count().await, before, "a refused grant stored");
    assert_eq!(roles_of(&app, &tia).await, json!(["TENANT_ADMIN"]));

    // The member list, as the events say now, for the tenant's admins and platform admins.
    app.ok(Some(&tia), &operation("GrantRole"), grant("ana", "CURATOR"))
        .await;
    app.ok(
        Some(&tia),
        &operation("GrantRole"),
        grant("ana", "FOLLOW_UP_MANAGER"),
    )
    .await;
    let expected = json!([
        {"subject": "ana", "roles": ["CURATOR", "FOLLOW_UP_MANAGER"]},
        {"subject": "tia", "roles": ["TENANT_ADMIN"]}
    ]);
    let members = operation("TenantMembers");
    let slug = json!({"slug": "l3ce"});
    for token in [&tia, &admin] {
        let data = app.ok(Some(token), &members, slug.clone()).await;
        assert_eq!(data["tenant"]["members"], expected);
    }
    // Anyone else: FORBIDDEN, a member (not an admin) included.
    let ana = app.identity("ana", "l3ce");
    let safe_admin = app.token("sam", "safe", &[Role::TenantAdmin]).await;
    for token in [Some(&ana), Some(&safe_admin), None] {
        let (code, _) = app
            .error(token.map(String::as_str), &members, slug.clone())
            .await;
        let expected = if token.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(code, expected);
    }
    app.app.stop().await;
}

#[tokio::test]
async fn match_alerts_reach_exactly_the_current_follow_up_managers() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("safe", "FR").await;
    let rita = app.token("rita", "l3ce", &[Role::FollowUpManager]).await;
    let omar = app.token("omar", "l3ce", &[Role::FollowUpManager]).await;
    // Claims to be a follow-up manager; granted nothing.
    let vik = boastful_token(&app, "vik", "l3ce");
    let tia = app.token("tia", "l3ce", &[Role::TenantAdmin]).await;

    let project = app
        .ok(
            Some(&rita),
            &operation("RegisterProject"),
            json!({"input": {
                "acronym": "VASCREEN",
                "title": "Video analytics screening",
                "openCall": "SecurIT Open Call 1",
                "stage": "PROTOTYPING",
                "consortium": [{"name": "Vasco", "country": "LT"}],
                "summary": "Video analytics for screening crowds."
            }}),
        )
        .await["registerProject"]["id"]
        .clone();
    app.ok(
        Some(&rita),
        &operation("DeclareProjectFeatures"),
        json!({"id": project, "features": ["T1", "P3", "D2"]}),
    )
    .await;
    // Omar is no longer a follow-up manager when the match appears.
    app.ok(
        Some(&tia),
        &operation("RevokeRole"),
        grant("omar", "FOLLOW_UP_MANAGER"),
    )
    .await;

    let curator = app.token("ana", "safe", &[Role::Curator]).await;
    let id = app
        .ok(
            Some(&curator),
            &operation("DraftInstrument"),
            json!({"input": call("Lithuanian security call", "LT")}),
        )
        .await["draftInstrument"]["id"]
        .clone();
    app.ok(
        Some(&curator),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": ["T1", "P3", "D2"]}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": "2030-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("PublishInstrument"),
        json!({"id": id}),
    )
    .await;

    let notifications = operation("Notifications");
    let alerted = app
        .eventually_with(
            |body| body["data"]["notifications"]["nodes"][0]["kind"] == "PROJECT_MATCH",
            &notifications,
            json!({"first": 10}),
            Some(&rita),
        )
        .await;
    let notice = &alerted["data"]["notifications"]["nodes"][0];
    assert_eq!(notice["instrumentId"], id);
    assert_eq!(notice["projectId"], project);
    let matched = &notice["matches"][0];
    assert_eq!(notice["matches"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &matched["projectId"],
            &matched["acronym"],
            &matched["score"],
            &matched["threshold"]
        ),
        (&project, &json!("VASCREEN"), &json!(1.0), &json!(0.5))
    );
    // Why it matched, as the scorer explained it then: every declared feature funded.
    let explained = &matched["explanation"];
    assert_eq!(explained["coverage"], 1.0);
    let codes = explained["matched"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["features"].as_array().unwrap())
        .map(|f| f["code"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(codes, ["T1", "P3", "D2"]);
    // Its cause: the publication, by a curator of another tenant (named, not shown).
    let cause = &notice["cause"];
    assert_eq!(cause["events"][0]["eventType"], "InstrumentPublished");
    assert_eq!(cause["events"][0]["aggregateId"], id);
    assert_eq!(cause["events"][0]["tenant"], "safe");
    assert!(
        cause["summary"]
            .as_str()
            .unwrap()
            .contains("VASCREEN scored 1.00 against its threshold 0.50, sharing T1, P3, D2"),
        "{cause}"
    );
    // Written in the same batch as Rita's: none for the revoked manager or the boastful token.
    for token in [&omar, &vik] {
        let data = app
            .ok(Some(token), &notifications, json!({"first": 10}))
            .await;
        assert_eq!(data["notifications"]["nodes"], json!([]), "{data}");
    }
    app.app.stop().await;
}
