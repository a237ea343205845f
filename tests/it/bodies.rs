//! Hostile bodies: compressed bodies are decoded while they stream in, with the size limit on the
//! decoded bytes (a gzip bomb costs the server at most the limit), and an unauthenticated request
//! is refused before its body is read.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, error, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// 240 MiB of zeros, gzipped (about 240 KiB), built once and shared by every request.
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..240 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    })
}

/// The peak resident set of this process (the server runs in it), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends the bomb 16 times at once with `key`; every answer must be `status` and `code`.
async fn sixteen_bombs(app: &TestApp, key: &str, status: StatusCode, code: &'static str) {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let request = app
            .request(Method::POST, "/api/v1/accounts/users/", key)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(bomb());
        requests.spawn(async move { request.send().await });
    }
    while let Some(sent) = requests.join_next().await {
        error(sent.unwrap().unwrap(), status, code).await;
    }
}

#[tokio::test]
async fn gzip_bombs_are_refused_within_the_limit_and_cost_little_memory() {
    let app = TestApp::spawn().await;
    let before_audit = app.audit_count();
    bomb();
    let before = peak_rss_kib();
    sixteen_bombs(&app, &app.admin_key, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let made_up = format!("gov_{}_{}", "ab".repeat(6), "cd".repeat(32));
    sixteen_bombs(&app, &made_up, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 64, "32 gzip bombs grew the peak RSS by {grown_mib} MiB");
    assert_eq!(app.audit_count(), before_audit, "no bomb wrote anything");
}

#[tokio::test]
async fn compressed_bodies_are_decoded() {
    let app = TestApp::spawn().await;
    let user = json!({"email": "gz@example.com", "name": "Gzip"}).to_string();
    let send = |body: Vec<u8>, encoding: &'static str, content_type: &'static str, path: &'static str| {
        app.request(Method::POST, path, &app.admin_key)
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .body(body)
            .send()
    };
    let users = "/api/v1/accounts/users/";
    let created = json(
        send(gzip(user.as_bytes()), "gzip", "application/json", users).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["entity"]["email"], "gz@example.com");
    let other = json!({"email": "zl@example.com", "name": "Zlib"}).to_string();
    json(
        send(deflate(other.as_bytes()), "deflate", "application/json", users).await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    // A form body, gzipped (what an exporter with compression on sends).
    let form = send(
        gzip(b"actor=ops&reason=gzip+form"),
        "gzip",
        "application/x-www-form-urlencoded",
        "/api/governance/go-live/enable",
    )
    .await
    .unwrap();
    let state = json(form, StatusCode::OK).await;
    assert_eq!(state["go_live_enabled"], true, "{state}");

    let before = app.audit_count();
    // Small on the wire, beyond the limit once decoded.
    let big = json!({"email": "big@example.com", "name": "x".repeat(200_000)}).to_string();
    error(
        send(gzip(big.as_bytes()), "gzip", "application/json", users).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    error(
        send(user.clone().into_bytes(), "gzip", "application/json", users).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_request",
    )
    .await;
    let truncated = gzip(user.as_bytes());
    error(
        send(truncated[..truncated.len() - 6].to_vec(), "gzip", "application/json", users).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed_request",
    )
    .await;
    error(
        send(user.clone().into_bytes(), "br", "application/json", users).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(app.audit_count(), before, "no refused body wrote anything");
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_before_its_body() {
    let app = TestApp::spawn().await;
    // The body would be 422 (and a syntax error 400) if it were read: 401 comes first.
    for body in ["{\"email\": 42}", "{not json"] {
        let res = app
            .client
            .post(app.url("/api/v1/accounts/users/"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    // Unknown paths stay 404 without a key; public endpoints need none.
    let res = app.client.get(app.url("/api/v1/no-such-thing")).send().await.unwrap();
    error(res, StatusCode::NOT_FOUND, "not_found").await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
