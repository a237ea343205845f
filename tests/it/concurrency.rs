//! Concurrent steps on one run are serialised: unique, gapless indices and no lost update.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_steps_get_gapless_indices_and_exact_totals() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-cc").await;
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    let n = 40;
    let mut tasks = Vec::new();
    for i in 0..n {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/runs/{run_id}/steps"));
        let key = app.admin_key.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"step_type": "llm_call", "input_tokens": i + 1, "cost_cents": 0.5});
            let res = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<serde_json::Value>().await.unwrap()["step"]["step_index"].as_i64().unwrap()
        }));
    }
    let mut indices = Vec::new();
    for t in tasks {
        indices.push(t.await.unwrap());
    }
    indices.sort_unstable();
    assert_eq!(indices, (1..=n).collect::<Vec<i64>>());
    let detail = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(detail["entity"]["step_count"], n);
    assert_eq!(detail["entity"]["tokens_used"], n * (n + 1) / 2);
    assert_eq!(detail["entity"]["total_cost_cents"], 0.5 * n as f64);
    let trace = json(
        app.get(&format!("/api/v1/traces/{}", detail["entity"]["trace_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(trace["entity"]["integrity"]["verified"], true, "{trace}");
}
