//! System logs and the Logs domain: real system events in `/logs/system`, the merged `/logs/`
//! view, lookup of any topic's entry by id, the cross-topic search, and tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

fn events(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["event"].as_str().unwrap().to_owned()).collect()
}

async fn scenario(app: &TestApp) -> (String, String) {
    let incident_id = app.seed_scenario().await;
    let runs = json(app.get("/api/v1/logs/?topic=llm_runs").await, StatusCode::OK).await;
    let run_id = runs["items"][0]["run_id"].as_str().expect("run id").to_owned();
    assert_eq!(runs["items"][0]["incident_id"], incident_id.as_str());
    for lever in ["engage", "release"] {
        json(
            app.post(
                &format!("/api/governance/go-live/kill-switch/{lever}"),
                &json!({"actor": "oncall", "reason": "drill"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    let res = app
        .request(Method::POST, &format!("/api/v1/incidents/{incident_id}/export/evidence"), &app.admin_key)
        .json(&json!({"reason": "SOC2 audit"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "export: {}", res.status());
    (run_id, incident_id)
}

#[tokio::test]
async fn real_events_are_system_logs_and_every_topic_merges_resolves_and_searches() {
    let app = TestApp::spawn().await;
    let (run_id, incident_id) = scenario(&app).await;

    let system = json(app.get("/api/v1/logs/system?page_size=200").await, StatusCode::OK).await;
    let names = events(&system);
    for expected in [
        "server.started",
        "migrations.applied",
        "kill_switch.engaged",
        "kill_switch.released",
        "export.created",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    // Newest first: the export came after the release, which came after the engage.
    let pos = |e: &str| names.iter().position(|n| n == e).unwrap();
    assert!(pos("export.created") < pos("kill_switch.released"));
    assert!(pos("kill_switch.released") < pos("kill_switch.engaged"));
    let engaged = &system["items"][pos("kill_switch.engaged")];
    assert_eq!(engaged["level"], "warning");
    assert_eq!(engaged["source"], "go_live");
    assert_eq!(system["items"][pos("server.started")]["tenant_id"], Value::Null);
    assert!(system["items"][pos("server.started")]["context"]["version"].is_string());

    let warnings = json(app.get("/api/v1/logs/system?level=warning").await, StatusCode::OK).await;
    assert_eq!(events(&warnings), vec!["kill_switch.engaged"]);
    assert_eq!(warnings["filters_applied"]["level"], "warning");
    let by_event = json(app.get("/api/v1/logs/system?event=export.created").await, StatusCode::OK).await;
    assert_eq!(by_event["pagination"]["total"], 1);

    // The merged view holds all three topics, newest first.
    let all = json(app.get("/api/v1/logs/?page_size=200").await, StatusCode::OK).await;
    let items = all["items"].as_array().unwrap();
    for topic in ["llm_runs", "system", "audit"] {
        assert!(items.iter().any(|i| i["topic"] == topic), "no {topic} entry");
    }
    let times: Vec<time::OffsetDateTime> = items
        .iter()
        .map(|i| {
            time::OffsetDateTime::parse(
                i["timestamp"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first");
    let mut sum = 0;
    for t in ["llm_runs", "system", "audit"] {
        let one = json(app.get(&format!("/api/v1/logs/?topic={t}")).await, StatusCode::OK).await;
        assert!(one["items"].as_array().unwrap().iter().all(|i| i["topic"] == t));
        sum += one["pagination"]["total"].as_i64().unwrap();
    }
    assert_eq!(all["pagination"]["total"].as_i64().unwrap(), sum);
    let page2 = json(app.get("/api/v1/logs/?page=2&page_size=3").await, StatusCode::OK).await;
    assert_eq!(page2["items"][0]["log_id"], items[3]["log_id"]);

    // Every topic's id resolves through /logs/{log_id}.
    for topic in ["llm_runs", "system", "audit"] {
        let one = items.iter().find(|i| i["topic"] == topic).unwrap();
        let id = one["log_id"].as_str().unwrap();
        let detail = json(app.get(&format!("/api/v1/logs/{id}")).await, StatusCode::OK).await;
        assert_eq!(detail["entity"]["topic"], topic);
        assert_eq!(detail["entity"]["log_id"], id);
        assert!(detail["actions"].is_array());
    }
    error(app.get("/api/v1/logs/not-a-uuid").await, StatusCode::NOT_FOUND, "not_found").await;
    error(
        app.get(&format!("/api/v1/logs/{}", uuid::Uuid::now_v7())).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Search: by run, by incident, by text, by level, by time range.
    let search = |body: Value| {
        let app = &app;
        async move { json(app.post("/api/v1/logs/search", &body).await, StatusCode::OK).await }
    };
    let by_run = search(json!({"run_id": run_id})).await;
    let topics: Vec<&str> =
        by_run["items"].as_array().unwrap().iter().map(|i| i["topic"].as_str().unwrap()).collect();
    assert!(topics.contains(&"llm_runs") && topics.contains(&"audit"), "{topics:?}");
    assert!(by_run["items"].as_array().unwrap().iter().all(|i| i["run_id"] == run_id.as_str()
        || i["context"].to_string().contains(&run_id)
        || i["resource_id"] == run_id.as_str()));
    assert_eq!(by_run["filters_applied"]["run_id"], run_id.as_str());
    let by_incident = search(json!({"incident_id": incident_id})).await;
    let topics: Vec<&str> =
        by_incident["items"].as_array().unwrap().iter().map(|i| i["topic"].as_str().unwrap()).collect();
    assert!(
        topics.contains(&"system") && topics.contains(&"llm_runs") && topics.contains(&"audit"),
        "{topics:?}"
    );
    let by_text = search(json!({"text": "DRILL", "topic": "system"})).await;
    assert_eq!(events(&by_text), vec!["kill_switch.released", "kill_switch.engaged"]);
    let by_level = search(json!({"level": "warning"})).await;
    assert!(by_level["items"].as_array().unwrap().iter().all(|i| i["level"] == "warning"));
    assert!(by_level["items"].as_array().unwrap().iter().any(|i| i["topic"] == "llm_runs"));
    let future = search(json!({"from": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(future["pagination"]["total"], 0);
    let past = search(json!({"to": "2000-01-01T00:00:00Z", "topic": "audit"})).await;
    assert_eq!(past["pagination"]["total"], 0);
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let body = error(
        app.get("/api/v1/logs/?topic=nope").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "topic");
    assert!(body["error"]["message"].as_str().unwrap().contains("llm_runs, system, audit"));
    let body = error(
        app.get("/api/v1/logs/system?level=loud").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "level");
    assert!(body["error"]["message"].as_str().unwrap().contains("critical"));
    let body = error(
        app.post(
            "/api/v1/logs/search",
            &json!({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "from");
    let body = error(
        app.post("/api/v1/logs/search", &json!({"from": "yesterday"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "from");
    let res = app.post("/api/v1/logs/search", &json!({"colour": "red"})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = error(
        app.post("/api/v1/logs/search", &json!({"topic": "nope"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["error"]["details"]["field"], "topic");
    for cursor in ["!!", "bm90LWEtY3Vyc29y"] {
        let body = error(
            app.post("/api/v1/logs/search", &json!({"cursor": cursor})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["error"]["details"]["field"], "cursor");
    }
}

/// Follows `next_cursor` of a log search with `body` to the end: the items, and how many pages.
async fn search_walk(app: &TestApp, key: &str, body: Value) -> (Vec<Value>, usize) {
    let (mut items, mut body) = (Vec::new(), body);
    for pages in 1.. {
        let res = app.request(Method::POST, "/api/v1/logs/search", key).json(&body).send().await.unwrap();
        let page = json(res, StatusCode::OK).await;
        assert_eq!(page["pagination"]["page"], pages, "{}", page["pagination"]);
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= body["page_size"].as_u64().unwrap() as usize);
        items.extend(got.iter().cloned());
        match page["pagination"]["next_cursor"].as_str() {
            Some(c) => body["cursor"] = c.into(),
            None => return (items, pages),
        }
        assert!(pages < 200, "the walk does not end");
    }
    unreachable!()
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["log_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_search_walks_by_cursor_in_the_merged_order() {
    let app = TestApp::spawn().await;
    let (_, incident_id) = scenario(&app).await;
    let key = app.admin_key.clone();
    let body = json!({"incident_id": incident_id, "page_size": 200});
    let whole = json(app.post("/api/v1/logs/search", &body).await, StatusCode::OK).await;
    let whole = whole["items"].as_array().unwrap().clone();
    assert!(whole.len() >= 3, "{whole:?}");
    let (walked, pages) = search_walk(&app, &key, json!({"incident_id": incident_id, "page_size": 1})).await;
    assert_eq!(ids(&walked), ids(&whole));
    assert!(pages >= whole.len());
    let (walked, _) = search_walk(&app, &key, json!({"page_size": 4})).await;
    let all = json(app.get("/api/v1/logs/?page_size=200").await, StatusCode::OK).await;
    assert_eq!(ids(&walked), ids(all["items"].as_array().unwrap()));
}

/// A tenant with more audit rows than the count cap: totals stop counting, and a substring
/// search examines a bounded stretch per page yet finds an old row by walking.
#[tokio::test]
async fn totals_are_capped_and_a_substring_search_finds_old_rows_by_walking() {
    let app = TestApp::spawn().await;
    let options = gov_facades::GenerateOptions {
        tenant_name: "big".to_owned(),
        runs: 5_500,
        steps_per_run: 1,
        incidents: 5,
        days: 3,
        seed: 3,
        batch_runs: 2_000,
    };
    let generated = app.gov.generate(&options, &mut |_| {}).unwrap();
    let key = generated.admin_key.clone();
    let get = |path: &'static str| {
        let req = app.request(Method::GET, path, &key);
        async move { json(req.send().await.unwrap(), StatusCode::OK).await }
    };
    let audit = get("/api/v1/logs/?topic=audit").await;
    assert_eq!(audit["pagination"]["total_exact"], false, "{}", audit["pagination"]);
    assert_eq!(audit["pagination"]["total"], gov_model::COUNT_CAP);
    let runs = get("/api/v1/logs/?topic=llm_runs").await;
    assert_eq!(
        (runs["pagination"]["total"].as_i64(), runs["pagination"]["total_exact"].as_bool()),
        (Some(5_501), Some(true))
    );
    let all = get("/api/v1/logs/").await;
    let system = get("/api/v1/logs/?topic=system").await["pagination"]["total"].as_i64().unwrap();
    assert_eq!(all["pagination"]["total_exact"], false);
    assert_eq!(all["pagination"]["total"].as_i64().unwrap(), gov_model::COUNT_CAP + 5_501 + system);

    // The oldest run's rows: a needle behind more rows than one page examines.
    let oldest = get("/api/v1/activity/?direction=asc&page_size=1").await;
    let run_id = oldest["items"][0]["run_id"].as_str().unwrap().to_owned();
    let (found, pages) =
        search_walk(&app, &key, json!({"text": run_id.to_uppercase(), "topic": "audit", "page_size": 50}))
            .await;
    assert!(pages > 2, "{pages} pages");
    // run.started, and run.completed unless the run is still running.
    assert!(!found.is_empty(), "{found:?}");
    assert!(
        found
            .iter()
            .all(|i| i["resource_id"] == run_id.as_str() || i["context"].to_string().contains(&run_id))
    );
    // By run: the trace (found by its index) and the audit rows, newest first, in one walk.
    let (found, _) = search_walk(&app, &key, json!({"run_id": run_id, "page_size": 50})).await;
    let topics: Vec<&str> = found.iter().map(|i| i["topic"].as_str().unwrap()).collect();
    assert!(topics.contains(&"llm_runs") && topics.contains(&"audit"), "{topics:?}");
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let keys: Vec<(time::OffsetDateTime, String)> = found
        .iter()
        .map(|i| {
            let t = time::OffsetDateTime::parse(i["timestamp"].as_str().unwrap(), rfc3339).unwrap();
            (t, i["log_id"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] > w[1]), "not newest first: {keys:?}");
}

#[tokio::test]
async fn another_tenant_sees_only_deployment_wide_events() {
    let app = TestApp::spawn().await;
    let (run_id, _) = scenario(&app).await;
    let ours = json(app.get("/api/v1/logs/?page_size=200").await, StatusCode::OK).await;
    let other = app.create_tenant("tenant-b");
    let key = other.admin_key.secret.clone();
    let get = |path: String| {
        let (app, key) = (&app, key.clone());
        async move { app.request(Method::GET, &path, &key).send().await.unwrap() }
    };
    let system = json(get("/api/v1/logs/system?page_size=200".into()).await, StatusCode::OK).await;
    let names = events(&system);
    assert!(names.iter().any(|n| n == "server.started"), "{names:?}");
    assert!(system["items"].as_array().unwrap().iter().all(|i| i["tenant_id"].is_null()), "{names:?}");
    let theirs = json(get("/api/v1/logs/?page_size=200".into()).await, StatusCode::OK).await;
    assert!(theirs["items"].as_array().unwrap().iter().all(|i| i["topic"] != "llm_runs"));
    for item in ours["items"].as_array().unwrap().iter().filter(|i| i["topic"] != "system") {
        let id = item["log_id"].as_str().unwrap();
        let res = get(format!("/api/v1/logs/{id}")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{id} of topic {}", item["topic"]);
    }
    let res = app
        .request(Method::POST, "/api/v1/logs/search", &key)
        .json(&json!({"run_id": run_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, StatusCode::OK).await["pagination"]["total"], 0);
}
