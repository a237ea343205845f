//! The realistic-tenant generator (`cargo xtask generate`, `Gov::generate`) on a small tenant:
//! what it writes is what the API reads back, chains and audit trail valid, incidents linked to
//! their run, prevention record, BREACH signal and events, cost records adding up to run totals.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, raw_count};

fn options(tenant: &str) -> gov_facades::GenerateOptions {
    gov_facades::GenerateOptions {
        tenant_name: tenant.to_owned(),
        runs: 50,
        steps_per_run: 10,
        incidents: 5,
        days: 3,
        seed: 7,
        batch_runs: 20,
    }
}

#[tokio::test]
async fn a_generated_tenant_reads_back_with_valid_chains_and_linked_incidents() {
    let app = TestApp::spawn().await;
    let mut batches = Vec::new();
    let generated = app.gov.generate(&options("generated"), &mut |done| batches.push(done)).unwrap();
    assert_eq!(batches, vec![20, 40, 50]);
    assert_eq!((generated.runs, generated.incidents), (50, 5));
    let key = generated.admin_key.clone();
    let get = |path: String| {
        let req = app.request(Method::GET, &path, &key);
        async move { crate::helpers::json(req.send().await.unwrap(), StatusCode::OK).await }
    };

    // 50 generated runs and the one real run that froze the policy snapshot.
    let traces = get("/api/v1/traces/?page_size=100".into()).await;
    assert_eq!(traces["pagination"]["total"], 51, "{traces}");
    let incidents = get("/api/v1/incidents/?page_size=100".into()).await;
    assert_eq!(incidents["pagination"]["total"], 5, "{incidents}");
    let steps: i64 = generated.steps as i64;
    assert!((50..=500).contains(&steps), "{steps}");

    let mut statuses = std::collections::BTreeMap::new();
    for incident in incidents["items"].as_array().unwrap() {
        let run_id = incident["source_run_id"].as_str().unwrap();
        let run = get(format!("/api/v1/activity/{run_id}")).await;
        let run = &run["entity"];
        assert_eq!(run["status"], "failed_policy", "{run}");
        assert_eq!(run["incident_id"], incident["incident_id"], "{run}");
        assert_eq!(run["violation_policy_id"], generated.policy_id.to_string(), "{run}");
        let trace = get(format!("/api/v1/traces/{}", run["trace_id"].as_str().unwrap())).await;
        let trace = &trace["entity"];
        assert_eq!(trace["integrity"]["verified"], true, "{trace}");
        assert_eq!(trace["incident_id"], incident["incident_id"], "{trace}");
        assert_eq!(trace["violation_step_index"], run["stopped_at_step"], "{trace}");
        assert_eq!(trace["step_count"], run["stopped_at_step"], "{trace}");

        // The step path's evidence of the stop: one enforced BLOCK and one BREACH, at that step.
        let records = get(format!("/api/v1/policies/violations/?run_id={run_id}")).await;
        let [record] = records["items"].as_array().unwrap().as_slice() else { panic!("{records}") };
        assert_eq!(
            (&record["decision"], &record["enforced"], &record["incident_id"], &record["step_index"]),
            (&json!("BLOCK"), &json!(true), &incident["incident_id"], &run["stopped_at_step"]),
            "{record}"
        );
        assert_eq!(record["policy_id"], generated.policy_id.to_string(), "{record}");
        assert!(record["current_value"].as_f64() >= record["limit_value"].as_f64(), "{record}");
        let breaches = get(format!("/api/v1/activity/signals?run_id={run_id}&signal_type=BREACH")).await;
        let [breach] = breaches["items"].as_array().unwrap().as_slice() else { panic!("{breaches}") };
        assert_eq!(breach["policy_id"], generated.policy_id.to_string(), "{breach}");
        assert_eq!(breach["step_index"], run["stopped_at_step"], "{breach}");

        // Its events: created by the system, then acknowledged and resolved by someone, later.
        let id = incident["incident_id"].as_str().unwrap();
        let timeline = get(format!("/api/v1/incidents/{id}/timeline")).await;
        let events = timeline["timeline"].as_array().unwrap();
        let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
        let expected: &[&str] = match incident["status"].as_str().unwrap() {
            "active" => &["created"],
            "acknowledged" => &["created", "acknowledged"],
            "resolved" => &["created", "acknowledged", "resolved"],
            other => panic!("unexpected status {other}"),
        };
        assert_eq!(names, expected, "{timeline}");
        assert_eq!(events[0]["actor"], "system", "{timeline}");
        assert_eq!(events[0]["timestamp"], incident["created_at"], "{timeline}");
        for pair in events.windows(2) {
            assert!(pair[1]["timestamp"].as_str() > pair[0]["timestamp"].as_str(), "{timeline}");
            assert_ne!(pair[1]["actor"], "system", "{timeline}");
        }
        *statuses.entry(incident["status"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    assert!(statuses.len() > 1, "{statuses:?}");

    // Cost records are what completion attributes: a finished run's add up to its totals, a
    // running run has none.
    let runs = get("/api/v1/activity/?page_size=100".into()).await;
    for run in runs["items"].as_array().unwrap() {
        let run_id = run["run_id"].as_str().unwrap();
        let costs = get(format!("/api/v1/analytics/costs?run_id={run_id}&page_size=100")).await;
        let costs = costs["items"].as_array().unwrap();
        if run["completed_at"].is_null() {
            assert!(costs.is_empty(), "{run}");
            continue;
        }
        let sum = |field: &str| costs.iter().map(|c| c[field].as_f64().unwrap()).sum::<f64>();
        assert_eq!(sum("tokens"), run["tokens_used"].as_f64().unwrap(), "{run}");
        assert_eq!(sum("step_count"), run["step_count"].as_f64().unwrap(), "{run}");
        assert!((sum("cost_cents") - run["total_cost_cents"].as_f64().unwrap()).abs() < 1e-6, "{run}");
        assert!(costs.iter().all(|c| c["created_at"] == run["completed_at"]), "{run}");
    }
    // NEAR signals on a small share of the steps, all of the generated token limit.
    let near = get("/api/v1/activity/signals?signal_type=NEAR&page_size=100".into()).await;
    let near = near["items"].as_array().unwrap();
    assert!(!near.is_empty() && near.len() * 10 < steps as usize, "{} of {steps}", near.len());
    assert!(near.iter().all(|s| s["policy_id"] == generated.policy_id.to_string()));
    // Every trace's chain holds, and the run totals agree with their steps.
    for trace in traces["items"].as_array().unwrap() {
        let detail = get(format!("/api/v1/traces/{}", trace["trace_id"].as_str().unwrap())).await;
        assert_eq!(detail["entity"]["integrity"]["verified"], true, "{detail}");
    }
    let audit = get("/api/v1/logs/audit/integrity".into()).await;
    assert_eq!(audit["valid"], true, "{audit}");
    // The rollups count what the bulk writes put in: Analytics over whole hours (rollups) and
    // cut a second off each end (rows at the ends) agree on what lies inside.
    let t = generated.tenant_id;
    let n = |sql: String| raw_count(app.db_url(), &sql);
    assert_eq!(
        n(format!(
            "SELECT CAST(COALESCE(SUM(runs), 0) AS BIGINT) AS n FROM run_rollups WHERE tenant_id = '{t}'"
        )),
        n(format!(
            "SELECT COUNT(*) AS n FROM runs WHERE tenant_id = '{t}' AND status NOT IN ('queued', 'running', 'paused')"
        )),
    );
    assert_eq!(
        n(format!(
            "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT) AS n FROM cost_rollups WHERE tenant_id = '{t}'"
        )),
        n(format!("SELECT COUNT(*) AS n FROM cost_records WHERE tenant_id = '{t}'")),
    );
    assert_eq!(
        n(format!(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM policy_rollups WHERE tenant_id = '{t}' AND kind = 'NEAR'"
        )),
        n(format!(
            "SELECT COUNT(*) AS n FROM threshold_signals WHERE tenant_id = '{t}' AND signal_type = 'NEAR'"
        )),
    );

    // Another tenant sees none of it.
    let other = app.create_tenant("other");
    let trace_id = traces["items"][0]["trace_id"].as_str().unwrap();
    let res = app
        .request(Method::GET, &format!("/api/v1/traces/{trace_id}"), &other.admin_key.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_contents_and_a_reused_tenant_gets_fresh_ids() {
    let app = TestApp::spawn().await;
    let first = app.gov.generate(&options("seeded"), &mut |_| {}).unwrap();
    let second = app.gov.generate(&options("seeded"), &mut |_| {}).unwrap();
    assert_eq!(first.tenant_id, second.tenant_id);
    assert_eq!(
        (first.steps, first.incidents, first.audit_rows),
        (second.steps, second.incidents, second.audit_rows)
    );
    let res =
        app.request(Method::GET, "/api/v1/traces/?page_size=1", &second.admin_key).send().await.unwrap();
    assert_eq!(crate::helpers::json(res, StatusCode::OK).await["pagination"]["total"], 102);
}
