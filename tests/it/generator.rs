//! The realistic-tenant generator (`cargo xtask generate`, `Gov::generate`) on a small tenant:
//! what it writes is what the API reads back, chains and audit trail valid, incidents linked.

use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, json};

fn options(tenant: &str) -> gov_facades::GenerateOptions {
    gov_facades::GenerateOptions {
        tenant_name: tenant.to_owned(),
        runs: 50,
        steps_per_run: 4,
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
        async move { json(req.send().await.unwrap(), StatusCode::OK).await }
    };

    // 50 generated runs and the one real run that froze the policy snapshot.
    let traces = get("/api/v1/traces/?page_size=100".into()).await;
    assert_eq!(traces["pagination"]["total"], 51, "{traces}");
    let incidents = get("/api/v1/incidents/?page_size=100".into()).await;
    assert_eq!(incidents["pagination"]["total"], 5, "{incidents}");
    let steps: i64 = generated.steps as i64;
    assert!((50..=200).contains(&steps), "{steps}");

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
    }
    // Every trace's chain holds, and the run totals agree with their steps.
    for trace in traces["items"].as_array().unwrap() {
        let detail = get(format!("/api/v1/traces/{}", trace["trace_id"].as_str().unwrap())).await;
        assert_eq!(detail["entity"]["integrity"]["verified"], true, "{detail}");
    }
    let audit = get("/api/v1/logs/audit/integrity".into()).await;
    assert_eq!(audit["valid"], true, "{audit}");

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
    assert_eq!(json(res, StatusCode::OK).await["pagination"]["total"], 102);
}
