//! PostgreSQL going away and coming back: meanwhile every request is 503 `unavailable` (never
//! 500) and changes nothing, `/readyz` says not ready, and once the database is reachable again
//! the server answers within 5 s. SQLite has no server connection to lose.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TcpProxy, TestApp, error, postgres_url, raw_count};

/// One request of a round: what it is and the status it gets when all is well.
struct Probe {
    name: &'static str,
    ok: StatusCode,
}

/// Sends `readyz`, `reads` concurrent reads and one write (a new user); panics on a status other
/// than the expected one or 503 `unavailable`. Returns whether every request succeeded.
async fn round(app: &TestApp, reads: usize, seq: usize) -> bool {
    let mut tasks = Vec::new();
    let ready = app.client.get(app.url("/readyz"));
    tasks.push((Probe { name: "GET /readyz", ok: StatusCode::OK }, ready));
    for _ in 0..reads {
        let read = app.request(reqwest::Method::GET, "/api/v1/accounts/users/", &app.admin_key);
        tasks.push((Probe { name: "GET /api/v1/accounts/users/", ok: StatusCode::OK }, read));
    }
    let email = format!("u{seq}@example.com");
    let body = json!({"email": email, "name": "U", "roles": ["viewer"]});
    let write = app.request(reqwest::Method::POST, "/api/v1/accounts/users/", &app.admin_key).json(&body);
    tasks.push((Probe { name: "POST /api/v1/accounts/users/", ok: StatusCode::CREATED }, write));
    let answers = futures_join(tasks.into_iter().map(|(probe, req)| async move {
        let res = req.send().await.expect("an HTTP answer");
        (probe, res.status(), res.text().await.unwrap_or_default())
    }))
    .await;
    let mut all_ok = true;
    for (probe, status, body) in answers {
        if status == probe.ok {
            continue;
        }
        all_ok = false;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{}: {body}", probe.name);
        let body: Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(body["error"]["code"], "unavailable", "{}: {body}", probe.name);
        if probe.ok == StatusCode::CREATED {
            let sql = format!("SELECT count(*) AS n FROM users WHERE email = '{email}'");
            assert_eq!(raw_count(app.db_url(), &sql), 0, "a write answered 503 created its user");
        }
    }
    all_ok
}

async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// Rounds until one succeeds entirely; panics if that takes longer than `limit`.
async fn recovers_within(app: &TestApp, limit: Duration, first_seq: usize) -> Duration {
    let start = Instant::now();
    let mut seq = first_seq;
    loop {
        seq += 1;
        if round(app, 12, seq).await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "still failing {:?} after the database came back", start.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_are_replaced_and_nothing_is_a_500() {
    if postgres_url().is_none() {
        return;
    }
    let app = TestApp::spawn().await;
    // Fill the pool: concurrent requests hold several connections at once.
    assert!(round(&app, 12, 0).await);
    let killed = raw_count(
        app.db_url(),
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(killed > 1, "terminated {killed} backends");
    let took = recovers_within(&app, Duration::from_secs(5), 100).await;
    // And it stays served: no dead connection is left in the pool.
    for seq in 200..205 {
        assert!(round(&app, 12, seq).await, "a dead connection was reused {took:?} after recovery");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503_changes_nothing_and_is_served_again_within_5_s() {
    let Some(admin_url) = postgres_url() else { return };
    let proxy = TcpProxy::to_postgres(&admin_url);
    let app = TestApp::spawn_through(|url| proxy.rewrite(url)).await;
    assert!(round(&app, 12, 0).await);
    let audit_before = app.audit_count();

    proxy.cut();
    let ready = app.client.get(app.url("/readyz")).send();
    let read = app.get("/api/v1/accounts/users/");
    let body = json!({"email": "cut@example.com", "name": "Cut", "roles": ["viewer"]});
    let write = app.post("/api/v1/accounts/users/", &body);
    let (ready, read, write) = tokio::join!(ready, read, write);
    error(ready.unwrap(), StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    error(read, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    error(write, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    // A second look, on connections the pool tried to re-establish meanwhile.
    assert!(!round(&app, 2, 1).await);
    let cut_users = raw_count(
        app.db_url(),
        "SELECT count(*) AS n FROM users WHERE email LIKE 'cut@%' OR email = 'u1@example.com'",
    );
    assert_eq!(cut_users, 0, "a write refused with 503 changed something");
    assert_eq!(app.audit_count(), audit_before);

    proxy.restore();
    recovers_within(&app, Duration::from_secs(5), 100).await;
}

/// Risk decisions through the group-commit lane while backends are terminated: every answer is
/// a decision or 503 `unavailable`, a retry of an id answered 503 gets a decision, and at the
/// end every id has exactly one decision and the ledger moved once per grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn risk_decisions_under_terminated_backends_move_money_once() {
    if postgres_url().is_none() {
        return;
    }
    let app = TestApp::spawn().await;
    let replica = app.replica();
    let bases = [app.base.clone(), replica.base.clone()];
    let reserve = |i: usize| {
        let body = json!({"engine": "WHOLESALE", "amount": 1, "actor": "deal_engine", "reason": "booking", "correlation_id": format!("f{i}")});
        app.client
            .post(format!("{}/api/governance/risk/check-and-reserve", bases[i % 2]))
            .bearer_auth(&app.admin_key)
            .json(&body)
    };
    let url = app.db_url().to_owned();
    let killer = tokio::task::spawn_blocking(move || {
        let mut killed = 0;
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(60));
            killed += raw_count(
                &url,
                "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            );
        }
        killed
    });
    let mut retried = 0;
    let mut pending: Vec<usize> = (0..200).collect();
    let start = Instant::now();
    while !pending.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "{} ids never got a decision", pending.len());
        let answers = futures_join(pending.iter().map(|&i| {
            let request = reserve(i);
            async move {
                let res = request.send().await.expect("an HTTP answer");
                (i, res.status(), res.text().await.unwrap_or_default())
            }
        }))
        .await;
        pending.clear();
        for (i, status, body) in answers {
            let body: Value = serde_json::from_str(&body).expect("JSON");
            match status {
                StatusCode::OK => assert_eq!(body["ok"], true, "f{i}: {body}"),
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(body["error"]["code"], "unavailable", "f{i}: {body}");
                    pending.push(i);
                    retried += 1;
                }
                other => panic!("f{i}: {other} {body}"),
            }
        }
    }
    let killed = killer.await.unwrap();
    assert!(killed > 0, "no backend was terminated");
    eprintln!("{killed} backends terminated, {retried} answers were 503 and retried");
    let count = |sql: &str| raw_count(app.db_url(), sql);
    assert_eq!(count("SELECT count(*) AS n FROM risk_event WHERE action IN ('RESERVE', 'DENY')"), 200);
    assert_eq!(count("SELECT count(DISTINCT correlation_id) AS n FROM risk_event"), 200);
    for engine in ["WHOLESALE", "GLOBAL"] {
        let sql = format!(
            "SELECT count(*) AS n FROM risk_ledger_day WHERE engine = '{engine}' \
             AND exposure_used = 200 AND open_risk_reserved = 200 AND actions_count = 200"
        );
        assert_eq!(count(&sql), 1, "{engine}'s ledger moved once per grant");
    }
}
