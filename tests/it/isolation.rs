//! Tenant isolation: another tenant's ids are 404 for every verb, and nothing changes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn another_tenants_objects_are_not_found_and_unchanged() {
    let app = TestApp::spawn().await;
    let user = json(
        app.post(
            "/api/v1/accounts/users/",
            &json!({"email": "ada@example.com", "name": "Ada", "roles": ["admin"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let user_id = user["entity"]["user_id"].as_str().unwrap().to_owned();
    let key = json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": "a-key", "scopes": ["read"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let (key_id, key_secret) =
        (key["key_id"].as_str().unwrap().to_owned(), key["key"].as_str().unwrap().to_owned());

    let b = app.create_tenant("tenant-b");
    let b_key = b.admin_key.secret.clone();
    let a_audit = app.audit_count();

    let user_path = format!("/api/v1/accounts/users/{user_id}");
    let key_path = format!("/api/v1/connectivity/api-keys/{key_id}");
    let cases = [
        (Method::GET, user_path.clone(), None),
        (Method::PUT, user_path.clone(), Some(json!({"name": "Mallory"}))),
        (Method::DELETE, user_path.clone(), None),
        (Method::GET, format!("{user_path}/roles"), None),
        (Method::PUT, format!("{user_path}/roles"), Some(json!({"roles": ["viewer"]}))),
        (Method::GET, key_path.clone(), None),
        (Method::DELETE, key_path.clone(), None),
        (Method::POST, format!("{key_path}/rotate"), None),
    ];
    for (method, path, body) in cases {
        let mut req = app.request(method.clone(), &path, &b_key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        error(req.send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }

    // B's lists hold only B's objects.
    let b_users = json(
        app.request(Method::GET, "/api/v1/accounts/users/", &b_key).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(b_users["pagination"]["total"], 0);
    let b_keys = json(
        app.request(Method::GET, "/api/v1/connectivity/api-keys/", &b_key).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(b_keys["pagination"]["total"], 1);
    assert_eq!(b_keys["items"][0]["tenant_id"], b.tenant.id.to_string());
    let b_audit =
        json(app.request(Method::GET, "/api/v1/logs/audit", &b_key).send().await.unwrap(), StatusCode::OK)
            .await;
    assert!(b_audit["items"].as_array().unwrap().iter().all(|r| r["tenant_id"] == b.tenant.id.to_string()));

    // A's objects are untouched and A's key still works.
    let still = json(app.get(&user_path).await, StatusCode::OK).await;
    assert_eq!(still["entity"]["name"], "Ada");
    assert_eq!(still["entity"]["roles"], json!(["admin"]));
    let res = app.request(Method::GET, "/api/v1/accounts/", &key_secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.audit_count(), a_audit);
}
