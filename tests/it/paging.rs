//! Keyset paging: every list hands out `next_cursor`, following it visits each item once in
//! order, and a cursor gov did not issue is 422.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

/// Follows `next_cursor` from `path` (which has a query string) to the end; returns the ids
/// under `id_field`, and checks each page's pagination block on the way.
async fn walk(app: &TestApp, path: &str, id_field: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut url = path.to_owned();
    for expected_page in 1.. {
        let page = json(app.get(&url).await, StatusCode::OK).await;
        let p = &page["pagination"];
        assert_eq!(p["page"], expected_page, "{url}: {p}");
        assert_eq!(p["total_exact"], true, "{p}");
        ids.extend(
            page["items"].as_array().unwrap().iter().map(|i| i[id_field].as_str().unwrap().to_owned()),
        );
        match p["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}&cursor={cursor}"),
            None => break,
        }
        assert!(expected_page < 100, "the walk does not end");
    }
    ids
}

/// The same list read by page number.
async fn by_offset(app: &TestApp, path: &str, id_field: &str, total: usize) -> Vec<String> {
    let (base, query) = path.split_once('?').unwrap();
    let query: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("page_size=")).collect();
    let url = format!("{base}?{}&page_size={total}", query.join("&"));
    let page = json(app.get(&url).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().iter().map(|i| i[id_field].as_str().unwrap().to_owned()).collect()
}

#[actix_web::test]
async fn following_next_cursor_visits_every_item_once_in_order_on_both_backends() {
    let app = TestApp::spawn().await;
    // Runs and traces: seven, with equal token counts so the tie-break on the id decides.
    for i in 0..7 {
        let run = app.start_run(&format!("agent-{}", i % 2)).await;
        let run_id = run["run"]["run_id"].as_str().unwrap();
        app.step_ok(run_id, json!({"step_type": "llm_call", "input_tokens": 10, "output_tokens": 5})).await;
    }
    for (path, field) in [
        ("/api/v1/activity/?page_size=3", "run_id"),
        ("/api/v1/activity/?page_size=3&direction=asc", "run_id"),
        ("/api/v1/activity/?page_size=2&sort=tokens_used", "run_id"),
        ("/api/v1/activity/?page_size=2&sort=total_cost_cents&direction=asc", "run_id"),
        ("/api/v1/activity/?page_size=2&agent_id=agent-1", "run_id"),
        ("/api/v1/traces/?page_size=3", "trace_id"),
        ("/api/v1/logs/audit?page_size=2", "log_id"),
        // The merged Logs view: three topics in one (time, id) order.
        ("/api/v1/logs/?page_size=3", "log_id"),
        ("/api/v1/logs/?topic=audit&page_size=2", "log_id"),
        ("/api/v1/logs/?topic=llm_runs&page_size=2", "log_id"),
        ("/api/v1/logs/system?page_size=1", "log_id"),
        ("/api/v1/connectivity/api-keys/?page_size=1", "key_id"),
    ] {
        let walked = walk(&app, path, field).await;
        let mut unique = walked.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), walked.len(), "{path}: an item came twice: {walked:?}");
        assert_eq!(walked, by_offset(&app, path, field, walked.len()).await, "{path}");
    }
    let all = walk(&app, "/api/v1/activity/?page_size=3", "run_id").await;
    assert_eq!(all.len(), 7);

    // A trace's steps page by step index.
    let trace = json(app.get("/api/v1/traces/?page_size=1").await, StatusCode::OK).await;
    let trace_id = trace["items"][0]["trace_id"].as_str().unwrap().to_owned();
    let run_id = trace["items"][0]["run_id"].as_str().unwrap().to_owned();
    for _ in 0..4 {
        app.step_ok(&run_id, json!({"step_type": "tool_call"})).await;
    }
    let steps = walk(&app, &format!("/api/v1/traces/{trace_id}/steps?page_size=2"), "step_id").await;
    assert_eq!(steps.len(), 5);
}

#[actix_web::test]
async fn a_cursor_gov_did_not_issue_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.start_run("a").await;
    }
    let first = json(app.get("/api/v1/activity/?page_size=1&sort=tokens_used").await, StatusCode::OK).await;
    let int_cursor = first["pagination"]["next_cursor"].as_str().unwrap().to_owned();
    for path in [
        "/api/v1/incidents/?cursor=bm90LWEtY3Vyc29y".to_owned(),
        "/api/v1/activity/?cursor=%21%21".to_owned(),
        "/api/v1/logs/?cursor=%21%21".to_owned(),
        "/api/v1/logs/?topic=system&cursor=bm90LWEtY3Vyc29y".to_owned(),
        // A cursor of a list ordered by another kind of key.
        format!("/api/v1/activity/?cursor={int_cursor}"),
        format!("/api/v1/incidents/?cursor={int_cursor}"),
        format!("/api/v1/logs/?cursor={int_cursor}"),
        format!("/api/v1/logs/system?cursor={int_cursor}"),
    ] {
        let body: Value =
            error(app.get(&path).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["error"]["details"]["field"], "cursor", "{path}: {body}");
    }
}

/// By cost, the ended runs (read on their final cost's index) and the live ones (read by status)
/// merge into one order that the cursor walks without skipping or repeating a run.
#[actix_web::test]
async fn runs_by_cost_merge_ended_and_live_runs_in_one_order() {
    let app = TestApp::spawn().await;
    for i in 0..8 {
        let run = app.start_run("agent").await;
        let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
        // Costs 1..=4 twice, so ties between an ended and a live run are broken by the id.
        let tokens = 100 * (i % 4 + 1);
        app.step_ok(&run_id, json!({"step_type": "llm_call", "input_tokens": tokens, "output_tokens": 0, "cost_cents": f64::from(i % 4 + 1)})).await;
        if i % 2 == 0 {
            let done =
                app.post(&format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "succeeded"})).await;
            assert_eq!(done.status(), StatusCode::OK);
        }
    }
    for direction in ["desc", "asc"] {
        let path = format!("/api/v1/activity/?page_size=3&sort=total_cost_cents&direction={direction}");
        let walked = walk(&app, &path, "run_id").await;
        assert_eq!(walked.len(), 8, "{path}");
        let whole = json(app.get(&path.replace("page_size=3", "page_size=100")).await, StatusCode::OK).await;
        let items = whole["items"].as_array().unwrap();
        let mut expected: Vec<(f64, String)> = items
            .iter()
            .map(|r| (r["total_cost_cents"].as_f64().unwrap(), r["run_id"].as_str().unwrap().to_owned()))
            .collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        if direction == "desc" {
            expected.reverse();
        }
        let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
        assert_eq!(walked, expected, "{path}");
        assert_eq!(walked, by_offset(&app, &path, "run_id", 8).await, "{path}");
    }
}
