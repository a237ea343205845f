//! The current account and the users of a tenant.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

async fn create_user(app: &TestApp, email: &str, name: &str, roles: Value) -> Value {
    let body = json!({"email": email, "name": name, "roles": roles});
    json(app.post("/api/v1/accounts/users/", &body).await, StatusCode::CREATED).await
}

#[tokio::test]
async fn the_current_account_is_the_callers_tenant() {
    let app = TestApp::spawn().await;
    let account = json(app.get("/api/v1/accounts/").await, StatusCode::OK).await;
    assert_eq!(account["entity"]["tenant_id"], app.tenant.tenant.id.to_string());
    assert_eq!(account["entity"]["name"], "tenant-a");
    assert_eq!(account["entity"]["scopes"], json!(["admin"]));
    assert!(account["actions"].is_array());
}

#[tokio::test]
async fn users_can_be_created_listed_updated_and_removed() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let ada = create_user(&app, "Ada@Example.com", "Ada", json!(["admin", "auditor"])).await;
    create_user(&app, "bob@example.com", "Bob", json!([])).await;
    create_user(&app, "cy@example.com", "Cy", json!(["operator"])).await;
    let id = ada["entity"]["user_id"].as_str().unwrap().to_owned();
    assert_eq!(ada["entity"]["email"], "ada@example.com");
    assert_eq!(ada["entity"]["roles"], json!(["admin", "auditor"]));

    let page = json(
        app.get("/api/v1/accounts/users/?page=1&page_size=2&sort=email&direction=asc").await,
        StatusCode::OK,
    )
    .await;
    let next = page["pagination"]["next_cursor"].as_str().expect("a next page").to_owned();
    assert_eq!(
        page["pagination"],
        json!({"total": 3, "page": 1, "page_size": 2, "total_exact": true, "next_cursor": next})
    );
    assert_eq!(page["sort"], json!({"field": "email", "direction": "asc"}));
    let emails: Vec<_> = page["items"].as_array().unwrap().iter().map(|u| u["email"].clone()).collect();
    assert_eq!(emails, vec![json!("ada@example.com"), json!("bob@example.com")]);
    let last = json(
        app.get("/api/v1/accounts/users/?page=2&page_size=2&sort=email&direction=asc").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(last["items"][0]["email"], "cy@example.com");
    assert_eq!(last["pagination"]["next_cursor"], Value::Null);
    let by_cursor = json(
        app.get(&format!("/api/v1/accounts/users/?cursor={next}&page_size=2&sort=email&direction=asc")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(by_cursor["items"], last["items"]);
    assert_eq!(by_cursor["pagination"]["page"], 2);
    let bob =
        json(app.get("/api/v1/accounts/users/?sort=name&direction=asc&page_size=3").await, StatusCode::OK)
            .await;
    assert_eq!(bob["items"][1]["roles"], json!(["viewer"]), "roles default to viewer");

    let path = format!("/api/v1/accounts/users/{id}");
    let updated = app
        .request(Method::PUT, &path, &app.admin_key)
        .json(&json!({"name": "Ada L."}))
        .send()
        .await
        .unwrap();
    let updated = json(updated, StatusCode::OK).await;
    assert_eq!(updated["entity"]["name"], "Ada L.");
    assert_eq!(updated["entity"]["email"], "ada@example.com");

    let roles_path = format!("{path}/roles");
    let set = app
        .request(Method::PUT, &roles_path, &app.admin_key)
        .json(&json!({"roles": ["viewer"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(set, StatusCode::OK).await["roles"], json!(["viewer"]));
    let got = json(app.get(&roles_path).await, StatusCode::OK).await;
    assert_eq!(got, json!({"user_id": id, "roles": ["viewer"]}));

    let deleted = app.request(Method::DELETE, &path, &app.admin_key).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;

    // Three creations, an update, a role change and a removal: one audit row each.
    assert_eq!(app.audit_count(), before + 6);
    let logs = json(app.get(&format!("/api/v1/logs/audit?resource_id={id}")).await, StatusCode::OK).await;
    let actions: Vec<_> = logs["items"].as_array().unwrap().iter().map(|r| r["action"].clone()).collect();
    assert_eq!(
        actions,
        vec![
            json!("user.deleted"),
            json!("user.roles_changed"),
            json!("user.updated"),
            json!("user.created")
        ]
    );
}

#[tokio::test]
async fn invalid_or_duplicate_users_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    create_user(&app, "ada@example.com", "Ada", json!([])).await;
    let before = app.audit_count();

    let dup =
        app.post("/api/v1/accounts/users/", &json!({"email": "ADA@example.com", "name": "Ada 2"})).await;
    error(dup, StatusCode::CONFLICT, "conflict").await;
    for body in [
        json!({"email": "not-an-email", "name": "X"}),
        json!({"email": "x@example.com", "name": "   "}),
        json!({"email": "x@example.com", "name": "X", "roles": ["superuser"]}),
        json!({"email": "x@example.com"}),
    ] {
        let res = app.post("/api/v1/accounts/users/", &body).await;
        error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let users = json(app.get("/api/v1/accounts/users/").await, StatusCode::OK).await;
    let id = users["items"][0]["user_id"].as_str().unwrap();
    let path = format!("/api/v1/accounts/users/{id}");
    let empty = app.request(Method::PUT, &path, &app.admin_key).json(&json!({})).send().await.unwrap();
    error(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let roles =
        app.request(Method::PUT, &format!("{path}/roles"), &app.admin_key).json(&json!({"roles": ["god"]}));
    error(roles.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    assert_eq!(users["pagination"]["total"], 1);
    assert_eq!(app.audit_count(), before);
}
