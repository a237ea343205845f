//! `cargo xtask load --scenario export [--requests ROWS]`: the speed of a streamed CSV log export.
//! Inserts ROWS audit rows straight into the server's database (as many more a second time),
//! exports the audit topic as CSV after each insert, and reports rows/s and the server's resident
//! memory (VmRSS now, VmHWM the peak so far) after each export. Constant memory shows as an equal
//! peak at both row counts.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use diesel::{Connection, RunQueryDsl};

use crate::http::Client;
use crate::load::Options;
use crate::server;

pub fn run(root: &Path, options: &Options) -> Result<()> {
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
    let mut client = Client::connect(&server.addr)?;
    let account = client.send("GET", "/api/v1/accounts/", Some(&server.key), None)?.json()?;
    let tenant = account["entity"]["tenant_id"].as_str().context("no tenant id")?.to_owned();
    let rows = options.requests;
    let (rss, hwm) = memory(server.pid())?;
    println!("export: server before any export: VmRSS {rss} kB, VmHWM {hwm} kB");
    let mut total = 0;
    for round in 1..=2 {
        insert_rows(&server.database_url, &tenant, rows)?;
        total += rows;
        let body = r#"{"topic":"audit","format":"csv","resource_type":"bench"}"#;
        let started = Instant::now();
        let res = client.send_streamed("POST", "/api/v1/logs/export", Some(&server.key), Some(body))?;
        let took = started.elapsed();
        if res.status != 200 {
            bail!("export: HTTP {}", res.status);
        }
        let records = res.lines.saturating_sub(1);
        if records < total as u64 {
            bail!("export {round}: {records} records, expected at least {total}");
        }
        let (rss, hwm) = memory(server.pid())?;
        println!(
            "export {round}: {total} rows, {} bytes in {:.3}s: {:.0} rows/s, {:.1} MB/s; server VmRSS {rss} kB, VmHWM {hwm} kB",
            res.bytes,
            took.as_secs_f64(),
            total as f64 / took.as_secs_f64(),
            res.bytes as f64 / 1e6 / took.as_secs_f64(),
        );
    }
    Ok(())
}

/// Appends `rows` audit rows of `tenant`, each with a comma and quotes in its details (so the CSV
/// writer quotes and escapes every one), in one statement.
fn insert_rows(url: &str, tenant: &str, rows: usize) -> Result<()> {
    let details = r#"'{"note":"a, \"quoted\" value","i":' || i || '}'"#;
    if url.starts_with("postgres") {
        let mut c = diesel::PgConnection::establish(url)?;
        diesel::sql_query(format!(
            "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details) \
             SELECT gen_random_uuid()::text, '{tenant}', 'bench', 'bench.row', 'bench', 'r' || i, now(), {details} \
             FROM generate_series(1, {rows}) AS i"
        ))
        .execute(&mut c)?;
    } else {
        let mut c = diesel::SqliteConnection::establish(url)?;
        diesel::sql_query("PRAGMA busy_timeout = 10000").execute(&mut c)?;
        diesel::sql_query(format!(
            "INSERT INTO audit_logs (log_id, tenant_id, actor_id, action, resource_type, resource_id, timestamp, details, seq) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
             SELECT printf('00000000-0000-7000-8000-%012d', (SELECT coalesce(max(seq), 0) FROM audit_logs) + i), '{tenant}', 'bench', 'bench.row', 'bench', 'r' || i, \
             strftime('%Y-%m-%d %H:%M:%f', 'now'), {details}, (SELECT coalesce(max(seq), 0) FROM audit_logs) + i FROM n"
        ))
        .execute(&mut c)?;
    }
    Ok(())
}

/// The process's resident memory now and at its peak, in kB (Linux `/proc`).
fn memory(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}
