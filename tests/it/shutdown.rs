//! SIGTERM drains `gov serve`: every request it accepted is answered (in full, or 503 with
//! `Connection: close`), none is cut off, and the process exits 0 within the grace period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::process::Served;

#[derive(Debug)]
enum Outcome {
    /// A full answer: status, and whether it asked to close the connection.
    Answered(StatusCode, bool),
    /// The connection was refused: the request was never accepted.
    Refused,
    /// Accepted, then cut off without a complete answer.
    Lost(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_every_accepted_request_and_exits_0_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gov.db").display().to_string();
    let grace = Duration::from_secs(10);
    let mut served = Served::start(
        dir.path(),
        &["--database-url", &db, "--workers", "2"],
        &[("GOV_SHUTDOWN_GRACE_SECS", "10")],
    )
    .expect("gov serve");
    let key = served.admin_key.clone().expect("admin key");
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..32 {
        // One keep-alive connection per client, each sending its next request as soon as the
        // previous one is answered. A client stops once it is told the server is going away (a
        // 503, or `Connection: close`), as a load balancer would: what the server must answer is
        // every request it read, and a connection it refuses is not one of them.
        let client = reqwest::Client::new();
        let (base, key, answered) = (served.base.clone(), key.clone(), answered.clone());
        clients.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            for i in 0.. {
                let req = if i % 2 == 0 {
                    client.get(format!("{base}/api/v1/activity/"))
                } else {
                    let body =
                        json!({"email": format!("c{c}-{i}@example.com"), "name": "C", "roles": ["viewer"]});
                    client.post(format!("{base}/api/v1/accounts/users/")).json(&body)
                };
                let outcome = match req.bearer_auth(&key).send().await {
                    Ok(res) => {
                        let status = res.status();
                        let close = res.headers().get("connection").is_some_and(|v| v == "close");
                        match res.bytes().await {
                            Ok(_) => Outcome::Answered(status, close),
                            Err(e) => Outcome::Lost(format!("{status} with a cut body: {e:?}")),
                        }
                    }
                    Err(e) if e.is_connect() => Outcome::Refused,
                    Err(e) => Outcome::Lost(format!("{e:?}")),
                };
                let stop = !matches!(outcome, Outcome::Answered(s, false) if s.is_success());
                answered.fetch_add(1, Ordering::SeqCst);
                outcomes.push(outcome);
                if stop || Instant::now() > deadline {
                    break;
                }
            }
            outcomes
        }));
    }
    // Under load: wait for a few hundred answers, then SIGTERM.
    let start = Instant::now();
    while answered.load(Ordering::SeqCst) < 300 {
        assert!(start.elapsed() < Duration::from_secs(60), "the load did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.terminate();
    let signalled = Instant::now();

    let mut lost = Vec::new();
    let mut total = 0;
    for client in clients {
        for outcome in client.await.unwrap() {
            total += 1;
            match outcome {
                Outcome::Answered(s, _) if s.is_success() => {}
                Outcome::Answered(StatusCode::SERVICE_UNAVAILABLE, close) => {
                    assert!(close, "a 503 during the drain without `Connection: close`");
                }
                Outcome::Answered(s, _) => panic!("unexpected status {s}"),
                Outcome::Refused => {}
                Outcome::Lost(e) => lost.push(e),
            }
        }
    }
    let log: Vec<String> =
        served.stderr().lines().filter(|l| !l.contains(r#""message":"request"#)).map(str::to_owned).collect();
    assert!(
        lost.is_empty(),
        "{} of {total} requests got no answer: {lost:?}\n{}",
        lost.len(),
        log.join("\n")
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = served.wait_for_exit(grace + Duration::from_secs(5));
        (status, served.stderr())
    })
    .await
    .unwrap();
    assert!(
        status.0.is_some_and(|s| s.success()),
        "exit {:?} after {:?}: {}",
        status.0,
        signalled.elapsed(),
        status.1
    );
    assert!(signalled.elapsed() <= grace + Duration::from_secs(5));
}

/// An HTTP/1.1 response read off a raw connection; header names lower-cased.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Sends one HTTP/1.1 request on `stream` and reads the response; an error when the connection
/// ends before a complete response.
fn exchange(stream: &mut std::net::TcpStream, request: &str) -> std::io::Result<RawResponse> {
    use std::io::{Error, ErrorKind, Read, Write};
    stream.write_all(request.as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed without a response"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed mid-body"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    Ok(RawResponse { status, headers, body })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_idle_at_sigterm_still_gets_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gov.db").display().to_string();
    let mut served =
        Served::start(dir.path(), &["--database-url", &db], &[("GOV_SHUTDOWN_GRACE_SECS", "10")])
            .expect("gov serve");
    let key = served.admin_key.clone().expect("admin key");
    let addr = served.base.trim_start_matches("http://").to_owned();
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let health = exchange(&mut idle, "GET /healthz HTTP/1.1\r\nhost: gov\r\n\r\n").unwrap();
    assert_eq!(health.status, 200);

    // The connection is idle (kept alive) when the signal arrives.
    served.terminate();
    let probe = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let start = Instant::now();
    loop {
        match probe.get(served.url("/readyz")).send().await {
            Ok(res) if res.status() == StatusCode::OK => {}
            _ => break, // 503 (draining) or refused: the server has seen the signal
        }
        assert!(start.elapsed() < Duration::from_secs(10), "/readyz still ready after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let request =
        format!("GET /api/v1/activity/ HTTP/1.1\r\nhost: gov\r\nauthorization: Bearer {key}\r\n\r\n");
    let answer = tokio::task::spawn_blocking(move || exchange(&mut idle, &request)).await.unwrap();
    let RawResponse { status, headers, body } =
        answer.expect("the request on the idle connection was dropped without an answer");
    assert!(status == 200 || status == 503, "{status}: {body}");
    assert!(headers.iter().any(|(k, v)| k == "connection" && v == "close"), "{headers:?}");
    let status =
        tokio::task::spawn_blocking(move || served.wait_for_exit(Duration::from_secs(15))).await.unwrap();
    assert!(status.is_some_and(|s| s.success()), "exit {status:?}");
}
