//! docs/API.md's table "Where each change is recorded", executed: every run and lever call needs
//! exactly the documented scope, and leaves exactly the documented record.

use gov_model::{Scope, ScopeSet};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json, raw_count};

/// One row of the table: `POST /path`, the scope, the tables and audit actions it names.
#[derive(Debug)]
struct Row {
    call: String,
    scope: Scope,
    tables: Vec<String>,
    actions: Vec<String>,
}

fn documented() -> Vec<Row> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md")).unwrap();
    let section = doc.split("### Where each change is recorded").nth(1).expect("the section in docs/API.md");
    let section = section.split("\n#").next().unwrap();
    let ticked =
        |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let names = ticked(cells[3]);
            let (actions, tables) = names.into_iter().partition(|n| n.contains('.'));
            Row {
                call: ticked(cells[1]).remove(0),
                scope: cells[2].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
                tables,
                actions,
            }
        })
        .collect()
}

/// How the test counts a table's record.
fn count_sql(table: &str) -> String {
    match table {
        "heimdall_scorecard_day" => {
            "SELECT CAST(coalesce(sum(trials), 0) AS BIGINT) AS n FROM heimdall_scorecard_day".into()
        }
        "regression_state" => {
            "SELECT count(*) AS n FROM regression_state WHERE last_checked_at IS NOT NULL".into()
        }
        "audit_logs"
        | "evidence_exports"
        | "aos_trace_steps"
        | "policy_override_records"
        | "risk_event"
        | "heimdall_event"
        | "heimdall_recommendation"
        | "kpi_event" => format!("SELECT count(*) AS n FROM {table}"),
        other => panic!("docs/API.md names {other:?}: teach this test how to count it"),
    }
}

/// The counts of every table and action of `rows`, plus `audit_logs`.
fn counts(app: &TestApp, rows: &[Row]) -> Vec<(String, i64)> {
    let mut queries: Vec<(String, String)> = vec![("audit_logs".into(), count_sql("audit_logs"))];
    for row in rows {
        queries.extend(row.tables.iter().map(|t| (t.clone(), count_sql(t))));
        queries.extend(
            row.actions
                .iter()
                .map(|a| (a.clone(), format!("SELECT count(*) AS n FROM audit_logs WHERE action = '{a}'"))),
        );
    }
    queries.sort();
    queries.dedup();
    queries.into_iter().map(|(name, sql)| (name, raw_count(app.db_url(), &sql))).collect()
}

fn of(counts: &[(String, i64)], name: &str) -> i64 {
    counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c).unwrap()
}

/// What the test arranged beforehand: runs in every state a call needs, a reservation, a
/// recommendation.
struct Fixtures {
    ingest: String,
    driven: String,
    cancelled: String,
    paused: String,
    recommendation: String,
    incident: String,
}

async fn arrange(app: &TestApp) -> Fixtures {
    let ingest = app.key_with_scopes(&["ingest"]);
    let start = |agent: &'static str, key: String| async move {
        let res = app.request(Method::POST, "/api/v1/runs", &key).json(&json!({"agent_id": agent})).send();
        json(res.await.unwrap(), StatusCode::CREATED).await["run"]["run_id"].as_str().unwrap().to_owned()
    };
    let driven = start("doc-agent", ingest.clone()).await;
    let cancelled = start("doc-agent", ingest.clone()).await;
    let only = |agent: &str| json!({"scope_type": "AGENT", "agent_ids": [agent]});
    app.create_policy(json!({"name": "pause", "rule_type": "step_limit", "threshold": 1, "action": "PAUSE", "scope": only("doc-pauser")})).await;
    app.create_policy(json!({"name": "kill", "rule_type": "custom", "condition": "step.cost_cents > 200.0", "action": "KILL", "scope": only("doc-killer")})).await;
    let paused = start("doc-pauser", app.admin_key.clone()).await;
    assert_eq!(app.step_ok(&paused, json!({"step_type": "llm_call"})).await["run"]["status"], "paused");
    let killed = start("doc-killer", app.admin_key.clone()).await;
    app.step_ok(&killed, json!({"step_type": "llm_call", "cost_cents": 300.0})).await;
    let reserve = json!({"engine": "CAPITAL", "amount": 1, "correlation_id": "doc-settle"});
    json(app.post("/api/governance/risk/check-and-reserve", &reserve).await, StatusCode::OK).await;
    let rec = json!({"domain": "BUYER_MATCH", "confidence": 0.95});
    let rec = json(app.post("/api/governance/heimdall/recommend", &rec).await, StatusCode::OK).await;
    let recommendation = rec["recommendation_id"].as_str().unwrap().to_owned();
    let incidents = json(app.get("/api/v1/incidents/").await, StatusCode::OK).await;
    let incident =
        incidents["items"][0]["incident_id"].as_str().expect("an incident of the killed run").to_owned();
    Fixtures { ingest, driven, cancelled, paused, recommendation, incident }
}

/// The request the test makes for a documented call, and the status it answers.
fn request(call: &str, f: &Fixtures) -> (String, Value, StatusCode) {
    let ok = StatusCode::OK;
    let (path, body, status) = match call {
        "POST /api/v1/runs" => (call.to_owned(), json!({"agent_id": "doc-agent"}), StatusCode::CREATED),
        "POST /api/v1/runs/{run_id}/steps" => (
            format!("/api/v1/runs/{}/steps", f.driven),
            json!({"step_type": "llm_call"}),
            StatusCode::CREATED,
        ),
        "POST /api/v1/runs/{run_id}/steps/check" => {
            (format!("/api/v1/runs/{}/steps/check", f.driven), json!({"step_type": "llm_call"}), ok)
        }
        "POST /api/v1/runs/{run_id}/complete" => {
            (format!("/api/v1/runs/{}/complete", f.driven), json!({"status": "succeeded"}), ok)
        }
        "POST /api/v1/runs/{run_id}/cancel" => {
            (format!("/api/v1/runs/{}/cancel", f.cancelled), json!({}), ok)
        }
        "POST /api/v1/runs/{run_id}/override" => {
            (format!("/api/v1/runs/{}/override", f.paused), json!({"reason": "docs"}), ok)
        }
        "POST /api/v1/runs/agents/{agent_id}/release" => {
            ("/api/v1/runs/agents/doc-killer/release".to_owned(), json!({}), ok)
        }
        "POST /api/governance/risk/policies/upsert" => {
            (call.to_owned(), json!({"engine": "CAPITAL", "reason": "docs"}), ok)
        }
        "POST /api/governance/risk/check-and-reserve" => {
            (call.to_owned(), json!({"engine": "CAPITAL", "amount": 1, "correlation_id": "doc-reserve"}), ok)
        }
        "POST /api/governance/risk/settle" => {
            (call.to_owned(), json!({"correlation_id": "doc-settle", "realized_loss": 0}), ok)
        }
        "POST /api/governance/heimdall/policies/upsert" => {
            (call.to_owned(), json!({"domain": "BUYER_MATCH", "reason": "docs"}), ok)
        }
        "POST /api/governance/heimdall/sandbox/trial" => {
            (call.to_owned(), json!({"domain": "BUYER_MATCH", "success": true, "confidence": 0.9}), ok)
        }
        "POST /api/governance/heimdall/recommend" => {
            (call.to_owned(), json!({"domain": "BUYER_MATCH", "confidence": 0.95}), ok)
        }
        // Not eligible (no trials yet): answered 409, and the check is still recorded.
        "POST /api/governance/heimdall/require-prod-eligible" => {
            (call.to_owned(), json!({"recommendation_id": f.recommendation}), StatusCode::CONFLICT)
        }
        "POST /api/governance/regression/policies/upsert" => (
            call.to_owned(),
            json!({"domain": "BUYER_MATCH", "metric": "match_success", "reason": "docs"}),
            ok,
        ),
        "POST /api/governance/regression/evaluate" => {
            (call.to_owned(), json!({"domain": "WHOLESALE", "metric": "contract_rate"}), ok)
        }
        "POST /api/governance/regression/kpi" => (
            call.to_owned(),
            json!({"domain": "WHOLESALE", "metric": "offer_accept_rate", "success": true}),
            ok,
        ),
        "POST /api/governance/go-live/enable"
        | "POST /api/governance/go-live/disable"
        | "POST /api/governance/go-live/kill-switch/engage"
        | "POST /api/governance/go-live/kill-switch/release" => {
            (call.to_owned(), json!({"reason": "docs"}), ok)
        }
        "POST /api/v1/incidents/{incident_id}/export/evidence" => {
            (format!("/api/v1/incidents/{}/export/evidence", f.incident), json!({}), StatusCode::CREATED)
        }
        "POST /api/v1/incidents/{incident_id}/export/soc2" => {
            (format!("/api/v1/incidents/{}/export/soc2", f.incident), json!({}), StatusCode::CREATED)
        }
        "POST /api/v1/incidents/{incident_id}/export/executive-debrief" => (
            format!("/api/v1/incidents/{}/export/executive-debrief", f.incident),
            json!({"reason": "docs"}),
            StatusCode::CREATED,
        ),
        "POST /api/v1/logs/export" => (call.to_owned(), json!({"topic": "audit", "format": "csv"}), ok),
        other => panic!("docs/API.md lists {other:?}: teach this test how to call it"),
    };
    (path.trim_start_matches("POST ").to_owned(), body, status)
}

#[tokio::test]
async fn docs_match_the_code() {
    let app = TestApp::spawn().await;
    let rows = documented();
    // Every change of the run path and the levers is in the table.
    let openapi =
        json(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        let lever_or_run = path.starts_with("/api/v1/runs") || path.starts_with("/api/governance/");
        if lever_or_run && item.get("post").is_some() {
            let call = format!("POST {path}");
            assert!(rows.iter().any(|r| r.call == call), "{call} is missing from docs/API.md's record table");
        }
    }
    let f = arrange(&app).await;
    let keys = [
        (Scope::Read, app.key_with_scopes(&["read"])),
        (Scope::Write, app.key_with_scopes(&["write"])),
        (Scope::Ingest, f.ingest.clone()),
        (Scope::Admin, app.admin_key.clone()),
    ];
    for row in &rows {
        let (path, body, status) = request(&row.call, &f);
        let before = counts(&app, &rows);
        for (scope, key) in &keys {
            if !ScopeSet::from_iter([*scope]).allows(row.scope) {
                let res = app.request(Method::POST, &path, key).json(&body).send().await.unwrap();
                error(res, StatusCode::FORBIDDEN, "forbidden").await;
            }
        }
        assert_eq!(counts(&app, &rows), before, "{}: a refused call recorded something", row.call);
        let key = &keys.iter().find(|(s, _)| *s == row.scope).unwrap().1;
        let res = app.request(Method::POST, &path, key).json(&body).send().await.unwrap();
        let (got, text) = (res.status(), res.text().await.unwrap());
        assert_eq!(got, status, "{} with a {} key: {text}", row.call, row.scope);
        let after = counts(&app, &rows);
        for name in row.tables.iter().chain(&row.actions) {
            assert!(
                of(&after, name) > of(&before, name),
                "{}: documented record {name} not written",
                row.call
            );
        }
        if !row.tables.iter().any(|t| t == "audit_logs") {
            assert_eq!(
                of(&after, "audit_logs"),
                of(&before, "audit_logs"),
                "{}: undocumented audit row",
                row.call
            );
        }
    }
}
