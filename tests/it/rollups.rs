//! The hourly rollups Analytics and the Overview read: whatever a range's whole hours read from the
//! rollups equals what the rows say (a ragged range that holds the same rows answers the same),
//! and rebuilding the rollups from the rows changes no answer.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::helpers::{TestApp, json, raw_count, raw_execute};

async fn get(app: &TestApp, path: &str) -> Value {
    json(app.get(path).await, StatusCode::OK).await
}

/// The seed scenario's run with 10 s between steps: stopped at step 3, 30 s after its start.
async fn stopped_run(app: &TestApp) -> String {
    app.create_policy(json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000}))
        .await;
    let run = app.start_run("AGT-001").await["run"]["run_id"].as_str().unwrap().to_owned();
    let steps = [
        json!({"step_type": "input", "input_tokens": 2000}),
        json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"}),
        json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}),
    ];
    let mut last = Value::Null;
    for step in steps {
        app.clock.advance(time::Duration::seconds(10));
        last = app.step_ok(&run, step).await;
    }
    last["incident_id"].as_str().unwrap().to_owned()
}

/// Runs over three hours: the seed scenario's stopped run at 10:00 (its incident answered at
/// 10:45), two finished runs at 11:xx with two models, a cancelled one at 12:xx and one still
/// running.
async fn spread(app: &TestApp) {
    app.clock.set(datetime!(2026-01-20 10:00 UTC));
    let incident = stopped_run(app).await;
    app.clock.set(datetime!(2026-01-20 10:45 UTC));
    let ack = app.post(&format!("/api/v1/incidents/{incident}/acknowledge"), &json!({})).await;
    json(ack, StatusCode::OK).await;
    for (i, agent) in ["AGT-002", "AGT-003"].into_iter().enumerate() {
        app.clock.set(datetime!(2026-01-20 11:05 UTC) + time::Duration::minutes(10 * i as i64));
        let run = app.start_run(agent).await["run"]["run_id"].as_str().unwrap().to_owned();
        for model in ["gpt-4o", "claude-haiku-4"] {
            app.clock.advance(time::Duration::seconds(30));
            app.step_ok(&run, json!({"step_type": "llm_call", "input_tokens": 10, "output_tokens": 20, "cost_cents": 3, "model": model}))
                .await;
        }
        app.clock.advance(time::Duration::seconds(95));
        let done = app.post(&format!("/api/v1/runs/{run}/complete"), &json!({"status": "succeeded"})).await;
        json(done, StatusCode::OK).await;
    }
    app.clock.set(datetime!(2026-01-20 12:10 UTC));
    let cancelled = app.start_run("AGT-002").await["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&cancelled, json!({"step_type": "tool_call", "cost_cents": 1})).await;
    app.clock.set(datetime!(2026-01-20 12:20 UTC));
    json(app.post(&format!("/api/v1/runs/{cancelled}/cancel"), &json!({})).await, StatusCode::OK).await;
    let live = app.start_run("AGT-003").await["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&live, json!({"step_type": "llm_call", "input_tokens": 5, "output_tokens": 5, "cost_cents": 2, "model": "gpt-4o"}))
        .await;
    app.clock.set(datetime!(2026-01-20 13:30 UTC));
}

/// The parts of each analytics answer that must not depend on how the range was cut.
fn figures(cost: &Value, usage: &Value, productivity: &Value, incidents: &Value) -> Value {
    let policies: Vec<Value> = usage["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["policy_id"],
                p["runs"],
                p["evaluations"],
                p["near"],
                p["breach"],
                p["blocks"],
                p["incidents"],
                p["last_triggered"]
            ])
        })
        .collect();
    json!({
        "total": cost["total_cost_cents"],
        "tokens": cost["total_tokens"],
        "by_model": cost["by_model"],
        "by_agent": cost["by_agent"],
        "top_runs": cost["top_runs"],
        "stopped": cost["cost_stopped"],
        "policies": policies,
        "productivity": productivity["total"],
        "by_agent_runs": productivity["by_agent"],
        "incidents": [
            incidents["total"], incidents["by_status"], incidents["by_severity"], incidents["by_type"],
            incidents["acknowledged_count"], incidents["mean_time_to_acknowledge_seconds"],
            incidents["resolved_count"], incidents["mean_time_to_resolve_seconds"],
        ],
    })
}

async fn analytics(app: &TestApp, range: &str) -> Value {
    let cost = get(app, &format!("/api/v1/analytics/cost-intelligence?{range}")).await;
    let usage = get(app, &format!("/api/v1/analytics/policies-usage?{range}")).await;
    let productivity = get(app, &format!("/api/v1/analytics/productivity?{range}")).await;
    let stats_range = range.replace("&bucket=hour", "");
    let incidents = get(app, &format!("/api/v1/incidents/stats?{stats_range}")).await;
    figures(&cost, &usage, &productivity, &incidents)
}

#[tokio::test]
async fn whole_hours_from_the_rollups_answer_what_the_rows_say() {
    let app = TestApp::spawn().await;
    spread(&app).await;
    // Whole hours (rollups for 10:00-13:00, rows for the running run) against a range cut a
    // second into the first and last hour: all from the rows there, the same runs inside.
    let whole = analytics(&app, "from=2026-01-20T10:00:00Z&to=2026-01-20T14:00:00Z&bucket=hour").await;
    let ragged = analytics(&app, "from=2026-01-20T09:59:59Z&to=2026-01-20T13:59:59Z&bucket=hour").await;
    assert_eq!(whole, ragged);
    let raw = analytics(&app, "from=2026-01-20T09:59:59Z&to=2026-01-20T10:59:59Z&bucket=hour").await;
    assert!(raw["stopped"]["runs"] == 1, "the stopped run is in the first hour: {raw}");

    assert_eq!(whole["productivity"]["runs"], 5, "{whole}");
    assert_eq!(whole["productivity"]["completed"], 2);
    assert_eq!(whole["productivity"]["stopped"], 1);
    assert_eq!(whole["productivity"]["cancelled"], 1);
    assert_eq!(whole["productivity"]["in_progress"], 1);
    let by_model = whole["by_model"].as_array().unwrap();
    let gpt = by_model.iter().find(|m| m["key"] == "gpt-4o").unwrap();
    assert_eq!((gpt["cost_cents"].as_f64(), gpt["runs"].as_i64()), (Some(6.0), Some(2)), "{by_model:?}");
    let agt2 = whole["by_agent"].as_array().unwrap().iter().find(|a| a["key"] == "AGT-002").unwrap().clone();
    assert_eq!(
        (agt2["cost_cents"].as_f64(), agt2["runs"].as_i64()),
        (Some(7.0), Some(2)),
        "a run counts once: {agt2}"
    );
    // The stopping incident (opened 10:00:30, acknowledged 10:45) counts once, in its new status.
    assert_eq!(whole["incidents"][0], 1, "{whole}");
    assert_eq!(whole["incidents"][1]["acknowledged"], 1);
    assert_eq!(whole["incidents"][1]["active"], 0);
    assert_eq!(whole["incidents"][5], 2_670.0);

    // Transitions move the incident between the rollups' groups: escalated (its severity up),
    // then resolved; whole hours and ragged ends still agree.
    let incident =
        get(&app, "/api/v1/incidents/").await["items"][0]["incident_id"].as_str().unwrap().to_owned();
    app.clock.set(datetime!(2026-01-20 13:40 UTC));
    for action in ["escalate", "resolve"] {
        let res = app.post(&format!("/api/v1/incidents/{incident}/{action}"), &json!({})).await;
        json(res, StatusCode::OK).await;
    }
    let whole = analytics(&app, "from=2026-01-20T10:00:00Z&to=2026-01-20T14:00:00Z&bucket=hour").await;
    let ragged = analytics(&app, "from=2026-01-20T09:59:59Z&to=2026-01-20T13:59:59Z&bucket=hour").await;
    assert_eq!(whole, ragged);
    assert_eq!(whole["incidents"][0], 1, "{whole}");
    assert_eq!(whole["incidents"][1]["resolved"], 1);
    assert_eq!(whole["incidents"][1]["acknowledged"], 0);
    assert_eq!(whole["incidents"][2]["critical"], 1, "escalated from high: {whole}");
    assert_eq!((whole["incidents"][4].clone(), whole["incidents"][6].clone()), (json!(1), json!(1)));
    assert_eq!(whole["incidents"][7], 13_170.0);
}

#[tokio::test]
async fn rebuilding_the_rollups_changes_no_answer() {
    let app = TestApp::spawn().await;
    spread(&app).await;
    let range = "from=2026-01-20T00:00:00Z&to=2026-01-21T00:00:00Z&bucket=hour";
    let before = analytics(&app, range).await;
    let overview = get(&app, "/api/v1/overview/metrics?period=7d").await;
    app.gov_at(datetime!(2026-01-20 13:30 UTC)).rebuild_rollups(app.caller().tenant_id).unwrap();
    assert_eq!(analytics(&app, range).await, before);
    assert_eq!(get(&app, "/api/v1/overview/metrics?period=7d").await["metrics"], overview["metrics"]);
}

#[tokio::test]
async fn the_unanswered_stop_keeps_costing_until_someone_answers() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-01-20 10:00 UTC));
    let incident = stopped_run(&app).await;
    let range = "from=2026-01-20T00:00:00Z&to=2026-01-21T00:00:00Z";
    let stopped = |v: Value| v["cost_stopped"]["cost_stopped_cents"].as_f64().unwrap();
    app.clock.set(datetime!(2026-01-20 11:00 UTC));
    let at_11 = stopped(get(&app, &format!("/api/v1/analytics/cost-intelligence?{range}")).await);
    app.clock.set(datetime!(2026-01-20 12:00 UTC));
    let at_12 = stopped(get(&app, &format!("/api/v1/analytics/cost-intelligence?{range}")).await);
    assert!(at_12 > at_11 && at_11 > 0.0, "{at_11} then {at_12}");
    let comment =
        app.post(&format!("/api/v1/incidents/{incident}/comments"), &json!({"content": "looking"})).await;
    assert!(comment.status().is_success());
    app.clock.set(datetime!(2026-01-20 15:00 UTC));
    let later = stopped(get(&app, &format!("/api/v1/analytics/cost-intelligence?{range}")).await);
    assert!(
        (later - at_12).abs() < 0.011,
        "answered at 12:00: the estimate stops growing ({at_12} -> {later})"
    );
    // A second answer changes nothing.
    json(app.post(&format!("/api/v1/incidents/{incident}/acknowledge"), &json!({})).await, StatusCode::OK)
        .await;
    let again = stopped(get(&app, &format!("/api/v1/analytics/cost-intelligence?{range}")).await);
    assert_eq!(again, later);
}

#[tokio::test]
async fn the_first_start_after_the_upgrade_builds_the_rollups_from_the_rows() {
    let app = TestApp::spawn().await;
    spread(&app).await;
    let range = "from=2026-01-20T00:00:00Z&to=2026-01-21T00:00:00Z&bucket=hour";
    let before = analytics(&app, range).await;
    // As the migration leaves a database written before the rollups: rows, no rollups, the marker.
    for table in ["run_rollups", "run_duration_rollups", "cost_rollups", "policy_rollups", "incident_rollups"]
    {
        raw_execute(app.db_url(), &format!("DELETE FROM {table}")).unwrap();
    }
    raw_execute(app.db_url(), "INSERT INTO rollup_backfill (name) VALUES ('rollups_v1')").unwrap();
    assert_ne!(analytics(&app, range).await, before, "the whole hours read the (empty) rollups");
    let gov = app.gov_at(datetime!(2026-01-20 13:30 UTC));
    gov.migrate_up().unwrap();
    assert_eq!(analytics(&app, range).await, before);
    assert_eq!(raw_count(app.db_url(), "SELECT COUNT(*) AS n FROM rollup_backfill"), 0);
    assert!(!gov.backfill_rollups().unwrap(), "built once");
}
