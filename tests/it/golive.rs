//! Go-live and the kill switch: state, audited toggles, enforcement, and stopping agents.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn every_tenant_starts_not_live_with_the_seed_levers() {
    let app = TestApp::spawn().await;
    let state = json(app.get("/api/governance/go-live/state").await, StatusCode::OK).await;
    assert_eq!(state["go_live_enabled"], false);
    assert_eq!(state["kill_switch_engaged"], false);
    let risk = json(app.get("/api/governance/risk/policies").await, StatusCode::OK).await;
    let engines: Vec<_> = risk.as_array().unwrap().iter().map(|p| p["engine"].clone()).collect();
    assert_eq!(engines, vec![json!("CAPITAL"), json!("GLOBAL"), json!("NOTIFY"), json!("WHOLESALE")]);
    let global = risk.as_array().unwrap().iter().find(|p| p["engine"] == "GLOBAL").unwrap();
    assert_eq!(
        (global["max_daily_loss"].as_f64(), global["max_daily_exposure"].as_f64()),
        (Some(250.0), Some(1500.0))
    );
    let checklist = json(app.get("/api/governance/go-live/checklist").await, StatusCode::OK).await;
    assert_eq!(checklist["ready"], false);
}

#[tokio::test]
async fn toggles_need_admin_a_reason_and_are_audited() {
    let app = TestApp::spawn().await;
    let read = app.key_with_scopes(&["read", "write"]);
    let refused =
        app.request(Method::POST, "/api/governance/go-live/enable", &read).json(&json!({"reason": "x"}));
    error(refused.send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    error(
        app.post("/api/governance/go-live/enable", &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // Form bodies, as the seed's curl commands send them.
    let enabled = app
        .request(Method::POST, "/api/governance/go-live/enable", &app.admin_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("actor=ops&reason=launch")
        .send()
        .await
        .unwrap();
    let enabled = json(enabled, StatusCode::OK).await;
    assert_eq!(enabled["go_live_enabled"], true);
    assert_eq!(enabled["changed_by"], "ops");
    let logs = json(app.get("/api/v1/logs/audit?action=go_live.enabled").await, StatusCode::OK).await;
    assert_eq!(logs["items"][0]["details"]["reason"], "launch");
}

#[tokio::test]
async fn with_enforcement_a_tenant_that_is_not_live_is_refused_guarded_requests() {
    let app = TestApp::spawn_enforcing_go_live().await;
    let refused = app.post("/api/v1/runs", &json!({"agent_id": "a"})).await;
    error(refused, StatusCode::FORBIDDEN, "go_live_disabled").await;
    let policy = app
        .post("/api/v1/policies/rules/", &json!({"name": "t", "rule_type": "step_limit", "threshold": 5}))
        .await;
    error(policy, StatusCode::FORBIDDEN, "go_live_disabled").await;
    // Exempt: reads, identity administration and the levers themselves.
    json(app.get("/api/v1/activity/").await, StatusCode::OK).await;
    json(
        app.post("/api/v1/connectivity/api-keys/", &json!({"name": "k", "scopes": ["read"]})).await,
        StatusCode::CREATED,
    )
    .await;
    json(app.post("/api/governance/go-live/enable", &json!({"reason": "ready"})).await, StatusCode::OK).await;
    app.start_run("a").await;
    // Another tenant is not live just because this one is.
    let b = app.create_tenant("tenant-b").admin_key.secret;
    let res =
        app.request(Method::POST, "/api/v1/runs", &b).json(&json!({"agent_id": "a"})).send().await.unwrap();
    error(res, StatusCode::FORBIDDEN, "go_live_disabled").await;
}

#[tokio::test]
async fn the_kill_switch_stops_every_run_at_its_next_step_and_refuses_new_ones() {
    let app = TestApp::spawn().await;
    let a = app.start_run("agent-1").await;
    let b = app.start_run("agent-2").await;
    let (a_id, b_id) = (a["run"]["run_id"].as_str().unwrap(), b["run"]["run_id"].as_str().unwrap());
    app.step_ok(a_id, json!({"step_type": "llm_call", "tokens": 5})).await;
    json(
        app.post(
            "/api/governance/go-live/kill-switch/engage",
            &json!({"actor": "emergency", "reason": "critical_issue"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    for run_id in [a_id, b_id] {
        let res = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 5})).await;
        assert_eq!(res["decision"], "BLOCK");
        assert_eq!(res["run"]["status"], "failed_policy");
        assert_eq!(res["run"]["termination_reason"], "kill_switch");
        assert!(res["detail"]["reason"].as_str().unwrap().contains("kill switch"));
        let incident = json(
            app.get(&format!("/api/v1/incidents/{}", res["incident_id"].as_str().unwrap())).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(incident["entity"]["type"], "kill_switch_engaged");
        assert!(incident["entity"]["description"].as_str().unwrap().contains("critical_issue"));
    }
    let refused = app.post("/api/v1/runs", &json!({"agent_id": "agent-3"})).await;
    error(refused, StatusCode::CONFLICT, "kill_switch_engaged").await;
    let reserve = app
        .post("/api/governance/risk/check-and-reserve", &json!({"engine": "WHOLESALE", "amount": 1}))
        .await;
    error(reserve, StatusCode::CONFLICT, "kill_switch_engaged").await;

    json(
        app.post("/api/governance/go-live/kill-switch/release", &json!({"reason": "fixed"})).await,
        StatusCode::OK,
    )
    .await;
    app.start_run("agent-3").await;
}

#[tokio::test]
async fn an_unreadable_go_live_state_refuses_guarded_requests_with_503() {
    // Production executions always need the state (the kill switch); other guarded requests need
    // it only when go-live is enforced.
    for enforcing in [false, true] {
        let app = if enforcing { TestApp::spawn_enforcing_go_live().await } else { TestApp::spawn().await };
        let policy = |n: usize| json!({"name": format!("t{n}"), "rule_type": "step_limit", "threshold": 5});
        let guarded = |status: StatusCode| if enforcing { StatusCode::SERVICE_UNAVAILABLE } else { status };
        // The tenant's row is missing, then the table.
        for (n, sql) in ["DELETE FROM go_live_state", "DROP TABLE go_live_state"].into_iter().enumerate() {
            crate::helpers::raw_execute(app.db_url(), sql).unwrap();
            let refused = app.post("/api/v1/runs", &json!({"agent_id": "a"})).await;
            error(refused, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
            let reserve = json!({"engine": "GLOBAL", "amount": 1, "actor": "a", "reason": "r", "correlation_id": format!("c{n}")});
            let refused = app.post("/api/governance/risk/check-and-reserve", &reserve).await;
            error(refused, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
            let created = app.post("/api/v1/policies/rules/", &policy(n)).await;
            assert_eq!(created.status(), guarded(StatusCode::CREATED), "enforcing: {enforcing}");
        }
        // Exempt requests do not need the state.
        json(app.get("/api/v1/activity/").await, StatusCode::OK).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn once_the_kill_switch_is_acknowledged_no_replica_grants_anything() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let reserve = |i: usize| {
        let body = json!({"engine": "WHOLESALE", "amount": 1, "actor": "deal_engine", "reason": "r", "correlation_id": format!("k{i}")});
        app.client
            .post(replica.url("/api/governance/risk/check-and-reserve"))
            .bearer_auth(&app.admin_key)
            .json(&body)
            .send()
    };
    // The replica has just read the state (released): whatever it keeps, it has it fresh.
    assert_eq!(json(reserve(0).await.unwrap(), StatusCode::OK).await["ok"], true);
    json(
        app.post(
            "/api/governance/go-live/kill-switch/engage",
            &json!({"actor": "ops", "reason": "incident 7"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for i in 1..=20 {
        let refused = error(reserve(i).await.unwrap(), StatusCode::CONFLICT, "kill_switch_engaged").await;
        assert!(refused["error"]["message"].as_str().unwrap().contains("incident 7"), "{refused}");
    }
    let run = app
        .client
        .post(replica.url("/api/v1/runs"))
        .bearer_auth(&app.admin_key)
        .json(&json!({"agent_id": "a"}));
    error(run.send().await.unwrap(), StatusCode::CONFLICT, "kill_switch_engaged").await;
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let wholesale =
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == "WHOLESALE").unwrap().clone();
    assert_eq!(
        (wholesale["actions_count"].as_i64(), wholesale["exposure_used"].as_f64()),
        (Some(1), Some(1.0))
    );
    assert_eq!(ledger["reservations"], 1);

    // Released on one replica: the other grants again at once.
    json(
        app.post("/api/governance/go-live/kill-switch/release", &json!({"reason": "resolved"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(json(reserve(21).await.unwrap(), StatusCode::OK).await["ok"], true);
}
