//! The sandbox charter: stacked gates, scorecards, and the production-eligibility guard.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test]
async fn a_recommendation_is_eligible_only_when_every_gate_holds() {
    let app = TestApp::spawn().await;
    let seeded = json(app.get("/api/governance/heimdall/policies").await, StatusCode::OK).await;
    assert_eq!(seeded.as_array().unwrap().len(), 4);
    // BUYER_MATCH: 90% confidence, 50 trials, 80% success; disabled for production.
    let rec = json(
        app.post("/api/governance/heimdall/recommend", &json!({"domain": "BUYER_MATCH", "confidence": 0.95}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rec["prod_eligible"], false);
    for gate in ["sandbox_trials", "sandbox_success_rate", "prod_use_enabled"] {
        assert!(rec["gate_reason"].as_str().unwrap().contains(gate), "{rec}");
    }
    let guard = app
        .post(
            "/api/governance/heimdall/require-prod-eligible",
            &json!({"recommendation_id": rec["recommendation_id"]}),
        )
        .await;
    error(guard, StatusCode::CONFLICT, "conflict").await;

    for i in 0..50 {
        let body = json!({"domain": "BUYER_MATCH", "success": i % 10 != 0, "confidence": 0.9});
        json(app.post("/api/governance/heimdall/sandbox/trial", &body).await, StatusCode::OK).await;
    }
    let card = json(app.get("/api/governance/heimdall/scorecard/today").await, StatusCode::OK).await;
    assert_eq!(card["scorecards"][0]["trials"], 50);
    assert_eq!(card["scorecards"][0]["successes"], 45);
    assert_eq!(card["scorecards"][0]["success_rate"], 0.9);
    // The seed's form-encoded upsert.
    let enabled = app
        .request(Method::POST, "/api/governance/heimdall/policies/upsert", &app.admin_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("domain=BUYER_MATCH&prod_use_enabled=true")
        .send()
        .await
        .unwrap();
    assert_eq!(json(enabled, StatusCode::OK).await["prod_use_enabled"], true);

    let low = json(
        app.post("/api/governance/heimdall/recommend", &json!({"domain": "BUYER_MATCH", "confidence": 0.85}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(low["gate_reason"].as_str().unwrap().starts_with("failed gates: confidence"), "{low}");
    let good = json(
        app.post(
            "/api/governance/heimdall/recommend",
            &json!({"domain": "BUYER_MATCH", "confidence": 0.93, "recommendation": {"buyer": 7}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (good["prod_eligible"].clone(), good["gate_reason"].clone()),
        (json!(true), json!("eligible"))
    );
    let ok = json(
        app.post(
            "/api/governance/heimdall/require-prod-eligible",
            &json!({"recommendation_id": good["recommendation_id"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ok["ok"], true);
}

#[tokio::test]
async fn bad_heimdall_input_is_refused() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "/api/governance/heimdall/recommend",
            json!({"domain": "NOPE", "confidence": 0.9}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/governance/heimdall/recommend",
            json!({"domain": "BUYER_MATCH", "confidence": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/heimdall/sandbox/trial",
            json!({"domain": "BUYER_MATCH", "success": true, "confidence": -0.1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/heimdall/policies/upsert",
            json!({"domain": "BUYER_MATCH", "min_confidence_prod": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/heimdall/require-prod-eligible",
            json!({"recommendation_id": "missing"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (path, body, status, code) in cases {
        error(app.post(path, &body).await, status, code).await;
    }
    let card = json(app.get("/api/governance/heimdall/scorecard/today").await, StatusCode::OK).await;
    assert_eq!(card["scorecards"].as_array().unwrap().len(), 0);
}
