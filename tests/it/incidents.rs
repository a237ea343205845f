//! The incident lifecycle, comments and timeline.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, error, json};

async fn breach(app: &TestApp) -> String {
    app.create_policy(
        json!({"name": "t", "rule_type": "token_limit", "threshold": 10, "severity": "medium"}),
    )
    .await;
    let run = app.start_run("agent-inc").await;
    let res = app
        .step_ok(run["run"]["run_id"].as_str().unwrap(), json!({"step_type": "llm_call", "tokens": 20}))
        .await;
    res["incident_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_lifecycle_is_a_state_machine() {
    let app = TestApp::spawn().await;
    let id = breach(&app).await;
    let path = |action: &str| format!("/api/v1/incidents/{id}/{action}");

    let acked = json(app.post(&path("acknowledge"), &json!({"note": "looking"})).await, StatusCode::OK).await;
    assert_eq!(acked["entity"]["status"], "acknowledged");
    assert!(acked["entity"]["acknowledged_at"].is_string());
    error(app.post(&path("acknowledge"), &json!({})).await, StatusCode::CONFLICT, "conflict").await;

    let escalated = json(app.post(&path("escalate"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(escalated["entity"]["status"], "escalated");
    assert_eq!(escalated["entity"]["severity"], "high");
    assert_eq!(escalated["entity"]["escalation_level"], 1);

    let resolved =
        app.client.post(app.url(&path("resolve"))).bearer_auth(&app.admin_key).send().await.unwrap();
    let resolved = json(resolved, StatusCode::OK).await;
    assert_eq!(resolved["entity"]["status"], "resolved");
    for action in ["acknowledge", "escalate", "resolve"] {
        error(app.post(&path(action), &json!({})).await, StatusCode::CONFLICT, "conflict").await;
    }
    error(
        app.post(&path("resolve"), &json!({"bogus": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let active = json(app.get("/api/v1/incidents/active").await, StatusCode::OK).await;
    assert_eq!(active["pagination"]["total"], 0);
    let done = json(app.get("/api/v1/incidents/resolved").await, StatusCode::OK).await;
    assert_eq!(done["items"][0]["incident_id"], id.as_str());
    let filtered =
        json(app.get("/api/v1/incidents/?severity=high&type=token_limit_exceeded").await, StatusCode::OK)
            .await;
    assert_eq!(filtered["pagination"]["total"], 1);

    let timeline = json(app.get(&path("timeline")).await, StatusCode::OK).await;
    let events: Vec<_> =
        timeline["timeline"].as_array().unwrap().iter().map(|e| e["event"].clone()).collect();
    assert_eq!(events, vec![json!("created"), json!("acknowledged"), json!("escalated"), json!("resolved")]);
    let kinds: Vec<_> = timeline["related"].as_array().unwrap().iter().map(|r| r["type"].clone()).collect();
    assert_eq!(kinds, vec![json!("run"), json!("policy"), json!("trace")]);
}

#[tokio::test]
async fn comments_are_kept_in_order() {
    let app = TestApp::spawn().await;
    let id = breach(&app).await;
    let path = format!("/api/v1/incidents/{id}/comments");
    json(app.post(&path, &json!({"content": "first"})).await, StatusCode::CREATED).await;
    let second =
        json(app.post(&path, &json!({"content": "second", "author": "user-42"})).await, StatusCode::CREATED)
            .await;
    assert_eq!(second["author"], "user-42");
    error(
        app.post(&path, &json!({"content": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let list = json(app.get(&path).await, StatusCode::OK).await;
    let contents: Vec<_> = list["items"].as_array().unwrap().iter().map(|c| c["content"].clone()).collect();
    assert_eq!(contents, vec![json!("first"), json!("second")]);
    let timeline = json(app.get(&format!("/api/v1/incidents/{id}/timeline")).await, StatusCode::OK).await;
    assert_eq!(timeline["timeline"].as_array().unwrap().len(), 3);
}
