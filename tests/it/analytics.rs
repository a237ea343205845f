//! Analytics: cost intelligence, policies usage and productivity over the seed scenario, their
//! UTC buckets, the cost stopped (the executive debrief's definition) and bad input.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::helpers::{TestApp, error, json};

const DAY: &str = "from=2026-01-20T00:00:00Z&to=2026-01-21T00:00:00Z";

async fn get(app: &TestApp, path: &str) -> Value {
    json(app.get(path).await, StatusCode::OK).await
}

fn item<'a>(list: &'a Value, field: &str, value: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|i| i[field] == value))
        .unwrap_or_else(|| panic!("no {field} = {value:?} in {list}"))
}

/// The seed scenario at 10:00 UTC, then a run of AGT-002 that succeeds at 10:20.
async fn seeded(app: &TestApp) -> String {
    app.clock.set(datetime!(2026-01-20 10:00 UTC));
    let incident = app.seed_scenario().await;
    let found = get(app, &format!("/api/v1/incidents/{incident}")).await;
    let run_id = found["entity"]["source_run_id"].as_str().unwrap().to_owned();
    app.clock.set(datetime!(2026-01-20 10:10 UTC));
    let ok = app.start_run("AGT-002").await["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&ok, json!({"step_type": "llm_call", "input_tokens": 100, "output_tokens": 200, "cost_cents": 20, "model": "gpt-4o"}))
        .await;
    app.clock.set(datetime!(2026-01-20 10:20 UTC));
    let done = app.post(&format!("/api/v1/runs/{ok}/complete"), &json!({"status": "succeeded"})).await;
    json(done, StatusCode::OK).await;
    app.clock.set(datetime!(2026-01-20 10:30 UTC));
    run_id
}

#[tokio::test]
async fn the_seed_scenario_shows_up_in_cost_intelligence() {
    let app = TestApp::spawn().await;
    let run_id = seeded(&app).await;

    let c = get(&app, &format!("/api/v1/analytics/cost-intelligence?{DAY}&bucket=hour")).await;
    assert_eq!(c["from"], "2026-01-20T00:00:00Z");
    assert_eq!(c["to"], "2026-01-21T00:00:00Z");
    assert_eq!(c["bucket"], "hour");
    assert_eq!(c["as_of"], "2026-01-20T10:30:00Z");
    assert_eq!(c["total_cost_cents"], 470.0);
    let model = item(&c["by_model"], "key", "claude-sonnet-4");
    assert_eq!(
        (model["cost_cents"].as_f64(), model["tokens"].as_i64(), model["runs"].as_i64()),
        (Some(450.0), Some(13_000), Some(1)),
        "the model's steps: 4,000 + 9,000 tokens"
    );
    assert_eq!(item(&c["by_model"], "key", "gpt-4o")["cost_cents"], 20.0);
    assert_eq!(c["by_model"][0]["key"], "claude-sonnet-4", "most expensive first: {c}");
    assert_eq!(item(&c["by_agent"], "key", "AGT-001")["cost_cents"], 450.0);

    // 24 hourly buckets, the cost at 10:00.
    let series = c["series"].as_array().unwrap();
    assert_eq!(series.len(), 24);
    assert_eq!(series[0]["start"], "2026-01-20T00:00:00Z");
    assert_eq!(series[10]["start"], "2026-01-20T10:00:00Z");
    assert_eq!(series[10]["cost_cents"], 470.0);
    assert_eq!(series.iter().map(|p| p["cost_cents"].as_f64().unwrap()).sum::<f64>(), 470.0);

    let top = &c["top_runs"][0];
    assert_eq!(top["run_id"], run_id.as_str());
    assert_eq!(top["agent_id"], "AGT-001");
    assert_eq!(top["status"], "failed_policy");
    assert_eq!(top["cost_cents"], 450.0);
    assert_eq!(top["tokens"], 15_000);
    assert_eq!(top["link"], format!("/api/v1/activity/{run_id}"));
    assert_eq!(c["top_runs"].as_array().unwrap().len(), 2);

    // Stopped within its first second: the debrief's cost stopped is 0, the cost spent is the run's.
    assert_eq!(c["cost_stopped"], json!({"runs": 1, "cost_spent_cents": 450.0, "cost_stopped_cents": 0.0}));
    assert_eq!(c["burn_rate"]["range_cents_per_hour"], 19.58, "470 cents over 24 hours: {c}");
    assert_eq!(c["burn_rate"]["last_hour_cents_per_hour"], 0.0, "nothing after 23:00");

    // Burn rate over the last hour and day of a range ending at 11:00.
    let c = get(
        &app,
        "/api/v1/analytics/cost-intelligence?from=2026-01-20T09:00:00Z&to=2026-01-20T11:00:00Z&bucket=hour",
    )
    .await;
    assert_eq!(c["burn_rate"]["last_hour_cents_per_hour"], 470.0);
    assert_eq!(c["burn_rate"]["last_day_cents_per_hour"], 19.58);
    assert_eq!(c["burn_rate"]["range_cents_per_hour"], 235.0);

    // One agent only.
    let c = get(&app, &format!("/api/v1/analytics/cost-intelligence?{DAY}&agent_id=AGT-002")).await;
    assert_eq!(c["total_cost_cents"], 20.0);
    assert_eq!(c["agent_id"], "AGT-002");
    assert_eq!(c["cost_stopped"]["runs"], 0);
    assert_eq!(c["top_runs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn buckets_are_utc_days_and_iso_weeks() {
    let app = TestApp::spawn().await;
    seeded(&app).await;
    // Tuesday 2026-01-20: its ISO week starts Monday 2026-01-19.
    let week = "from=2026-01-10T00:00:00Z&to=2026-01-31T00:00:00Z&bucket=week";
    let c = get(&app, &format!("/api/v1/analytics/cost-intelligence?{week}")).await;
    let starts: Vec<&str> =
        c["series"].as_array().unwrap().iter().map(|p| p["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-19T00:00:00Z", "2026-01-26T00:00:00Z"]
    );
    assert_eq!(c["series"][2]["cost_cents"], 470.0);
    let p = get(&app, &format!("/api/v1/analytics/productivity?{week}")).await;
    assert_eq!(p["series"][2]["runs"], 2);
    assert_eq!(p["series"][1]["runs"], 0);

    // Default: days, the last 30 days up to now.
    let c = get(&app, "/api/v1/analytics/cost-intelligence").await;
    assert_eq!(
        (c["from"].as_str(), c["to"].as_str(), c["bucket"].as_str()),
        (Some("2025-12-21T10:30:00Z"), Some("2026-01-20T10:30:00Z"), Some("day"))
    );
    let series = c["series"].as_array().unwrap();
    assert_eq!(series.len(), 31, "a partial day at each end");
    assert_eq!(series[0]["start"], "2025-12-21T00:00:00Z");
    assert_eq!(series[30]["start"], "2026-01-20T00:00:00Z");
    assert_eq!(series[30]["cost_cents"], 470.0);

    let u = get(&app, &format!("/api/v1/analytics/policies-usage?{DAY}&bucket=hour")).await;
    assert_eq!(
        u["series"][10],
        json!({"start": "2026-01-20T10:00:00Z", "near": 0, "breach": 1, "blocks": 1})
    );
}

#[tokio::test]
async fn the_seed_scenario_shows_up_in_policies_usage_and_productivity() {
    let app = TestApp::spawn().await;
    seeded(&app).await;
    app.create_policy(json!({"name": "Idle Policy", "rule_type": "cost_limit", "threshold": 100000})).await;

    let u = get(&app, &format!("/api/v1/analytics/policies-usage?{DAY}")).await;
    assert_eq!(u["sort"], json!({"field": "activity", "direction": "desc"}));
    assert_eq!(u["pagination"]["total"], 2);
    let p = &u["items"][0];
    assert_eq!(p["name"], "Token Limit Policy", "most active first: {u}");
    assert_eq!(p["breach"], 1);
    assert_eq!(p["incidents"], 1);
    assert_eq!(p["blocks"], 1);
    assert_eq!(p["near"], 0, "the limit went from 60% to 150% in one step");
    assert_eq!(p["runs"], 2);
    assert_eq!(p["evaluations"], 4, "3 steps of the seed run and 1 of the other run");
    assert_eq!(p["last_triggered"], "2026-01-20T10:00:00Z");
    let idle = &u["items"][1];
    assert_eq!(
        (idle["name"].as_str(), idle["breach"].as_i64(), idle["runs"].as_i64()),
        (Some("Idle Policy"), Some(0), Some(0))
    );
    assert_eq!(idle["last_triggered"], Value::Null);
    let paged = get(&app, &format!("/api/v1/analytics/policies-usage?{DAY}&page=2&page_size=1")).await;
    assert_eq!(paged["items"][0]["name"], "Idle Policy");

    let r = get(&app, &format!("/api/v1/analytics/productivity?{DAY}")).await;
    let t = &r["total"];
    assert_eq!(
        (t["runs"].as_i64(), t["completed"].as_i64(), t["stopped"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (t["failed"].as_i64(), t["cancelled"].as_i64(), t["in_progress"].as_i64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(t["success_rate"], 0.5);
    assert_eq!(t["tokens_per_successful_run"], 300.0);
    assert_eq!(t["cost_cents_per_successful_run"], 20.0);
    assert_eq!(t["mean_duration_seconds"], 300.0, "0 s for the stopped run, 600 s for the other");
    assert_eq!(t["p50_duration_seconds"], 0.0);
    assert_eq!(t["p95_duration_seconds"], 600.0);
    let a1 = item(&r["by_agent"], "agent_id", "AGT-001");
    assert_eq!(
        (a1["stopped"].as_i64(), a1["completed"].as_i64(), a1["success_rate"].as_f64()),
        (Some(1), Some(0), Some(0.0))
    );
    assert_eq!(a1["tokens_per_successful_run"], Value::Null);
    let a2 = item(&r["by_agent"], "agent_id", "AGT-002");
    assert_eq!((a2["completed"].as_i64(), a2["success_rate"].as_f64()), (Some(1), Some(1.0)));
    assert_eq!(r["series"][0]["runs"], 2);
}

#[tokio::test]
async fn cost_stopped_is_the_debriefs_estimate_until_someone_responds() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-01-20 10:00 UTC));
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
    let incident = last["incident_id"].as_str().unwrap().to_owned();
    // Stopped 30 s after the start, 450 cents spent: 15 cents a second while nobody responds.
    app.clock.set(datetime!(2026-01-20 10:01 UTC));
    let c = get(&app, &format!("/api/v1/analytics/cost-intelligence?{DAY}")).await;
    assert_eq!(c["cost_stopped"], json!({"runs": 1, "cost_spent_cents": 450.0, "cost_stopped_cents": 450.0}));
    app.clock.set(datetime!(2026-01-20 10:00:40 UTC));
    let ack =
        app.post(&format!("/api/v1/incidents/{incident}/acknowledge"), &json!({"note": "looking"})).await;
    json(ack, StatusCode::OK).await;
    app.clock.set(datetime!(2026-01-20 12:00 UTC));
    let c = get(&app, &format!("/api/v1/analytics/cost-intelligence?{DAY}")).await;
    assert_eq!(
        c["cost_stopped"]["cost_stopped_cents"], 150.0,
        "10 s between the stop and the acknowledgement"
    );
}

#[tokio::test]
async fn bad_ranges_and_buckets_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-01-20 10:00 UTC));
    for route in ["cost-intelligence", "policies-usage", "productivity"] {
        let cases = [
            ("bucket=month", "bucket", "hour, day, week"),
            ("bucket=", "bucket", "hour, day, week"),
            ("from=2026-01-21T00:00:00Z&to=2026-01-20T00:00:00Z", "from", "after"),
            ("from=yesterday", "from", "RFC 3339"),
            ("to=2026-01-20", "to", "RFC 3339"),
            ("from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from", "366 days"),
            ("from=2025-11-01T00:00:00Z&bucket=hour", "bucket", "1000"),
        ];
        for (query, field, says) in cases {
            let res = app.get(&format!("/api/v1/analytics/{route}?{query}")).await;
            let body = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(body["error"]["details"]["field"], field, "{route}?{query}: {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{route}?{query}: {message}");
        }
    }
    let res = app.get("/api/v1/analytics/policies-usage?page_size=0").await;
    error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn another_tenant_sees_nothing() {
    let app = TestApp::spawn().await;
    seeded(&app).await;
    let other = app.create_tenant("tenant-b").admin_key.secret;
    let get_b = |route: &str| {
        let req = app.request(Method::GET, &format!("/api/v1/analytics/{route}?{DAY}"), &other);
        async move { json(req.send().await.unwrap(), StatusCode::OK).await }
    };
    let c = get_b("cost-intelligence").await;
    assert_eq!(c["total_cost_cents"], 0.0);
    assert_eq!(c["by_model"], json!([]));
    assert_eq!(c["by_agent"], json!([]));
    assert_eq!(c["top_runs"], json!([]));
    assert_eq!(c["cost_stopped"]["runs"], 0);
    assert!(c["series"].as_array().unwrap().iter().all(|p| p["cost_cents"] == 0.0), "{c}");
    let u = get_b("policies-usage").await;
    assert_eq!(u["items"], json!([]));
    assert_eq!(u["pagination"]["total"], 0);
    let r = get_b("productivity").await;
    assert_eq!(r["total"]["runs"], 0);
    assert_eq!(r["total"]["success_rate"], Value::Null);
    assert_eq!(r["by_agent"], json!([]));

    // And the first tenant's own agent filter narrows to nothing for an unknown agent.
    let r = get(&app, &format!("/api/v1/analytics/productivity?{DAY}&agent_id=AGT-404")).await;
    assert_eq!(r["total"]["runs"], 0);
}
