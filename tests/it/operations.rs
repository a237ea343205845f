//! Health, readiness, metrics, request ids and the OpenAPI document.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{TestApp, json};

#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let app = TestApp::spawn().await;
    let health = json(app.client.get(app.url("/healthz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = json(app.client.get(app.url("/readyz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.get("/api/v1/accounts/").await;
    let generated = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let unauthorized =
        app.client.get(app.url("/api/v1/accounts/")).header("x-request-id", "mine-1").send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.headers()["x-request-id"], "mine-1");
    // Ids that could forge log lines are replaced.
    let odd = app.client.get(app.url("/healthz")).header("x-request-id", "a b").send().await.unwrap();
    assert_ne!(odd.headers()["x-request-id"], "a b");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::spawn().await;
    app.get(&format!("/api/v1/accounts/users/{}", uuid::Uuid::new_v4())).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(
            r#"gov_http_requests_total{method="GET",route="/api/v1/accounts/users/{user_id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("gov_http_request_duration_seconds_bucket"), "{text}");
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint() {
    let app = TestApp::spawn().await;
    let doc = json(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /api/openapi.json",
        "GET /api/v1/accounts/",
        "GET /api/v1/accounts/users/",
        "POST /api/v1/accounts/users/",
        "GET /api/v1/accounts/users/{user_id}",
        "PUT /api/v1/accounts/users/{user_id}",
        "DELETE /api/v1/accounts/users/{user_id}",
        "GET /api/v1/accounts/users/{user_id}/roles",
        "PUT /api/v1/accounts/users/{user_id}/roles",
        "GET /api/v1/connectivity/api-keys/",
        "POST /api/v1/connectivity/api-keys/",
        "GET /api/v1/connectivity/api-keys/{key_id}",
        "DELETE /api/v1/connectivity/api-keys/{key_id}",
        "POST /api/v1/connectivity/api-keys/{key_id}/rotate",
        "GET /api/v1/logs/audit",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, expected);

    // And every documented operation is served: no 404/405 from the router for any of them.
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path
            .replace("{user_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{key_id}", &uuid::Uuid::new_v4().to_string());
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&app.admin_key)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{op}");
        assert!(
            status != StatusCode::NOT_FOUND || !body.contains("\"not found\""),
            "{op} is not routed: {body}"
        );
    }
}
