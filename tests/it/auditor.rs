//! The auditor's walk (issue 9's "done when"): the seed scenario's three exports and a log export
//! taken to another directory with no server and no database, checked there by `gov verify`,
//! and every tampering named.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::process;
use crate::helpers::{TestApp, json};

/// The seed scenario (seed 000 §6): a 10,000-token limit breached at step 3. Returns the incident.
async fn seed_scenario(app: &TestApp) -> String {
    app.create_policy(json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000}))
        .await;
    let run = app.start_run("AGT-001").await;
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&run_id, json!({"step_type": "input", "input_tokens": 2000})).await;
    app.step_ok(&run_id, json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"}))
        .await;
    let s3 = app
        .step_ok(&run_id, json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}))
        .await;
    s3["incident_id"].as_str().unwrap().to_owned()
}

struct Download {
    bytes: Vec<u8>,
    export_id: String,
}

async fn export(app: &TestApp, path: &str) -> Download {
    let res = app.request(reqwest::Method::POST, path, &app.admin_key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{path}");
    let export_id = res.headers()["x-gov-export-id"].to_str().unwrap().to_owned();
    Download { bytes: res.bytes().await.unwrap().to_vec(), export_id }
}

async fn download(app: &TestApp, path: &str) -> Vec<u8> {
    let res = app.request(reqwest::Method::GET, path, &app.admin_key).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.bytes().await.unwrap().to_vec()
}

fn verify(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out = process::run(dir, &all, &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn tampered(bundle: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bundle).unwrap();
    edit(&mut doc);
    serde_json::to_vec_pretty(&doc).unwrap()
}

#[tokio::test]
async fn an_auditor_verifies_the_seed_scenarios_exports_offline_and_sees_every_tampering_named() {
    let app = TestApp::spawn().await;
    let incident = seed_scenario(&app).await;
    let evidence = export(&app, &format!("/api/v1/incidents/{incident}/export/evidence")).await;
    let soc2_pdf = export(&app, &format!("/api/v1/incidents/{incident}/export/soc2")).await;
    let soc2_json = download(&app, &format!("/api/v1/exports/{}/document", soc2_pdf.export_id)).await;
    let debrief_pdf = export(&app, &format!("/api/v1/incidents/{incident}/export/executive-debrief")).await;
    let debrief_json = download(&app, &format!("/api/v1/exports/{}/document", debrief_pdf.export_id)).await;
    let key = json(app.get("/api/v1/evidence/public-key").await, StatusCode::OK).await;
    let key = key["public_key"].as_str().unwrap().to_owned();

    // Another machine: a directory with the files, no server, no database settings.
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    put("evidence.json", &evidence.bytes);
    put("soc2.json", &soc2_json);
    put("soc2.pdf", &soc2_pdf.bytes);
    put("debrief.json", &debrief_json);
    put("debrief.pdf", &debrief_pdf.bytes);
    put("key.txt", key.as_bytes());

    for (bundle, pdf) in
        [("evidence.json", None), ("soc2.json", Some("soc2.pdf")), ("debrief.json", Some("debrief.pdf"))]
    {
        let mut args = vec![bundle, "--public-key", "key.txt"];
        if let Some(pdf) = pdf {
            args.extend(["--pdf", pdf]);
        }
        let (ok, out) = verify(dir.path(), &args);
        assert!(ok, "{bundle}: {out}");
        assert!(out.contains(&incident), "{bundle}: {out}");
    }

    // Each tampering is caught and named.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("edited step", tampered(&evidence.bytes, |d| d["steps"][1]["tokens"] = json!(1)), "step 2"),
        (
            "deleted step",
            tampered(&evidence.bytes, |d| {
                d["steps"].as_array_mut().unwrap().remove(1);
            }),
            "step",
        ),
        (
            "reordered steps",
            tampered(&evidence.bytes, |d| d["steps"].as_array_mut().unwrap().swap(0, 1)),
            "step",
        ),
        (
            "snapshot text",
            tampered(&evidence.bytes, |d| {
                let text = d["policy_context"]["policies_json"].as_str().unwrap().replace("10000", "90000");
                d["policy_context"]["policies_json"] = json!(text);
            }),
            "snapshot",
        ),
        (
            "stripped signature",
            tampered(&evidence.bytes, |d| {
                d.as_object_mut().unwrap().remove("integrity");
            }),
            "integrity",
        ),
    ];
    for (what, bytes, named) in cases {
        put("tampered.json", &bytes);
        let (ok, out) = verify(dir.path(), &["tampered.json", "--public-key", "key.txt"]);
        assert!(!ok, "{what} passed: {out}");
        assert!(out.to_lowercase().contains(named), "{what}: {out}");
    }

    // A PDF of another bundle is named as such.
    let (ok, out) = verify(dir.path(), &["evidence.json", "--public-key", "key.txt", "--pdf", "soc2.pdf"]);
    assert!(!ok, "{out}");
}
