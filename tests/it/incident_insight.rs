//! Incident insight: related incidents, stats (MTTA, MTTR), patterns and postmortems.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::helpers::{TestApp, error, json};

const T0: time::OffsetDateTime = datetime!(2026-01-20 10:00:00 UTC);

/// The seed scenario, then a second run of `AGT-001` breaching the same policy at the same step
/// type. Returns (first incident, second incident), both created at `T0`.
async fn two_breaches(app: &TestApp) -> (String, String) {
    app.clock.set(T0);
    let first = app.seed_scenario().await;
    let res = app.post("/api/v1/runs", &json!({ "agent_id": "AGT-001" })).await;
    let run = if res.status() == StatusCode::CREATED {
        json(res, StatusCode::CREATED).await
    } else {
        // A KILL breach stopped the agent: release it first.
        json(app.post("/api/v1/runs/agents/AGT-001/release", &json!({})).await, StatusCode::OK).await;
        app.start_run("AGT-001").await
    };
    let run_id = run["run"]["run_id"].as_str().unwrap().to_owned();
    let step = app
        .step_ok(&run_id, json!({"step_type": "policy_check", "input_tokens": 4000, "output_tokens": 8000}))
        .await;
    let second = step["incident_id"].as_str().expect("the second breach opens an incident").to_owned();
    assert_ne!(first, second);
    (first, second)
}

fn relations(body: &Value, id: &str) -> Vec<String> {
    let mut found: Vec<String> = body["related"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == id)
        .map(|r| r["relation"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn related_incidents_name_why_on_both_backends() {
    let app = TestApp::spawn().await;
    let (first, second) = two_breaches(&app).await;

    let body = json(app.get(&format!("/api/v1/incidents/{second}/related")).await, StatusCode::OK).await;
    assert_eq!(body["source"], json!({"id": second, "type": "incident"}));
    assert_eq!(relations(&body, &first), ["same_agent", "same_pattern", "same_policy"]);
    assert_eq!(relations(&body, &second), Vec::<String>::new(), "the source is not related to itself");
    let item = body["related"].as_array().unwrap().iter().find(|r| r["id"] == first.as_str()).unwrap();
    assert_eq!(item["type"], "incident");
    assert_eq!(item["link"], format!("/api/v1/incidents/{first}"));
    assert!(item["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(body["timeline"][0]["event"], "created");

    // Unknown ids and another tenant's incident are 404.
    let missing = uuid::Uuid::now_v7();
    error(app.get(&format!("/api/v1/incidents/{missing}/related")).await, StatusCode::NOT_FOUND, "not_found")
        .await;
    let other = app.create_tenant("other");
    let res = app
        .request(Method::GET, &format!("/api/v1/incidents/{first}/related"), &other.admin_key.secret)
        .send()
        .await
        .unwrap();
    error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn patterns_find_the_recurring_pair_and_the_repeated_step_type_on_both_backends() {
    let app = TestApp::spawn().await;
    let (first, second) = two_breaches(&app).await;

    let body = json(app.get("/api/v1/incidents/patterns").await, StatusCode::OK).await;
    let items = body["items"].as_array().unwrap();
    let of =
        |kind: &str| items.iter().find(|p| p["kind"] == kind).unwrap_or_else(|| panic!("no {kind}: {body}"));
    let pair = of("recurring_policy_agent");
    assert_eq!(pair["count"], 2);
    assert_eq!(pair["agent_id"], "AGT-001");
    let mut ids: Vec<&str> =
        pair["incident_ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = [first.as_str(), second.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    let step = of("repeated_step_type");
    assert_eq!((step["count"].clone(), step["step_type"].clone()), (json!(2), json!("policy_check")));
    assert_eq!(pair["first_seen"], "2026-01-20T10:00:00Z");
    assert_eq!(body["pagination"]["total"], items.len());
    assert_eq!(body["analysis"]["incidents_considered"], 2);
    assert_eq!(body["analysis"]["truncated"], false);
    assert!(items.iter().all(|p| p["pattern_id"].as_str().is_some_and(|id| id.len() == 32)));

    // The same facts give the same ids.
    let again = json(app.get("/api/v1/incidents/patterns").await, StatusCode::OK).await;
    assert_eq!(again["items"], body["items"]);

    // min_count 3: two incidents are no pattern; a range without incidents has none.
    let three = json(app.get("/api/v1/incidents/patterns?min_count=3").await, StatusCode::OK).await;
    assert_eq!(three["items"], json!([]));
    assert_eq!(three["filters_applied"]["min_count"], "3");
    let later =
        json(app.get("/api/v1/incidents/patterns?from=2026-01-20T11:00:00Z").await, StatusCode::OK).await;
    assert_eq!(later["analysis"]["incidents_considered"], 0);

    for (query, field) in [
        ("min_count=1", "min_count"),
        ("min_count=many", "min_count"),
        ("from=yesterday", "from"),
        ("from=2026-01-21T00:00:00Z&to=2026-01-20T00:00:00Z", "from"),
        ("page_size=0", "page_size"),
    ] {
        let res = app.get(&format!("/api/v1/incidents/patterns?{query}")).await;
        let body = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["error"]["details"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn stats_count_and_time_the_lifecycle_on_both_backends() {
    let app = TestApp::spawn().await;
    let (first, _second) = two_breaches(&app).await;

    app.clock.set(T0 + time::Duration::seconds(600));
    json(app.post(&format!("/api/v1/incidents/{first}/acknowledge"), &json!({})).await, StatusCode::OK).await;
    app.clock.set(T0 + time::Duration::seconds(3_600));
    json(app.post(&format!("/api/v1/incidents/{first}/resolve"), &json!({})).await, StatusCode::OK).await;

    let s = json(app.get("/api/v1/incidents/stats").await, StatusCode::OK).await;
    assert_eq!((s["total"].clone(), s["active"].clone()), (json!(2), json!(1)));
    assert_eq!(s["by_status"], json!({"active": 1, "acknowledged": 0, "escalated": 0, "resolved": 1}));
    assert_eq!(s["by_type"], json!({"token_limit_exceeded": 2}));
    let severities: i64 = s["by_severity"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(severities, 2);
    assert_eq!(s["by_severity"].as_object().unwrap().len(), 4, "every severity, zero included");
    assert_eq!(s["mean_time_to_acknowledge_seconds"], 600.0);
    assert_eq!(s["acknowledged_count"], 1);
    assert_eq!(s["mean_time_to_resolve_seconds"], 3_600.0);
    assert_eq!(s["resolved_count"], 1);
    assert_eq!(s["mttr"]["seconds"], 3_600.0);
    assert_eq!(s["mttr"]["target_seconds"], 7_200.0);
    assert_eq!(s["mttr"]["within_target"], true);
    assert_eq!(s["as_of"], "2026-01-20T11:00:00Z");

    // The range selects by creation time.
    let empty =
        json(app.get("/api/v1/incidents/stats?from=2026-01-20T10:00:01Z").await, StatusCode::OK).await;
    assert_eq!(empty["total"], 0);
    assert_eq!(empty["mean_time_to_resolve_seconds"], Value::Null);
    assert_eq!(empty["mttr"]["within_target"], Value::Null);
    let both = "/api/v1/incidents/stats?from=2026-01-20T10:00:00Z&to=2026-01-20T10:00:00Z";
    assert_eq!(json(app.get(both).await, StatusCode::OK).await["total"], 2);

    // Another tenant sees none of them.
    let other = app.create_tenant("other");
    let res =
        app.request(Method::GET, "/api/v1/incidents/stats", &other.admin_key.secret).send().await.unwrap();
    assert_eq!(json(res, StatusCode::OK).await["total"], 0);

    for (query, field) in [("to=soon", "to"), ("from=2026-01-21T00:00:00Z&to=2026-01-20T00:00:00Z", "from")] {
        let res = app.get(&format!("/api/v1/incidents/stats?{query}")).await;
        let body = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(body["error"]["details"]["field"], field, "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transitions_on_two_replicas_count_each_incident_once() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let (first, second) = two_breaches(&app).await;
    app.clock.set(T0 + time::Duration::seconds(600));
    // Both incidents at once from both servers: acknowledge, escalate and resolve, four of each.
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..24 {
        let incident = if i % 2 == 0 { &first } else { &second };
        let action = ["acknowledge", "escalate", "resolve"][i / 2 % 3];
        let path = format!("/api/v1/incidents/{incident}/{action}");
        let url = if i / 6 % 2 == 0 { app.url(&path) } else { replica.url(&path) };
        requests.spawn(app.client.post(url).bearer_auth(&app.admin_key).json(&json!({})).send());
    }
    for res in requests.join_all().await {
        let status = res.unwrap().status();
        assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
    }
    let stats = json(app.get("/api/v1/incidents/stats").await, StatusCode::OK).await;
    let statuses: i64 = stats["by_status"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!((stats["total"].as_i64(), statuses), (Some(2), 2), "each incident once: {stats}");
    for id in [&first, &second] {
        let incident = json(app.get(&format!("/api/v1/incidents/{id}")).await, StatusCode::OK).await;
        let status = incident["entity"]["status"].as_str().unwrap().to_owned();
        assert!(stats["by_status"][&status].as_i64().unwrap() >= 1, "{status} in {stats}");
    }
    // The rollups moved each incident exactly as its saved state says.
    app.gov_at(T0 + time::Duration::seconds(600)).rebuild_rollups(app.caller().tenant_id).unwrap();
    assert_eq!(json(app.get("/api/v1/incidents/stats").await, StatusCode::OK).await, stats);
}

#[tokio::test]
async fn a_postmortem_is_written_once_audited_and_in_the_timeline_on_both_backends() {
    let app = TestApp::spawn().await;
    app.clock.set(T0);
    let id = app.seed_scenario().await;
    let path = format!("/api/v1/incidents/{id}/postmortem");

    error(app.get(&path).await, StatusCode::NOT_FOUND, "not_found").await;

    let body = json!({
        "root_cause": "The agent's prompt grew without bound.",
        "timeline": [
            {"timestamp": "2026-01-20T09:59:00Z", "event": "step 3 asked for 9,000 tokens"},
            {"timestamp": "2026-01-20T10:00:00Z", "event": "the run was stopped"}
        ],
        "lessons_learned": "Cap the context window before the policy does."
    });
    for (bad, field) in [
        (json!({"root_cause": "x", "lessons_learned": "y", "bogus": 1}), None),
        (json!({"root_cause": "  ", "lessons_learned": "y"}), Some("root_cause")),
        (json!({"root_cause": "x"}), None),
        (
            json!({"root_cause": "x", "lessons_learned": "y", "timeline": [{"timestamp": "noon", "event": "e"}]}),
            None,
        ),
        (
            json!({"root_cause": "x", "lessons_learned": "y", "timeline": [{"timestamp": "2026-01-20T10:00:00Z", "event": ""}]}),
            Some("timeline.event"),
        ),
        (json!({"root_cause": "x".repeat(10_001), "lessons_learned": "y"}), Some("root_cause")),
    ] {
        let res = app.post(&path, &bad).await;
        let err = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        if let Some(field) = field {
            assert_eq!(err["error"]["details"]["field"], field, "{bad}");
        }
    }

    let audits = app.audit_count();
    app.clock.set(T0 + time::Duration::hours(1));
    let created = json(app.post(&path, &body).await, StatusCode::CREATED).await;
    assert_eq!(created["entity"]["incident_id"], id.as_str());
    assert_eq!(created["entity"]["root_cause"], body["root_cause"]);
    assert_eq!(created["entity"]["timeline"], body["timeline"]);
    assert_eq!(created["entity"]["created_at"], "2026-01-20T11:00:00Z");
    assert_eq!(app.audit_count(), audits + 1);
    let audit = json(app.get("/api/v1/logs/audit?action=postmortem.created").await, StatusCode::OK).await;
    assert_eq!(audit["pagination"]["total"], 1);
    assert_eq!(audit["items"][0]["resource_id"], id.as_str());

    let shown = json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(shown["entity"], created["entity"]);

    let conflict = error(app.post(&path, &body).await, StatusCode::CONFLICT, "postmortem_exists").await;
    assert_eq!(conflict["error"]["details"]["incident_id"], id.as_str());
    assert_eq!(app.audit_count(), audits + 1, "a refused postmortem leaves no audit row");

    let timeline = json(app.get(&format!("/api/v1/incidents/{id}/timeline")).await, StatusCode::OK).await;
    let events: Vec<&str> =
        timeline["timeline"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events.iter().filter(|e| **e == "postmortem").count(), 1, "{events:?}");
    assert_eq!(events.last(), Some(&"postmortem"));

    // Another tenant's incident and unknown ids are 404, for reading and for writing.
    let other = app.create_tenant("other");
    let key = &other.admin_key.secret;
    let res = app.request(Method::GET, &path, key).send().await.unwrap();
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.request(Method::POST, &path, key).json(&body).send().await.unwrap();
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    let missing = format!("/api/v1/incidents/{}/postmortem", uuid::Uuid::now_v7());
    error(app.post(&missing, &body).await, StatusCode::NOT_FOUND, "not_found").await;

    // Writing needs the write scope.
    let reader = app.key_with_scopes(&["read"]);
    let res = app.request(Method::POST, &path, &reader).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
