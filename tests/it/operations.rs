//! Health, readiness, metrics, request ids and the OpenAPI document.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::helpers::{TestApp, json};

#[tokio::test]
async fn health_and_readiness_need_no_key() {
    let app = TestApp::spawn().await;
    let health = json(app.client.get(app.url("/healthz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = json(app.client.get(app.url("/readyz")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(ready["status"], "ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.get("/api/v1/accounts/").await;
    let generated = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let unauthorized =
        app.client.get(app.url("/api/v1/accounts/")).header("x-request-id", "mine-1").send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.headers()["x-request-id"], "mine-1");
    // Ids that could forge log lines are replaced.
    let odd = app.client.get(app.url("/healthz")).header("x-request-id", "a b").send().await.unwrap();
    assert_ne!(odd.headers()["x-request-id"], "a b");
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = TestApp::spawn().await;
    app.get(&format!("/api/v1/accounts/users/{}", uuid::Uuid::new_v4())).await;
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(
            r#"gov_http_requests_total{method="GET",route="/api/v1/accounts/users/{user_id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("gov_http_request_duration_seconds_bucket"), "{text}");
}

/// `path` with every `{param}` replaced by a fresh UUID.
fn placeholders(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(&uuid::Uuid::new_v4().to_string());
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_openapi_document_covers_every_endpoint() {
    let app = TestApp::spawn().await;
    let doc = json(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: BTreeSet<String> = [
        "GET /api/governance/heimdall/policies",
        "POST /api/governance/heimdall/policies/upsert",
        "GET /api/governance/heimdall/scorecard/today",
        "POST /api/governance/heimdall/sandbox/trial",
        "POST /api/governance/heimdall/recommend",
        "POST /api/governance/heimdall/require-prod-eligible",
        "GET /api/governance/regression/policies",
        "POST /api/governance/regression/policies/upsert",
        "GET /api/governance/regression/state",
        "POST /api/governance/regression/evaluate",
        "POST /api/governance/regression/kpi",
        "GET /api/governance/go-live/state",
        "GET /api/governance/go-live/checklist",
        "POST /api/governance/go-live/enable",
        "POST /api/governance/go-live/disable",
        "POST /api/governance/go-live/kill-switch/engage",
        "POST /api/governance/go-live/kill-switch/release",
        "GET /api/governance/risk/policies",
        "POST /api/governance/risk/policies/upsert",
        "GET /api/governance/risk/ledger/today",
        "POST /api/governance/risk/check-and-reserve",
        "POST /api/governance/risk/settle",
        "DELETE /api/v1/accounts/users/{user_id}",
        "DELETE /api/v1/connectivity/api-keys/{key_id}",
        "DELETE /api/v1/policies/limits/{limit_id}",
        "DELETE /api/v1/policies/rules/{rule_id}",
        "DELETE /api/v1/policies/{policy_id}",
        "GET /api/openapi.json",
        "GET /api/v1/accounts/",
        "GET /api/v1/accounts/users/",
        "GET /api/v1/accounts/users/{user_id}",
        "GET /api/v1/accounts/users/{user_id}/roles",
        "GET /api/v1/activity/",
        "GET /api/v1/activity/completed",
        "GET /api/v1/activity/live",
        "GET /api/v1/activity/signals",
        "GET /api/v1/activity/{run_id}",
        "GET /api/v1/analytics/costs",
        "GET /api/v1/analytics/cost-intelligence",
        "GET /api/v1/analytics/policies-usage",
        "GET /api/v1/analytics/productivity",
        "GET /api/v1/connectivity/api-keys/",
        "GET /api/v1/connectivity/api-keys/{key_id}",
        "GET /api/v1/incidents/",
        "GET /api/v1/incidents/active",
        "GET /api/v1/incidents/policy/{policy_id}",
        "GET /api/v1/incidents/resolved",
        "GET /api/v1/incidents/{incident_id}",
        "GET /api/v1/incidents/{incident_id}/comments",
        "GET /api/v1/incidents/{incident_id}/timeline",
        "GET /api/v1/logs/audit",
        "GET /api/v1/logs/audit/integrity",
        "GET /api/v1/logs/llm-runs",
        "GET /api/v1/incidents/patterns",
        "GET /api/v1/incidents/stats",
        "GET /api/v1/incidents/{incident_id}/postmortem",
        "GET /api/v1/incidents/{incident_id}/related",
        "GET /api/v1/logs/",
        "GET /api/v1/logs/system",
        "GET /api/v1/logs/{log_id}",
        "GET /api/v1/overview/decisions",
        "GET /api/v1/overview/health",
        "GET /api/v1/overview/highlights",
        "GET /api/v1/overview/metrics",
        "GET /api/v1/overview/summary",
        "GET /api/v1/policies/proposals/",
        "GET /api/v1/policies/proposals/{proposal_id}",
        "POST /api/v1/incidents/{incident_id}/postmortem",
        "POST /api/v1/logs/search",
        "POST /api/v1/policies/proposals/",
        "POST /api/v1/policies/proposals/{proposal_id}/approve",
        "POST /api/v1/policies/proposals/{proposal_id}/reject",
        "PUT /api/v1/policies/proposals/{proposal_id}",
        "GET /api/v1/policies/",
        "GET /api/v1/policies/controls",
        "GET /api/v1/policies/library",
        "GET /api/v1/policies/limits/",
        "GET /api/v1/policies/limits/{limit_id}",
        "GET /api/v1/policies/rules/",
        "GET /api/v1/policies/rules/{rule_id}",
        "GET /api/v1/policies/violations/",
        "GET /api/v1/policies/violations/stats",
        "GET /api/v1/policies/{policy_id}",
        "GET /api/v1/policies/{policy_id}/versions",
        "GET /api/v1/traces/",
        "GET /api/v1/traces/{trace_id}",
        "GET /api/v1/traces/{trace_id}/steps",
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "POST /api/v1/accounts/users/",
        "POST /api/v1/connectivity/api-keys/",
        "POST /api/v1/connectivity/api-keys/{key_id}/rotate",
        "POST /api/v1/incidents/{incident_id}/acknowledge",
        "POST /api/v1/incidents/{incident_id}/comments",
        "POST /api/v1/incidents/{incident_id}/escalate",
        "POST /api/v1/incidents/{incident_id}/resolve",
        "POST /api/v1/incidents/{incident_id}/export/evidence",
        "POST /api/v1/incidents/{incident_id}/export/soc2",
        "POST /api/v1/incidents/{incident_id}/export/executive-debrief",
        "GET /api/v1/incidents/{incident_id}/evidence",
        "GET /api/v1/runs/{run_id}/evidence",
        "GET /api/v1/exports/",
        "GET /api/v1/exports/{export_id}",
        "GET /api/v1/exports/{export_id}/document",
        "GET /api/v1/evidence/public-key",
        "POST /api/v1/logs/export",
        "POST /api/v1/policies/limits/",
        "POST /api/v1/policies/rules/",
        "POST /api/v1/policies/validate",
        "POST /api/v1/runs",
        "POST /api/v1/runs/agents/{agent_id}/release",
        "POST /api/v1/runs/{run_id}/cancel",
        "POST /api/v1/runs/{run_id}/complete",
        "POST /api/v1/runs/{run_id}/override",
        "POST /api/v1/runs/{run_id}/steps",
        "POST /api/v1/runs/{run_id}/steps/check",
        "POST /api/v1/traces/{trace_id}/replay",
        "PUT /api/v1/accounts/users/{user_id}",
        "PUT /api/v1/accounts/users/{user_id}/roles",
        "PUT /api/v1/policies/controls",
        "PUT /api/v1/policies/limits/{limit_id}",
        "PUT /api/v1/policies/rules/{rule_id}",
        "PUT /api/v1/policies/{policy_id}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(documented, expected);

    // And every documented operation is served: no 404/405 from the router for any of them.
    for op in &documented {
        let (method, path) = op.split_once(' ').unwrap();
        let path = placeholders(path);
        let res = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&app.admin_key)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{op}");
        assert!(
            status != StatusCode::NOT_FOUND || !body.contains("\"not found\""),
            "{op} is not routed: {body}"
        );
    }
}
