//! Every way authentication and authorisation can fail, and that they fail closed.

use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let app = TestApp::spawn().await;
    let no_header = app.client.get(app.url("/api/v1/accounts/")).send().await.unwrap();
    let body = error(no_header, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("Bearer"));

    let basic = app.client.get(app.url("/api/v1/accounts/")).basic_auth("u", Some("p")).send().await.unwrap();
    error(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;

    for token in
        ["garbage", "gov_", &app.admin_key[..app.admin_key.len() - 1], &format!("{}0", app.admin_key)]
    {
        let res = app.request(Method::GET, "/api/v1/accounts/", token).send().await.unwrap();
        error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
}

#[tokio::test]
async fn a_well_formed_key_with_the_wrong_secret_is_401() {
    let app = TestApp::spawn().await;
    // Same public prefix, different secret: found by prefix, refused by the hash.
    let forged = format!("{}_{}", &app.admin_key[..16], "0".repeat(64));
    let res = app.request(Method::GET, "/api/v1/accounts/", &forged).send().await.unwrap();
    let body = error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["error"]["message"], "invalid API key");
}

#[tokio::test]
async fn keys_in_the_query_string_are_refused_even_with_a_valid_header() {
    let app = TestApp::spawn().await;
    for query in [format!("api_key={}", app.admin_key), "token=x".to_owned(), format!("q={}", app.admin_key)]
    {
        let res = app
            .request(Method::GET, &format!("/api/v1/accounts/?{query}"), &app.admin_key)
            .send()
            .await
            .unwrap();
        let body = error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("query string"));
    }
}

#[tokio::test]
async fn revoked_keys_are_401() {
    let app = TestApp::spawn().await;
    let created = json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": "temp", "scopes": ["read"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let (id, secret) = (created["key_id"].as_str().unwrap(), created["key"].as_str().unwrap());
    let ok = app.request(Method::GET, "/api/v1/accounts/", secret).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let revoked = app.request(Method::DELETE, &format!("/api/v1/connectivity/api-keys/{id}"), &app.admin_key);
    json(revoked.send().await.unwrap(), StatusCode::OK).await;
    let res = app.request(Method::GET, "/api/v1/accounts/", secret).send().await.unwrap();
    let body = error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["error"]["message"], "API key revoked");
}

#[tokio::test]
async fn rotated_away_keys_are_401_and_the_replacement_works() {
    let app = TestApp::spawn().await;
    let old = app.key_with_scopes(&["read", "write"]);
    let account =
        json(app.request(Method::GET, "/api/v1/accounts/", &old).send().await.unwrap(), StatusCode::OK).await;
    let old_id = account["entity"]["api_key_id"].as_str().unwrap().to_owned();

    let rotate =
        app.request(Method::POST, &format!("/api/v1/connectivity/api-keys/{old_id}/rotate"), &app.admin_key);
    let new = json(rotate.send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(new["rotated_from"], old_id.as_str());
    assert_eq!(new["scopes"], json!(["read", "write"]));
    assert_ne!(new["key_id"], old_id.as_str());

    let res = app.request(Method::GET, "/api/v1/accounts/", &old).send().await.unwrap();
    error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res =
        app.request(Method::GET, "/api/v1/accounts/", new["key"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A key rotated once cannot be rotated again.
    let again =
        app.request(Method::POST, &format!("/api/v1/connectivity/api-keys/{old_id}/rotate"), &app.admin_key);
    error(again.send().await.unwrap(), StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn expired_keys_are_401() {
    let app = TestApp::spawn().await;
    let now = time::OffsetDateTime::now_utc();
    // Issued two hours ago, valid for one.
    let past = app.gov_at(now - Duration::hours(2));
    let input = gov_facades::NewApiKey {
        name: "short-lived".into(),
        scopes: vec!["admin".into()],
        expires_at: Some(now - Duration::hours(1)),
    };
    let key = past.create_api_key(&app.caller(), input).unwrap().secret;
    let res = app.request(Method::GET, "/api/v1/accounts/", &key).send().await.unwrap();
    let body = error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(body["error"]["message"], "API key expired");
}

#[tokio::test]
async fn a_missing_scope_is_403() {
    let app = TestApp::spawn().await;
    let read = app.key_with_scopes(&["read"]);
    let write = app.key_with_scopes(&["write"]);
    let ingest = app.key_with_scopes(&["ingest"]);
    let user = json!({"email": "x@example.com", "name": "X"});

    let cases = [
        (&read, Method::GET, "/api/v1/accounts/users/", StatusCode::OK),
        (&write, Method::GET, "/api/v1/accounts/users/", StatusCode::OK),
        (&ingest, Method::GET, "/api/v1/accounts/users/", StatusCode::FORBIDDEN),
        (&read, Method::POST, "/api/v1/accounts/users/", StatusCode::FORBIDDEN),
        (&write, Method::POST, "/api/v1/accounts/users/", StatusCode::FORBIDDEN),
        (&read, Method::GET, "/api/v1/connectivity/api-keys/", StatusCode::FORBIDDEN),
        (&ingest, Method::GET, "/api/v1/logs/audit", StatusCode::FORBIDDEN),
    ];
    let before = app.audit_count();
    for (key, method, path, expected) in cases {
        let res = app.request(method.clone(), path, key).json(&user).send().await.unwrap();
        assert_eq!(res.status(), expected, "{method} {path}");
        if expected == StatusCode::FORBIDDEN {
            error(res, expected, "forbidden").await;
        }
    }
    assert_eq!(app.audit_count(), before, "refused requests change nothing");
}

#[tokio::test]
async fn use_of_a_key_is_recorded() {
    let app = TestApp::spawn().await;
    let list = json(app.get("/api/v1/connectivity/api-keys/").await, StatusCode::OK).await;
    let me = &list["items"][0];
    assert!(me["last_used_at"].is_string(), "authenticating records last use: {me}");
    assert!(me.get("key").is_none() && me.get("key_hash").is_none(), "lists never show secrets: {me}");
}
