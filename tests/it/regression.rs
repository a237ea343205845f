//! The regression tripwire: KPI events evaluated as they arrive, latched trips that throttle a
//! domain or engage the kill switch, an incident per trip, and operator resets.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json, raw_count};

/// A small tripwire: 10 events of window, 40 of baseline, enforced from 50, 20% drop.
pub(crate) async fn enable_small(app: &TestApp, domain: &str, metric: &str) -> Value {
    let body = format!(
        "domain={domain}&metric={metric}&window_events=10&baseline_events=40&min_events_to_enforce=50\
         &enabled=true&actor=ops&reason=experiment"
    );
    json(form(app, "/api/governance/regression/policies/upsert", &body).await, StatusCode::OK).await
}

async fn form(app: &TestApp, path: &str, body: &str) -> Response {
    app.request(Method::POST, path, &app.admin_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn kpi(app: &TestApp, domain: &str, metric: &str, success: bool) -> Value {
    let body = json!({"domain": domain, "metric": metric, "success": success});
    json(app.post("/api/governance/regression/kpi", &body).await, StatusCode::OK).await
}

/// 40 successes then `failures` failures; returns the last answer.
pub(crate) async fn degrade(app: &TestApp, domain: &str, metric: &str, failures: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..40 {
        last = kpi(app, domain, metric, true).await;
    }
    for _ in 0..failures {
        last = kpi(app, domain, metric, false).await;
    }
    last
}

async fn start(app: &TestApp, domain: Option<&str>) -> Response {
    let body = match domain {
        Some(d) => json!({"agent_id": "agent-r", "domain": d}),
        None => json!({"agent_id": "agent-r"}),
    };
    app.post("/api/v1/runs", &body).await
}

fn tripwire_incidents(app: &TestApp) -> i64 {
    raw_count(app.db_url(), "SELECT COUNT(*) AS n FROM incidents WHERE type = 'regression_tripwire'")
}

#[tokio::test]
async fn the_seed_tripwires_exist_disabled_and_take_the_seed_kpi_command() {
    let app = TestApp::spawn().await;
    let policies = json(app.get("/api/governance/regression/policies").await, StatusCode::OK).await;
    let rows: Vec<_> = policies
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!("{}/{}", p["domain"].as_str().unwrap(), p["metric"].as_str().unwrap()),
                p["max_drop_fraction"].as_f64().unwrap(),
                p["action"].as_str().unwrap().to_owned(),
                p["enabled"].as_bool().unwrap(),
                p["window_events"].as_i64().unwrap(),
                p["baseline_events"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("BUYER_MATCH/match_success", 0.25, "THROTTLE"),
        ("CAPITAL/roi_event", 0.30, "KILL_SWITCH"),
        ("WHOLESALE/contract_rate", 0.20, "THROTTLE"),
        ("WHOLESALE/offer_accept_rate", 0.15, "THROTTLE"),
    ];
    assert_eq!(rows.len(), 4);
    for ((name, drop, action, enabled, window, baseline), (e_name, e_drop, e_action)) in
        rows.iter().zip(expected)
    {
        assert_eq!((name.as_str(), *drop, action.as_str()), (e_name, e_drop, e_action));
        assert_eq!((*enabled, *window, *baseline), (false, 50, 200));
    }
    // The seed's curl command, as written.
    let res =
        form(&app, "/api/governance/regression/kpi", "domain=WHOLESALE&metric=contract_rate&success=true")
            .await;
    let recorded = json(res, StatusCode::OK).await;
    assert_eq!(recorded["event"]["success"], true);
    assert_eq!(recorded["evaluation"]["enforceable"], false);
    let state = json(app.get("/api/governance/regression/state").await, StatusCode::OK).await;
    let wholesale = state.as_array().unwrap().iter().find(|s| s["metric"] == "contract_rate").unwrap();
    assert_eq!(wholesale["triggered"], false);
    assert!(wholesale["last_checked_at"].is_string(), "{wholesale}");
    assert!(wholesale["note"].as_str().unwrap().starts_with("disabled"), "{wholesale}");
}

#[tokio::test]
async fn a_throttle_trip_limits_new_runs_of_its_domain_and_opens_one_incident() {
    let app = TestApp::spawn().await;
    app.clock.set(time::macros::datetime!(2026-03-02 09:00:05 UTC));
    enable_small(&app, "WHOLESALE", "contract_rate").await;
    let before = degrade(&app, "WHOLESALE", "contract_rate", 9).await;
    assert_eq!(before["evaluation"]["enforceable"], false, "{before}");
    assert_eq!(before["evaluation"]["state"]["triggered"], false);
    // The 50th event makes the tripwire enforceable: the window is all failures.
    let tripped = kpi(&app, "WHOLESALE", "contract_rate", false).await;
    let eval = &tripped["evaluation"];
    assert_eq!((eval["tripped_now"].clone(), eval["drop_exceeds_limit"].clone()), (json!(true), json!(true)));
    assert_eq!((eval["baseline"].as_f64(), eval["current"].as_f64()), (Some(1.0), Some(0.0)));
    assert_eq!(eval["drop_fraction"].as_f64(), Some(1.0));
    let incident_id = eval["state"]["incident_id"].as_str().unwrap().to_owned();
    // Latched: later events neither re-trip nor open another incident.
    let later = kpi(&app, "WHOLESALE", "contract_rate", true).await;
    assert_eq!(later["evaluation"]["tripped_now"], false);
    assert_eq!(later["evaluation"]["state"]["triggered"], true);
    assert_eq!(tripwire_incidents(&app), 1);

    let incident = json(app.get(&format!("/api/v1/incidents/{incident_id}")).await, StatusCode::OK).await;
    let text = incident.to_string();
    assert_eq!(incident["entity"]["type"], "regression_tripwire", "{incident}");
    assert_eq!(incident["entity"]["severity"], "high");
    for needle in ["WHOLESALE/contract_rate", "1.000", "0.000", "100.0% drop", "THROTTLE"] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
    let state = json(app.get("/api/governance/regression/state").await, StatusCode::OK).await;
    let wire = state.as_array().unwrap().iter().find(|s| s["metric"] == "contract_rate").unwrap();
    assert_eq!((wire["triggered"].clone(), wire["incident_id"].clone()), (json!(true), json!(incident_id)));
    assert!(wire["last_triggered_at"].is_string());

    // THROTTLE: one WHOLESALE run per minute; other domains and runs without one are untouched.
    let first = json(start(&app, Some("wholesale")).await, StatusCode::CREATED).await;
    assert_eq!(first["run"]["domain"], "WHOLESALE");
    let refused = start(&app, Some("WHOLESALE")).await;
    assert_eq!(refused.headers()["retry-after"], "55");
    error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    json(start(&app, Some("BUYER_MATCH")).await, StatusCode::CREATED).await;
    json(start(&app, None).await, StatusCode::CREATED).await;
    app.clock.advance(time::Duration::seconds(60));
    json(start(&app, Some("WHOLESALE")).await, StatusCode::CREATED).await;
    error(start(&app, Some("WHOLESALE")).await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // The operator's fix: upserting the tripwire clears the trip and restarts counting.
    let reset = json(
        form(
            &app,
            "/api/governance/regression/policies/upsert",
            "domain=WHOLESALE&metric=contract_rate&reason=fixed",
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reset["state"]["triggered"], false);
    assert!(reset["state"]["counting_since"].is_string(), "{reset}");
    assert_eq!(reset["state"]["incident_id"], json!(incident_id));
    json(start(&app, Some("WHOLESALE")).await, StatusCode::CREATED).await;
    json(start(&app, Some("WHOLESALE")).await, StatusCode::CREATED).await;
    let fresh = kpi(&app, "WHOLESALE", "contract_rate", false).await;
    assert_eq!(fresh["evaluation"]["events"], 1, "old events no longer count: {fresh}");
    let logs = json(app.get("/api/v1/logs/audit?action=regression.tripped").await, StatusCode::OK).await;
    assert_eq!(logs["pagination"]["total"], 1);
}

#[tokio::test]
async fn a_kill_switch_trip_stops_live_runs_and_new_ones() {
    let app = TestApp::spawn().await;
    enable_small(&app, "CAPITAL", "roi_event").await;
    let run = app.start_run("agent-live").await;
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    app.step_ok(&run_id, json!({"step_type": "llm_call", "input_tokens": 10})).await;
    let tripped = degrade(&app, "CAPITAL", "roi_event", 10).await;
    assert_eq!(tripped["evaluation"]["tripped_now"], true, "{tripped}");

    let state = json(app.get("/api/governance/go-live/state").await, StatusCode::OK).await;
    assert_eq!(
        (state["kill_switch_engaged"].clone(), state["changed_by"].clone()),
        (json!(true), json!("regression_tripwire"))
    );
    assert!(state["reason"].as_str().unwrap().contains("CAPITAL/roi_event"), "{state}");
    let blocked = json(
        app.step(&run_id, json!({"step_type": "llm_call", "input_tokens": 10})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(blocked["decision"], "BLOCK", "{blocked}");
    assert_eq!(blocked["run"]["termination_reason"], "kill_switch");
    error(start(&app, None).await, StatusCode::CONFLICT, "kill_switch_engaged").await;
    let incident_id = tripped["evaluation"]["state"]["incident_id"].as_str().unwrap();
    let incident = json(app.get(&format!("/api/v1/incidents/{incident_id}")).await, StatusCode::OK).await;
    assert_eq!(incident["entity"]["severity"], "critical");
    // Resetting the tripwire does not release the kill switch: that is its own lever.
    form(&app, "/api/governance/regression/policies/upsert", "domain=CAPITAL&metric=roi_event&reason=fixed")
        .await;
    let state = json(app.get("/api/governance/go-live/state").await, StatusCode::OK).await;
    assert_eq!(state["kill_switch_engaged"], true);
}

#[tokio::test]
async fn a_disabled_tripwire_reports_but_never_trips_and_evaluate_runs_on_demand() {
    let app = TestApp::spawn().await;
    form(
        &app,
        "/api/governance/regression/policies/upsert",
        "domain=BUYER_MATCH&metric=match_success&window_events=10&baseline_events=40&min_events_to_enforce=50&reason=t",
    )
    .await;
    let last = degrade(&app, "BUYER_MATCH", "match_success", 10).await;
    assert_eq!(last["evaluation"]["drop_exceeds_limit"], true, "{last}");
    assert_eq!(last["evaluation"]["tripped_now"], false);
    assert!(last["evaluation"]["state"]["note"].as_str().unwrap().starts_with("disabled"), "{last}");
    assert_eq!(tripwire_incidents(&app), 0);

    let all = json(app.post("/api/governance/regression/evaluate", &json!({})).await, StatusCode::OK).await;
    assert_eq!(all["evaluated"].as_array().unwrap().len(), 4);
    form(
        &app,
        "/api/governance/regression/policies/upsert",
        "domain=BUYER_MATCH&metric=match_success&enabled=true&reason=go",
    )
    .await;
    let one = json(
        app.post(
            "/api/governance/regression/evaluate",
            &json!({"domain": "BUYER_MATCH", "metric": "match_success"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["evaluated"].as_array().unwrap().len(), 1);
    assert_eq!(one["evaluated"][0]["tripped_now"], true, "{one}");
    assert_eq!(tripwire_incidents(&app), 1);
    // A new tripwire for a metric of the operator's choosing.
    let created = json(
        app.post(
            "/api/governance/regression/policies/upsert",
            &json!({"domain": "NOTIFY", "metric": "delivered", "action": "kill_switch", "max_drop_fraction": 0.5}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            created["policy"]["action"].clone(),
            created["policy"]["enabled"].clone(),
            created["policy"]["window_events"].clone()
        ),
        (json!("KILL_SWITCH"), json!(false), json!(50))
    );
}

#[tokio::test]
async fn bad_regression_input_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let ingest = app.key_with_scopes(&["ingest"]);
    let audit_before = app.audit_count();
    let cases = [
        (
            "/api/governance/regression/kpi",
            json!({"domain": "NOPE", "metric": "x", "success": true}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/governance/regression/kpi",
            json!({"domain": "WHOLESALE", "metric": "nope", "success": true}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/governance/regression/kpi",
            json!({"domain": "WHOLESALE", "metric": "contract_rate"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/kpi",
            json!({"domain": "WHOLE SALE", "metric": "contract_rate", "success": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/evaluate",
            json!({"domain": "NOPE"}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/governance/regression/evaluate",
            json!({"metric": "contract_rate"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "window_events": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "baseline_events": -3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "max_drop_fraction": 1.5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "max_drop_fraction": 1.0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "window_events": 10001}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "min_events_to_enforce": 251}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/governance/regression/policies/upsert",
            json!({"domain": "WHOLESALE", "metric": "contract_rate", "action": "PANIC"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "/api/v1/runs",
            json!({"agent_id": "a", "domain": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (path, body, status, code) in cases {
        error(app.post(path, &body).await, status, code).await;
    }
    let res = app
        .request(Method::POST, "/api/governance/regression/policies/upsert", &ingest)
        .json(&json!({"domain": "WHOLESALE", "metric": "contract_rate", "enabled": true}))
        .send()
        .await
        .unwrap();
    error(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(raw_count(app.db_url(), "SELECT COUNT(*) AS n FROM kpi_event"), 0);
    assert_eq!(raw_count(app.db_url(), "SELECT COUNT(*) AS n FROM runs"), 0);
    assert_eq!(app.audit_count(), audit_before);
    let policies = json(app.get("/api/governance/regression/policies").await, StatusCode::OK).await;
    assert!(policies.as_array().unwrap().iter().all(|p| p["enabled"] == false && p["window_events"] == 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_events_trip_a_tripwire_once() {
    let app = TestApp::spawn().await;
    enable_small(&app, "WHOLESALE", "offer_accept_rate").await;
    degrade(&app, "WHOLESALE", "offer_accept_rate", 9).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, key) = (app.client.clone(), app.admin_key.clone());
        let url = app.url("/api/governance/regression/kpi");
        tasks.push(tokio::spawn(async move {
            let body = json!({"domain": "WHOLESALE", "metric": "offer_accept_rate", "success": false});
            let res = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()["evaluation"]["tripped_now"].as_bool().unwrap()
        }));
    }
    let mut tripped = 0;
    for t in tasks {
        tripped += usize::from(t.await.unwrap());
    }
    assert_eq!(tripped, 1);
    assert_eq!(tripwire_incidents(&app), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_events_that_together_make_the_drop_trip_the_tripwire() {
    let app = TestApp::spawn().await;
    for round in 0..3 {
        let metric = format!("m{round}");
        // Created by four admins at once: every creation succeeds.
        let mut creators = Vec::new();
        for _ in 0..4 {
            let (client, key, url) = (
                app.client.clone(),
                app.admin_key.clone(),
                app.url("/api/governance/regression/policies/upsert"),
            );
            let body = json!({"domain": "WHOLESALE", "metric": metric, "window_events": 2, "baseline_events": 2,
                "min_events_to_enforce": 4, "max_drop_fraction": 0.6, "enabled": true, "reason": "race"});
            creators.push(tokio::spawn(async move {
                client.post(url).bearer_auth(key).json(&body).send().await.unwrap().status()
            }));
        }
        for c in creators {
            assert_eq!(c.await.unwrap(), StatusCode::OK);
        }
        for _ in 0..3 {
            kpi(&app, "WHOLESALE", &metric, true).await;
        }
        // Baseline 1.0; only with both failures is the window 0.0 (a drop of 1 > 0.6).
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (client, key, url) =
                (app.client.clone(), app.admin_key.clone(), app.url("/api/governance/regression/kpi"));
            let body = json!({"domain": "WHOLESALE", "metric": metric, "success": false});
            tasks.push(tokio::spawn(async move {
                let res = client.post(url).bearer_auth(key).json(&body).send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let state = json(app.get("/api/governance/regression/state").await, StatusCode::OK).await;
        let wire = state.as_array().unwrap().iter().find(|s| s["metric"] == metric.as_str()).unwrap();
        assert_eq!(wire["triggered"], true, "round {round}: {wire}");
    }
    assert_eq!(tripwire_incidents(&app), 3);
}
