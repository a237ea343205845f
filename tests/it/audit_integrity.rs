//! The audit trail's tamper evidence: evidence tables refuse TRUNCATE, checkpoints seal the trail,
//! and `GET /api/v1/logs/audit/integrity` finds a wiped, edited or thinned trail even when the
//! append-only triggers were dropped first.

use std::time::{Duration, Instant};

use gov_model::Actor;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, error, json, raw_count, raw_execute};

/// Every evidence table: append-only, and no TRUNCATE either.
const EVIDENCE: &[&str] = &[
    "audit_logs",
    "audit_checkpoints",
    "aos_trace_steps",
    "aos_traces",
    "policy_snapshots",
    "policy_rule_versions",
    "prevention_records",
    "incident_events",
    "policy_override_records",
    "risk_event",
    "heimdall_event",
    "kpi_event",
];

fn postgres(url: &str) -> bool {
    url.starts_with("postgres")
}

/// Runs `sql` as someone with database access who first drops `table`'s protective triggers.
fn tamper(url: &str, table: &str, sql: &str) {
    let triggers: &[&str] =
        if postgres(url) { &["append_only", "no_truncate"] } else { &["no_update", "no_delete"] };
    for t in triggers {
        let drop = if postgres(url) {
            format!("DROP TRIGGER IF EXISTS {table}_{t} ON {table}")
        } else {
            format!("DROP TRIGGER IF EXISTS {table}_{t}")
        };
        raw_execute(url, &drop).unwrap();
    }
    raw_execute(url, sql).unwrap();
}

async fn integrity(app: &TestApp) -> Value {
    json(app.get("/api/v1/logs/audit/integrity").await, StatusCode::OK).await
}

/// Makes `n` audited changes through the API.
async fn changes(app: &TestApp, n: usize) {
    for i in 0..n {
        app.create_policy(json!({"name": format!("p{i}"), "rule_type": "token_limit", "threshold": 1000}))
            .await;
    }
}

/// The `seq` of the first tenant's audit row with `action` (the `nth`, 0-based, in seq order).
fn seq_of(app: &TestApp, action: &str, nth: usize) -> i64 {
    raw_count(
        app.db_url(),
        &format!(
            "SELECT seq AS n FROM audit_logs WHERE tenant_id = '{}' AND action = '{action}' ORDER BY seq LIMIT 1 OFFSET {nth}",
            app.tenant.tenant.id
        ),
    )
}

fn kinds(report: &Value) -> Vec<String> {
    report["problems"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn evidence_tables_refuse_truncate() {
    let app = TestApp::spawn().await;
    app.create_policy(json!({"name": "t", "rule_type": "token_limit", "threshold": 100})).await;
    let run = app.start_run("agent-tr").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 10})).await;
    app.step_ok(run_id, json!({"step_type": "llm_call", "tokens": 100})).await;
    app.gov.seal_audit_log().unwrap();
    let url = app.db_url();
    let audit_rows = app.audit_count();
    let steps = raw_count(url, "SELECT count(*) AS n FROM aos_trace_steps");
    for table in EVIDENCE {
        let count = format!("SELECT count(*) AS n FROM {table}");
        let before = raw_count(url, &count);
        if postgres(url) {
            // TRUNCATE (here cascading to whatever references the table) skips row triggers.
            let sql = format!("TRUNCATE {table} CASCADE");
            let refused = raw_execute(url, &sql).expect_err(&format!("{sql} was allowed"));
            assert!(refused.to_string().contains("append-only"), "{sql}: {refused}");
        } else {
            // SQLite has no TRUNCATE; its unqualified DELETE still runs the row triggers (an
            // empty table has no row to fire them).
            let sql = format!("DELETE FROM {table}");
            match raw_execute(url, &sql) {
                Err(refused) => assert!(refused.to_string().contains("append-only"), "{sql}: {refused}"),
                Ok(deleted) => assert_eq!((before, deleted), (0, 0), "{sql} was allowed"),
            }
        }
        assert_eq!(raw_count(url, &count), before, "{table}");
    }
    assert_eq!(app.audit_count(), audit_rows);
    assert_eq!(raw_count(url, "SELECT count(*) AS n FROM aos_trace_steps"), steps);
    assert_eq!(integrity(&app).await["valid"], true);
}

#[tokio::test]
async fn the_trail_is_sealed_checkpoint_by_checkpoint() {
    let app = TestApp::spawn().await;
    let before = integrity(&app).await;
    assert_eq!(before["valid"], true, "{before}");
    assert_eq!(before["checkpoints"], 0);
    assert_eq!(before["head"], Value::Null);
    assert_eq!(before["unsealed_rows"], app.audit_count());

    let first = app.gov.seal_audit_log().unwrap();
    assert_eq!((first.checkpoints, first.rows), (1, app.audit_count()));
    let sealed = integrity(&app).await;
    assert_eq!(sealed["valid"], true, "{sealed}");
    assert_eq!(sealed["rows"], app.audit_count());
    assert_eq!(sealed["sealed_rows"], app.audit_count());
    assert_eq!(sealed["unsealed_rows"], 0);
    assert_eq!(sealed["legacy_rows"], 0);
    assert_eq!(sealed["head"]["n"], 1);
    assert_eq!(sealed["head"]["from_seq"], 0);
    assert_eq!(sealed["head"]["row_count"], app.audit_count());

    changes(&app, 2).await;
    let grown = integrity(&app).await;
    assert_eq!((grown["valid"].clone(), grown["unsealed_rows"].clone()), (json!(true), json!(2)), "{grown}");

    assert_eq!(app.gov.seal_audit_log().unwrap().rows, 2);
    let again = integrity(&app).await;
    assert_eq!(again["valid"], true, "{again}");
    assert_eq!(again["checkpoints"], 2);
    assert_eq!(again["head"]["from_seq"], sealed["head"]["to_seq"]);
    assert_eq!(again["head"]["row_count"], 2);
    assert_eq!(again["unsealed_rows"], 0);
    // Nothing new: nothing to seal.
    assert_eq!(app.gov.seal_audit_log().unwrap().checkpoints, 0);
    assert_eq!(integrity(&app).await["checkpoints"], 2);
}

#[tokio::test]
async fn a_wiped_trail_is_detected() {
    let app = TestApp::spawn().await;
    changes(&app, 3).await;
    app.gov.seal_audit_log().unwrap();
    let sealed = app.audit_count();
    let wipe = if postgres(app.db_url()) { "TRUNCATE audit_logs" } else { "DELETE FROM audit_logs" };
    tamper(app.db_url(), "audit_logs", wipe);
    assert_eq!(app.audit_count(), 0);
    let report = integrity(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["rows"], 0);
    assert_eq!(kinds(&report), ["rows_missing"]);
    assert_eq!(report["problems"][0]["checkpoint"], 1);
    assert!(report["problems"][0]["detail"].as_str().unwrap().contains(&format!("sealed {sealed} rows")));
    // New rows after the wipe are sealed after the old ranges; the wipe stays visible.
    changes(&app, 1).await;
    app.gov.seal_audit_log().unwrap();
    let later = integrity(&app).await;
    assert_eq!((later["valid"].clone(), later["checkpoints"].clone()), (json!(false), json!(2)), "{later}");
    assert_eq!(kinds(&later), ["rows_missing"]);
}

#[tokio::test]
async fn an_edited_row_is_named_by_its_seq() {
    let app = TestApp::spawn().await;
    changes(&app, 3).await;
    app.gov.seal_audit_log().unwrap();
    let seq = seq_of(&app, "policy.created", 1);
    tamper(
        app.db_url(),
        "audit_logs",
        &format!("UPDATE audit_logs SET details = '{{\"name\":\"harmless\"}}' WHERE seq = {seq}"),
    );
    let report = integrity(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(kinds(&report), ["row_edited"]);
    assert_eq!(report["problems"][0]["seq"], seq);

    // Covering the edit by dropping the row's hash: its checkpoint no longer matches.
    tamper(app.db_url(), "audit_logs", &format!("UPDATE audit_logs SET row_hash = NULL WHERE seq = {seq}"));
    let report = integrity(&app).await;
    assert_eq!(kinds(&report), ["rows_changed"], "{report}");
    assert_eq!(report["problems"][0]["checkpoint"], 1);
}

#[tokio::test]
async fn an_edited_unsealed_row_is_detected() {
    let app = TestApp::spawn().await;
    app.gov.seal_audit_log().unwrap();
    changes(&app, 1).await;
    let seq = seq_of(&app, "policy.created", 0);
    tamper(app.db_url(), "audit_logs", &format!("UPDATE audit_logs SET actor_id = 'cli' WHERE seq = {seq}"));
    let report = integrity(&app).await;
    assert_eq!(report["unsealed_rows"], 1);
    assert_eq!(kinds(&report), ["row_edited"], "{report}");
}

#[tokio::test]
async fn a_deleted_middle_row_breaks_its_checkpoint() {
    let app = TestApp::spawn().await;
    changes(&app, 3).await;
    app.gov.seal_audit_log().unwrap();
    changes(&app, 1).await;
    app.gov.seal_audit_log().unwrap();
    let seq = seq_of(&app, "policy.created", 1);
    tamper(app.db_url(), "audit_logs", &format!("DELETE FROM audit_logs WHERE seq = {seq}"));
    let report = integrity(&app).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(kinds(&report), ["rows_missing"]);
    assert_eq!(report["problems"][0]["checkpoint"], 1);
    assert_eq!(report["checkpoints"], 2);
}

#[tokio::test]
async fn a_removed_or_forged_checkpoint_is_detected() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        changes(&app, 1).await;
        app.gov.seal_audit_log().unwrap();
    }
    let t = app.tenant.tenant.id;
    tamper(
        app.db_url(),
        "audit_checkpoints",
        &format!("UPDATE audit_checkpoints SET row_count = row_count + 1 WHERE tenant_id = '{t}' AND n = 3"),
    );
    let report = integrity(&app).await;
    assert_eq!(kinds(&report), ["checkpoint_broken", "rows_missing"], "{report}");
    tamper(
        app.db_url(),
        "audit_checkpoints",
        &format!("DELETE FROM audit_checkpoints WHERE tenant_id = '{t}' AND n = 2"),
    );
    let report = integrity(&app).await;
    assert_eq!(report["valid"], false);
    let problems = kinds(&report);
    assert!(problems.starts_with(&["checkpoint_broken".to_owned()]), "{report}");
    assert!(problems.contains(&"rows_added".to_owned()), "{report}");
}

#[tokio::test]
async fn the_report_is_the_callers_tenants_and_needs_read() {
    let app = TestApp::spawn().await;
    let other = app.create_tenant("tenant-b");
    changes(&app, 2).await;
    app.gov.seal_audit_log().unwrap();
    let wipe = format!("DELETE FROM audit_logs WHERE tenant_id = '{}'", app.tenant.tenant.id);
    tamper(app.db_url(), "audit_logs", &wipe);
    assert_eq!(integrity(&app).await["valid"], false);
    let theirs = json(
        app.request(Method::GET, "/api/v1/logs/audit/integrity", &other.admin_key.secret)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["valid"], true, "{theirs}");
    assert_eq!(theirs["checkpoints"], 1);
    assert!(theirs["rows"].as_i64().unwrap() > 0);

    let ingest = app.key_with_scopes(&["ingest"]);
    let res = app.request(Method::GET, "/api/v1/logs/audit/integrity", &ingest).send().await.unwrap();
    error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.client.get(app.url("/api/v1/logs/audit/integrity")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_seal_concurrently_without_forking_the_chain() {
    let app = TestApp::spawn().await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each handle has its own pool (on SQLite its own writer thread): separate replicas.
    let sealers: Vec<_> = (0..2)
        .map(|_| {
            let (gov, done) = (app.gov_at(app.gov.now()), done.clone());
            std::thread::spawn(move || {
                let mut rounds = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    gov.seal_audit_log().unwrap();
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (gov, caller) = (app.gov_at(app.gov.now()), app.caller());
            std::thread::spawn(move || {
                for i in 0..15 {
                    let input = gov_facades::NewApiKey {
                        name: format!("w{w}-{i}"),
                        scopes: vec!["read".into()],
                        expires_at: None,
                    };
                    gov.create_api_key(&caller, input).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in sealers {
        assert!(s.join().unwrap() > 0);
    }
    app.gov.seal_audit_log().unwrap();
    let report = integrity(&app).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["unsealed_rows"], 0);
    assert_eq!(report["rows"], app.audit_count());
    assert_eq!(report["sealed_rows"], app.audit_count());
}

#[tokio::test]
async fn rows_from_before_the_upgrade_are_sealed_as_legacy_rows() {
    let db = TestDb::create_unmigrated();
    let gov = db.gov();
    gov.migrate_up().unwrap();
    let created = gov.create_tenant(&Actor::cli(), "old").unwrap();
    let tenant = created.tenant.id;
    // Back to before this version, then a few rows written by the old version.
    while !gov.migrate_down().unwrap().ends_with("000006") {}
    for i in 0..3 {
        raw_execute(
            db.url(),
            &format!(
                "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details) \
                 VALUES ('legacy-{i}', '{tenant}', 'cli', 'legacy.change', 'thing', 'x{i}', '2026-01-0{} 00:00:00', '{{}}')",
                i + 1
            ),
        )
        .unwrap();
    }
    let rows =
        raw_count(db.url(), &format!("SELECT count(*) AS n FROM audit_logs WHERE tenant_id = '{tenant}'"));
    gov.migrate_up().unwrap();
    assert_eq!(
        raw_count(db.url(), "SELECT count(DISTINCT seq) AS n FROM audit_logs"),
        raw_count(db.url(), "SELECT count(*) AS n FROM audit_logs")
    );

    let unsealed = gov.audit_integrity(tenant).unwrap();
    assert!(unsealed.valid, "{unsealed:?}");
    assert_eq!((unsealed.rows, unsealed.legacy_rows, unsealed.unsealed_rows), (rows, rows, rows));
    gov.seal_audit_log().unwrap();
    gov.create_api_key(
        &gov_facades::Caller { tenant_id: tenant, actor: Actor::cli() },
        gov_facades::NewApiKey { name: "new".into(), scopes: vec!["read".into()], expires_at: None },
    )
    .unwrap();
    let report = gov.audit_integrity(tenant).unwrap();
    assert!(report.valid, "{report:?}");
    assert_eq!(
        (report.rows, report.sealed_rows, report.legacy_rows, report.unsealed_rows),
        (rows + 1, rows, rows, 1)
    );
    // A legacy row is protected from its first seal on.
    let seq = raw_count(db.url(), "SELECT seq AS n FROM audit_logs WHERE log_id = 'legacy-1'");
    let url = db.url();
    tamper(url, "audit_logs", &format!("UPDATE audit_logs SET resource_id = 'y' WHERE seq = {seq}"));
    let report = gov.audit_integrity(tenant).unwrap();
    assert!(!report.valid);
    assert_eq!(report.problems[0].kind.as_str(), "rows_changed");
}

#[tokio::test]
async fn the_server_seals_in_the_background() {
    let app = TestApp::spawn_sealing_every(Duration::from_millis(50)).await;
    changes(&app, 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = integrity(&app).await;
        if report["unsealed_rows"] == 0 && report["rows"] == app.audit_count() {
            assert_eq!(report["valid"], true, "{report}");
            break;
        }
        assert!(Instant::now() < deadline, "not sealed in time: {report}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
