//! The HTTP contract as `/api/openapi.json` states it: unique operation ids, every error status
//! documented, and bodies that match their schemas (what schemathesis checks in `cargo xtask spec`).

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

async fn document(app: &TestApp) -> Value {
    json(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), StatusCode::OK).await
}

fn statuses(operation: &Value) -> Vec<&str> {
    operation["responses"].as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn operation_ids_are_unique() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut seen = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            let here = format!("{} {path}", method.to_uppercase());
            if let Some(first) = seen.insert(id.clone(), here.clone()) {
                panic!("operation id {id:?} names both {first} and {here}");
            }
        }
    }
    assert_eq!(doc["paths"]["/api/governance/risk/policies"]["get"]["operationId"], "list_risk_policies");
}

#[tokio::test]
async fn every_error_an_operation_can_answer_is_documented() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let start = &doc["paths"]["/api/v1/runs"]["post"];
    for status in ["400", "401", "403", "409", "413", "415", "422", "429", "503"] {
        assert!(statuses(start).contains(&status), "POST /api/v1/runs lacks {status}: {start}");
    }
    let show = &doc["paths"]["/api/v1/incidents/{incident_id}"]["get"];
    for status in ["401", "403", "404", "503"] {
        assert!(statuses(show).contains(&status), "GET /api/v1/incidents/{{incident_id}} lacks {status}");
    }
    let list = &doc["paths"]["/api/v1/incidents/active"]["get"];
    assert!(statuses(list).contains(&"422"), "{list}");
    let page_size = list["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "page_size").unwrap();
    assert_eq!(
        (page_size["schema"]["minimum"].as_i64(), page_size["schema"]["maximum"].as_i64()),
        (Some(1), Some(200))
    );
    assert_eq!(
        doc["components"]["responses"]["ValidationFailed"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}

#[tokio::test]
async fn schemas_match_the_bodies_sent() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ErrorDetail"]["properties"]["details"]["type"], "object");
    assert_eq!(schemas["SnapshotOut"]["properties"]["policies_json"]["type"], "array");

    let started = app.start_run("agent-contract").await;
    assert!(started["policy_snapshot"]["policies_json"].is_array(), "{started}");
}

#[tokio::test]
async fn error_details_are_always_an_object() {
    let app = TestApp::spawn().await;
    let no_key = app.client.get(app.url("/api/v1/incidents/")).send().await.unwrap();
    let bad_query = app.get("/api/v1/incidents/?page=first").await;
    let unknown = app.get("/api/v1/nothing-here").await;
    let method = app.request(Method::DELETE, "/api/v1/runs", &app.admin_key).send().await.unwrap();
    assert_eq!(method.headers()["allow"], "POST");
    for (res, status, code) in [
        (no_key, StatusCode::UNAUTHORIZED, "unauthorized"),
        (bad_query, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (unknown, StatusCode::NOT_FOUND, "not_found"),
        (method, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
    ] {
        let body = error(res, status, code).await;
        assert!(body["error"]["details"].is_object(), "{body}");
    }
}

#[tokio::test]
async fn the_allow_header_names_the_methods_of_the_route_that_matches() {
    let app = TestApp::spawn().await;
    // `/policies/controls` is served before `/policies/{policy_id}`: DELETE is not among its methods.
    let res = app.request(Method::POST, "/api/v1/policies/controls", &app.admin_key).send().await.unwrap();
    assert_eq!(res.headers()["allow"], "GET, PUT");
    error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn a_whole_number_written_with_a_fraction_is_an_integer() {
    let app = TestApp::spawn().await;
    let run = app.start_run("agent-whole").await;
    let run_id = run["run"]["run_id"].as_str().unwrap();
    let step = json!({"step_type": "llm_call", "input_tokens": 28.0, "output_tokens": 2});
    let body = json(app.step(run_id, step).await, StatusCode::CREATED).await;
    assert_eq!(body["step"]["tokens"], 30, "{body}");
    let fraction = json!({"step_type": "llm_call", "input_tokens": 28.5});
    error(app.step(run_id, fraction).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn a_body_is_a_json_object_not_an_array_of_its_fields() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    for (path, body) in [
        ("/api/governance/regression/evaluate", json!([null, null])),
        ("/api/governance/go-live/enable", json!([null, "launch"])),
    ] {
        let res = app.post(path, &body).await;
        let err = error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(err["error"]["details"]["field"], "body", "{path}: {err}");
    }
    assert_eq!(app.audit_count(), before);
}

#[tokio::test]
async fn json_numbers_are_read_exactly() {
    let app = TestApp::spawn().await;
    // The nearest double below 100: a lax parser rounds it to 100, which the rule refuses.
    let res = app.put("/api/v1/policies/controls", &json!({"near_threshold_pct": 99.99999999999999})).await;
    let body = json(res, StatusCode::OK).await;
    assert_eq!(body["near_threshold_pct"].as_f64(), Some(99.99999999999999), "{body}");
}
