//! Isolation: another tenant's ids are 404 for every verb, and nothing changes; within a tenant,
//! a run is driven only by the key that started it (or an admin key).

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

/// Issues a key through the API; returns (key id, secret).
async fn issue(app: &TestApp, name: &str, scopes: &[&str]) -> (String, String) {
    let created = json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": name, "scopes": scopes})).await,
        StatusCode::CREATED,
    )
    .await;
    (created["key_id"].as_str().unwrap().to_owned(), created["key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_run_is_driven_only_by_the_key_that_started_it_or_an_admin_key() {
    let app = TestApp::spawn().await;
    let (a_id, a) = issue(&app, "agent-a", &["ingest"]).await;
    let (_, b) = issue(&app, "agent-b", &["ingest"]).await;
    let start = |key: &str| {
        app.request(Method::POST, "/api/v1/runs", key).json(&json!({"agent_id": "agent-a"})).send()
    };
    let run = json(start(&a).await.unwrap(), StatusCode::CREATED).await;
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(run["run"]["api_key_id"], a_id.as_str());
    let step = json!({"step_type": "llm_call", "tokens": 5});
    let acts = [
        (format!("/api/v1/runs/{run_id}/steps"), step.clone()),
        (format!("/api/v1/runs/{run_id}/steps/check"), step.clone()),
        (format!("/api/v1/runs/{run_id}/complete"), json!({"status": "succeeded"})),
        (format!("/api/v1/runs/{run_id}/cancel"), json!({})),
    ];
    let before = app.audit_count();
    for (path, body) in &acts {
        let res = app.request(Method::POST, path, &b).json(body).send().await.unwrap();
        let refused = error(res, StatusCode::FORBIDDEN, "forbidden").await;
        assert!(refused["error"]["message"].as_str().unwrap().contains("another API key"), "{refused}");
    }
    let detail = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["step_count"], 0, "{detail}");
    assert_eq!(detail["entity"]["status"], "running");
    assert_eq!(app.audit_count(), before, "nothing was written for the other key");

    // The starting key and an admin key may.
    let path = format!("/api/v1/runs/{run_id}/steps");
    let res = app.request(Method::POST, &path, &a).json(&step).send().await.unwrap();
    json(res, StatusCode::CREATED).await;
    json(app.step(&run_id, step.clone()).await, StatusCode::CREATED).await;

    // Rotation hands the live run to the replacement; an ended run keeps its key.
    let ended = json(start(&a).await.unwrap(), StatusCode::CREATED).await;
    let ended_id = ended["run"]["run_id"].as_str().unwrap().to_owned();
    let cancel = app.request(Method::POST, &format!("/api/v1/runs/{ended_id}/cancel"), &a).send().await;
    json(cancel.unwrap(), StatusCode::OK).await;
    let rotate =
        app.request(Method::POST, &format!("/api/v1/connectivity/api-keys/{a_id}/rotate"), &app.admin_key);
    let rotated = json(rotate.send().await.unwrap(), StatusCode::CREATED).await;
    let (a2_id, a2) = (rotated["key_id"].as_str().unwrap(), rotated["key"].as_str().unwrap());
    let res = app.request(Method::POST, &path, a2).json(&step).send().await.unwrap();
    assert_eq!(json(res, StatusCode::CREATED).await["run"]["api_key_id"], a2_id);
    let ended = json(app.get(&format!("/api/v1/activity/{ended_id}")).await, StatusCode::OK).await;
    assert_eq!(ended["entity"]["api_key_id"], a_id.as_str());
    let res = app.request(Method::POST, &path, &b).json(&step).send().await.unwrap();
    error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let done = app.request(Method::POST, &format!("/api/v1/runs/{run_id}/complete"), a2);
    let done = json(done.json(&json!({"status": "succeeded"})).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(done["status"], "succeeded");
}
