//! `gov review`: the Monday control-plane review reads the four levers and judges them.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, json};

#[tokio::test]
async fn the_review_shows_each_lever_as_its_endpoint_does_and_flags_what_needs_action() {
    let app = TestApp::spawn().await;
    let upsert = json!({"domain": "WHOLESALE", "metric": "contract_rate", "window_events": 10, "baseline_events": 40,
        "min_events_to_enforce": 50, "enabled": true, "reason": "experiment"});
    json(app.post("/api/governance/regression/policies/upsert", &upsert).await, StatusCode::OK).await;
    for i in 0..50 {
        let body = json!({"domain": "WHOLESALE", "metric": "contract_rate", "success": i < 40});
        json(app.post("/api/governance/regression/kpi", &body).await, StatusCode::OK).await;
    }
    for amount in [10.0, 5000.0] {
        let body = json!({"engine": "WHOLESALE", "amount": amount});
        json(app.post("/api/governance/risk/check-and-reserve", &body).await, StatusCode::OK).await;
    }
    for success in [true, false, false] {
        let body = json!({"domain": "BUYER_MATCH", "success": success, "confidence": 0.9});
        json(app.post("/api/governance/heimdall/sandbox/trial", &body).await, StatusCode::OK).await;
    }

    let review = app.gov.control_review(&app.tenant.tenant).unwrap();
    let verdict: Vec<_> = review.findings.iter().map(|f| (f.check, f.healthy)).collect();
    assert_eq!(
        verdict,
        [
            ("control_plane", false),
            ("risk_denials", false),
            ("regression_tripwires", false),
            ("sandbox_scorecards", false)
        ]
    );
    let text = gov_api::review::render(&review);
    for needle in [
        "WHOLESALE/contract_rate",
        "TRIPPED",
        "BUYER_MATCH",
        "33.3%",
        "[ACT] regression_tripwires",
        "denials 1 (50.0%",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let machine = gov_api::review::to_json(&review, false);
    assert_eq!(machine["healthy"], false);
    let endpoints = [
        ("regression", "/api/governance/regression/state"),
        ("risk", "/api/governance/risk/ledger/today"),
        ("heimdall", "/api/governance/heimdall/scorecard/today"),
        ("go_live", "/api/governance/go-live/state"),
    ];
    for (section, path) in endpoints {
        assert_eq!(machine[section], json(app.get(path).await, StatusCode::OK).await, "{section}");
    }
    assert_eq!(machine["kpi_today"][0]["events"], 50);
}
