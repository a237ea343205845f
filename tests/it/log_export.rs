//! `POST /api/v1/logs/export`: streamed CSV and JSON log exports, their filters, the signed
//! manifest fetched after the stream, bad input, and tenant isolation.

use gov_model::ExportId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json, raw_count, raw_execute};

/// An audit row of the first tenant written straight into the table (values no API request can
/// carry, such as a line break), as the next row of the trail.
fn insert_audit_row(
    app: &TestApp,
    log_id: &str,
    actor: &str,
    action: &str,
    resource_id: &str,
    details: &str,
) {
    let tenant = app.tenant.tenant.id;
    let q = |s: &str| s.replace('\'', "''");
    let sql = if app.db_url().starts_with("postgres") {
        format!(
            "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details) \
             VALUES ('{log_id}', '{tenant}', '{}', '{}', 'test', '{}', '2026-12-01 10:00:00', '{}')",
            q(actor),
            q(action),
            q(resource_id),
            q(details)
        )
    } else {
        format!(
            "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details, seq) \
             VALUES ('{log_id}', '{tenant}', '{}', '{}', 'test', '{}', '2026-12-01 10:00:00', '{}', \
             (SELECT coalesce(max(seq), 0) + 1 FROM audit_logs))",
            q(actor),
            q(action),
            q(resource_id),
            q(details)
        )
    };
    raw_execute(app.db_url(), &sql).unwrap();
}

struct Export {
    status: StatusCode,
    export_id: String,
    location: String,
    content_type: String,
    body: Vec<u8>,
}

async fn export(app: &TestApp, key: &str, body: Value) -> Export {
    let res = app.request(Method::POST, "/api/v1/logs/export", key).json(&body).send().await.unwrap();
    let header =
        |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let (status, export_id, location, content_type) =
        (res.status(), header("x-gov-export-id"), header("location"), header("content-type"));
    let body = res.bytes().await.unwrap().to_vec();
    Export { status, export_id, location, content_type, body }
}

fn csv_rows(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body);
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

/// The signed manifest recorded for `export` (the document of its `evidence_exports` row).
fn manifest_of(app: &TestApp, export: &Export) -> Vec<u8> {
    let id: ExportId = export.export_id.parse().unwrap();
    let (record, document) = app.gov.export_document(app.tenant.tenant.id, id).unwrap();
    assert_eq!(record.kind.as_str(), "logs");
    assert_eq!(record.size_bytes, export.body.len() as i64);
    document
}

fn exports_count(app: &TestApp) -> i64 {
    raw_count(app.db_url(), "SELECT count(*) AS n FROM evidence_exports")
}

#[tokio::test]
async fn a_csv_export_round_trips_through_a_csv_parser_and_its_manifest_verifies() {
    let app = TestApp::spawn().await;
    let tricky = "comma, \"quoted\"\r\nand a new line";
    insert_audit_row(
        &app,
        "00000000-0000-7000-8000-000000000001",
        tricky,
        "test.tricky",
        "r,1",
        r#"{"note":"a,\"b\"\nc"}"#,
    );
    insert_audit_row(&app, "00000000-0000-7000-8000-000000000002", "plain", "test.plain", "r2", "{}");
    let before = app.audit_count();

    let got =
        export(&app, &app.admin_key, json!({"topic": "audit", "format": "csv", "resource_type": "test"}))
            .await;
    assert_eq!(got.status, StatusCode::OK, "{}", String::from_utf8_lossy(&got.body));
    assert!(got.content_type.starts_with("text/csv"), "{}", got.content_type);
    assert_eq!(got.location, format!("/api/v1/exports/{}", got.export_id));
    // RFC 4180: CRLF line ends; a field with a line break is quoted, its quotes doubled.
    let text = String::from_utf8(got.body.clone()).unwrap();
    assert!(
        text.starts_with("log_id,tenant_id,actor_id,action,resource_type,resource_id,timestamp,details\r\n"),
        "{text}"
    );
    assert!(text.contains("\"comma, \"\"quoted\"\"\r\nand a new line\""), "{text}");
    let (header, rows) = csv_rows(&got.body);
    assert_eq!(header.len(), 8);
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Oldest first, values exactly as stored.
    assert_eq!(rows[0][0], "00000000-0000-7000-8000-000000000001");
    assert_eq!(rows[0][2], tricky);
    assert_eq!(rows[0][5], "r,1");
    assert_eq!(serde_json::from_str::<Value>(&rows[0][7]).unwrap(), json!({"note": "a,\"b\"\nc"}));
    assert_eq!(rows[0][6], "2026-12-01T10:00:00Z");
    assert_eq!(rows[1][2], "plain");

    // Recorded: one export row and one audit row, once the body ended.
    assert_eq!(exports_count(&app), 1);
    assert_eq!(app.audit_count(), before + 1);
    let manifest = manifest_of(&app, &got);
    let (key, _) = app.gov.public_keys().unwrap();
    let public = gov_evidence::PublicKey::from_hex(&key.public_key).unwrap();
    let report = gov_evidence::verify_export(&manifest, &got.body, Some(&public)).unwrap();
    assert_eq!((report.row_count, report.topic.as_str(), report.format.as_str()), (2, "audit", "csv"));
    assert_eq!(report.export_id, got.export_id);
    let m: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(m["schema"], "gov.log-export-manifest/v1");
    assert_eq!(m["filters"], json!({"resource_type": "test"}));
    assert_eq!(m["body_bytes"], got.body.len());
    assert_eq!(m["tenant_id"], app.tenant.tenant.id.to_string());

    // A changed body no longer verifies, and the failure names it.
    let mut changed = got.body.clone();
    let at = changed.len() - 3;
    changed[at] ^= 1;
    let failure = gov_evidence::verify_export(&manifest, &changed, Some(&public)).unwrap_err();
    assert_eq!(failure.to_string(), "body: blake3 does not match the manifest");
    let mut appended = got.body.clone();
    appended.extend_from_slice(b"x,y\r\n");
    assert_eq!(gov_evidence::verify_export(&manifest, &appended, None).unwrap_err().item, "body");
}

#[tokio::test]
async fn json_exports_are_arrays_of_the_list_items_with_filters_and_time_ranges_applied() {
    let app = TestApp::spawn().await;
    let run = app.start_run("exported-agent").await;
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    app.start_run("other-agent").await;
    insert_audit_row(&app, "00000000-0000-7000-8000-000000000003", "x", "test.old", "r", "{\"k\":1}");

    // LLM runs: the list endpoint's items, filtered by agent.
    let got = export(
        &app,
        &app.admin_key,
        json!({"topic": "llm_runs", "format": "json", "agent_id": "exported-agent"}),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.content_type, "application/json");
    let items: Vec<Value> = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(items.len(), 1);
    let listed = json(app.get("/api/v1/logs/llm-runs?agent_id=exported-agent").await, StatusCode::OK).await;
    assert_eq!(items[0], listed["items"][0]);
    assert_eq!(items[0]["run_id"], run_id.as_str());
    let all = export(&app, &app.admin_key, json!({"topic": "llm_runs", "format": "csv"})).await;
    assert_eq!(csv_rows(&all.body).1.len(), 2);
    let none =
        export(&app, &app.admin_key, json!({"topic": "llm_runs", "format": "json", "has_violation": true}))
            .await;
    assert_eq!(none.body, b"[]");

    // Audit: the time range bounds `timestamp` (the inserted row is dated 2026-12-01 10:00).
    let ranged = |from: &str, to: &str| json!({"topic": "audit", "format": "json", "from": from, "to": to});
    let got = export(&app, &app.admin_key, ranged("2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z")).await;
    let items: Vec<Value> = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["action"], "test.old");
    assert_eq!(items[0]["details"], json!({"k": 1}));
    let got =
        export(&app, &app.admin_key, ranged("2026-12-01T10:00:00.000001Z", "2100-01-01T00:00:00Z")).await;
    let items: Vec<Value> = serde_json::from_slice(&got.body).unwrap();
    assert!(items.iter().all(|i| i["action"] != "test.old") && !items.is_empty());
    // Oldest first: the run.started rows in the order they were written.
    let started: Vec<&Value> = items.iter().filter(|i| i["action"] == "run.started").collect();
    assert_eq!(started.len(), 2);
    assert_eq!(started[0]["resource_id"], run_id.as_str());

    // Each export's manifest verifies against its own body.
    for e in [&all, &none] {
        gov_evidence::verify_export(&manifest_of(&app, e), &e.body, None).unwrap();
    }
}

#[tokio::test]
async fn bad_input_is_422_before_anything_is_read_or_written() {
    let app = TestApp::spawn().await;
    let before = (app.audit_count(), exports_count(&app));
    let cases = [
        (json!({"topic": "system", "format": "csv"}), "topic", "llm_runs and audit"),
        (json!({"topic": "nope", "format": "csv"}), "topic", "llm_runs and audit"),
        (json!({"topic": "audit", "format": "xml"}), "format", "json or csv"),
        (
            json!({"topic": "audit", "format": "csv", "agent_id": "a"}),
            "agent_id",
            "not a filter of topic audit",
        ),
        (
            json!({"topic": "llm_runs", "format": "csv", "action": "a"}),
            "action",
            "not a filter of topic llm_runs",
        ),
        (json!({"topic": "llm_runs", "format": "csv", "run_id": "nope"}), "run_id", ""),
        (json!({"topic": "audit", "format": "csv", "from": "yesterday"}), "from", "RFC 3339"),
        (
            json!({"topic": "audit", "format": "csv", "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
            "to",
            "before from",
        ),
    ];
    for (body, field, says) in cases {
        let res = app.post("/api/v1/logs/export", &body).await;
        let err = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["error"]["details"]["field"], field, "{body}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(says), "{body}: {err}");
    }
    for body in [json!({"topic": "audit"}), json!({"topic": "audit", "format": "csv", "unknown": 1})] {
        error(
            app.post("/api/v1/logs/export", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!((app.audit_count(), exports_count(&app)), before);
    // An export is a read: a read key may export, an ingest key may not.
    let ingest = app.key_with_scopes(&["ingest"]);
    let res = app
        .request(Method::POST, "/api/v1/logs/export", &ingest)
        .json(&json!({"topic": "audit", "format": "csv"}));
    error(res.send().await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let read = app.key_with_scopes(&["read"]);
    assert_eq!(export(&app, &read, json!({"topic": "audit", "format": "csv"})).await.status, StatusCode::OK);
}

#[tokio::test]
async fn another_tenant_exports_nothing_of_ours_and_cannot_fetch_our_manifest() {
    let app = TestApp::spawn().await;
    app.start_run("ours").await;
    let ours = export(&app, &app.admin_key, json!({"topic": "llm_runs", "format": "csv"})).await;
    assert_eq!(csv_rows(&ours.body).1.len(), 1);

    let other = app.create_tenant("tenant-b");
    for topic in ["llm_runs", "audit"] {
        let theirs = export(&app, &other.admin_key.secret, json!({"topic": topic, "format": "json"})).await;
        let items: Vec<Value> = serde_json::from_slice(&theirs.body).unwrap();
        let mine = app.tenant.tenant.id.to_string();
        assert!(items.iter().all(|i| i["tenant_id"] != mine.as_str()), "{topic}: {items:?}");
        if topic == "llm_runs" {
            assert!(items.is_empty());
        }
    }
    let id: ExportId = ours.export_id.parse().unwrap();
    assert!(matches!(app.gov.export_document(other.tenant.id, id), Err(gov_facades::Error::NotFound(_))));
    assert!(app.gov.export_document(app.tenant.tenant.id, id).is_ok());
}

#[tokio::test]
async fn an_export_spans_many_pages_and_holds_the_rows_that_existed_when_it_began() {
    let app = TestApp::spawn().await;
    // 2,500 rows: three keyset pages.
    let tenant = app.tenant.tenant.id;
    let sql = if app.db_url().starts_with("postgres") {
        format!(
            "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details) \
             SELECT gen_random_uuid()::text, '{tenant}', 'bulk', 'test.bulk', 'test', 'r' || i, '2026-12-01 10:00:00', '{{}}' \
             FROM generate_series(1, 2500) AS i"
        )
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
             INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details, seq) \
             SELECT printf('00000000-0000-7000-8000-%012d', i), '{tenant}', 'bulk', 'test.bulk', 'test', 'r' || i, \
             '2026-12-01 10:00:00', '{{}}', (SELECT coalesce(max(seq), 0) FROM audit_logs) + i FROM n"
        )
    };
    raw_execute(app.db_url(), &sql).unwrap();
    let before = app.audit_count();
    let got =
        export(&app, &app.admin_key, json!({"topic": "audit", "format": "csv", "action": "test.bulk"})).await;
    let (_, rows) = csv_rows(&got.body);
    assert_eq!(rows.len(), 2500);
    let ids: Vec<&str> = rows.iter().map(|r| r[5].as_str()).collect();
    let expected: Vec<String> = (1..=2500).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
    // The whole trail: every row before, not the export's own audit row.
    let all = export(&app, &app.admin_key, json!({"topic": "audit", "format": "json"})).await;
    let items: Vec<Value> = serde_json::from_slice(&all.body).unwrap();
    assert_eq!(items.len() as i64, before + 1);
    assert!(
        items
            .iter()
            .all(|i| i["action"] != "evidence.logs_exported" || i["resource_id"] != all.export_id.as_str())
    );
}
