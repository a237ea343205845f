//! Policy rules: versions, validation (CEL with positions), scopes, conflicts, limits, controls.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn editing_makes_a_new_version_and_old_versions_stay_readable() {
    let app = TestApp::spawn().await;
    let id = app.create_policy(json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 500})).await;
    // A run started now is governed by version 1, whatever happens to the policy later.
    let early = app.start_run("agent-v").await;
    let updated = json(
        app.put(
            &format!("/api/v1/policies/{id}"),
            &json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 50}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["entity"]["version"], 2);
    assert_eq!(updated["entity"]["threshold"], 50.0);
    let v1 = json(app.get(&format!("/api/v1/policies/{id}?version=1")).await, StatusCode::OK).await;
    assert_eq!(v1["entity"]["threshold"], 500.0);
    assert_eq!(v1["entity"]["version"], 1);
    let versions = json(app.get(&format!("/api/v1/policies/{id}/versions")).await, StatusCode::OK).await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    error(app.get(&format!("/api/v1/policies/{id}?version=9")).await, StatusCode::NOT_FOUND, "not_found")
        .await;

    let early_id = early["run"]["run_id"].as_str().unwrap();
    assert_eq!(
        app.step_ok(early_id, json!({"step_type": "llm_call", "cost_cents": 100})).await["decision"],
        "ALLOW"
    );
    let late = app.start_run("agent-v").await;
    let late_id = late["run"]["run_id"].as_str().unwrap();
    assert_eq!(
        app.step_ok(late_id, json!({"step_type": "llm_call", "cost_cents": 100})).await["decision"],
        "BLOCK"
    );

    // DELETE archives: readable, applied to no new run, not editable.
    let archived = json(
        app.request(Method::DELETE, &format!("/api/v1/policies/{id}"), &app.admin_key).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(archived["entity"]["status"], "archived");
    let fresh = app.start_run("agent-v").await;
    assert_eq!(fresh["policy_snapshot"]["policy_count"], 0);
    let edit = app
        .put(
            &format!("/api/v1/policies/rules/{id}"),
            &json!({"name": "B", "rule_type": "cost_limit", "threshold": 5}),
        )
        .await;
    error(edit, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn invalid_cel_is_refused_with_its_position() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let bad = json!({"name": "c", "rule_type": "custom", "condition": "step.tokens >"});
    let res = app.post("/api/v1/policies/rules/", &bad).await;
    let body = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let first = &body["error"]["details"]["errors"][0];
    assert_eq!(first["field"], "condition");
    assert!(first["position"]["line"].is_number() && first["position"]["column"].is_number(), "{body}");

    let validated = app.post("/api/v1/policies/validate", &bad).await;
    let body = error(validated, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["error"]["details"]["errors"][0]["position"].is_object(), "{body}");

    let unknown = json!({"name": "c", "rule_type": "custom", "condition": "run.secret > 1"});
    error(
        app.post("/api/v1/policies/validate", &unknown).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let good = json!({"name": "c", "rule_type": "custom", "condition": "step.tokens > 100 && run.total_cost_cents > 5.0"});
    let ok = json(app.post("/api/v1/policies/validate", &good).await, StatusCode::OK).await;
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["policy"]["action"], "STOP");
    assert_eq!(app.audit_count(), before, "validation saves nothing");
}

#[tokio::test]
async fn malformed_policies_are_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    for body in [
        json!({"name": "x", "rule_type": "token_limit"}),
        json!({"name": "x", "rule_type": "token_limit", "threshold": -5}),
        json!({"name": "x", "rule_type": "rate_limit", "threshold": 5}),
        json!({"name": "x", "rule_type": "model_allowlist", "models": []}),
        json!({"name": "x", "rule_type": "token_limit", "threshold": 5, "action": "NUKE"}),
        json!({"name": "x", "rule_type": "token_limit", "threshold": 5, "scope": {"scope_type": "AGENT"}}),
        json!({"name": "x", "rule_type": "token_limit", "threshold": 5, "near_threshold_pct": 120}),
        json!({"name": "x", "rule_type": "teleport", "threshold": 5}),
        json!({"name": "", "rule_type": "token_limit", "threshold": 5}),
    ] {
        let res = app.post("/api/v1/policies/rules/", &body).await;
        error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let list = json(app.get("/api/v1/policies/").await, StatusCode::OK).await;
    assert_eq!(list["pagination"]["total"], 0);
    assert_eq!(app.audit_count(), before);
}

#[tokio::test]
async fn scopes_choose_the_runs_a_policy_governs() {
    let app = TestApp::spawn().await;
    let tight = json!({"step_type": "llm_call", "tokens": 50});
    app.create_policy(json!({"name": "a", "rule_type": "token_limit", "threshold": 10, "scope": {"scope_type": "AGENT", "agent_ids": ["agent-x"]}})).await;
    app.create_policy(json!({"name": "h", "rule_type": "token_limit", "threshold": 10, "scope": {"scope_type": "HUMAN_ACTOR", "human_actor_ids": ["alice"]}})).await;
    let x = app.start_run("agent-x").await;
    assert_eq!(x["policy_snapshot"]["policy_count"], 1);
    assert_eq!(app.step_ok(x["run"]["run_id"].as_str().unwrap(), tight.clone()).await["decision"], "BLOCK");
    let y = app.start_run("agent-y").await;
    assert_eq!(y["policy_snapshot"]["policy_count"], 0);
    assert_eq!(app.step_ok(y["run"]["run_id"].as_str().unwrap(), tight.clone()).await["decision"], "ALLOW");
    let alice = json(
        app.post("/api/v1/runs", &json!({"agent_id": "agent-y", "human_actor_id": "alice"})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(alice["policy_snapshot"]["policy_count"], 1);

    // API_KEY scope: only runs started with that key.
    let ingest = app.key_with_scopes(&["ingest", "read"]);
    let me =
        json(app.request(Method::GET, "/api/v1/accounts/", &ingest).send().await.unwrap(), StatusCode::OK)
            .await;
    let key_id = me["entity"]["api_key_id"].as_str().unwrap();
    app.create_policy(json!({"name": "k", "rule_type": "step_limit", "threshold": 1, "scope": {"scope_type": "API_KEY", "api_key_ids": [key_id]}})).await;
    let by_key = json(
        app.request(Method::POST, "/api/v1/runs", &ingest)
            .json(&json!({"agent_id": "agent-z"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(by_key["policy_snapshot"]["policy_count"], 1);
    assert_eq!(app.start_run("agent-z").await["policy_snapshot"]["policy_count"], 0);
}

#[tokio::test]
async fn conflicting_policies_are_arbitrated_by_the_tenant_strategy() {
    let app = TestApp::spawn().await;
    let loose = app.create_policy(json!({"name": "loose", "rule_type": "token_limit", "threshold": 1000, "action": "STOP", "priority": 10})).await;
    let tight = app.create_policy(json!({"name": "tight", "rule_type": "token_limit", "threshold": 500, "action": "WARN", "priority": 20})).await;
    let step = json!({"step_type": "llm_call", "tokens": 600});

    // MOST_RESTRICTIVE (default): the smallest limit with the harshest action.
    let run = app.start_run("agent-c").await;
    let res = app.step_ok(run["run"]["run_id"].as_str().unwrap(), step.clone()).await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["detail"]["winner"]["policy_id"], tight.as_str());
    assert_eq!(res["detail"]["winner"]["limit"], 500.0);
    assert_eq!(res["detail"]["winner"]["action"], "STOP");
    assert_eq!(res["detail"]["winner"]["precedence_chain"].as_array().unwrap().len(), 2);

    // EXPLICIT_PRIORITY: the higher precedence (lower number) wins outright.
    json(
        app.put("/api/v1/policies/controls", &json!({"conflict_strategy": "EXPLICIT_PRIORITY"})).await,
        StatusCode::OK,
    )
    .await;
    let run = app.start_run("agent-c").await;
    let res = app.step_ok(run["run"]["run_id"].as_str().unwrap(), step.clone()).await;
    assert_eq!(res["decision"], "ALLOW", "the loose policy outranks the tight one: {res}");
    let res = app
        .step_ok(run["run"]["run_id"].as_str().unwrap(), json!({"step_type": "llm_call", "tokens": 500}))
        .await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["detail"]["winner"]["policy_id"], loose.as_str());
}

#[tokio::test]
async fn limits_add_to_a_policy_and_version_it() {
    let app = TestApp::spawn().await;
    let id =
        app.create_policy(json!({"name": "Budget", "rule_type": "token_limit", "threshold": 100000})).await;
    let limit = json(
        app.post(
            "/api/v1/policies/limits/",
            &json!({"policy_id": id, "limit_type": "step_limit", "value": 2}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let limit_id = limit["entity"]["limit_id"].as_str().unwrap();
    assert_eq!(limit["entity"]["scope"], "RUN");
    let policy = json(app.get(&format!("/api/v1/policies/{id}")).await, StatusCode::OK).await;
    assert_eq!(policy["entity"]["version"], 2);
    let run = app.start_run("agent-l").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(app.step_ok(run_id, json!({"step_type": "a"})).await["decision"], "ALLOW");
    let blocked = app.step_ok(run_id, json!({"step_type": "b"})).await;
    assert_eq!(blocked["decision"], "BLOCK");
    assert_eq!(blocked["detail"]["winner"]["signal"], "steps");
    assert_eq!(blocked["detail"]["winner"]["policy_id"], id.as_str());

    let bad = app
        .post("/api/v1/policies/limits/", &json!({"policy_id": id, "limit_type": "custom", "value": 2}))
        .await;
    error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let updated = json(
        app.put(&format!("/api/v1/policies/limits/{limit_id}"), &json!({"value": 5})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["entity"]["value"], 5.0);
    let removed = app
        .request(Method::DELETE, &format!("/api/v1/policies/limits/{limit_id}"), &app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let policy = json(app.get(&format!("/api/v1/policies/{id}")).await, StatusCode::OK).await;
    assert_eq!(policy["entity"]["version"], 4);
    let v2 = json(app.get(&format!("/api/v1/policies/{id}?version=2")).await, StatusCode::OK).await;
    assert_eq!(v2["entity"]["limits"][0]["value"], 2.0);
}

#[tokio::test]
async fn the_library_and_controls_are_served() {
    let app = TestApp::spawn().await;
    let library = json(app.get("/api/v1/policies/library").await, StatusCode::OK).await;
    let first = &library["items"][0];
    assert_eq!(first["template_id"], "POL-001");
    assert_eq!(first["policy"]["rule_type"], "token_limit");
    assert_eq!(first["policy"]["threshold"], 10000.0);
    let controls = json(app.get("/api/v1/policies/controls").await, StatusCode::OK).await;
    assert_eq!(controls["enforcement_mode"], "enforce");
    assert_eq!(controls["conflict_strategy"], "MOST_RESTRICTIVE");
    assert_eq!(controls["near_threshold_pct"], 80.0);
    error(
        app.put("/api/v1/policies/controls", &json!({"enforcement_mode": "yolo"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let write = app.key_with_scopes(&["write"]);
    let res = app
        .request(Method::PUT, "/api/v1/policies/controls", &write)
        .json(&json!({"enforcement_mode": "shadow"}))
        .send()
        .await
        .unwrap();
    error(res, StatusCode::FORBIDDEN, "forbidden").await;
}
