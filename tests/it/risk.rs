//! The risk guard: dual-control caps, reserve/settle idempotency, atomicity, UTC days.

use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::helpers::{TestApp, error, json, raw_count};

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

/// Sends `body` to `path` `n` times at once, alternating between the servers at `bases`; returns
/// every answer (status and body).
async fn at_once(
    app: &TestApp,
    bases: &[&str],
    path: &str,
    body: Value,
    n: usize,
) -> Vec<(StatusCode, Value)> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let request =
                app.client.post(format!("{}{path}", bases[i % bases.len()])).bearer_auth(&app.admin_key);
            let (body, start) = (body.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let res = request.json(&body).send().await.unwrap();
                (res.status(), res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Every answer is a 200 with the same decision, and exactly one of them is not a replay.
fn one_answer(answers: &[(StatusCode, Value)]) -> Value {
    for (status, body) in answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    let first = &answers[0].1;
    for (_, body) in answers {
        assert_eq!((&body["ok"], &body["reason"]), (&first["ok"], &first["reason"]), "{body}");
    }
    let fresh = answers.iter().filter(|(_, b)| b["replayed"] == false).count();
    assert_eq!(fresh, 1, "one answer is the decision, the others replay it: {answers:?}");
    first.clone()
}

fn events(app: &TestApp, correlation_id: &str, actions: &str) -> i64 {
    raw_count(
        app.db_url(),
        &format!(
            "SELECT count(*) AS n FROM risk_event WHERE correlation_id = '{correlation_id}' AND action IN ({actions})"
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_on_two_replicas_get_the_first_answer_and_move_money_once() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let bases = [app.base.as_str(), replica.base.as_str()];
    const RESERVE: &str = "/api/governance/risk/check-and-reserve";
    const SETTLE: &str = "/api/governance/risk/settle";

    // Plenty of room: every duplicate is granted once.
    let body = json!({"engine": "WHOLESALE", "amount": 100, "actor": "deal_engine", "reason": "booking", "correlation_id": "roomy"});
    assert_eq!(one_answer(&at_once(&app, &bases, RESERVE, body, 20).await)["ok"], true);
    assert_eq!(events(&app, "roomy", "'RESERVE', 'DENY'"), 1);

    // At the cap's edge: CAPITAL's open risk cap is 300 and 250 are reserved, so the first of the
    // duplicates fits exactly and a second would not.
    assert_eq!(reserve(&app, "CAPITAL", 250.0, "fill").await["ok"], true);
    let body = json!({"engine": "CAPITAL", "amount": 50, "actor": "deal_engine", "reason": "booking", "correlation_id": "edge"});
    let first = one_answer(&at_once(&app, &bases, RESERVE, body.clone(), 20).await);
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(events(&app, "edge", "'RESERVE', 'DENY'"), 1, "one decision per correlation id");
    // A later retry, on either replica, replays the grant.
    for base in bases {
        let res = app
            .client
            .post(format!("{base}{RESERVE}"))
            .bearer_auth(&app.admin_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let again = json(res, StatusCode::OK).await;
        assert_eq!((&again["ok"], &again["replayed"]), (&json!(true), &json!(true)), "{again}");
    }

    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let row = |ledger: &Value, engine: &str| {
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == engine).unwrap().clone()
    };
    let capital = row(&ledger, "CAPITAL");
    assert_eq!(
        (capital["open_risk_reserved"].as_f64(), capital["actions_count"].as_i64()),
        (Some(300.0), Some(2))
    );
    assert_eq!(row(&ledger, "GLOBAL")["exposure_used"], 400.0, "money moved once per id");
    assert_eq!(ledger["denials"].as_object().map_or(0, |d| d.len()), 0, "{ledger}");

    // Settling: the same, one SETTLE (and one RELEASE) whoever asks.
    let settle =
        json!({"correlation_id": "edge", "realized_loss": 10, "actor": "deal_engine", "reason": "done"});
    assert_eq!(one_answer(&at_once(&app, &bases, SETTLE, settle, 20).await)["ok"], true);
    assert_eq!(events(&app, "edge", "'SETTLE'"), 1);
    assert_eq!(events(&app, "edge", "'RELEASE'"), 1);
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let capital = row(&ledger, "CAPITAL");
    assert_eq!(
        (capital["open_risk_reserved"].as_f64(), capital["realized_loss"].as_f64()),
        (Some(250.0), Some(10.0))
    );
    assert_eq!(row(&ledger, "GLOBAL")["realized_loss"], 10.0);
}

/// Sends every request at once, request `i` to `bases[i % bases.len()]`.
async fn all_at_once(app: &TestApp, bases: &[&str], requests: Vec<(&'static str, Value)>) -> Vec<Value> {
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, (path, body))| {
            let request =
                app.client.post(format!("{}{path}", bases[i % bases.len()])).bearer_auth(&app.admin_key);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                json(request.json(&body).send().await.unwrap(), StatusCode::OK).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_racing_reservations_and_settlements_never_pass_a_cap() {
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let bases = [app.base.as_str(), replica.base.as_str()];
    const RESERVE: &str = "/api/governance/risk/check-and-reserve";
    const SETTLE: &str = "/api/governance/risk/settle";
    let reservation = |engine: &str, id: String| {
        (
            RESERVE,
            json!({"engine": engine, "amount": 50, "actor": "deal_engine", "reason": "booking", "correlation_id": id}),
        )
    };
    let engine_of = |i: usize| if i.is_multiple_of(2) { "WHOLESALE" } else { "CAPITAL" };

    // Two engines on two replicas at once: WHOLESALE's open risk cap (500) admits 10 of 50,
    // CAPITAL's (300) 6, whichever replica asks.
    let first: Vec<_> = (0..40).map(|i| reservation(engine_of(i), format!("a{i}"))).collect();
    let answers = all_at_once(&app, &bases, first).await;
    let granted: Vec<usize> = (0..40).filter(|i| answers[*i]["ok"] == true).collect();
    let count = |engine| granted.iter().filter(|i| engine_of(**i) == engine).count();
    assert_eq!((count("WHOLESALE"), count("CAPITAL")), (10, 6), "{answers:?}");

    // Settling every grant while new reservations race them: whatever interleaving the replicas
    // chose, no cap is passed and the ledger is exactly what the recorded events say.
    let mut second: Vec<_> = granted
        .iter()
        .map(|i| (SETTLE, json!({"correlation_id": format!("a{i}"), "realized_loss": 1, "actor": "deal_engine", "reason": "done"})))
        .collect();
    second.extend((0..24).map(|i| reservation(engine_of(i), format!("b{i}"))));
    all_at_once(&app, &bases, second).await;

    let sum = |sql: &str| raw_count(app.db_url(), sql);
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    let row = |engine: &str| {
        ledger["ledgers"].as_array().unwrap().iter().find(|l| l["engine"] == engine).unwrap().clone()
    };
    let mut exposure_all = 0.0;
    for (engine, open_cap) in [("WHOLESALE", 500.0), ("CAPITAL", 300.0)] {
        let reserved = sum(&format!(
            "SELECT count(*) AS n FROM risk_event WHERE engine = '{engine}' AND action = 'RESERVE' AND ok"
        ));
        let released = sum(&format!(
            "SELECT count(*) AS n FROM risk_event WHERE engine = '{engine}' AND action = 'RELEASE'"
        ));
        let r = row(engine);
        let (exposure, open) =
            (r["exposure_used"].as_f64().unwrap(), r["open_risk_reserved"].as_f64().unwrap());
        assert_eq!(exposure, 50.0 * reserved as f64, "{engine}: {r}");
        assert_eq!(open, 50.0 * (reserved - released) as f64, "{engine}: {r}");
        assert!(open <= open_cap, "{engine} passed its open risk cap: {r}");
        assert_eq!(r["realized_loss"].as_f64(), Some(released as f64), "{engine}: {r}");
        exposure_all += exposure;
    }
    let global = row("GLOBAL");
    assert_eq!(global["exposure_used"].as_f64(), Some(exposure_all), "{global}");
    assert!(exposure_all <= 1500.0, "{global}");
    assert_eq!(global["realized_loss"].as_f64(), Some(f64::from(16)), "{global}");
}

/// Runs `sql` in a transaction of its own, outside gov (as a replica of an older version that
/// does not take the correlation lock would), and keeps it open until the returned sender fires.
fn open_transaction(url: &str, sql: String) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    use diesel::{Connection, RunQueryDsl};
    let (url, (commit, wait)) = (url.to_owned(), std::sync::mpsc::channel::<()>());
    let (ready, opened) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let work = |c: &mut dyn FnMut() -> diesel::QueryResult<usize>| {
            c()?;
            ready.send(()).unwrap();
            wait.recv().unwrap();
            Ok::<_, diesel::result::Error>(())
        };
        if url.starts_with("postgres") {
            let mut conn = diesel::pg::PgConnection::establish(&url).unwrap();
            conn.transaction(|c| work(&mut || diesel::sql_query(&sql).execute(c))).unwrap();
        } else {
            let mut conn = diesel::sqlite::SqliteConnection::establish(&url).unwrap();
            conn.transaction(|c| work(&mut || diesel::sql_query(&sql).execute(c))).unwrap();
        }
    });
    opened.recv().unwrap();
    (commit, thread)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_recorded_by_a_writer_without_the_lock_is_replayed_not_duplicated() {
    let app = TestApp::spawn().await;
    let url = app.db_url().to_owned();
    let tenant = app.tenant.tenant.id;
    let (commit, writer) = open_transaction(
        &url,
        format!(
            "INSERT INTO risk_event (id, tenant_id, engine, action, amount, ok, reason, actor, correlation_id, created_at, one_decision) \
             VALUES ('foreign', '{tenant}', 'WHOLESALE', 'DENY', 100, FALSE, 'denied: elsewhere', 'old_replica', 'shared', '2026-11-30 12:00:00', TRUE)"
        ),
    );
    let request = {
        let body = json!({"engine": "WHOLESALE", "amount": 100, "actor": "deal_engine", "reason": "booking", "correlation_id": "shared"});
        let request =
            app.client.post(app.url("/api/governance/risk/check-and-reserve")).bearer_auth(&app.admin_key);
        tokio::spawn(async move { request.json(&body).send().await.unwrap() })
    };
    if url.starts_with("postgres") {
        // gov has reserved and now waits for the other writer's insert of the same decision.
        let waiting = "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while raw_count(&url, waiting) == 0 {
            assert!(std::time::Instant::now() < deadline, "gov never waited for the other writer");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    commit.send(()).unwrap();
    writer.join().unwrap();
    let answer = json(request.await.unwrap(), StatusCode::OK).await;
    assert_eq!((&answer["ok"], &answer["replayed"]), (&json!(false), &json!(true)), "{answer}");
    assert_eq!(answer["reason"], "denied: elsewhere");
    assert_eq!(events(&app, "shared", "'RESERVE', 'DENY'"), 1);
    let ledger = json(app.get("/api/governance/risk/ledger/today").await, StatusCode::OK).await;
    assert!(
        ledger["ledgers"].as_array().unwrap().iter().all(|l| l["exposure_used"] == 0.0),
        "the reservation of the losing attempt was rolled back: {ledger}"
    );
}
