//! The Overview: health with its reasons, period metrics with trends, highlights and decisions,
//! on real data (the seed scenario), per tenant.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

fn metric<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == key)
        .unwrap_or_else(|| panic!("{key}: {body}"))
}

fn kinds(items: &Value) -> Vec<&str> {
    items.as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect()
}

fn find<'a>(items: &'a Value, kind: &str) -> &'a Value {
    items.as_array().unwrap().iter().find(|i| i["kind"] == kind).unwrap_or_else(|| panic!("{kind}: {items}"))
}

#[tokio::test]
async fn an_empty_tenant_is_healthy_with_zeros() {
    let app = TestApp::spawn().await;
    let health = json(app.get("/api/v1/overview/health").await, StatusCode::OK).await;
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["reasons"], json!([]));
    assert_eq!((health["total"].as_i64(), health["active"].as_i64()), (Some(0), Some(0)));
    assert!(health["as_of"].as_str().is_some_and(|t| t.ends_with('Z')), "{health}");

    let metrics = json(app.get("/api/v1/overview/metrics").await, StatusCode::OK).await;
    assert_eq!((metrics["period"].as_str(), metrics["total"].as_i64()), (Some("24h"), Some(0)));
    for key in ["runs_started", "tokens", "cost_cents", "incidents_opened", "violations", "stopped_runs"] {
        let m = metric(&metrics, key);
        assert_eq!(
            (m["value"].as_f64(), m["previous"].as_f64(), m["trend"].as_str()),
            (Some(0.0), Some(0.0), Some("flat")),
            "{key}"
        );
    }
    assert_eq!(metric(&metrics, "live_runs")["value"], 0);

    let highlights = json(app.get("/api/v1/overview/highlights").await, StatusCode::OK).await;
    assert_eq!(highlights["items"], json!([]));
    assert_eq!(highlights["pagination"]["page_size"], 20);

    let decisions = json(app.get("/api/v1/overview/decisions").await, StatusCode::OK).await;
    let counts = &decisions["pending_counts"];
    assert_eq!(
        (
            counts["policy_proposals"].as_i64(),
            counts["unacknowledged_incidents"].as_i64(),
            counts["paused_runs"].as_i64()
        ),
        (Some(0), Some(0), Some(0))
    );
    // A new tenant is not live: the Monday review says to enable go-live when the checklist holds.
    let finding = find(&decisions["pending"], "review_finding");
    assert_eq!(finding["link"], "/api/governance/go-live/state");
    assert_eq!(decisions["recent"], json!([]));
}

#[tokio::test]
async fn the_seed_scenario_shows_up_everywhere() {
    let app = TestApp::spawn().await;
    let incident_id = app.seed_scenario().await;
    let incident = json(app.get(&format!("/api/v1/incidents/{incident_id}")).await, StatusCode::OK).await;
    let run_id = incident["entity"]["source_run_id"].as_str().unwrap().to_owned();
    let run = json(app.get(&format!("/api/v1/activity/{run_id}")).await, StatusCode::OK).await;
    assert_eq!(run["entity"]["status"], "failed_policy", "{run}");
    assert_eq!(incident["entity"]["severity"], "high");

    let metrics = json(app.get("/api/v1/overview/metrics?period=1h").await, StatusCode::OK).await;
    assert_eq!(metrics["total"], 1);
    let runs = metric(&metrics, "runs_started");
    assert_eq!(
        (runs["value"].as_i64(), runs["previous"].as_i64(), runs["trend"].as_str()),
        (Some(1), Some(0), Some("up"))
    );
    assert_eq!(metric(&metrics, "tokens")["value"], run["entity"]["tokens_used"]);
    assert!(metric(&metrics, "tokens")["value"].as_i64().unwrap() > 0);
    assert_eq!(metric(&metrics, "cost_cents")["value"].as_f64(), run["entity"]["total_cost_cents"].as_f64());
    assert!(metric(&metrics, "cost_cents")["value"].as_f64().unwrap() > 0.0);
    assert_eq!(metric(&metrics, "incidents_opened")["value"], 1);
    assert_eq!(metric(&metrics, "stopped_runs")["value"], 1);
    assert!(metric(&metrics, "violations")["value"].as_i64().unwrap() >= 1, "{metrics}");
    assert_eq!(metric(&metrics, "live_runs")["value"], 0);

    // The token incident is high: warning, naming it and linking to it.
    let health = json(app.get("/api/v1/overview/health").await, StatusCode::OK).await;
    assert_eq!(health["status"], "warning", "{health}");
    assert_eq!(health["total"], 1);
    let reason = &health["reasons"][0];
    assert_eq!(
        (reason["code"].as_str(), reason["status"].as_str()),
        (Some("high_incident_open"), Some("warning"))
    );
    assert_eq!(reason["link"], format!("/api/v1/incidents/{incident_id}"));
    assert!(reason["message"].as_str().unwrap().contains("high"), "{reason}");

    let highlights = json(app.get("/api/v1/overview/highlights").await, StatusCode::OK).await;
    let items = &highlights["items"];
    let stop = find(items, "run_stopped");
    assert_eq!(stop["link"], format!("/api/v1/activity/{run_id}"));
    let opened = find(items, "incident_opened");
    assert_eq!(
        (opened["id"].as_str(), opened["severity"].as_str()),
        (Some(incident_id.as_str()), Some("high"))
    );
    assert_eq!(opened["link"], format!("/api/v1/incidents/{incident_id}"));
    let times: Vec<&str> =
        items.as_array().unwrap().iter().map(|i| i["timestamp"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    let decisions = json(app.get("/api/v1/overview/decisions").await, StatusCode::OK).await;
    assert_eq!(decisions["pending_counts"]["unacknowledged_incidents"], 1);
    let waiting = find(&decisions["pending"], "unacknowledged_incident");
    assert_eq!(waiting["link"], format!("/api/v1/incidents/{incident_id}"));

    // Acknowledging is a decision taken, and the incident no longer waits.
    let ack = app.post(&format!("/api/v1/incidents/{incident_id}/acknowledge"), &json!({})).await;
    json(ack, StatusCode::OK).await;
    let decisions = json(app.get("/api/v1/overview/decisions").await, StatusCode::OK).await;
    assert_eq!(decisions["pending_counts"]["unacknowledged_incidents"], 0);
    assert!(!kinds(&decisions["pending"]).contains(&"unacknowledged_incident"));
    let taken = find(&decisions["recent"], "incident_acknowledged");
    assert_eq!(taken["link"], format!("/api/v1/incidents/{incident_id}"));
    assert!(taken["actor"].is_string(), "{taken}");

    let summary = json(app.get("/api/v1/overview/summary?period=1h&limit=5").await, StatusCode::OK).await;
    assert_eq!(summary["status"], "warning");
    assert_eq!(summary["health"]["status"], "warning");
    assert_eq!(summary["metrics"]["total"], 1);
    assert_eq!(summary["metrics"]["period"], "1h");
    assert!(kinds(&summary["highlights"]).contains(&"run_stopped"));
    assert!(kinds(&summary["decisions"]["recent"]).contains(&"incident_acknowledged"));
}

#[tokio::test]
async fn the_trend_compares_with_the_previous_period() {
    let app = TestApp::spawn().await;
    let t0 = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    app.clock.set(t0);
    app.seed_scenario().await;
    app.clock.set(t0 + time::Duration::hours(25));
    let metrics = json(app.get("/api/v1/overview/metrics").await, StatusCode::OK).await;
    let runs = metric(&metrics, "runs_started");
    assert_eq!(
        (runs["value"].as_i64(), runs["previous"].as_i64(), runs["trend"].as_str()),
        (Some(0), Some(1), Some("down"))
    );
    assert_eq!(metric(&metrics, "stopped_runs")["trend"], "down");
    let week = json(app.get("/api/v1/overview/metrics?period=7d").await, StatusCode::OK).await;
    assert_eq!(metric(&week, "runs_started")["value"], 1);
}

#[tokio::test]
async fn an_engaged_kill_switch_is_critical_and_named() {
    let app = TestApp::spawn().await;
    let engaged = app
        .post("/api/governance/go-live/kill-switch/engage", &json!({"actor": "ops", "reason": "drill"}))
        .await;
    json(engaged, StatusCode::OK).await;
    let health = json(app.get("/api/v1/overview/health").await, StatusCode::OK).await;
    assert_eq!(health["status"], "critical", "{health}");
    let reason = &health["reasons"][0];
    assert_eq!(
        (reason["code"].as_str(), reason["status"].as_str()),
        (Some("kill_switch_engaged"), Some("critical"))
    );
    assert!(reason["message"].as_str().unwrap().contains("drill"), "{reason}");
    assert_eq!(reason["link"], "/api/governance/go-live/state");

    let highlights = json(app.get("/api/v1/overview/highlights").await, StatusCode::OK).await;
    assert_eq!(find(&highlights["items"], "kill_switch_engaged")["link"], "/api/governance/go-live/state");
    let decisions = json(app.get("/api/v1/overview/decisions").await, StatusCode::OK).await;
    assert!(kinds(&decisions["recent"]).contains(&"kill_switch_engaged"));
    let summary = json(app.get("/api/v1/overview/summary").await, StatusCode::OK).await;
    assert_eq!(summary["status"], "critical");
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field_and_allowed_values() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/overview/metrics?period=2h", "/api/v1/overview/summary?period=day"] {
        let body = error(app.get(path).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["error"]["details"]["field"], "period", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(["1h", "24h", "7d"].iter().all(|p| message.contains(p)), "{message}");
    }
    for bad in ["0", "101", "abc", "-1"] {
        for base in ["highlights", "decisions", "summary"] {
            let path = format!("/api/v1/overview/{base}?limit={bad}");
            let body =
                error(app.get(&path).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert_eq!(body["error"]["details"]["field"], "limit", "{path}: {body}");
        }
    }
    let two = json(app.get("/api/v1/overview/highlights?limit=100").await, StatusCode::OK).await;
    assert_eq!(two["pagination"]["page_size"], 100);
    let anonymous = app.client.get(app.url("/api/v1/overview/health")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_tenant_sees_nothing_of_the_first() {
    let app = TestApp::spawn().await;
    app.seed_scenario().await;
    let b = app.create_tenant("tenant-b");
    let get = |path: &'static str| app.request(Method::GET, path, &b.admin_key.secret).send();
    let health = json(get("/api/v1/overview/health").await.unwrap(), StatusCode::OK).await;
    assert_eq!((health["status"].as_str(), health["total"].as_i64()), (Some("healthy"), Some(0)), "{health}");
    let metrics = json(get("/api/v1/overview/metrics").await.unwrap(), StatusCode::OK).await;
    assert_eq!(metric(&metrics, "runs_started")["value"], 0);
    assert_eq!(metric(&metrics, "tokens")["value"], 0);
    let highlights = json(get("/api/v1/overview/highlights").await.unwrap(), StatusCode::OK).await;
    assert_eq!(highlights["items"], json!([]));
    let decisions = json(get("/api/v1/overview/decisions").await.unwrap(), StatusCode::OK).await;
    assert_eq!(decisions["pending_counts"]["unacknowledged_incidents"], 0);
    assert_eq!(decisions["recent"], json!([]));
    // The first tenant still sees its own.
    let mine = json(app.get("/api/v1/overview/health").await, StatusCode::OK).await;
    assert_eq!(mine["total"], 1);
}
