//! Policy proposals: the workflow for a new policy and for a new version, rule validation under
//! `proposed_rule.`, self-review, staleness, final states, concurrent approvals (one winner, also
//! across two replicas), tenant isolation and the audit rows.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

const PROPOSALS: &str = "/api/v1/policies/proposals/";

fn proposal_path(id: &str, tail: &str) -> String {
    format!("{PROPOSALS}{id}{tail}")
}

/// A second key of the first tenant that may write: the reviewer.
fn reviewer(app: &TestApp) -> String {
    app.key_with_scopes(&["read", "write"])
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let req = app.request(method, path, key);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    req.send().await.unwrap()
}

/// Proposes with the admin key; returns the O3 body.
async fn propose(app: &TestApp, body: Value) -> Value {
    json(app.post(PROPOSALS, &body).await, StatusCode::CREATED).await
}

async fn audit_actions(app: &TestApp, resource_id: &str) -> Vec<(String, String)> {
    let logs =
        json(app.get(&format!("/api/v1/logs/audit?resource_id={resource_id}")).await, StatusCode::OK).await;
    let mut rows: Vec<(String, String)> = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap().to_owned(), r["actor_id"].as_str().unwrap().to_owned()))
        .collect();
    rows.sort();
    rows
}

fn actions(detail: &Value) -> Vec<(String, bool)> {
    detail["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap().to_owned(), a["enabled"].as_bool().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_new_policy_is_proposed_refused_to_its_proposer_and_approved_by_another_key() {
    let app = TestApp::spawn().await;
    let reviewer = reviewer(&app);
    let proposer_actor = format!("api_key:{}", app.tenant.admin_key.key.id);
    let created = propose(
        &app,
        json!({"proposed_rule": {"name": "Token cap", "rule_type": "token_limit", "threshold": 5000}, "rationale": "runs grow"}),
    )
    .await;
    let p = &created["entity"];
    let id = p["proposal_id"].as_str().unwrap().to_owned();
    assert_eq!(p["status"], "pending");
    assert_eq!(p["policy_id"], Value::Null);
    assert_eq!(p["base_version"], Value::Null);
    assert_eq!(p["proposer_id"], proposer_actor);
    assert_eq!(p["rationale"], "runs grow");
    // The rule comes back with its defaults, as a rules body.
    assert_eq!(p["proposed_rule"]["threshold"], 5000.0);
    assert_eq!(p["proposed_rule"]["action"], "STOP");
    let all = vec![("approve".to_owned(), true), ("reject".to_owned(), true), ("edit".to_owned(), true)];
    assert_eq!(actions(&created), all);
    // Nothing exists yet.
    let policies = json(app.get("/api/v1/policies/").await, StatusCode::OK).await;
    assert_eq!(policies["pagination"]["total"], 0);

    // The proposer cannot review it, whatever the body says.
    for tail in ["/approve", "/reject"] {
        let res = send(&app, Method::POST, &proposal_path(&id, tail), &app.admin_key, None).await;
        error(res, StatusCode::FORBIDDEN, "self_review").await;
    }
    let named = json!({"note": "ok", "reviewer": "someone-else"});
    let res = send(&app, Method::POST, &proposal_path(&id, "/approve"), &app.admin_key, Some(named)).await;
    error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let res =
        send(&app, Method::POST, &proposal_path(&id, "/approve"), &reviewer, Some(json!({"note": "lgtm"})))
            .await;
    let approved = json(res, StatusCode::OK).await;
    let a = &approved["entity"];
    assert_eq!(a["status"], "approved");
    assert_eq!(a["review_note"], "lgtm");
    assert!(a["reviewer_id"].as_str().unwrap().starts_with("api_key:"));
    assert_ne!(a["reviewer_id"], proposer_actor);
    assert!(a["reviewed_at"].is_string());
    assert_eq!(a["resulting_version"], 1);
    let policy_id = a["resulting_policy_id"].as_str().unwrap().to_owned();
    let none = vec![("approve".to_owned(), false), ("reject".to_owned(), false), ("edit".to_owned(), false)];
    assert_eq!(actions(&approved), none);
    let policy = json(app.get(&format!("/api/v1/policies/{policy_id}")).await, StatusCode::OK).await;
    assert_eq!(policy["entity"]["name"], "Token cap");
    assert_eq!(policy["entity"]["threshold"], 5000.0);
    assert_eq!(policy["entity"]["version"], 1);

    // Final: nothing changes it again.
    for tail in ["/approve", "/reject"] {
        let res = send(&app, Method::POST, &proposal_path(&id, tail), &reviewer, None).await;
        let body = error(res, StatusCode::CONFLICT, "proposal_closed").await;
        assert_eq!(body["error"]["details"]["status"], "approved");
    }
    let res =
        send(&app, Method::PUT, &proposal_path(&id, ""), &app.admin_key, Some(json!({"rationale": "again"})))
            .await;
    error(res, StatusCode::CONFLICT, "proposal_closed").await;

    // Audit: the proposal's rows, and the policy's own row written by the reviewer.
    let reviewer_actor = a["reviewer_id"].as_str().unwrap().to_owned();
    assert_eq!(
        audit_actions(&app, &id).await,
        vec![
            ("policy_proposal.approved".to_owned(), reviewer_actor.clone()),
            ("policy_proposal.created".to_owned(), proposer_actor),
        ]
    );
    assert_eq!(audit_actions(&app, &policy_id).await, vec![("policy.created".to_owned(), reviewer_actor)]);
}

#[tokio::test]
async fn a_new_version_is_edited_by_its_proposer_only_and_approval_versions_the_policy() {
    let app = TestApp::spawn().await;
    let reviewer = reviewer(&app);
    let policy_id =
        app.create_policy(json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 500})).await;
    let created = propose(
        &app,
        json!({"policy_id": policy_id, "proposed_rule": {"name": "Budget", "rule_type": "cost_limit", "threshold": 400}}),
    )
    .await;
    let id = created["entity"]["proposal_id"].as_str().unwrap().to_owned();
    assert_eq!(created["entity"]["base_version"], 1);
    assert_eq!(created["entity"]["policy_id"], policy_id.as_str());

    // Only the proposer edits.
    let edit = json!({"proposed_rule": {"name": "Budget", "rule_type": "cost_limit", "threshold": 300}, "rationale": "tighter"});
    let res = send(&app, Method::PUT, &proposal_path(&id, ""), &reviewer, Some(edit.clone())).await;
    error(res, StatusCode::FORBIDDEN, "not_proposer").await;
    let edited = json(app.put(&proposal_path(&id, ""), &edit).await, StatusCode::OK).await;
    assert_eq!(edited["entity"]["proposed_rule"]["threshold"], 300.0);
    assert_eq!(edited["entity"]["rationale"], "tighter");
    assert_eq!(edited["entity"]["base_version"], 1);
    // An absent field stays.
    let kept = json(app.put(&proposal_path(&id, ""), &json!({})).await, StatusCode::OK).await;
    assert_eq!(kept["entity"]["proposed_rule"]["threshold"], 300.0);
    assert_eq!(kept["entity"]["rationale"], "tighter");

    let shown = json(app.get(&proposal_path(&id, "")).await, StatusCode::OK).await;
    assert_eq!(shown["entity"]["status"], "pending");

    let res = send(&app, Method::POST, &proposal_path(&id, "/approve"), &reviewer, None).await;
    let approved = json(res, StatusCode::OK).await;
    assert_eq!(approved["entity"]["resulting_policy_id"], policy_id.as_str());
    assert_eq!(approved["entity"]["resulting_version"], 2);
    let policy = json(app.get(&format!("/api/v1/policies/{policy_id}")).await, StatusCode::OK).await;
    assert_eq!(policy["entity"]["version"], 2);
    assert_eq!(policy["entity"]["threshold"], 300.0);
    let v1 = json(app.get(&format!("/api/v1/policies/{policy_id}?version=1")).await, StatusCode::OK).await;
    assert_eq!(v1["entity"]["threshold"], 500.0);

    // The list: newest first, filtered by status and policy.
    let other = propose(
        &app,
        json!({"proposed_rule": {"name": "Steps", "rule_type": "step_limit", "threshold": 20}}),
    )
    .await;
    let list = json(app.get(PROPOSALS).await, StatusCode::OK).await;
    assert_eq!(list["pagination"]["total"], 2);
    assert_eq!(list["items"][0]["proposal_id"], other["entity"]["proposal_id"]);
    assert_eq!(list["sort"], json!({"field": "created_at", "direction": "desc"}));
    let approved_only = json(app.get(&format!("{PROPOSALS}?status=approved")).await, StatusCode::OK).await;
    assert_eq!(approved_only["pagination"]["total"], 1);
    assert_eq!(approved_only["items"][0]["proposal_id"], id.as_str());
    assert_eq!(approved_only["filters_applied"], json!({"status": "approved"}));
    let of_policy = json(app.get(&format!("{PROPOSALS}?policy_id={policy_id}")).await, StatusCode::OK).await;
    assert_eq!(of_policy["pagination"]["total"], 1);

    let actions: Vec<String> = audit_actions(&app, &id).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(
        actions,
        [
            "policy_proposal.approved",
            "policy_proposal.created",
            "policy_proposal.updated",
            "policy_proposal.updated"
        ]
    );
    let policy_rows: Vec<String> =
        audit_actions(&app, &policy_id).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(policy_rows, ["policy.created", "policy.updated"]);
}

#[tokio::test]
async fn a_rejected_proposal_changes_nothing_and_is_final() {
    let app = TestApp::spawn().await;
    let reviewer = reviewer(&app);
    let created = propose(
        &app,
        json!({"proposed_rule": {"name": "Steps", "rule_type": "step_limit", "threshold": 20}}),
    )
    .await;
    let id = created["entity"]["proposal_id"].as_str().unwrap().to_owned();
    let res = send(
        &app,
        Method::POST,
        &proposal_path(&id, "/reject"),
        &reviewer,
        Some(json!({"note": "too strict"})),
    )
    .await;
    let rejected = json(res, StatusCode::OK).await;
    assert_eq!(rejected["entity"]["status"], "rejected");
    assert_eq!(rejected["entity"]["review_note"], "too strict");
    assert_eq!(rejected["entity"]["resulting_policy_id"], Value::Null);
    let policies = json(app.get("/api/v1/policies/").await, StatusCode::OK).await;
    assert_eq!(policies["pagination"]["total"], 0);
    let res = send(&app, Method::POST, &proposal_path(&id, "/approve"), &reviewer, None).await;
    let body = error(res, StatusCode::CONFLICT, "proposal_closed").await;
    assert_eq!(body["error"]["details"]["status"], "rejected");
    let res = app.put(&proposal_path(&id, ""), &json!({"rationale": "please"})).await;
    error(res, StatusCode::CONFLICT, "proposal_closed").await;
    let actions: Vec<String> = audit_actions(&app, &id).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, ["policy_proposal.created", "policy_proposal.rejected"]);
}

#[tokio::test]
async fn approving_a_proposal_whose_policy_changed_since_is_stale() {
    let app = TestApp::spawn().await;
    let reviewer = reviewer(&app);
    let policy_id =
        app.create_policy(json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 500})).await;
    let rule = json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 400});
    let first = propose(&app, json!({"policy_id": policy_id, "proposed_rule": rule})).await;
    let first = first["entity"]["proposal_id"].as_str().unwrap().to_owned();
    let second = propose(&app, json!({"policy_id": policy_id, "proposed_rule": rule})).await;
    let second = second["entity"]["proposal_id"].as_str().unwrap().to_owned();

    // The policy moves on to version 2 (here through the first proposal).
    json(send(&app, Method::POST, &proposal_path(&first, "/approve"), &reviewer, None).await, StatusCode::OK)
        .await;
    let res = send(&app, Method::POST, &proposal_path(&second, "/approve"), &reviewer, None).await;
    let body = error(res, StatusCode::CONFLICT, "proposal_stale").await;
    assert_eq!(body["error"]["details"], json!({"base_version": 1, "current_version": 2}));
    let still = json(app.get(&proposal_path(&second, "")).await, StatusCode::OK).await;
    assert_eq!(still["entity"]["status"], "pending");
    let policy = json(app.get(&format!("/api/v1/policies/{policy_id}")).await, StatusCode::OK).await;
    assert_eq!(policy["entity"]["version"], 2);
    // A stale proposal can still be rejected.
    json(send(&app, Method::POST, &proposal_path(&second, "/reject"), &reviewer, None).await, StatusCode::OK)
        .await;

    // An archived (deleted) target is stale too, and takes no new proposals.
    let third = propose(&app, json!({"policy_id": policy_id, "proposed_rule": rule})).await;
    let third = third["entity"]["proposal_id"].as_str().unwrap().to_owned();
    json(
        app.request(Method::DELETE, &format!("/api/v1/policies/{policy_id}"), &app.admin_key)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let res = send(&app, Method::POST, &proposal_path(&third, "/approve"), &reviewer, None).await;
    error(res, StatusCode::CONFLICT, "proposal_stale").await;
    let res = app.post(PROPOSALS, &json!({"policy_id": policy_id, "proposed_rule": rule})).await;
    error(res, StatusCode::CONFLICT, "conflict").await;
}

#[tokio::test]
async fn the_proposed_rule_is_validated_like_a_rule_and_bad_input_is_422() {
    let app = TestApp::spawn().await;
    let before = app.audit_count();
    let bad_cel =
        json!({"proposed_rule": {"name": "c", "rule_type": "custom", "condition": "step.tokens >"}});
    let body =
        error(app.post(PROPOSALS, &bad_cel).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .await;
    assert_eq!(body["error"]["details"]["field"], "proposed_rule.condition");
    let first = &body["error"]["details"]["errors"][0];
    assert_eq!(first["field"], "proposed_rule.condition");
    assert!(first["position"]["line"].is_number() && first["position"]["column"].is_number(), "{body}");
    // The same refusal as the rules endpoint, field for field.
    let rule_body = error(
        app.post("/api/v1/policies/rules/", &bad_cel["proposed_rule"]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        rule_body["error"]["details"]["errors"][0]["position"],
        body["error"]["details"]["errors"][0]["position"]
    );
    let no_threshold = json!({"proposed_rule": {"name": "t", "rule_type": "token_limit"}});
    let body = error(
        app.post(PROPOSALS, &no_threshold).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "proposed_rule.threshold");
    for bad in [
        json!({"proposed_rule": {"name": "t", "rule_type": "token_limit", "threshold": 1, "colour": "red"}}),
        json!({"proposed_rule": {"name": "t", "rule_type": "no_such_type", "threshold": 1}}),
        json!({"policy_id": "not-a-uuid", "proposed_rule": {"name": "t", "rule_type": "token_limit", "threshold": 1}}),
        json!({"rationale": "no rule"}),
        json!({"proposed_rule": {"name": "t", "rule_type": "token_limit", "threshold": 1}, "rationale": " "}),
    ] {
        error(app.post(PROPOSALS, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // Filters that do not parse name the field and the allowed values.
    let body = error(
        app.get(&format!("{PROPOSALS}?status=open")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "status");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("pending") && message.contains("approved") && message.contains("rejected"),
        "{message}"
    );
    let body = error(
        app.get(&format!("{PROPOSALS}?policy_id=x")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "policy_id");
    // A rule edit is validated the same way.
    let created =
        propose(&app, json!({"proposed_rule": {"name": "t", "rule_type": "token_limit", "threshold": 1}}))
            .await;
    let id = created["entity"]["proposal_id"].as_str().unwrap().to_owned();
    let body = error(
        app.put(&proposal_path(&id, ""), &bad_cel).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "proposed_rule.condition");
    // Only the one successful proposal wrote an audit row.
    assert_eq!(app.audit_count(), before + 1);
}

#[tokio::test]
async fn another_tenants_proposals_and_policies_are_not_found() {
    let app = TestApp::spawn().await;
    let other = app.create_tenant("tenant-b");
    let other_key = other.admin_key.secret.clone();
    let policy_id =
        app.create_policy(json!({"name": "Budget", "rule_type": "cost_limit", "threshold": 500})).await;
    let created =
        propose(&app, json!({"proposed_rule": {"name": "t", "rule_type": "token_limit", "threshold": 1}}))
            .await;
    let id = created["entity"]["proposal_id"].as_str().unwrap().to_owned();

    let res = send(&app, Method::GET, &proposal_path(&id, ""), &other_key, None).await;
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    for tail in ["/approve", "/reject"] {
        let res = send(&app, Method::POST, &proposal_path(&id, tail), &other_key, None).await;
        error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let res = send(&app, Method::PUT, &proposal_path(&id, ""), &other_key, Some(json!({}))).await;
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    let rule = json!({"name": "t", "rule_type": "token_limit", "threshold": 1});
    let res = send(
        &app,
        Method::POST,
        PROPOSALS,
        &other_key,
        Some(json!({"policy_id": policy_id, "proposed_rule": rule})),
    )
    .await;
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    let list = json(send(&app, Method::GET, PROPOSALS, &other_key, None).await, StatusCode::OK).await;
    assert_eq!(list["pagination"]["total"], 0);
    let missing = format!("{}", uuid::Uuid::now_v7());
    error(app.get(&proposal_path(&missing, "")).await, StatusCode::NOT_FOUND, "not_found").await;
    // A read key cannot propose or review.
    let reader = app.key_with_scopes(&["read"]);
    let res = send(&app, Method::POST, PROPOSALS, &reader, Some(json!({"proposed_rule": rule}))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(&app, Method::POST, &proposal_path(&id, "/approve"), &reader, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_on_two_replicas_have_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let reviewers = [reviewer(&app), reviewer(&app)];
    for round in 0..3 {
        let policy_id = app
            .create_policy(
                json!({"name": format!("Budget {round}"), "rule_type": "cost_limit", "threshold": 500}),
            )
            .await;
        let created = propose(
            &app,
            json!({"policy_id": policy_id, "proposed_rule": {"name": "Budget", "rule_type": "cost_limit", "threshold": 100}}),
        )
        .await;
        let id = created["entity"]["proposal_id"].as_str().unwrap().to_owned();
        let path = proposal_path(&id, "/approve");
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..8 {
            // Alternate servers, and the two reviewers across them.
            let url = if i % 2 == 0 { app.url(&path) } else { replica.url(&path) };
            let request = app.client.post(url).bearer_auth(&reviewers[i / 2 % 2]).send();
            requests.spawn(request);
        }
        let mut ok = 0;
        for res in requests.join_all().await {
            let res = res.unwrap();
            match res.status() {
                StatusCode::OK => ok += 1,
                StatusCode::CONFLICT => {
                    let body = json(res, StatusCode::CONFLICT).await;
                    let code = body["error"]["code"].as_str().unwrap().to_owned();
                    assert!(code == "proposal_closed" || code == "conflict", "{body}");
                }
                other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
            }
        }
        assert_eq!(ok, 1, "exactly one approval wins");
        let versions =
            json(app.get(&format!("/api/v1/policies/{policy_id}/versions")).await, StatusCode::OK).await;
        assert_eq!(versions.as_array().unwrap().len(), 2, "one new version");
        let approved: Vec<String> = audit_actions(&app, &id)
            .await
            .into_iter()
            .map(|(a, _)| a)
            .filter(|a| a == "policy_proposal.approved")
            .collect();
        assert_eq!(approved.len(), 1);
    }
}
