//! `cargo xtask load`: the HTTP load harness. Builds and starts a release `gov` on a fresh
//! SQLite database (or the PostgreSQL of `--database-url`), then drives one hot path with
//! `--clients` concurrent keep-alive connections and reports throughput and latency.
//!
//! Scenarios:
//! - `steps`: each client starts a run and reports steps to it; every step goes through the
//!   prevention check, the chain hash and a durable write.
//! - `read`: authenticated `GET /api/v1/accounts/`, the floor of any authenticated request.
//! - `risk`: reserve-then-settle pairs on one contended cap (WHOLESALE, and GLOBAL with it); one
//!   request of the report is one pair.
//! - `export`: a streamed CSV log export of `--requests` audit rows, then of twice as many
//!   (`export_load.rs`): rows/s and the server's resident memory at both sizes.
//! - `kpi`: KPI events on one enabled tripwire with the seed's sizes (window 50, baseline 200), so
//!   every event is recorded and then evaluated over its 250 newest events (steady 90% success: it
//!   never trips).

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::Client;
use crate::server;

pub struct Options {
    pub scenario: String,
    pub clients: usize,
    pub requests: usize,
    pub database_url: Option<String>,
    pub sqlite_synchronous: String,
    /// Run the release build of gov (`--debug`: the debug one, quicker to build).
    pub release: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scenario: "steps".into(),
            clients: 32,
            requests: 20_000,
            database_url: None,
            sqlite_synchronous: "full".into(),
            release: true,
        }
    }
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    if options.scenario == "export" {
        return crate::export_load::run(root, options);
    }
    if options.clients == 0 || options.requests < options.clients {
        bail!("need at least one client and one request per client");
    }
    let server = server::start(
        root,
        &server::Options {
            release: options.release,
            database_url: options.database_url.clone(),
            sqlite_synchronous: options.sqlite_synchronous.clone(),
            admin_key: None,
            request_log: false,
        },
    )?;
    let mut setup = Client::connect(&server.addr)?;
    // A realistic snapshot: a dozen policies that all apply and never breach.
    for (i, (rule, threshold)) in
        [("token_limit", 1e11), ("cost_limit", 1e11), ("step_limit", 1e11), ("burn_rate", 1e11)]
            .iter()
            .cycle()
            .take(12)
            .enumerate()
    {
        let body = serde_json::json!({"name": format!("load {i}"), "rule_type": rule, "threshold": threshold, "priority": i});
        let res =
            setup.send("POST", "/api/v1/policies/rules/", Some(&server.key), Some(&body.to_string()))?;
        if res.status != 201 {
            bail!("creating a policy: HTTP {}", res.status);
        }
    }
    if options.scenario == "kpi" {
        let body = r#"{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"reason":"load"}"#;
        let res = setup.send(
            "POST",
            "/api/governance/regression/policies/upsert",
            Some(&server.key),
            Some(body),
        )?;
        if res.status != 200 {
            bail!("enabling the tripwire: HTTP {}", res.status);
        }
    }
    let per_client = options.requests / options.clients;
    let barrier = Arc::new(Barrier::new(options.clients + 1));
    let mut handles = Vec::new();
    for c in 0..options.clients {
        let (addr, key, barrier, scenario) =
            (server.addr.clone(), server.key.clone(), barrier.clone(), options.scenario.clone());
        handles.push(std::thread::spawn(move || -> Result<Vec<Duration>> {
            let mut client = Client::connect(&addr)?;
            let body = serde_json::json!({"agent_id": format!("load-agent-{c}")}).to_string();
            let started = client.send("POST", "/api/v1/runs", Some(&key), Some(&body))?;
            if started.status != 201 {
                bail!("starting a run: HTTP {}", started.status);
            }
            let run_id = started.json()?["run"]["run_id"].as_str().context("run id")?.to_owned();
            let path = format!("/api/v1/runs/{run_id}/steps");
            let step = r#"{"step_type":"llm_call","input_tokens":120,"output_tokens":80,"cost_cents":0.4,"model":"claude-sonnet-4","duration_ms":900}"#;
            let mut latencies = Vec::with_capacity(per_client);
            let mut sequence = 0_u64;
            barrier.wait();
            for _ in 0..per_client {
                let t = Instant::now();
                let (res, expected) = match scenario.as_str() {
                    "steps" => (client.send("POST", &path, Some(&key), Some(step))?, 201),
                    "read" => (client.send("GET", "/api/v1/accounts/", Some(&key), None)?, 200),
                    "risk" => {
                        sequence += 1;
                        let id = format!("load-{c}-{sequence}");
                        let reserve = format!(
                            r#"{{"engine":"WHOLESALE","amount":0.001,"actor":"load","reason":"load","correlation_id":"{id}"}}"#
                        );
                        let res = client.send("POST", "/api/governance/risk/check-and-reserve", Some(&key), Some(&reserve))?;
                        if res.status != 200 || res.json()?["ok"] != true {
                            bail!("reserve: HTTP {} {}", res.status, String::from_utf8_lossy(&res.body));
                        }
                        let settle = format!(r#"{{"correlation_id":"{id}","realized_loss":0}}"#);
                        (client.send("POST", "/api/governance/risk/settle", Some(&key), Some(&settle))?, 200)
                    }
                    "kpi" => {
                        sequence += 1;
                        let event = format!(
                            r#"{{"domain":"WHOLESALE","metric":"contract_rate","success":{}}}"#,
                            !sequence.is_multiple_of(10)
                        );
                        (client.send("POST", "/api/governance/regression/kpi", Some(&key), Some(&event))?, 200)
                    }
                    other => bail!("unknown scenario {other}"),
                };
                if res.status != expected {
                    bail!("step: HTTP {} {}", res.status, String::from_utf8_lossy(&res.body));
                }
                latencies.push(t.elapsed());
            }
            Ok(latencies)
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.join().map_err(|_| anyhow::anyhow!("a client panicked"))??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "scenario {} on {}: {} requests, {} clients, {:.2}s: {:.0} req/s; latency p50 {:.2?} p95 {:.2?} p99 {:.2?} max {:.2?}",
        options.scenario,
        if options.database_url.is_some() {
            "postgres".to_owned()
        } else {
            format!("sqlite (synchronous={})", options.sqlite_synchronous)
        },
        latencies.len(),
        options.clients,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        latencies[latencies.len() - 1],
    );
    Ok(())
}
