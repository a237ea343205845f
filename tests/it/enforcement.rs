//! What each breach action does to the run and the agent, shadow mode, and the other rule types.

use reqwest::{Method, StatusCode};
use serde_json::json;
use time::macros::datetime;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn pause_parks_the_run_until_an_authorised_override() {
    let app = TestApp::spawn().await;
    let policy = app
        .create_policy(json!({"name": "steps", "rule_type": "step_limit", "threshold": 2, "action": "PAUSE"}))
        .await;
    let ingest = app.key_with_scopes(&["ingest"]);
    let run = app.start_run("agent-p").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(app.step_ok(run_id, json!({"step_type": "a"})).await["decision"], "ALLOW");
    let paused = app.step_ok(run_id, json!({"step_type": "b"})).await;
    assert_eq!(paused["decision"], "BLOCK");
    assert_eq!(paused["run"]["status"], "paused");
    assert!(paused["incident_id"].is_string());
    error(app.step(run_id, json!({"step_type": "c"})).await, StatusCode::CONFLICT, "conflict").await;

    let path = format!("/api/v1/runs/{run_id}/override");
    let by_agent =
        app.request(Method::POST, &path, &ingest).json(&json!({"reason": "let me"})).send().await.unwrap();
    error(by_agent, StatusCode::FORBIDDEN, "forbidden").await;
    error(
        app.post(&path, &json!({"reason": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let resumed =
        json(app.post(&path, &json!({"reason": "approved by on-call"})).await, StatusCode::OK).await;
    assert_eq!(resumed["run"]["status"], "running");
    assert_eq!(resumed["override"]["policy_id"], policy.as_str());
    assert_eq!(resumed["override"]["kind"], "SUSPEND");
    assert_eq!(app.step_ok(run_id, json!({"step_type": "c"})).await["decision"], "ALLOW");
    error(app.post(&path, &json!({"reason": "again"})).await, StatusCode::CONFLICT, "conflict").await;

    let detail = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["overrides"][0]["actor"], format!("api_key:{}", app.tenant.admin_key.key.id));
    let timeline = json(
        app.get(&format!("/api/v1/incidents/{}/timeline", paused["incident_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    let events: Vec<_> =
        timeline["timeline"].as_array().unwrap().iter().map(|e| e["event"].clone()).collect();
    assert_eq!(events, vec![json!("created"), json!("overridden")]);
}

#[tokio::test]
async fn kill_stops_the_run_and_the_agent_until_released() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "Expensive step", "rule_type": "custom", "condition": "step.cost_cents > 200.0", "action": "KILL", "severity": "critical"})).await;
    let a = app.start_run("agent-k").await;
    let b = app.start_run("agent-k").await;
    let (a_id, b_id) = (a["run"]["run_id"].as_str().unwrap(), b["run"]["run_id"].as_str().unwrap());
    let killed = app.step_ok(a_id, json!({"step_type": "llm_call", "cost_cents": 250})).await;
    assert_eq!(killed["decision"], "BLOCK");
    assert_eq!(killed["run"]["status"], "failed_policy");
    assert_eq!(killed["run"]["termination_reason"], "agent_killed");

    // The agent's other live run is stopped at its next step; it cannot start new runs.
    let other = app.step_ok(b_id, json!({"step_type": "llm_call", "cost_cents": 1})).await;
    assert_eq!(other["decision"], "BLOCK");
    assert_eq!(other["run"]["termination_reason"], "agent_killed");
    assert_eq!(other["detail"]["forced"]["violation_type"], "agent_killed");
    let refused = app.post("/api/v1/runs", &json!({"agent_id": "agent-k"})).await;
    error(refused, StatusCode::CONFLICT, "conflict").await;
    let controls = json(app.get("/api/v1/policies/controls").await, StatusCode::OK).await;
    assert_eq!(controls["killed_agents"][0]["agent_id"], "agent-k");

    let released =
        json(app.post("/api/v1/runs/agents/agent-k/release", &json!({})).await, StatusCode::OK).await;
    assert_eq!(released["released"], true);
    error(
        app.post("/api/v1/runs/agents/agent-k/release", &json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.start_run("agent-k").await;
    let incident = json(
        app.get(&format!("/api/v1/incidents/{}", killed["incident_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(incident["entity"]["severity"], "critical");
    assert_eq!(incident["entity"]["type"], "custom_rule_violated");
}

#[tokio::test]
async fn warn_records_the_violation_and_lets_the_run_go_on() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "soft", "rule_type": "cost_limit", "threshold": 10, "action": "WARN"}))
        .await;
    let run = app.start_run("agent-w").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "cost_cents": 20})).await;
    assert_eq!(res["decision"], "WARN");
    assert_eq!(res["run"]["status"], "running");
    assert!(res["incident_id"].is_null());
    let violations =
        json(app.get(&format!("/api/v1/policies/violations/?run_id={run_id}")).await, StatusCode::OK).await;
    assert_eq!(violations["items"][0]["action"], "WARN");
    assert_eq!(violations["items"][0]["enforced"], true);
}

#[tokio::test]
async fn shadow_mode_decides_and_records_but_never_blocks() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "tokens", "rule_type": "token_limit", "threshold": 100})).await;
    json(app.put("/api/v1/policies/controls", &json!({"enforcement_mode": "shadow"})).await, StatusCode::OK)
        .await;
    let run = app.start_run("agent-s").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 500})).await;
    assert_eq!(res["decision"], "ALLOW");
    assert_eq!(res["detail"]["shadow_decision"], "BLOCK");
    assert_eq!(res["detail"]["enforced"], false);
    assert_eq!(res["run"]["status"], "running");
    assert!(res["incident_id"].is_null());
    let violations =
        json(app.get(&format!("/api/v1/policies/violations/?run_id={run_id}")).await, StatusCode::OK).await;
    assert_eq!(violations["items"][0]["enforced"], false);
    let incidents = json(app.get("/api/v1/incidents/").await, StatusCode::OK).await;
    assert_eq!(incidents["pagination"]["total"], 0);
    // Replay counts a shadowed block as reproduced.
    let trace = res["run"]["trace_id"].as_str().unwrap();
    let replay =
        json(app.post(&format!("/api/v1/traces/{trace}/replay"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(replay["timeline"][0]["matches"], true);
}

#[tokio::test]
async fn model_allowlists_block_other_models() {
    let app = TestApp::spawn().await;
    app.create_policy(
        json!({"name": "models", "rule_type": "model_allowlist", "models": ["claude-sonnet-4"]}),
    )
    .await;
    let run = app.start_run("agent-m").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(app.step_ok(run_id, json!({"step_type": "tool_call"})).await["decision"], "ALLOW");
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "model": "claude-sonnet-4"})).await["decision"],
        "ALLOW"
    );
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "model": "gpt-x"})).await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["detail"]["winner"]["violation_type"], "model_not_allowed");
}

#[tokio::test]
async fn rate_limits_count_an_agents_steps_across_runs_per_window() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-11-22 10:00:05 UTC));
    app.create_policy(json!({"name": "rate", "rule_type": "rate_limit", "threshold": 3, "window_seconds": 60, "action": "WARN"})).await;
    let a = app.start_run("agent-r").await;
    let b = app.start_run("agent-r").await;
    let other = app.start_run("agent-q").await;
    let (a_id, b_id) = (a["run"]["run_id"].as_str().unwrap(), b["run"]["run_id"].as_str().unwrap());
    let step = json!({"step_type": "llm_call"});
    assert_eq!(app.step_ok(a_id, step.clone()).await["decision"], "ALLOW");
    assert_eq!(
        app.step_ok(b_id, step.clone()).await["decision"],
        "ALLOW",
        "2 of 3 is below the 80% NEAR mark"
    );
    let third = app.step_ok(a_id, step.clone()).await;
    assert_eq!(third["decision"], "WARN");
    assert_eq!(third["detail"]["winner"]["signal"], "rate");
    assert_eq!(third["detail"]["winner"]["current_value"], 3.0);
    assert_eq!(third["detail"]["winner"]["retry_after_secs"], 55);
    // Another agent has its own counter.
    assert_eq!(
        app.step_ok(other["run"]["run_id"].as_str().unwrap(), step.clone()).await["decision"],
        "ALLOW"
    );
    // A new window starts from zero.
    app.clock.advance(time::Duration::seconds(60));
    assert_eq!(app.step_ok(b_id, step.clone()).await["decision"], "ALLOW");
}

#[tokio::test]
async fn burn_rate_is_cost_per_minute_within_the_run() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-11-22 10:00:00 UTC));
    app.create_policy(json!({"name": "burn", "rule_type": "burn_rate", "threshold": 100})).await;
    let run = app.start_run("agent-b").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    app.clock.advance(time::Duration::minutes(2));
    // 150 cents over two minutes: 75 per minute (NEAR is 80).
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "cost_cents": 150})).await["decision"],
        "ALLOW"
    );
    // 250 cents over two minutes: 125 per minute.
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "cost_cents": 100})).await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["detail"]["winner"]["signal"], "burn_rate");
    assert_eq!(res["detail"]["winner"]["current_value"], 125.0);
}
