//! `cargo xtask load`: the HTTP load harness. Builds and starts a release `gov` on a fresh
//! SQLite database (or a fresh database `gov_load_<pid>` on the PostgreSQL server of
//! `--database-url`, dropped at the end), drives one hot path with `--clients` concurrent
//! keep-alive clients, and measures a baseline in the same run: gov and the baseline alternate
//! `--rounds` times, each round prints both, and a last line prints the medians and their ratio.
//!
//! Scenarios (baseline in brackets):
//! - `steps`: each client starts a run and reports steps to it; every step goes through the
//!   prevention check, the chain hash and a durable write. [PostgreSQL: `pgbench` running the
//!   step-shaped transaction on gov's tables (`pgbench.rs`); SQLite: a raw loop writing
//!   step-shaped rows into a copy of gov's database, one commit per row and 32 rows per commit
//!   (`sqlite_loop.rs`).]
//! - `check`: the prevention pre-check, `POST /api/v1/runs/{run_id}/steps/check`. [An actix-web
//!   hello-world, `crates/gov-api/examples/hello.rs`, with the same body.]
//! - `read`: authenticated `GET /api/v1/accounts/`, the floor of any authenticated request.
//!   [The hello-world.]
//! - `risk`: reserve-then-settle pairs on one contended cap (WHOLESALE, and GLOBAL with it); one
//!   request of the report is one pair. `--replicas 2` (PostgreSQL) splits the clients between two
//!   gov processes on one database. Then today's ledger must show every pair and no cap passed,
//!   and a bounded engine whose cap denies part of a burst must hold its cap. [The hello-world.]
//! - `kpi`: KPI events on one enabled tripwire with the seed's sizes (window 50, baseline 200), so
//!   every event is recorded and then evaluated over its 250 newest events (steady 90% success: it
//!   never trips). [The hello-world.]
//! - `trace`: `GET /api/v1/traces/{trace_id}` (the trace, its run and its chain verified) of a run
//!   of 5,000 steps, p50 and p99. [The same of a run of 2 steps, and of the 5,000 with
//!   `?verify=full`.]
//! - `export`: a streamed CSV log export of `--requests` audit rows, then of twice as many
//!   (`export_load.rs`): rows/s and the server's resident memory at both sizes. [None.]

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use crate::http::Client;
use crate::{pgbench, server, sqlite_loop};

#[derive(Clone)]
pub struct Options {
    pub scenario: String,
    pub clients: usize,
    pub requests: usize,
    pub database_url: Option<String>,
    pub sqlite_synchronous: String,
    /// Run the release build of gov (`--debug`: the debug one, quicker to build).
    pub release: bool,
    /// How many times gov and the baseline alternate.
    pub rounds: usize,
    /// gov processes on the one database (`risk` on PostgreSQL only).
    pub replicas: usize,
    /// Policies created before the scenario, all applying to every run (so in its snapshot).
    pub policies: usize,
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
            rounds: 3,
            replicas: 1,
            policies: 12,
        }
    }
}

const STEP: &str = r#"{"step_type":"llm_call","input_tokens":120,"output_tokens":80,"cost_cents":0.4,"model":"claude-sonnet-4","duration_ms":900}"#;
/// The amount of one reservation: small enough that no round reaches the seeded caps.
const AMOUNT: f64 = 0.001;

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let postgres = options.database_url.as_deref().is_some_and(|u| u.starts_with("postgres"));
    if options.replicas == 0 || (options.replicas > 1 && !(postgres && options.scenario == "risk")) {
        bail!("--replicas N (N > 1) is for `--scenario risk` on PostgreSQL");
    }
    if options.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    // Declared before the servers, so dropped after them.
    let scratch = if postgres {
        Some(pgbench::Scratch::create(options.database_url.as_deref().unwrap_or_default())?)
    } else {
        None
    };
    let options = &Options {
        database_url: scratch.as_ref().map(|s| s.url.clone()).or_else(|| options.database_url.clone()),
        ..options.clone()
    };
    if options.scenario == "export" {
        return crate::export_load::run(root, options);
    }
    if options.clients == 0 || options.requests < options.clients {
        bail!("need at least one client and one request per client");
    }
    let kind = match options.scenario.as_str() {
        "steps" => Kind::Steps,
        "check" => Kind::Check,
        "read" => Kind::Read,
        "risk" => Kind::Risk { engine: "WHOLESALE" },
        "kpi" => Kind::Kpi,
        "trace" => Kind::Trace,
        other => bail!("unknown scenario {other}"),
    };
    let mut servers = vec![server::start(root, &server_options(options, None))?];
    for _ in 1..options.replicas {
        // The same database: it is migrated and seeded already, and the first one's key holds.
        servers.push(server::start(root, &server_options(options, Some(servers[0].key.clone())))?);
    }
    let gov = Target { addrs: servers.iter().map(|s| s.addr.clone()).collect(), key: servers[0].key.clone() };
    setup(&gov, kind, options.policies)?;
    let backend = if postgres {
        format!(
            "postgres{}",
            if options.replicas > 1 { format!(" ({} replicas)", options.replicas) } else { String::new() }
        )
    } else {
        format!("sqlite (synchronous={})", options.sqlite_synchronous)
    };
    let title = format!("scenario {} on {backend}", options.scenario);
    let per_client = options.requests / options.clients;
    let clients = options.clients;
    match kind {
        Kind::Steps if postgres => {
            let url = servers[0].database_url.clone();
            let run_ids = RefCell::new(Vec::new());
            alternate(
                &title,
                options.rounds,
                |round| {
                    let load = drive(&gov, kind, clients, per_client, round)?;
                    *run_ids.borrow_mut() = load.run_ids.clone();
                    Ok(throughput(&load, clients, "req/s"))
                },
                |_| {
                    let b = pgbench::steps(&url, &run_ids.borrow(), per_client)?;
                    Ok(vec![Figure {
                        name: "pgbench step transaction".into(),
                        value: b.tps,
                        unit: "tps",
                        detail: format!(
                            "{} transactions, latency average {:.2} ms",
                            b.transactions, b.latency_ms
                        ),
                    }])
                },
            )
        }
        Kind::Steps => {
            let db = servers[0].database_url.clone();
            let run_ids = RefCell::new(Vec::new());
            alternate(
                &title,
                options.rounds,
                |round| {
                    let load = drive(&gov, kind, clients, per_client, round)?;
                    *run_ids.borrow_mut() = load.run_ids.clone();
                    Ok(throughput(&load, clients, "req/s"))
                },
                |_| {
                    let copy = sqlite_loop::copy(root, &db)?;
                    let budget = Duration::from_secs(5);
                    let mut figures = Vec::new();
                    for per_commit in [1, 32] {
                        let looped = sqlite_loop::run(
                            &copy,
                            &options.sqlite_synchronous,
                            &run_ids.borrow(),
                            options.requests,
                            per_commit,
                            budget,
                        )?;
                        figures.push(Figure {
                            name: format!(
                                "raw loop, {per_commit} row{} per commit",
                                if per_commit == 1 { "" } else { "s" }
                            ),
                            value: looped.rate(),
                            unit: "rows/s",
                            detail: format!("{} rows in {:.2}s", looped.rows, looped.elapsed.as_secs_f64()),
                        });
                    }
                    Ok(figures)
                },
            )
        }
        Kind::Trace => trace(&gov, options, &title),
        Kind::Check | Kind::Read | Kind::Kpi | Kind::Risk { .. } => {
            let hello = server::start_hello(root, options.release)?;
            let floor = Target { addrs: vec![hello.addr.clone()], key: String::new() };
            let mut pairs = 0;
            alternate(
                &title,
                options.rounds,
                |round| {
                    let load = drive(&gov, kind, clients, per_client, round)?;
                    pairs += load.latencies.len();
                    Ok(throughput(
                        &load,
                        clients,
                        if matches!(kind, Kind::Risk { .. }) { "pairs/s" } else { "req/s" },
                    ))
                },
                |round| {
                    let load = drive(&floor, Kind::Hello, clients, per_client, round)?;
                    Ok(vec![Figure {
                        name: "actix-web hello-world".into(),
                        ..throughput(&load, clients, "req/s")
                    }])
                },
            )?;
            if matches!(kind, Kind::Risk { .. }) {
                check_ledger(&gov, pairs)?;
                bounded_cap(&gov, clients)?;
            }
            Ok(())
        }
        Kind::Hello => unreachable!("not a scenario"),
    }
}

fn server_options(options: &Options, admin_key: Option<String>) -> server::Options {
    server::Options {
        release: options.release,
        database_url: options.database_url.clone(),
        sqlite_synchronous: options.sqlite_synchronous.clone(),
        admin_key,
        request_log: false,
    }
}

/// The gov processes (or the hello-world) clients are spread over, and the key they send.
struct Target {
    addrs: Vec<String>,
    key: String,
}

impl Target {
    fn client(&self, c: usize) -> Result<Client> {
        Client::connect(&self.addrs[c % self.addrs.len()])
    }

    fn key(&self) -> Option<&str> {
        Some(self.key.as_str()).filter(|k| !k.is_empty())
    }
}

/// What one request of a scenario is.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Steps,
    Check,
    Read,
    /// A reserve then a settle on `engine`; a denied reservation is counted, not settled.
    Risk {
        engine: &'static str,
    },
    Kpi,
    Trace,
    /// `POST /hello` of the hello-world, with a step's body.
    Hello,
}

/// `policies` policies (a dozen by default) that all apply and never breach (a realistic
/// snapshot), and what a scenario needs besides.
fn setup(gov: &Target, kind: Kind, policies: usize) -> Result<()> {
    let mut setup = gov.client(0)?;
    for (i, (rule, threshold)) in
        [("token_limit", 1e11), ("cost_limit", 1e11), ("step_limit", 1e11), ("burn_rate", 1e11)]
            .iter()
            .cycle()
            .take(policies)
            .enumerate()
    {
        let body = serde_json::json!({"name": format!("load {i}"), "rule_type": rule, "threshold": threshold, "priority": i});
        let res = setup.send("POST", "/api/v1/policies/rules/", gov.key(), Some(&body.to_string()))?;
        if res.status != 201 {
            bail!("creating a policy: HTTP {}", res.status);
        }
    }
    if let Kind::Kpi = kind {
        let body = r#"{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"reason":"load"}"#;
        let res = setup.send("POST", "/api/governance/regression/policies/upsert", gov.key(), Some(body))?;
        if res.status != 200 {
            bail!("enabling the tripwire: HTTP {}", res.status);
        }
    }
    Ok(())
}

/// What the clients of one round did.
struct Load {
    /// One per request (per pair for `risk`).
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// The run of each client (`steps`, `check`), client k's at k.
    run_ids: Vec<String>,
    /// Reservations denied (`risk`).
    denied: usize,
}

/// `per_client` requests of `kind` from each of `clients` threads, one connection each, started
/// together; client c talks to `target.addrs[c % len]`.
fn drive(target: &Target, kind: Kind, clients: usize, per_client: usize, round: usize) -> Result<Load> {
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut handles = Vec::new();
    for c in 0..clients {
        let (mut client, key, barrier) =
            (target.client(c)?, target.key().map(str::to_owned), barrier.clone());
        handles.push(std::thread::spawn(move || -> Result<(Vec<Duration>, Option<String>, usize)> {
            let key = key.as_deref();
            let run_id = match kind {
                Kind::Steps | Kind::Check => Some(start_run(&mut client, key, &format!("load-agent-{round}-{c}"))?),
                _ => None,
            };
            let path = match (kind, &run_id) {
                (Kind::Steps, Some(run)) => format!("/api/v1/runs/{run}/steps"),
                (Kind::Check, Some(run)) => format!("/api/v1/runs/{run}/steps/check"),
                _ => String::new(),
            };
            let (mut latencies, mut denied) = (Vec::with_capacity(per_client), 0);
            barrier.wait();
            for sequence in 1..=per_client {
                let t = Instant::now();
                let (res, expected) = match kind {
                    Kind::Steps => (client.send("POST", &path, key, Some(STEP))?, 201),
                    Kind::Check => (client.send("POST", &path, key, Some(STEP))?, 200),
                    Kind::Hello => (client.send("POST", "/hello", None, Some(STEP))?, 200),
                    Kind::Read => (client.send("GET", "/api/v1/accounts/", key, None)?, 200),
                    Kind::Risk { engine } => {
                        let id = format!("load-{round}-{c}-{sequence}");
                        let reserve = format!(
                            r#"{{"engine":"{engine}","amount":{AMOUNT},"actor":"load","reason":"load","correlation_id":"{id}"}}"#
                        );
                        let res = client.send("POST", "/api/governance/risk/check-and-reserve", key, Some(&reserve))?;
                        if res.status != 200 {
                            bail!("reserve: HTTP {} {}", res.status, String::from_utf8_lossy(&res.body));
                        }
                        if res.json()?["ok"] != true {
                            if engine == "WHOLESALE" {
                                bail!("reserve denied: {}", String::from_utf8_lossy(&res.body));
                            }
                            denied += 1;
                            latencies.push(t.elapsed());
                            continue;
                        }
                        let settle = format!(r#"{{"correlation_id":"{id}","realized_loss":0}}"#);
                        (client.send("POST", "/api/governance/risk/settle", key, Some(&settle))?, 200)
                    }
                    Kind::Kpi => {
                        let event = format!(
                            r#"{{"domain":"WHOLESALE","metric":"contract_rate","success":{}}}"#,
                            !sequence.is_multiple_of(10)
                        );
                        (client.send("POST", "/api/governance/regression/kpi", key, Some(&event))?, 200)
                    }
                    Kind::Trace => bail!("`trace` is not driven by clients"),
                };
                if res.status != expected {
                    bail!("{kind:?}: HTTP {} {}", res.status, String::from_utf8_lossy(&res.body));
                }
                latencies.push(t.elapsed());
            }
            Ok((latencies, run_id, denied))
        }));
    }
    barrier.wait();
    let started = Instant::now();
    let mut load = Load { latencies: Vec::new(), elapsed: Duration::ZERO, run_ids: Vec::new(), denied: 0 };
    for h in handles {
        let (latencies, run_id, denied) = h.join().map_err(|_| anyhow::anyhow!("a client panicked"))??;
        load.latencies.extend(latencies);
        load.run_ids.extend(run_id);
        load.denied += denied;
    }
    load.elapsed = started.elapsed();
    Ok(load)
}

fn start_run(client: &mut Client, key: Option<&str>, agent: &str) -> Result<String> {
    let body = serde_json::json!({"agent_id": agent}).to_string();
    let started = client.send("POST", "/api/v1/runs", key, Some(&body))?;
    if started.status != 201 {
        bail!("starting a run: HTTP {} {}", started.status, String::from_utf8_lossy(&started.body));
    }
    Ok(started.json()?["run"]["run_id"].as_str().context("run id")?.to_owned())
}

/// One measured figure of a round.
struct Figure {
    name: String,
    value: f64,
    unit: &'static str,
    detail: String,
}

fn throughput(load: &Load, clients: usize, unit: &'static str) -> Figure {
    let mut latencies = load.latencies.clone();
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Figure {
        name: "gov".into(),
        value: latencies.len() as f64 / load.elapsed.as_secs_f64(),
        unit,
        detail: format!(
            "{} {}, {clients} clients, {:.2}s; latency p50 {:.2?} p95 {:.2?} p99 {:.2?} max {:.2?}",
            latencies.len(),
            if unit == "pairs/s" { "pairs" } else { "requests" },
            load.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.95),
            pct(0.99),
            latencies[latencies.len() - 1],
        ),
    }
}

/// Alternates `gov` and `baseline` (one or more figures) `rounds` times, printing each round and
/// then the medians with the ratio gov / baseline.
fn alternate(
    title: &str,
    rounds: usize,
    mut gov: impl FnMut(usize) -> Result<Figure>,
    mut baseline: impl FnMut(usize) -> Result<Vec<Figure>>,
) -> Result<()> {
    let (mut govs, mut bases): (Vec<f64>, Vec<Vec<f64>>) = (Vec::new(), Vec::new());
    let (mut unit, mut gov_name, mut names) = ("", String::new(), Vec::new());
    for round in 1..=rounds {
        let g = gov(round)?;
        println!("{title}, round {round}/{rounds}: {} {} {} ({})", g.name, num(g.value), g.unit, g.detail);
        let b = baseline(round)?;
        for (i, f) in b.iter().enumerate() {
            println!(
                "{title}, round {round}/{rounds}: baseline {} {} {} ({}); ratio {:.3}",
                f.name,
                num(f.value),
                f.unit,
                f.detail,
                g.value / f.value
            );
            if bases.len() <= i {
                bases.push(Vec::new());
                names.push((f.name.clone(), f.unit));
            }
            bases[i].push(f.value);
        }
        govs.push(g.value);
        (unit, gov_name) = (g.unit, g.name);
    }
    let gov = median(&mut govs);
    for ((name, base_unit), mut values) in names.into_iter().zip(bases) {
        let base = median(&mut values);
        println!(
            "{title}: {gov_name} {} {unit}, baseline {name} {} {base_unit}, ratio {:.3} ({})",
            num(gov),
            num(base),
            gov / base,
            medians_of(rounds)
        );
    }
    Ok(())
}

fn medians_of(rounds: usize) -> String {
    if rounds == 1 { "1 round".into() } else { format!("medians of {rounds} rounds") }
}

/// Three significant digits, or the whole number.
fn num(v: f64) -> String {
    match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n.is_multiple_of(2) { (values[n / 2 - 1] + values[n / 2]) / 2.0 } else { values[n / 2] }
}

/// Nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `trace`: writes a run of 2 steps and one of 5,000, then alternates timing GETs of the long
/// trace with GETs of the short one and of the long one with `?verify=full` (the whole chain
/// re-walked), `--requests / 100` sequential GETs each, at least 10.
fn trace(gov: &Target, options: &Options, title: &str) -> Result<()> {
    let mut client = gov.client(0)?;
    let key = gov.key();
    let mut write = |agent: &str, steps: usize| -> Result<String> {
        let run_id = start_run(&mut client, key, agent)?;
        let mut last = Value::Null;
        for _ in 0..steps {
            let res = client.send("POST", &format!("/api/v1/runs/{run_id}/steps"), key, Some(STEP))?;
            ensure!(res.status == 201, "step: HTTP {} {}", res.status, String::from_utf8_lossy(&res.body));
            last = res.json()?;
        }
        Ok(last["run"]["trace_id"].as_str().context("trace id")?.to_owned())
    };
    let started = Instant::now();
    let short = write("trace-short", 2)?;
    let long = write("trace-long", 5_000)?;
    eprintln!("trace: wrote 5,002 steps in {:.1}s", started.elapsed().as_secs_f64());
    let n = (options.requests / 100).max(10);
    // One client each series, as the closures run in turn.
    let (mut long_client, mut short_client, mut full_client) =
        (gov.client(0)?, gov.client(1)?, gov.client(2)?);
    let p99s = RefCell::new((Vec::new(), Vec::new()));
    alternate(
        title,
        options.rounds,
        |_| {
            let (f, p99) = time_trace(&mut long_client, key, &long, 5_000, n)?;
            p99s.borrow_mut().0.push(p99);
            Ok(f)
        },
        |_| {
            let (f, p99) = time_trace(&mut short_client, key, &short, 2, n)?;
            p99s.borrow_mut().1.push(p99);
            let (full, _) = time_trace(&mut full_client, key, &format!("{long}?verify=full"), 5_000, n)?;
            Ok(vec![f, full])
        },
    )?;
    let (mut long, mut short) = p99s.into_inner();
    let (long, short) = (median(&mut long), median(&mut short));
    println!(
        "{title}: p99 {long:.2} ms (5,000 steps) vs {short:.2} ms (2 steps), ratio {:.1} ({})",
        long / short,
        medians_of(options.rounds)
    );
    Ok(())
}

/// `n` sequential GETs of a trace of `steps` steps: the figure (p50) and the p99, in ms.
fn time_trace(
    client: &mut Client,
    key: Option<&str>,
    trace_id: &str,
    steps: usize,
    n: usize,
) -> Result<(Figure, f64)> {
    let path = format!("/api/v1/traces/{trace_id}");
    let full = trace_id.ends_with("?verify=full");
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = client.send("GET", &path, key, None)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        ensure!(res.status == 200, "GET {path}: HTTP {}", res.status);
        ensure!(
            res.json()?["entity"]["run"]["step_count"] == steps,
            "GET {path}: not a trace of {steps} steps"
        );
    }
    ms.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&ms, 50.0), percentile(&ms, 99.0));
    let figure = Figure {
        name: match (steps, full) {
            (2, _) => "trace of 2 steps".to_owned(),
            (_, true) => format!("trace of {steps} steps, ?verify=full"),
            _ => format!("gov trace of {steps} steps"),
        },
        value: p50,
        unit: "ms p50",
        detail: format!("{n} GETs, p50 {p50:.2} ms, p99 {p99:.2} ms"),
    };
    Ok((figure, p99))
}

/// Today's ledger after the `risk` rounds: every pair reserved and settled once, nothing left
/// open, and no capped measure past its cap.
fn check_ledger(gov: &Target, pairs: usize) -> Result<()> {
    let mut client = gov.client(0)?;
    let today = client.send("GET", "/api/governance/risk/ledger/today", gov.key(), None)?.json()?;
    let policies = client.send("GET", "/api/governance/risk/policies", gov.key(), None)?.json()?;
    let ledger = |engine: &str| {
        today["ledgers"].as_array().and_then(|l| l.iter().find(|l| l["engine"] == engine)).cloned()
    };
    let wholesale = ledger("WHOLESALE").context("no WHOLESALE ledger today")?;
    let (reservations, settlements) = (&today["reservations"], &today["settlements"]);
    let exposure = wholesale["exposure_used"].as_f64().unwrap_or(f64::NAN);
    let open = wholesale["open_risk_reserved"].as_f64().unwrap_or(f64::NAN);
    println!(
        "risk ledger today: {} pairs done; reservations {reservations}, settlements {settlements}, \
         WHOLESALE actions {}, exposure_used {exposure:.3}, open_risk_reserved {open:.6}",
        pairs, wholesale["actions_count"]
    );
    ensure!(*reservations == pairs, "reservations {reservations} != pairs {pairs}");
    ensure!(*settlements == pairs, "settlements {settlements} != pairs {pairs}");
    ensure!(wholesale["actions_count"] == pairs, "WHOLESALE actions_count != pairs {pairs}");
    ensure!(
        (exposure - pairs as f64 * AMOUNT).abs() < 1e-6 * pairs as f64,
        "exposure_used {exposure} != pairs x {AMOUNT}"
    );
    ensure!(open.abs() < 1e-9 * pairs as f64, "open risk left reserved: {open}");
    for p in policies.as_array().context("risk policies")? {
        let Some(l) = ledger(p["engine"].as_str().unwrap_or_default()) else { continue };
        for (cap, used) in [
            ("max_daily_exposure", "exposure_used"),
            ("max_open_risk", "open_risk_reserved"),
            ("max_daily_loss", "realized_loss"),
        ] {
            if let (Some(cap), Some(used)) = (p[cap].as_f64(), l[used].as_f64()) {
                ensure!(used <= cap + 1e-9, "{} {used} = {used} is over its cap {cap} = {cap}", p["engine"]);
            }
        }
    }
    println!("risk ledger today: every pair counted once, nothing open, no cap exceeded");
    Ok(())
}

/// A burst on an engine whose exposure cap admits half of it: the cap must deny the rest and hold.
fn bounded_cap(gov: &Target, clients: usize) -> Result<()> {
    let per_client = 50;
    let cap = (clients * per_client) as f64 * AMOUNT / 2.0;
    let mut client = gov.client(0)?;
    let body = format!(r#"{{"engine":"BOUNDED","max_daily_exposure":{cap},"enabled":true,"reason":"load"}}"#);
    let res = client.send("POST", "/api/governance/risk/policies/upsert", gov.key(), Some(&body))?;
    ensure!(
        res.status == 200,
        "creating the BOUNDED engine: HTTP {} {}",
        res.status,
        String::from_utf8_lossy(&res.body)
    );
    let load = drive(gov, Kind::Risk { engine: "BOUNDED" }, clients, per_client, 0)?;
    let granted = load.latencies.len() - load.denied;
    let today = client.send("GET", "/api/governance/risk/ledger/today", gov.key(), None)?.json()?;
    let ledger = today["ledgers"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["engine"] == "BOUNDED"))
        .context("no BOUNDED ledger")?;
    let used = ledger["exposure_used"].as_f64().unwrap_or(f64::NAN);
    let denials = today["denials"]["BOUNDED"].as_i64().unwrap_or(0);
    println!(
        "risk bounded cap: {} reservations on a cap of {cap:.3}: {granted} granted, {} denied (ledger: {denials}); exposure_used {used:.3}",
        load.latencies.len(),
        load.denied
    );
    ensure!(used <= cap + 1e-9, "BOUNDED exposure_used {used} passed its cap {cap}");
    ensure!(
        (used - granted as f64 * AMOUNT).abs() < 1e-9 * granted.max(1) as f64 + 1e-12,
        "exposure_used {used} != granted x {AMOUNT}"
    );
    ensure!(denials == load.denied as i64, "ledger denials {denials} != denied {}", load.denied);
    ensure!(load.denied > 0, "the cap denied nothing");
    println!("risk bounded cap: held (exposure_used <= cap, one grant per amount, every denial recorded)");
    Ok(())
}
