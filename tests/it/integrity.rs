//! Tamper evidence: immutable evidence tables, chain verification, and fail-closed snapshots.

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, error, json, raw_count, raw_execute};

/// Like [`raw_execute`], with the table's protective triggers out of the way.
fn forge(url: &str, table: &str, sql: &str) {
    if url.starts_with("postgres") {
        raw_execute(url, &format!("ALTER TABLE {table} DISABLE TRIGGER USER")).unwrap();
        raw_execute(url, sql).unwrap();
        raw_execute(url, &format!("ALTER TABLE {table} ENABLE TRIGGER USER")).unwrap();
    } else {
        let mut c = diesel::sqlite::SqliteConnection::establish(url).unwrap();
        for t in [format!("{table}_no_update"), format!("{table}_no_delete"), format!("{table}_guard_update")]
        {
            diesel::sql_query(format!("DROP TRIGGER IF EXISTS {t}")).execute(&mut c).unwrap();
        }
        diesel::sql_query(sql).execute(&mut c).unwrap();
    }
}

#[tokio::test]
async fn evidence_rows_cannot_be_changed_or_deleted() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "t", "rule_type": "token_limit", "threshold": 100})).await;
    let run = app.start_run("agent-i").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 100})).await;
    let url = app.db_url();
    for sql in [
        "UPDATE aos_trace_steps SET tokens = 0",
        "DELETE FROM aos_trace_steps",
        "UPDATE policy_snapshots SET policies_json = '[]'",
        "DELETE FROM policy_snapshots",
        "UPDATE prevention_records SET enforced = FALSE",
        "UPDATE aos_traces SET violation_reason = 'nothing happened'",
        "DELETE FROM aos_traces",
        "UPDATE incident_events SET detail = 'x'",
    ] {
        assert!(raw_execute(url, sql).is_err(), "{sql} was allowed");
    }
}

#[tokio::test]
async fn an_altered_step_breaks_the_chain() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-t").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    for tokens in [10, 20, 30] {
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": tokens})).await;
    }
    let trace_id = run["run"]["trace_id"].as_str().unwrap();
    let before = json(app.get(&format!("/api/v1/traces/{trace_id}")).await, StatusCode::OK).await;
    assert_eq!(before["entity"]["integrity"]["verified"], true);
    forge(app.db_url(), "aos_trace_steps", "UPDATE aos_trace_steps SET tokens = 1 WHERE step_index = 2");
    let after = json(app.get(&format!("/api/v1/traces/{trace_id}")).await, StatusCode::OK).await;
    assert_eq!(after["entity"]["integrity"]["verified"], false);
    assert_eq!(after["entity"]["integrity"]["first_broken_step"], 2);
    forge(app.db_url(), "aos_trace_steps", "DELETE FROM aos_trace_steps WHERE step_index = 3");
    let truncated = json(app.get(&format!("/api/v1/traces/{trace_id}")).await, StatusCode::OK).await;
    assert_eq!(truncated["entity"]["integrity"]["verified"], false);
}

#[tokio::test]
async fn a_tampered_snapshot_blocks_the_run_and_opens_an_incident() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "t", "rule_type": "token_limit", "threshold": 100})).await;
    let run = app.start_run("agent-x").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await["decision"],
        "ALLOW"
    );
    // Raise the frozen limit behind the run's back.
    forge(
        app.db_url(),
        "policy_snapshots",
        "UPDATE policy_snapshots SET thresholds_json = replace(thresholds_json, '100', '999999')",
    );
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["run"]["status"], "failed_policy");
    assert_eq!(res["run"]["termination_reason"], "snapshot_integrity");
    assert_eq!(res["detail"]["forced"]["violation_type"], "snapshot_integrity");
    let incident = json(
        app.get(&format!("/api/v1/incidents/{}", res["incident_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(incident["entity"]["type"], "snapshot_integrity_failed");
    assert_eq!(incident["entity"]["severity"], "critical");
}

/// How far a plain read of a trace walks: the steps after its verified-through marker and the
/// newest ones (`gov_evidence::chain::RECHECKED_TAIL`, 50); `?verify=full` walks them all.
#[tokio::test]
async fn a_trace_read_walks_from_its_marker_and_verify_full_walks_it_all() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-m").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let trace_id = run["run"]["trace_id"].as_str().unwrap();
    for _ in 0..60 {
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    }
    let url = app.db_url();
    let marker = || raw_count(url, "SELECT verified_through_step AS n FROM trace_verifications");
    let app = &app;
    let integrity = |query: &'static str| {
        let path = format!("/api/v1/traces/{trace_id}{query}");
        async move { json(app.get(&path).await, StatusCode::OK).await["entity"]["integrity"].clone() }
    };
    assert_eq!(integrity("").await["verified"], true);
    assert_eq!(marker(), 60, "a verified read moves the marker to the head");
    app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    assert_eq!(integrity("").await["step_count"], 61);
    assert_eq!(marker(), 61);

    // Step 5 lies before the newest 50 and the marker: a plain read does not hash it again.
    forge(url, "aos_trace_steps", "UPDATE aos_trace_steps SET tokens = 1 WHERE step_index = 5");
    assert_eq!(integrity("").await["verified"], true);
    let full = integrity("?verify=full").await;
    assert_eq!((full["verified"].clone(), full["first_broken_step"].clone()), (json!(false), json!(5)));
    // Step 20 is within the newest 50: a plain read sees it, and the full walk names step 5.
    forge(url, "aos_trace_steps", "UPDATE aos_trace_steps SET tokens = 1 WHERE step_index = 20");
    let plain = integrity("").await;
    assert_eq!((plain["verified"].clone(), plain["first_broken_step"].clone()), (json!(false), json!(5)));
    assert_eq!(marker(), 61, "a broken chain does not move the marker");
    error(
        app.get(&format!("/api/v1/traces/{trace_id}?verify=some")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

/// The marker is an anchor of its own: a chain that no longer holds what it vouched for fails,
/// even where the steps and the run's head agree with each other.
#[tokio::test]
async fn a_trace_that_lost_what_its_marker_vouched_for_fails() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-v").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let trace_id = run["run"]["trace_id"].as_str().unwrap();
    for tokens in [10, 20, 30] {
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": tokens})).await;
    }
    let path = format!("/api/v1/traces/{trace_id}");
    assert_eq!(json(app.get(&path).await, StatusCode::OK).await["entity"]["integrity"]["verified"], true);
    let url = app.db_url();
    raw_execute(url, "UPDATE trace_verifications SET head_hash = 'an earlier head'").unwrap();
    for query in ["", "?verify=full"] {
        let integrity =
            json(app.get(&format!("{path}{query}")).await, StatusCode::OK).await["entity"]["integrity"]
                .clone();
        assert_eq!(
            (integrity["verified"].clone(), integrity["first_broken_step"].clone()),
            (json!(false), json!(3)),
            "{query}"
        );
    }
    raw_execute(url, "UPDATE trace_verifications SET verified_through_step = 1000").unwrap();
    let integrity = json(app.get(&path).await, StatusCode::OK).await["entity"]["integrity"].clone();
    assert_eq!(
        (integrity["verified"].clone(), integrity["first_broken_step"].clone()),
        (json!(false), json!(4))
    );
    raw_execute(url, "DELETE FROM trace_verifications").unwrap();
    assert_eq!(
        json(app.get(&path).await, StatusCode::OK).await["entity"]["integrity"]["verified"],
        true,
        "no marker: the whole chain, which holds"
    );
}

/// A forgery the snapshot's stored revision does not show (on SQLite, a write that leaves
/// `schema_version` as it was, as an edit of the file does) is judged against the content that
/// verified before, until a run start reads the altered text back and the next step re-hashes it.
#[tokio::test]
async fn a_run_start_catches_a_snapshot_forgery_its_revision_hides() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "t", "rule_type": "token_limit", "threshold": 100})).await;
    let run = app.start_run("agent-r").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    assert_eq!(
        app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await["decision"],
        "ALLOW"
    );
    let url = app.db_url();
    let sqlite = !url.starts_with("postgres");
    let version = sqlite.then(|| raw_count(url, "SELECT schema_version AS n FROM pragma_schema_version"));
    forge(
        url,
        "policy_snapshots",
        "UPDATE policy_snapshots SET thresholds_json = replace(thresholds_json, '100', '999999')",
    );
    if let Some(version) = version {
        raw_execute(url, &format!("PRAGMA schema_version = {version}")).unwrap();
        // The revision this process verified: no re-hash, the verified content judges.
        assert_eq!(
            app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await["decision"],
            "ALLOW"
        );
    }
    // A run under the same policies freezes the same hash and reads the altered text back.
    app.start_run("agent-r2").await;
    let res = app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    assert_eq!(res["decision"], "BLOCK");
    assert_eq!(res["run"]["termination_reason"], "snapshot_integrity");
}
