//! Bad step and run input: 404 for unknown or other tenants' runs, 422 for absurd values, 409
//! after a stop. None of them writes anything.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn bad_steps_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-bad").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    for body in [
        json!({"step_type": "llm_call", "tokens": -1}),
        json!({"step_type": "llm_call", "input_tokens": -5}),
        json!({"step_type": "llm_call", "cost_cents": -0.5}),
        json!({"step_type": "llm_call", "cost_cents": 1e15}),
        json!({"step_type": "llm_call", "tokens": 1_000_000_000_000_i64}),
        json!({"step_type": "llm_call", "tokens": 5, "input_tokens": 10}),
        json!({"step_type": "", "tokens": 5}),
        json!({"step_type": "llm call with spaces"}),
        json!({"step_type": "llm_call", "content": "x", "content_hash": "00"}),
        json!({"step_type": "llm_call", "content_hash": "xyz"}),
        json!({"step_type": "llm_call", "level": "loud"}),
        json!({"step_type": "llm_call", "surprise": true}),
        json!({"tokens": 5}),
    ] {
        error(app.step(run_id, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let detail = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["step_count"], 0);

    let content = app.step_ok(run_id, json!({"step_type": "llm_call", "content": "hello"})).await;
    assert_eq!(content["step"]["content_hash"], blake3::hash(b"hello").to_hex().as_str());

    let unknown = uuid::Uuid::new_v4();
    error(
        app.step(&unknown.to_string(), json!({"step_type": "x"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    error(app.step("not-a-uuid", json!({"step_type": "x"})).await, StatusCode::NOT_FOUND, "not_found").await;
    error(
        app.post("/api/v1/runs", &json!({"agent_id": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    error(
        app.post("/api/v1/runs", &json!({"agent_id": "a", "metadata": [1]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    error(
        app.post(&format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "great"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn another_tenants_runs_traces_and_incidents_are_not_found() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "t", "rule_type": "token_limit", "threshold": 10})).await;
    let run = app.start_run("agent-a").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let stopped = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 20})).await;
    let trace_id = run["run"]["trace_id"].as_str().unwrap();
    let incident_id = stopped["incident_id"].as_str().unwrap();
    let live = app.start_run("agent-a2").await;
    let live_id = live["run"]["run_id"].as_str().unwrap();
    let policy_id = stopped["run"]["violation_policy_id"].as_str().unwrap();

    let b = app.create_tenant("tenant-b").admin_key.secret;
    let cases = [
        (Method::POST, format!("/api/v1/runs/{live_id}/steps"), Some(json!({"step_type": "x"}))),
        (Method::POST, format!("/api/v1/runs/{live_id}/steps/check"), Some(json!({"step_type": "x"}))),
        (Method::POST, format!("/api/v1/runs/{live_id}/complete"), Some(json!({"status": "succeeded"}))),
        (Method::POST, format!("/api/v1/runs/{live_id}/cancel"), None),
        (Method::GET, format!("/api/v1/activity/{run_id}"), None),
        (Method::GET, format!("/api/v1/traces/{trace_id}"), None),
        (Method::GET, format!("/api/v1/traces/{trace_id}/steps"), None),
        (Method::POST, format!("/api/v1/traces/{trace_id}/replay"), None),
        (Method::GET, format!("/api/v1/incidents/{incident_id}"), None),
        (Method::POST, format!("/api/v1/incidents/{incident_id}/resolve"), None),
        (Method::GET, format!("/api/v1/incidents/{incident_id}/timeline"), None),
        (Method::POST, format!("/api/v1/incidents/{incident_id}/comments"), Some(json!({"content": "x"}))),
        (Method::GET, format!("/api/v1/policies/{policy_id}"), None),
        (
            Method::PUT,
            format!("/api/v1/policies/{policy_id}"),
            Some(json!({"name": "x", "rule_type": "token_limit", "threshold": 1})),
        ),
        (Method::DELETE, format!("/api/v1/policies/rules/{policy_id}"), None),
        (Method::GET, format!("/api/v1/incidents/policy/{policy_id}"), None),
    ];
    for (method, path, body) in cases {
        let mut req = app.request(method.clone(), &path, &b);
        if let Some(body) = body {
            req = req.json(&body);
        }
        error(req.send().await.unwrap(), StatusCode::NOT_FOUND, "not_found").await;
    }
    let detail = json(app.get(&format!("/api/v1/activity/{live_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["status"], "running");
    assert_eq!(detail["entity"]["step_count"], 0);
    let incident = json(app.get(&format!("/api/v1/incidents/{incident_id}")).await, StatusCode::OK).await;
    assert_eq!(incident["entity"]["status"], "active");
    for list in ["/api/v1/activity/", "/api/v1/incidents/", "/api/v1/traces/", "/api/v1/policies/"] {
        let res = json(app.request(Method::GET, list, &b).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(res["pagination"]["total"], 0, "{list}");
    }
}
