//! The risk guard: dual-control caps, reserve/settle idempotency, atomicity, UTC days.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::helpers::{TestApp, error, json};

async fn reserve(app: &TestApp, engine: &str, amount: f64, correlation_id: &str) -> Value {
    let body = json!({"engine": engine, "amount": amount, "actor": "deal_engine", "reason": "booking", "correlation_id": correlation_id});
    json(app.post("/api/governance/risk/check-and-reserve", &body).await, StatusCode::OK).await
}

#[tokio::test]
async fn reservations_respect_the_engine_and_global_caps_together() {
    let app = TestApp::spawn().await;
    // WHOLESALE: exposure 1000, open risk 500. GLOBAL: exposure 1500.
    assert_eq!(reserve(&app, "WHOLESALE", 400.0, "c1").await["ok"], true);
    let denied = reserve(&app, "WHOLESALE", 200.0, "c2").await;
    assert_eq!(denied["ok"], false, "600 open risk would pass WHOLESALE's 500");
    assert!(denied["reason"].as_str().unwrap().contains("max_open_risk"), "{denied}");
    assert_eq!(reserve(&app, "CAPITAL", 300.0, "c3").await["ok"], true);
    // A retry gets the first answer and changes nothing.
    let again = reserve(&app, "WHOLESALE", 200.0, "c2").await;
    assert_eq!((again["ok"].clone(), again["replayed"].clone()), (json!(false), json!(true)));
    let reused = app
        .post(
            "/api/governance/risk/check-and-reserve",
            &json!({"engine": "CAPITAL", "amount": 5, "correlation_id": "c1"}),
        )
        .await;
    error(reused, StatusCode::CONFLICT, "conflict").await;

    let settled = json(
        app.post(
            "/api/governance/risk/settle",
            &json!({"correlation_id": "c1", "realized_loss": 50, "reserved_amount": 400}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settled["ok"], true);
    let retry = json(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "c1", "realized_loss": 50})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(retry["replayed"], true);
    error(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "c1", "realized_loss": 60})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    error(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "c2", "realized_loss": 0})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    error(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "nope", "realized_loss": 0})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let row = |engine: &str| {
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == engine).unwrap().clone()
    };
    assert_eq!(row("WHOLESALE")["open_risk_reserved"], 0.0);
    assert_eq!(row("WHOLESALE")["realized_loss"], 50.0);
    assert_eq!(row("WHOLESALE")["exposure_used"], 400.0);
    assert_eq!(row("GLOBAL")["exposure_used"], 700.0);
    assert_eq!(row("GLOBAL")["open_risk_reserved"], 300.0);
    assert_eq!(ledger["denials"]["WHOLESALE"], 1);
}

#[tokio::test]
async fn bad_risk_input_is_refused() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"engine": "MOON", "amount": 5}), StatusCode::NOT_FOUND, "not_found"),
        (json!({"engine": "WHOLESALE", "amount": -5}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (json!({"engine": "WHOLESALE"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (body, status, code) in cases {
        error(app.post("/api/governance/risk/check-and-reserve", &body).await, status, code).await;
    }
    error(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "x", "realized_loss": -1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    error(
        app.post("/api/governance/risk/policies/upsert", &json!({"engine": "X", "max_daily_loss": -1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    assert_eq!(ledger["reservations"], 0);
    let created = json(
        app.post(
            "/api/governance/risk/policies/upsert",
            &json!({"engine": "LENDING", "max_daily_exposure": 10, "reason": "new desk"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(created["max_daily_exposure"], 10.0);
    assert!(created["max_daily_loss"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_pass_a_cap() {
    let app = TestApp::spawn().await;
    // GLOBAL exposure 1500: 40 concurrent reservations of 100 can grant at most 15.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, url, key) =
            (app.client.clone(), app.url("/api/governance/risk/check-and-reserve"), app.admin_key.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"engine": "NOTIFY", "amount": 100, "correlation_id": format!("k{i}")});
            let res = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
            let answer = json(res, StatusCode::OK).await;
            answer["ok"].as_bool().unwrap_or_else(|| panic!("no decision: {answer}"))
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += i32::from(t.await.unwrap());
    }
    assert_eq!(granted, 15);
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let global =
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == "GLOBAL").unwrap().clone();
    assert_eq!(global["exposure_used"], 1500.0);
    assert_eq!(ledger["denials"]["NOTIFY"], 25);
}

#[tokio::test]
async fn the_ledger_day_turns_over_at_utc_midnight() {
    let app = TestApp::spawn().await;
    app.clock.set(datetime!(2026-11-22 23:59:50 UTC));
    assert_eq!(reserve(&app, "CAPITAL", 300.0, "late").await["ok"], true);
    assert_eq!(reserve(&app, "CAPITAL", 1.0, "later").await["ok"], false, "CAPITAL's open risk cap is 300");
    app.clock.set(datetime!(2026-11-23 00:00:10 UTC));
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    assert_eq!(ledger["day"], "2026-11-23");
    assert_eq!(ledger["ledgers"].as_array().unwrap().len(), 0);
    assert_eq!(reserve(&app, "CAPITAL", 300.0, "morning").await["ok"], true);
    // Settling yesterday's reservation frees yesterday's open risk and books the loss today.
    json(
        app.post("/api/governance/risk/settle", &json!({"correlation_id": "late", "realized_loss": 20}))
            .await,
        StatusCode::OK,
    )
    .await;
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let capital =
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == "CAPITAL").unwrap().clone();
    assert_eq!(
        (capital["realized_loss"].as_f64(), capital["open_risk_reserved"].as_f64()),
        (Some(20.0), Some(300.0))
    );
}
