//! The auditor's walk (issue 9's "done when"): the seed scenario's three exports and a log export
//! taken to another directory with no server and no database, checked there by `gov verify`,
//! and every tampering named.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::process;
use crate::helpers::{TestApp, json};

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
    let incident = app.seed_scenario().await;
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
