//! Issuing, listing, showing, revoking and rotating API keys.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn a_key_is_shown_once_and_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;
    let created = json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": "ci", "scopes": ["ingest", "read"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["key"].as_str().unwrap();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert!(secret.starts_with("gov_") && secret.len() >= 16 + 1 + 64, "≥256 random bits: {secret}");
    assert_eq!(created["scopes"], json!(["read", "ingest"]));

    let id = created["key_id"].as_str().unwrap();
    let detail = json(app.get(&format!("/api/v1/connectivity/api-keys/{id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["name"], "ci");
    assert!(detail["entity"].get("key").is_none());
    assert_eq!(detail["actions"][0], json!({"action": "rotate", "label": "Rotate key", "enabled": true}));

    let list = json(app.get("/api/v1/connectivity/api-keys/").await, StatusCode::OK).await;
    assert_eq!(list["pagination"]["total"], 2);
    assert!(!list.to_string().contains(secret), "no list shows the secret");
}

#[tokio::test]
async fn revoking_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    let created = json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": "x", "scopes": ["read"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/v1/connectivity/api-keys/{}", created["key_id"].as_str().unwrap());
    let first =
        json(app.request(Method::DELETE, &path, &app.admin_key).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(first["entity"]["revoked"], true);
    assert_eq!(first["actions"][1]["enabled"], false);
    let before = app.audit_count();
    let second = app.request(Method::DELETE, &path, &app.admin_key).send().await.unwrap();
    error(second, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.audit_count(), before);
}

#[tokio::test]
async fn invalid_key_requests_are_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["root"]}),
        json!({"name": "", "scopes": ["read"]}),
        json!({"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}),
        json!({"name": "x", "scopes": ["read"], "expires_at": "tomorrow"}),
        json!({"name": "x"}),
    ] {
        let res = app.post("/api/v1/connectivity/api-keys/", &body).await;
        error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    assert_eq!(app.audit_count(), before);
}

#[tokio::test]
async fn changes_are_audited_with_actor_and_request_id() {
    let app = TestApp::spawn().await;
    let res = app
        .request(Method::POST, "/api/v1/connectivity/api-keys/", &app.admin_key)
        .header("x-request-id", "req-abc-123")
        .json(&json!({"name": "audited", "scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-abc-123");
    let created = json(res, StatusCode::CREATED).await;
    let id = created["key_id"].as_str().unwrap();

    let logs = json(app.get(&format!("/api/v1/logs/audit?resource_id={id}")).await, StatusCode::OK).await;
    assert_eq!(logs["pagination"]["total"], 1);
    assert_eq!(logs["filters_applied"], json!({"resource_id": id}));
    let row = &logs["items"][0];
    assert_eq!(row["action"], "api_key.created");
    assert_eq!(row["resource_type"], "api_key");
    assert_eq!(row["actor_id"], format!("api_key:{}", app.tenant.admin_key.key.id));
    assert_eq!(row["details"]["request_id"], "req-abc-123");
    assert_eq!(row["tenant_id"], app.tenant.tenant.id.to_string());
}
