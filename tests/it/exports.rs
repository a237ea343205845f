//! Evidence exports: the signing key, the immutable export rows, and the export routes.

use gov_facades::NewExport;
use gov_model::{ExportFormat, ExportId, ExportKind};

use crate::helpers::{TestApp, raw_count, raw_execute};

fn new_export(kind: ExportKind, format: ExportFormat, artifact: &[u8]) -> NewExport {
    NewExport {
        export_id: ExportId::new(),
        kind,
        format,
        incident_id: None,
        run_id: None,
        bundle_id: "bundle-1".to_owned(),
        bundle_hash: "ab".repeat(32),
        key_id: "0123456789abcdef".to_owned(),
        reason: Some("quarterly audit".to_owned()),
        artifact: Some(artifact.to_vec()),
        size_bytes: artifact.len() as i64,
        document: br#"{"bundle_id":"bundle-1"}"#.to_vec(),
    }
}

#[tokio::test]
async fn an_export_row_and_its_audit_row_are_written_together_and_never_change() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let pdf = b"%PDF-1.7 not really".to_vec();
    let export =
        app.gov.record_export(&app.caller(), new_export(ExportKind::Soc2, ExportFormat::Pdf, &pdf)).unwrap();
    assert_eq!(app.audit_count(), before + 1);
    let tenant = app.tenant.tenant.id;
    assert_eq!(app.gov.get_export(tenant, export.export_id).unwrap(), export);
    let (record, bytes) = app.gov.export_artifact(tenant, export.export_id).unwrap();
    assert_eq!((record.content_type.as_str(), bytes.as_deref()), ("application/pdf", Some(&pdf[..])));
    let (_, document) = app.gov.export_document(tenant, export.export_id).unwrap();
    assert_eq!(document, br#"{"bundle_id":"bundle-1"}"#);

    let url = app.db_url();
    let count = || raw_count(url, "SELECT COUNT(*) AS n FROM evidence_exports");
    assert_eq!(count(), 1);
    assert!(raw_execute(url, "UPDATE evidence_exports SET bundle_hash = 'forged'").is_err());
    assert!(raw_execute(url, "UPDATE evidence_exports SET artifact = NULL").is_err());
    assert!(raw_execute(url, "DELETE FROM evidence_exports").is_err());
    if url.starts_with("postgres") {
        assert!(raw_execute(url, "TRUNCATE evidence_exports").is_err());
        assert!(raw_execute(url, "TRUNCATE signing_keys").is_err());
    }
    assert_eq!(count(), 1);
    assert_eq!(app.gov.export_artifact(tenant, export.export_id).unwrap().1.as_deref(), Some(&pdf[..]));

    let other = app.create_tenant("tenant-b");
    assert!(
        app.gov.get_export(other.tenant.id, export.export_id).is_err(),
        "another tenant's export is not found"
    );
}

#[tokio::test]
async fn replicas_generating_the_key_at_once_end_with_one_key() {
    let app = TestApp::spawn().await;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let gov = app.gov_at(time::OffsetDateTime::now_utc());
            std::thread::spawn(move || gov.public_keys().unwrap().0)
        })
        .collect();
    let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    assert_eq!(keys[0].source, gov_model::KeySource::Generated);
    let url = app.db_url();
    assert_eq!(raw_count(url, "SELECT COUNT(*) AS n FROM signing_keys"), 1);
    assert!(raw_execute(url, "UPDATE signing_keys SET public_key = 'forged'").is_err());
    assert!(raw_execute(url, "DELETE FROM signing_keys").is_err());

    // A configured key signs instead; the generated one stays listed, for older exports.
    let configured = gov_evidence::SigningKey::from_seed([9; 32]);
    let gov = app.gov_at(time::OffsetDateTime::now_utc()).with_signing_key(configured.clone());
    let (current, older) = gov.public_keys().unwrap();
    assert_eq!(current.key_id, configured.public_key().key_id());
    assert_eq!(current.source, gov_model::KeySource::Configured);
    assert_eq!(older, vec![keys[0].clone()]);
    assert_eq!(raw_count(url, "SELECT COUNT(*) AS n FROM signing_keys WHERE private_key IS NULL"), 1);
}

/// The seed scenario (seed 000 §6): a token limit of 10,000 breached at step 3. Returns the run
/// and incident ids.
async fn seed_scenario(app: &TestApp) -> (String, String) {
    app.create_policy(
        serde_json::json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000}),
    )
    .await;
    let started = app.start_run("AGT-001").await;
    let run_id = started["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&run_id, serde_json::json!({"step_type": "input", "input_tokens": 2000})).await;
    app.step_ok(&run_id, serde_json::json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"})).await;
    let s3 = app
        .step_ok(&run_id, serde_json::json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}))
        .await;
    assert_eq!(s3["decision"], "BLOCK");
    (run_id, s3["incident_id"].as_str().unwrap().to_owned())
}

/// POSTs an export and returns (headers, body bytes), asserting 201.
async fn export(
    app: &TestApp,
    path: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = app.request(reqwest::Method::POST, path, &app.admin_key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(status, reqwest::StatusCode::CREATED, "{}", String::from_utf8_lossy(&bytes));
    (headers, bytes)
}

async fn download(app: &TestApp, path: &str) -> (String, Vec<u8>) {
    let res = app.get(path).await;
    assert_eq!(res.status(), reqwest::StatusCode::OK, "{path}");
    let content_type = res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    (content_type, res.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

/// `pdftotext` of a PDF, and whether `qpdf --check` passes it.
fn pdf_text_and_check(pdf: &[u8]) -> (String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(text.status.success(), "pdftotext failed");
    let check = std::process::Command::new("qpdf").arg("--check").arg(&path).output().expect("qpdf");
    (String::from_utf8_lossy(&text.stdout).into_owned(), check.status.success())
}

#[tokio::test]
async fn the_seed_scenario_exports_in_all_three_forms_and_downloads_byte_identical() {
    let app = TestApp::spawn().await;
    let (run_id, incident_id) = seed_scenario(&app).await;
    let base = format!("/api/v1/incidents/{incident_id}/export");
    let before = app.audit_count();

    // The evidence bundle: sealed JSON that verifies with the served public key.
    let (headers, evidence) =
        export(&app, &format!("{base}/evidence"), Some(serde_json::json!({"reason": "SOC2 audit Q1"}))).await;
    let export_id = header(&headers, "x-gov-export-id").to_owned();
    assert_eq!(header(&headers, "location"), format!("/api/v1/exports/{export_id}"));
    assert_eq!(header(&headers, "content-type"), "application/json");
    let hash = header(&headers, "x-gov-bundle-hash").to_owned();
    let doc: serde_json::Value = serde_json::from_slice(&evidence).unwrap();
    assert_eq!(doc["incident_id"], incident_id.as_str());
    assert_eq!(doc["run_id"], run_id.as_str());
    assert_eq!(doc["steps"].as_array().unwrap().len(), 3);
    assert_eq!(doc["integrity"]["bundle_hash"], hash.as_str());
    assert_eq!(gov_evidence::bundle_hash(&doc), hash);
    let key =
        crate::helpers::json(app.get("/api/v1/evidence/public-key").await, reqwest::StatusCode::OK).await;
    assert_eq!(doc["integrity"]["key_id"], key["key_id"]);
    assert_eq!(key["algorithm"], "ed25519");
    assert_eq!(key["source"], "generated");
    let public = gov_evidence::PublicKey::from_hex(key["public_key"].as_str().unwrap()).unwrap();
    assert!(gov_evidence::verify_bundle(&evidence, Some(&public)).is_ok());
    // Downloaded twice: byte-identical to the POST's body.
    for _ in 0..2 {
        let (content_type, again) = download(&app, &format!("/api/v1/exports/{export_id}")).await;
        assert_eq!((content_type.as_str(), again.as_slice()), ("application/json", evidence.as_slice()));
    }

    // SOC2 as a PDF: the text names the incident, CC7.2 and the bundle hash; qpdf passes it.
    let (headers, pdf) = export(&app, &format!("{base}/soc2"), None).await;
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    let soc2_id = header(&headers, "x-gov-export-id").to_owned();
    let soc2_hash = header(&headers, "x-gov-bundle-hash").to_owned();
    let (text, qpdf_ok) = pdf_text_and_check(&pdf);
    assert!(qpdf_ok, "qpdf --check fails the SOC2 PDF");
    let flat: String = text.split_whitespace().collect();
    for needle in [incident_id.as_str(), "CC7.2", soc2_hash.as_str()] {
        assert!(flat.contains(needle), "the SOC2 PDF's text lacks {needle}");
    }
    let (content_type, again) = download(&app, &format!("/api/v1/exports/{soc2_id}")).await;
    assert_eq!((content_type.as_str(), again == pdf), ("application/pdf", true));
    // The document it was rendered from is the sealed SOC2 bundle with that hash.
    let (_, document) = download(&app, &format!("/api/v1/exports/{soc2_id}/document")).await;
    let document: serde_json::Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(document["integrity"]["bundle_hash"], soc2_hash.as_str());
    assert!(document["control_mappings"].to_string().contains("CC7.2"));

    // SOC2 as JSON, and the executive debrief both ways.
    let (_, soc2_json) = export(&app, &format!("{base}/soc2?format=json"), None).await;
    assert!(gov_evidence::verify_bundle(&soc2_json, Some(&public)).is_ok());
    let (headers, debrief) = export(&app, &format!("{base}/executive-debrief"), None).await;
    let (text, qpdf_ok) = pdf_text_and_check(&debrief);
    assert!(qpdf_ok, "qpdf --check fails the debrief PDF");
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains(header(&headers, "x-gov-bundle-hash")), "the debrief names its bundle hash");
    let (_, debrief_json) = export(&app, &format!("{base}/executive-debrief?format=json"), None).await;
    let debrief_doc: serde_json::Value = serde_json::from_slice(&debrief_json).unwrap();
    assert!(debrief_doc["recommended_actions"].is_array());
    assert!(gov_evidence::verify_bundle(&debrief_json, Some(&public)).is_ok());

    // Five exports, five audit rows, all listed newest first.
    assert_eq!(app.audit_count(), before + 5);
    let audit = crate::helpers::json(
        app.get("/api/v1/logs/audit?action=evidence.exported").await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(audit["pagination"]["total"], 5, "{audit}");
    let listed = crate::helpers::json(
        app.get(&format!("/api/v1/exports/?incident_id={incident_id}")).await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(listed["pagination"]["total"], 5);
    assert_eq!(listed["items"][4]["export_id"], export_id.as_str());
    assert_eq!(listed["items"][4]["reason"], "SOC2 audit Q1");
    let pdfs =
        crate::helpers::json(app.get("/api/v1/exports/?kind=soc2&format=pdf").await, reqwest::StatusCode::OK)
            .await;
    assert_eq!(pdfs["pagination"]["total"], 1);

    // O5 views of the incident and of the run.
    let view = crate::helpers::json(
        app.get(&format!("/api/v1/incidents/{incident_id}/evidence")).await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(view["source"], serde_json::json!({"id": incident_id, "type": "incident"}));
    let steps = view["trace"]["steps"].as_array().unwrap();
    assert_eq!(steps.iter().map(|s| s["step_number"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(steps[2]["type"], "policy_check");
    assert_eq!(view["exports"].as_array().unwrap().len(), 5);
    assert_eq!(view["exports"][0]["format"], "json");
    assert!(view["available"].as_array().unwrap().iter().any(|a| a["url"] == format!("{base}/soc2")));
    let paged = crate::helpers::json(
        app.get(&format!("/api/v1/runs/{run_id}/evidence?page=2&page_size=2")).await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(paged["source"]["type"], "run");
    assert_eq!(paged["trace"]["pagination"]["total"], 3);
    assert_eq!(paged["trace"]["steps"][0]["step_number"], 3);
    assert_eq!(paged["exports"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn bad_exports_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (run_id, incident_id) = seed_scenario(&app).await;
    let base = format!("/api/v1/incidents/{incident_id}/export");
    let before = app.audit_count();
    let post = |path: String| app.request(reqwest::Method::POST, &path, &app.admin_key).send();
    crate::helpers::error(
        post(format!("{base}/soc2?format=docx")).await.unwrap(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    crate::helpers::error(
        post(format!("{base}/evidence?format=pdf")).await.unwrap(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let long = app
        .request(reqwest::Method::POST, &format!("{base}/evidence"), &app.admin_key)
        .json(&serde_json::json!({"reason": "x".repeat(1001)}))
        .send();
    crate::helpers::error(
        long.await.unwrap(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let unknown = gov_model::IncidentId::new();
    crate::helpers::error(
        post(format!("/api/v1/incidents/{unknown}/export/evidence")).await.unwrap(),
        reqwest::StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.audit_count(), before);

    // Another tenant sees none of it: not the incident, the run, nor the export.
    let (headers, _) = export(&app, &format!("{base}/evidence"), None).await;
    let export_id = header(&headers, "x-gov-export-id").to_owned();
    let other = app.create_tenant("tenant-b").admin_key.secret;
    for (method, path) in [
        (reqwest::Method::POST, format!("{base}/evidence")),
        (reqwest::Method::GET, format!("/api/v1/incidents/{incident_id}/evidence")),
        (reqwest::Method::GET, format!("/api/v1/runs/{run_id}/evidence")),
        (reqwest::Method::GET, format!("/api/v1/exports/{export_id}")),
        (reqwest::Method::GET, format!("/api/v1/exports/{export_id}/document")),
    ] {
        let res = app.request(method, &path, &other).send().await.unwrap();
        crate::helpers::error(res, reqwest::StatusCode::NOT_FOUND, "not_found").await;
    }
    let listed = app.request(reqwest::Method::GET, "/api/v1/exports/", &other).send().await.unwrap();
    assert_eq!(crate::helpers::json(listed, reqwest::StatusCode::OK).await["pagination"]["total"], 0);
    // An ingest key has no read scope.
    let ingest = app.key_with_scopes(&["ingest"]);
    let res = app.request(reqwest::Method::POST, &format!("{base}/evidence"), &ingest).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_incident_without_a_run_exports_what_it_has() {
    let app = TestApp::spawn().await;
    app.clock.set(time::macros::datetime!(2026-03-02 09:00:05 UTC));
    crate::regression::enable_small(&app, "WHOLESALE", "contract_rate").await;
    crate::regression::degrade(&app, "WHOLESALE", "contract_rate", 9).await;
    let tripped = crate::regression::kpi(&app, "WHOLESALE", "contract_rate", false).await;
    let incident_id = tripped["evaluation"]["state"]["incident_id"].as_str().unwrap().to_owned();
    let (_, body) = export(&app, &format!("/api/v1/incidents/{incident_id}/export/evidence"), None).await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["incident_id"], incident_id.as_str());
    assert!(doc["run_id"].is_null() && doc["steps"].as_array().unwrap().is_empty(), "{doc}");
    assert!(gov_evidence::verify_bundle(&body, None).is_ok());
    let (headers, pdf) = export(&app, &format!("/api/v1/incidents/{incident_id}/export/soc2"), None).await;
    assert_eq!(header(&headers, "content-type"), "application/pdf");
    assert!(pdf_text_and_check(&pdf).1);
    let view = crate::helpers::json(
        app.get(&format!("/api/v1/incidents/{incident_id}/evidence")).await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert!(view["trace"].is_null(), "{view}");
    assert_eq!(view["exports"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn replicas_on_one_database_sign_with_the_same_key() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let (_, incident_id) = seed_scenario(&app).await;
    let path = format!("/api/v1/incidents/{incident_id}/export/evidence");
    // Both replicas export at once, before either has a key.
    let (a, b) = tokio::join!(
        app.request(reqwest::Method::POST, &path, &app.admin_key).send(),
        app.client.post(replica.url(&path)).bearer_auth(&app.admin_key).send(),
    );
    let mut key_ids = Vec::new();
    for res in [a.unwrap(), b.unwrap()] {
        let body = crate::helpers::json(res, reqwest::StatusCode::CREATED).await;
        key_ids.push(body["integrity"]["key_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(key_ids[0], key_ids[1]);
    let served = app
        .client
        .get(replica.url("/api/v1/evidence/public-key"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    let served = crate::helpers::json(served, reqwest::StatusCode::OK).await;
    assert_eq!(served["key_id"], key_ids[0].as_str());
    assert_eq!(served["previous_keys"], serde_json::json!([]));
}

#[tokio::test]
async fn gov_evidence_public_key_prints_the_key_the_server_serves_and_a_configured_one() {
    use crate::helpers::process::run;
    let app = TestApp::spawn().await;
    let served =
        crate::helpers::json(app.get("/api/v1/evidence/public-key").await, reqwest::StatusCode::OK).await;
    let dir = tempfile::tempdir().unwrap();
    let url = app.db_url();
    let printed = |args: &[&str], envs: &[(&str, &str)]| {
        let mut all = vec!["evidence", "public-key", "--json", "--database-url", url];
        all.extend_from_slice(args);
        let out = run(dir.path(), &all, envs);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "gov evidence public-key failed: {stderr}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let same = printed(&[], &[]);
    assert_eq!(
        (same["key_id"].clone(), same["public_key"].clone()),
        (served["key_id"].clone(), served["public_key"].clone())
    );

    // A configured key (a file, or the environment) signs instead; the generated one is kept.
    let key = gov_evidence::SigningKey::from_seed([5; 32]);
    let file = dir.path().join("signing.key");
    std::fs::write(&file, format!("{}\n", key.seed_hex())).unwrap();
    let configured = printed(&["--signing-key-file", file.to_str().unwrap()], &[]);
    assert_eq!(configured["key_id"], key.public_key().key_id().as_str());
    assert_eq!(configured["source"], "configured");
    assert_eq!(configured["previous_keys"][0]["key_id"], served["key_id"]);
    assert!(!configured.to_string().contains(&key.seed_hex()), "the private key is never printed");
    let from_env = printed(&[], &[("GOV_SIGNING_KEY", &key.seed_hex())]);
    assert_eq!(from_env["key_id"], configured["key_id"]);

    // An unusable key stops the command, naming where it came from and not its text.
    let out = run(
        dir.path(),
        &["evidence", "public-key", "--database-url", url],
        &[("GOV_SIGNING_KEY", "not-a-key-0123")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("GOV_SIGNING_KEY") && !stderr.contains("not-a-key-0123"), "{stderr}");
}
