//! Whether a tenant may write is decided from the tenant's own events in the log, for every
//! write: a suspended tenant's users cannot change anything (their watches included), a write
//! sent the moment `suspendTenant` returns is refused (no read model to wait for), and the
//! users of a tenant that was never registered are FORBIDDEN, not INTERNAL. Nothing is stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};

/// One write of each kind a tenant's users make: (operation, variables).
fn writes() -> Vec<(String, Value)> {
    vec![
        (
            operation("DraftInstrument"),
            json!({"input": call("After suspension", "LT")}),
        ),
        (
            operation("CreateWatch"),
            json!({"input": {"name": "Border calls"}}),
        ),
        (
            operation("RegisterProject"),
            json!({"input": {
                "acronym": "LATE",
                "title": "LATE, a funded project",
                "openCall": "SecurIT Open Call 1",
                "stage": "PROTOTYPING",
                "consortium": [{"name": "LATE SME", "country": "LT"}],
                "summary": "Detects threats in public spaces."
            }}),
        ),
        (
            operation("NameEndUserArea"),
            json!({"input": {"name": "Public event security", "domain": "PUBLIC_SPACE_PROTECTION"}}),
        ),
    ]
}

async fn member(app: &TestApp, tenant: &str) -> String {
    app.token(
        "ana",
        tenant,
        &[Role::Curator, Role::FollowUpManager, Role::TenantAdmin],
    )
    .await
}

async fn suspend(app: &TestApp, slug: &str) {
    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    app.ok(
        Some(&admin),
        &operation("SuspendTenant"),
        json!({"slug": slug, "reason": "unpaid"}),
    )
    .await;
}

#[tokio::test]
async fn a_suspended_tenant_s_user_cannot_create_or_change_a_watch() {
    let app = TestApp::start().await;
    app.tenant("cluj-it", "RO").await;
    let seeker = app.token("sme-1", "cluj-it", &[]).await;
    let created = app
        .ok(
            Some(&seeker),
            &operation("CreateWatch"),
            json!({"input": {"name": "Before suspension"}}),
        )
        .await;
    let id = created["createWatch"]["id"].as_str().unwrap().to_owned();

    suspend(&app, "cluj-it").await;
    let before = app.event_count().await;
    let (code, _) = app
        .error(
            Some(&seeker),
            &operation("CreateWatch"),
            json!({"input": {"name": "After suspension"}}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error(
            Some(&seeker),
            &operation("UpdateWatch"),
            json!({"id": id, "input": {"name": "Renamed"}}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error(Some(&seeker), &operation("DeleteWatch"), json!({"id": id}))
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(app.event_count().await, before, "a refused write stored");
    app.app.stop().await;
}

#[tokio::test]
async fn a_write_sent_right_after_suspend_tenant_returns_is_refused() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let ana = member(&app, "l3ce").await;
    for (query, variables) in writes() {
        // Active: each kind of write goes through.
        app.ok(Some(&ana), &query, variables).await;
    }

    // No waiting for any read model between the suspension and the writes.
    suspend(&app, "l3ce").await;
    let before = app.event_count().await;
    for (query, variables) in writes() {
        let (code, _) = app.error(Some(&ana), &query, variables).await;
        assert_eq!(code, "FORBIDDEN", "{query}");
    }
    assert_eq!(app.event_count().await, before, "a refused write stored");

    // Reinstated, the same writes go through at once.
    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    app.ok(
        Some(&admin),
        &operation("ReinstateTenant"),
        json!({"slug": "l3ce"}),
    )
    .await;
    let (query, variables) = writes().swap_remove(0);
    app.ok(Some(&ana), &query, variables).await;
    app.app.stop().await;
}

#[tokio::test]
async fn an_unregistered_tenant_s_writes_are_forbidden_not_internal() {
    let app = TestApp::start().await;
    let ghost = member(&app, "ghost-cluster").await;
    let before = app.event_count().await;
    for (query, variables) in writes() {
        let (code, _) = app.error(Some(&ghost), &query, variables).await;
        assert_eq!(code, "FORBIDDEN", "{query}");
    }
    assert_eq!(app.event_count().await, before, "a refused write stored");
    app.app.stop().await;
}
