//! Bad input gets the JSON error shape with the right status, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error};

#[tokio::test]
async fn bad_bodies_get_the_right_status() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let post = |body: String, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/accounts/users/", &app.admin_key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json_type = "application/json";
    let cases = [
        (post("{\"email\": ".into(), json_type).await.unwrap(), StatusCode::BAD_REQUEST, "malformed_request"),
        (post("not json".into(), json_type).await.unwrap(), StatusCode::BAD_REQUEST, "malformed_request"),
        (
            post(json!({"email": "a@b.io", "name": "A", "admin": true}).to_string(), json_type)
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(json!({"email": 42, "name": "A"}).to_string(), json_type).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post(json!({"email": "a@b.io", "name": "x".repeat(100_000)}).to_string(), json_type)
                .await
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            post("email=a@b.io".into(), "text/plain").await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (res, status, code) in cases {
        error(res, status, code).await;
    }
    assert_eq!(app.audit_count(), before, "no bad request wrote anything");
}

#[tokio::test]
async fn unknown_routes_ids_and_methods() {
    let app = TestApp::spawn().await;
    error(app.get("/api/v1/no-such-thing").await, StatusCode::NOT_FOUND, "not_found").await;
    error(app.get("/api/v1/accounts/users/not-a-uuid").await, StatusCode::NOT_FOUND, "not_found").await;
    let random = uuid::Uuid::new_v4();
    error(app.get(&format!("/api/v1/accounts/users/{random}")).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    error(
        app.get(&format!("/api/v1/connectivity/api-keys/{random}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let patch = app.request(Method::PATCH, "/api/v1/accounts/", &app.admin_key).send().await.unwrap();
    error(patch, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn bad_list_parameters_are_422() {
    let app = TestApp::spawn().await;
    for query in ["page=0", "page_size=0", "page_size=201", "page=abc", "sort=password", "direction=sideways"]
    {
        let res = app.get(&format!("/api/v1/accounts/users/?{query}")).await;
        error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}
