//! `cargo xtask bench-lists`: the read side of a generated tenant (`cargo xtask generate`) over
//! HTTP. Starts a release `gov` on the generated database with the tenant's admin key, finds every
//! list in the served OpenAPI document (a GET whose 200 answer has `items` and `pagination`), and
//! times page 1 and a deep page of each (reached by following `next_cursor` to the end, or for
//! `--max-pages` pages or `--max-secs`), then the console's aggregates and a log search, against
//! `GET /healthz`.
//! Times are the server's own (the `ms` of its request log line, `observe.rs`), matched to each
//! request by its `x-request-id`; client wall times are reported beside them.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::http::{Client, timed_out};
use crate::server::{self, RequestLog};

pub struct Options {
    /// The generated database; the tenant file's when `None`.
    pub database_url: Option<String>,
    pub requests: usize,
    pub tenant_file: PathBuf,
    /// How many pages to follow at most to reach a list's deep page.
    pub max_pages: usize,
    /// Time budget of one timed request: it stops after this long, with at least 3 requests.
    pub max_secs: u64,
}

impl Options {
    pub fn new(root: &Path) -> Self {
        Options {
            database_url: None,
            requests: 200,
            tenant_file: crate::tenant_file(root),
            max_pages: 2_000,
            max_secs: 60,
        }
    }
}

/// One timed request, n times.
#[derive(Debug, Clone)]
struct Row {
    name: String,
    method: &'static str,
    path: String,
    requests: usize,
    p50_ms: f64,
    p99_ms: f64,
    client_p50_ms: f64,
    /// A request took longer than the time budget (and was abandoned).
    timed_out: bool,
    note: String,
}

/// A request to time.
struct Probe {
    name: String,
    method: &'static str,
    path: String,
    body: Option<String>,
    note: String,
}

impl Probe {
    fn get(name: impl Into<String>, path: impl Into<String>, note: impl Into<String>) -> Self {
        Probe { name: name.into(), method: "GET", path: path.into(), body: None, note: note.into() }
    }
}

struct Bench {
    client: Client,
    key: String,
    log: Receiver<RequestLog>,
    next_id: u64,
}

impl Bench {
    /// Sends one request; returns the response, the server's time and the client's, in ms.
    fn send(&mut self, method: &str, path: &str, body: Option<&str>) -> Result<(Value, f64, f64)> {
        self.next_id += 1;
        let id = format!("bench-{}", self.next_id);
        let started = Instant::now();
        let res = self.client.send_with(method, path, Some(&self.key), &[("x-request-id", &id)], body)?;
        let client_ms = started.elapsed().as_secs_f64() * 1000.0;
        if res.status != 200 {
            bail!("{method} {path}: HTTP {}: {}", res.status, String::from_utf8_lossy(&res.body));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let server_ms = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let entry = self.log.recv_timeout(left).with_context(|| {
                format!("gov logged no request line for {method} {path} (request id {id})")
            })?;
            if entry.request_id == id {
                break entry.ms;
            }
        };
        let value = if res.body.is_empty() { Value::Null } else { res.json()? };
        Ok((value, server_ms, client_ms))
    }

    /// Times `probe` `n` times, after a few untimed requests to warm caches; a slow one stops
    /// after `budget` (with at least 3 timed requests). A request that takes longer than
    /// `budget` stops it at once: `Row::timed_out` (and the client drops its connection).
    fn time(&mut self, probe: &Probe, n: usize, budget: Duration) -> Result<Row> {
        let mut row = Row {
            name: probe.name.clone(),
            method: probe.method,
            path: probe.path.clone(),
            requests: 0,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            client_p50_ms: f64::NAN,
            timed_out: false,
            note: probe.note.clone(),
        };
        self.client.set_timeout(budget)?;
        let started = Instant::now();
        for _ in 0..(n / 10).max(1) {
            match self.send(probe.method, &probe.path, probe.body.as_deref()) {
                Err(e) if timed_out(&e) => return Ok(Row { timed_out: true, ..row }),
                other => other?,
            };
            if started.elapsed() > budget / 10 {
                break;
            }
        }
        let started = Instant::now();
        let (mut server, mut client) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            if i >= 3 && started.elapsed() > budget {
                break;
            }
            match self.send(probe.method, &probe.path, probe.body.as_deref()) {
                Ok((_, s, c)) => {
                    server.push(s);
                    client.push(c);
                }
                Err(e) if timed_out(&e) => {
                    row.timed_out = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        row.requests = server.len();
        if !server.is_empty() {
            row.p50_ms = percentile(&mut server, 50.0);
            row.p99_ms = percentile(&mut server, 99.0);
            row.client_p50_ms = percentile(&mut client, 50.0);
        }
        Ok(row)
    }

    /// The deep page of a list: follows `next_cursor` from page 1 to the last page, or for
    /// `max_pages` pages or `budget`. `None` when the list has one page.
    fn deep_page(
        &mut self,
        path: &str,
        max_pages: usize,
        budget: Duration,
    ) -> Result<Option<(String, String)>> {
        let started = Instant::now();
        let (first, _, _) = self.send("GET", path, None)?;
        let Some(mut cursor) = next_cursor(&first) else { return Ok(None) };
        let mut before = items(&first);
        let sep = if path.contains('?') { '&' } else { '?' };
        for pages in 2..=max_pages {
            let url = format!("{path}{sep}cursor={cursor}");
            let (page, _, _) = self.send("GET", &url, None)?;
            match next_cursor(&page) {
                Some(next) if pages < max_pages && started.elapsed() < budget => {
                    before += items(&page);
                    cursor = next;
                }
                Some(_) => return Ok(Some((url, format!("page {pages}, after {before} items")))),
                None => return Ok(Some((url, format!("last page ({pages}), after {before} items")))),
            }
        }
        Ok(Some((format!("{path}{sep}cursor={cursor}"), format!("page 2, after {before} items"))))
    }
}

fn next_cursor(page: &Value) -> Option<String> {
    page["pagination"]["next_cursor"].as_str().map(str::to_owned)
}

fn items(page: &Value) -> usize {
    page["items"].as_array().map_or(0, Vec::len)
}

/// Nearest-rank percentile.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Follows one `$ref` (or the first `allOf` member carrying properties) to a schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(all) = schema["allOf"].as_array()
        && let Some(found) = all.iter().map(|s| resolve(doc, s)).find(|s| s["properties"].is_object())
    {
        return found;
    }
    schema
}

/// The lists the document serves: GET paths answering the O2 shape (`items` + `pagination`);
/// those that take a path parameter or need a query parameter are returned apart, with why.
fn lists(doc: &Value) -> (Vec<String>, Vec<(String, &'static str)>) {
    let (mut lists, mut skipped) = (Vec::new(), Vec::new());
    let Some(paths) = doc["paths"].as_object() else { return (lists, skipped) };
    for (path, item) in paths {
        let get = &item["get"];
        let schema = &get["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = resolve(doc, schema);
        let props = &schema["properties"];
        if !(props["items"].is_object() && props["pagination"].is_object()) {
            continue;
        }
        let required_query = get["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query" && p["required"] == true));
        if path.contains('{') {
            skipped.push((path.clone(), "takes a path parameter"));
        } else if required_query {
            skipped.push((path.clone(), "needs a query parameter"));
        } else {
            lists.push(path.clone());
        }
    }
    (lists, skipped)
}

/// RFC 3339 (UTC, seconds) of a time since the epoch.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3_600, rem % 3_600 / 60, rem % 60)
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let tenant: Value = serde_json::from_str(
        &std::fs::read_to_string(&options.tenant_file)
            .with_context(|| format!("reading {} (run `generate` first)", options.tenant_file.display()))?,
    )
    .with_context(|| format!("parsing {}", options.tenant_file.display()))?;
    let key = tenant["admin_key"].as_str().context("the tenant file names no admin_key")?.to_owned();
    let database_url = match (&options.database_url, tenant["database_url"].as_str()) {
        (Some(url), _) => url.clone(),
        (None, Some(url)) => url.to_owned(),
        (None, None) => bail!("no --database-url, and the tenant file names none"),
    };
    if !database_url.starts_with("postgres") && !Path::new(&database_url).exists() {
        bail!("{database_url} does not exist: run `generate` first");
    }
    if options.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let start = || -> Result<(server::Server, Bench)> {
        let mut server = server::start(
            root,
            &server::Options {
                release: true,
                database_url: Some(database_url.clone()),
                sqlite_synchronous: "full".into(),
                admin_key: Some(key.clone()),
                request_log: true,
            },
        )?;
        let log = server.requests.take().context("gov's request log")?;
        let mut client = Client::connect(&server.addr)?;
        client.set_timeout(Duration::from_secs(options.max_secs.max(30)))?;
        Ok((server, Bench { client, key: key.clone(), log, next_id: 0 }))
    };
    let (mut server, mut bench) = start()?;
    let (doc, _, _) = bench.send("GET", "/api/openapi.json", None)?;
    let (paths, skipped) = lists(&doc);
    if paths.is_empty() {
        bail!("the OpenAPI document lists no O2 lists: has its shape changed?");
    }
    let now = SystemTime::now();
    let range = format!("from={}&to={}", rfc3339(now - Duration::from_secs(30 * 86_400)), rfc3339(now));
    let mut probes = vec![Probe::get("baseline", "/healthz", "")];
    let extras = [
        ("overview summary", "/api/v1/overview/summary".to_owned()),
        ("cost intelligence 30d", format!("/api/v1/analytics/cost-intelligence?{range}")),
        ("policies usage 30d", format!("/api/v1/analytics/policies-usage?{range}")),
        ("productivity 30d", format!("/api/v1/analytics/productivity?{range}")),
        ("incident stats", "/api/v1/incidents/stats".to_owned()),
        ("incident patterns", "/api/v1/incidents/patterns".to_owned()),
    ];
    let extra_paths: Vec<&str> = extras.iter().map(|(_, p)| p.split('?').next().unwrap_or(p)).collect();
    eprintln!("finding the deep page of {} lists (at most {} pages each)", paths.len(), options.max_pages);
    for path in paths.iter().filter(|p| !extra_paths.contains(&p.as_str())) {
        probes.push(Probe::get(format!("{path} p1"), path.clone(), ""));
        let started = Instant::now();
        if let Some((url, note)) =
            bench.deep_page(path, options.max_pages, Duration::from_secs(options.max_secs))?
        {
            eprintln!("  {path}: {note} ({:.1}s)", started.elapsed().as_secs_f64());
            probes.push(Probe::get(format!("{path} deep"), url, note));
        }
    }
    for (name, path) in extras {
        probes.push(Probe::get(name, path, ""));
    }
    probes.push(Probe {
        name: "log search".into(),
        method: "POST",
        path: "/api/v1/logs/search".into(),
        body: Some(json!({"text": "token_limit"}).to_string()),
        note: "text token_limit".into(),
    });

    let mut rows = Vec::new();
    for probe in &probes {
        eprintln!("  {} {}", probe.method, probe.path);
        let row = bench.time(probe, options.requests, Duration::from_secs(options.max_secs))?;
        if row.timed_out {
            // gov is still computing the abandoned answer: start afresh so it does not weigh on
            // the next measurements.
            eprintln!("  (over {} s: gov is restarted)", options.max_secs);
            drop((server, bench));
            (server, bench) = start()?;
        }
        rows.push(row);
    }
    let baseline = rows[0].p50_ms;
    print_table(&rows, baseline, options.requests);
    for (path, why) in &skipped {
        println!("not timed: {path} ({why})");
    }
    let out = root.join("target").join("bench-lists.json");
    let doc = json!({
        "database_url": database_url,
        "tenant_id": tenant["tenant_id"],
        "runs": tenant["runs"],
        "requests": options.requests,
        "timing": "server: the ms of gov's request log line (observe.rs), per request id",
        "baseline_p50_ms": baseline,
        "rows": rows.iter().map(|r| json!({
            "name": r.name,
            "method": r.method,
            "path": r.path,
            "requests": r.requests,
            "p50_ms": r.p50_ms,
            "p99_ms": r.p99_ms,
            "client_p50_ms": r.client_p50_ms,
            "timed_out": r.timed_out,
            "p50_over_baseline": r.p50_ms / baseline,
            "note": r.note,
        })).collect::<Vec<_>>(),
        "not_timed": skipped.iter().map(|(p, why)| json!({"path": p, "why": why})).collect::<Vec<_>>(),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    println!("written {}", out.display());
    drop((server, bench));
    Ok(())
}

fn print_table(rows: &[Row], baseline: f64, n: usize) {
    println!("up to {n} sequential requests each (n); server time in ms, client wall time p50 beside it");
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!(
        "{:<width$}  {:>4}  {:>9}  {:>9}  {:>8}  {:>9}  note",
        "request", "n", "p50", "p99", "x base", "client"
    );
    for r in rows {
        let note = if r.timed_out {
            format!("a request took longer than --max-secs and was abandoned {}", r.note)
        } else {
            r.note.clone()
        };
        println!(
            "{:<width$}  {:>4}  {:>9.3}  {:>9.3}  {:>8.1}  {:>9.3}  {}",
            r.name,
            r.requests,
            r.p50_ms,
            r.p99_ms,
            r.p50_ms / baseline,
            r.client_p50_ms,
            note.trim_end()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_767_225_599, "2025-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!((percentile(&mut v, 50.0), percentile(&mut v, 99.0)), (100.0, 198.0));
        assert_eq!(percentile(&mut [3.0], 99.0), 3.0);
    }
}
