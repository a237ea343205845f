//! The seed scenario (seed 000 §3, §6) end to end: a token limit of 10,000, a run whose third
//! step breaches it, and every linked record the breach leaves behind.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn a_breach_stops_the_run_at_the_exact_step_and_links_everything() {
    let app = TestApp::spawn().await;
    let policy = app
        .create_policy(json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000}))
        .await;
    let started = app.start_run("AGT-001").await;
    let run_id = started["run"]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(started["run"]["status"], "running");
    assert_eq!(started["policy_snapshot"]["policy_count"], 1);
    assert_eq!(started["run"]["policy_snapshot_hash"], started["policy_snapshot"]["content_hash"]);

    let s1 = app.step_ok(&run_id, json!({"step_type": "input", "input_tokens": 2000})).await;
    assert_eq!(s1["decision"], "ALLOW");
    assert_eq!(s1["step"]["step_index"], 1);
    let s2 = app
        .step_ok(&run_id, json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"}))
        .await;
    assert_eq!(s2["decision"], "ALLOW");
    let s3 = app
        .step_ok(&run_id, json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}))
        .await;
    assert_eq!(s3["decision"], "BLOCK");
    let winner = &s3["detail"]["winner"];
    assert_eq!(winner["policy_id"], policy.as_str());
    assert_eq!(winner["signal"], "tokens");
    assert_eq!(winner["current_value"], 15000.0);
    assert_eq!(winner["limit"], 10000.0);
    assert_eq!(winner["level"], "BREACH");
    assert_eq!(winner["action"], "STOP");
    assert_eq!(winner["scope_type"], "ALL_RUNS");
    assert!(winner["precedence_chain"].as_array().is_some_and(|c| !c.is_empty()));
    let incident_id = s3["incident_id"].as_str().unwrap().to_owned();

    // The run: failed_policy, stopped at step 3 by the policy.
    let run = &s3["run"];
    assert_eq!(run["status"], "failed_policy");
    assert_eq!(run["termination_reason"], "policy_block");
    assert_eq!(run["stopped_at_step"], 3);
    assert_eq!(run["violation_policy_id"], policy.as_str());
    assert_eq!(run["tokens_used"], 15000);
    assert_eq!(run["incident_id"], incident_id.as_str());

    // A stopped run takes no more steps, and the refusal changes nothing.
    let s4 = app.step(&run_id, json!({"step_type": "violation", "tokens": 1})).await;
    error(s4, StatusCode::CONFLICT, "conflict").await;

    // Incidents/Active: linked to run and policy.
    let incident = json(app.get(&format!("/api/v1/incidents/{incident_id}")).await, StatusCode::OK).await;
    let incident = &incident["entity"];
    assert_eq!(incident["source_run_id"], run_id.as_str());
    assert_eq!(incident["policy_id"], policy.as_str());
    assert_eq!(incident["severity"], "high");
    assert_eq!(incident["type"], "token_limit_exceeded");
    assert_eq!(incident["status"], "active");
    let active = json(app.get("/api/v1/incidents/active").await, StatusCode::OK).await;
    assert_eq!(active["pagination"]["total"], 1);
    let by_policy = json(app.get(&format!("/api/v1/incidents/policy/{policy}")).await, StatusCode::OK).await;
    assert_eq!(by_policy["items"][0]["incident_id"], incident_id.as_str());

    // Policies/Active: the violation is counted.
    let p = json(app.get(&format!("/api/v1/policies/{policy}")).await, StatusCode::OK).await;
    assert_eq!(p["entity"]["violation_count"], 1);
    assert_eq!(p["entity"]["incident_count"], 1);
    let violations =
        json(app.get(&format!("/api/v1/policies/violations/?run_id={run_id}")).await, StatusCode::OK).await;
    assert_eq!(violations["pagination"]["total"], 1);
    assert_eq!(violations["items"][0]["step_index"], 3);
    assert_eq!(violations["items"][0]["incident_id"], incident_id.as_str());
    assert_eq!(violations["items"][0]["enforced"], true);

    // Logs/LLM Runs: the trace with its inflection point at step 3, chain intact.
    let trace_id = run["trace_id"].as_str().unwrap();
    let trace = json(app.get(&format!("/api/v1/traces/{trace_id}")).await, StatusCode::OK).await;
    let t = &trace["entity"];
    assert_eq!(t["run_id"], run_id.as_str());
    assert_eq!(t["incident_id"], incident_id.as_str());
    assert_eq!(t["violation_step_index"], 3);
    assert_eq!(t["violation_policy_id"], policy.as_str());
    assert!(t["violation_reason"].as_str().unwrap().contains("10000"));
    assert_eq!(t["status"], "failed_policy");
    assert_eq!(t["step_count"], 3);
    assert_eq!(t["integrity"]["verified"], true, "{t}");
    let llm_runs =
        json(app.get(&format!("/api/v1/logs/llm-runs?run_id={run_id}")).await, StatusCode::OK).await;
    assert_eq!(llm_runs["items"][0]["trace_id"], trace_id);
    let steps = json(app.get(&format!("/api/v1/traces/{trace_id}/steps")).await, StatusCode::OK).await;
    let decisions: Vec<_> =
        steps["items"].as_array().unwrap().iter().map(|s| s["decision"].clone()).collect();
    assert_eq!(decisions, vec![json!("ALLOW"), json!("ALLOW"), json!("BLOCK")]);

    // Replay reproduces the verdict at the same inflection point.
    let replay =
        json(app.post(&format!("/api/v1/traces/{trace_id}/replay"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(replay["verdict_reproduces"], true, "{replay}");
    assert_eq!(replay["inflection_point"]["step_index"], 3);
    assert_eq!(replay["replayed_inflection_point"]["step_index"], 3);
    assert_eq!(replay["timeline"].as_array().unwrap().len(), 3);
    assert_eq!(replay["timeline"][2]["cumulative_tokens"], 15000);

    // Analytics/Cost: attributed to the run, per model.
    let costs =
        json(app.get(&format!("/api/v1/analytics/costs?run_id={run_id}")).await, StatusCode::OK).await;
    let models: Vec<_> = costs["items"].as_array().unwrap().iter().map(|c| c["model"].clone()).collect();
    assert!(models.contains(&json!("claude-sonnet-4")), "{costs}");
    let total: f64 =
        costs["items"].as_array().unwrap().iter().map(|c| c["cost_cents"].as_f64().unwrap()).sum();
    assert_eq!(total, 450.0);

    // Activity/Completed, with everything linked in its detail.
    let completed = json(app.get("/api/v1/activity/completed").await, StatusCode::OK).await;
    assert_eq!(completed["items"][0]["run_id"], run_id.as_str());
    let live = json(app.get("/api/v1/activity/live").await, StatusCode::OK).await;
    assert_eq!(live["pagination"]["total"], 0);
    let detail = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["incident"]["incident_id"], incident_id.as_str());
    assert_eq!(detail["entity"]["trace"]["trace_id"], trace_id);
    assert!(!detail["entity"]["costs"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn near_is_signalled_once_per_policy_per_run() {
    let app = TestApp::spawn().await;
    let policy =
        app.create_policy(json!({"name": "tokens", "rule_type": "token_limit", "threshold": 10000})).await;
    let run = app.start_run("agent-near").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 5000})).await["decision"],
        "ALLOW"
    );
    let near = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 3500})).await;
    assert_eq!(near["decision"], "WARN");
    assert_eq!(near["detail"]["near"][0]["level"], "NEAR");
    assert_eq!(near["detail"]["near"][0]["policy_id"], policy.as_str());
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 500})).await["decision"],
        "ALLOW"
    );
    let signals =
        json(app.get(&format!("/api/v1/activity/signals?run_id={run_id}")).await, StatusCode::OK).await;
    assert_eq!(signals["pagination"]["total"], 1, "{signals}");
    assert_eq!(signals["items"][0]["signal_type"], "NEAR");
    assert_eq!(signals["items"][0]["step_index"], 2);
    assert_eq!(signals["items"][0]["percentage"], 85.0);
}

#[tokio::test]
async fn runs_complete_with_costs_attributed_and_the_trace_finalised() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-ok").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    for model in ["m-a", "m-b", "m-a"] {
        app.step_ok(run_id, json!({"step_type": "llm_call", "input_tokens": 10, "output_tokens": 5, "cost_cents": 1.25, "model": model})).await;
    }
    let done = json(
        app.post(&format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "succeeded"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["termination_reason"], "completed");
    let again = app.post(&format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "succeeded"})).await;
    error(again, StatusCode::CONFLICT, "conflict").await;
    let costs =
        json(app.get(&format!("/api/v1/analytics/costs?run_id={run_id}")).await, StatusCode::OK).await;
    let mut rows: Vec<(String, i64, f64)> = costs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["model"].as_str().unwrap().to_owned(),
                c["step_count"].as_i64().unwrap(),
                c["cost_cents"].as_f64().unwrap(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, vec![("m-a".to_owned(), 2, 2.5), ("m-b".to_owned(), 1, 1.25)]);
    let trace = json(
        app.get(&format!("/api/v1/traces/{}", done["trace_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(trace["entity"]["status"], "succeeded");
    assert_eq!(trace["entity"]["integrity"]["verified"], true);

    let other = app.start_run("agent-ok").await;
    let other_id = other["run"]["run_id"].as_str().unwrap();
    let cancelled =
        json(app.post(&format!("/api/v1/runs/{other_id}/cancel"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
    error(app.step(other_id, json!({"step_type": "x"})).await, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn a_pre_check_answers_without_recording() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "tokens", "rule_type": "token_limit", "threshold": 100})).await;
    let run = app.start_run("agent-check").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let check = json(
        app.post(
            &format!("/api/v1/runs/{run_id}/steps/check"),
            &json!({"step_type": "llm_call", "tokens": 150}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(check["decision"], "BLOCK");
    assert_eq!(check["run_status"], "running");
    let after = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(after["entity"]["step_count"], 0);
    assert_eq!(after["entity"]["status"], "running");
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 50})).await["decision"],
        "ALLOW"
    );
}

#[tokio::test]
async fn gov_demo_reproduces_the_seed_scenario_with_linked_ids() {
    let app = TestApp::spawn().await;
    let (base, key) = (app.base.clone(), app.admin_key.clone());
    let report = tokio::task::spawn_blocking(move || gov_api::demo::run(&base, &key)).await.unwrap().unwrap();
    assert_eq!(report.run_status, "failed_policy");
    assert_eq!(report.stopped_at_step, 3);
    assert_eq!(report.inflection_step, 3);
    assert_eq!(report.incident_type, "token_limit_exceeded");
    assert_eq!(report.tokens_used, 15000);
    assert_eq!(report.cost_cents, 450.0);
    assert!(report.chain_verified);
    let table = gov_api::demo::table(&report);
    for panel in
        ["Activity/Completed", "Incidents/Active", "Policies/Active", "Logs/LLM Runs", "Analytics/Cost"]
    {
        assert!(table.contains(panel), "{table}");
    }
    assert!(table.contains(&report.incident_id) && table.contains(&report.trace_id));
}
