//! The PostgreSQL side of `cargo xtask load`: a fresh database per load run, and the baseline of
//! the `steps` scenario, `pgbench` running the step-shaped transaction on gov's own tables (lock
//! the run, insert one `aos_trace_steps` row, advance the run's counters and head hash) with as
//! many clients as the scenario, client k on the k-th run of the round as gov's client k is.

use std::process::Command;

use anyhow::{Context, Result, bail};
use diesel::{Connection, PgConnection, RunQueryDsl};

/// A database created for one load run on the server of a URL, dropped when this is dropped.
pub struct Scratch {
    admin_url: String,
    name: String,
    pub url: String,
}

impl Scratch {
    /// Creates `gov_load_<pid>` on the server of `url` (whatever database `url` names).
    pub fn create(url: &str) -> Result<Scratch> {
        let (server, query) = match url.split_once('?') {
            Some((server, query)) => (server, format!("?{query}")),
            None => (url, String::new()),
        };
        // postgres://user@host:port[/database]: keep what comes before the database.
        let authority = server.find("://").map_or(0, |i| i + 3);
        let server = match server[authority..].find('/') {
            Some(slash) => &server[..authority + slash],
            None => server,
        };
        let name = format!("gov_load_{}", std::process::id());
        let admin_url = format!("{server}/postgres{query}");
        let mut c =
            PgConnection::establish(&admin_url).with_context(|| format!("connecting to {admin_url}"))?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c)?;
        Ok(Scratch { admin_url, url: format!("{server}/{name}{query}"), name })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let dropped =
            PgConnection::establish(&self.admin_url).map_err(anyhow::Error::from).and_then(|mut c| {
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                    .execute(&mut c)
                    .map_err(anyhow::Error::from)
            });
        if let Err(e) = dropped {
            eprintln!("warning: could not drop the load database {}: {e:#}", self.name);
        }
    }
}

const SCRIPT: &str = r"\set n :client_id + 1
BEGIN;
SELECT r.step_count FROM runs r WHERE r.run_id = (SELECT run_id FROM bench_runs WHERE n = :n) FOR UPDATE;
INSERT INTO aos_trace_steps (step_id, trace_id, run_id, tenant_id, step_index, step_type, level, source, timestamp,
    tokens, input_tokens, output_tokens, cost_cents, duration_ms, model, retrieved_documents, content_hash, decision,
    decision_policy_id, decision_reason, prev_hash, chain_hash)
  SELECT gen_random_uuid()::text, r.trace_id, r.run_id, r.tenant_id, r.step_count + 1, 'llm_call', 'info', 'agent', now(),
    200, 120, 80, 0.4, 900, 'claude-sonnet-4', 0, NULL, 'ALLOW', NULL, NULL, r.head_hash, md5(r.head_hash || r.step_count) || md5(r.run_id)
  FROM runs r WHERE r.run_id = (SELECT run_id FROM bench_runs WHERE n = :n);
UPDATE runs SET step_count = step_count + 1, tokens_used = tokens_used + 200, input_tokens = input_tokens + 120,
    output_tokens = output_tokens + 80, total_cost_cents = total_cost_cents + 0.4,
    head_hash = md5(head_hash || step_count) || md5(run_id)
  WHERE run_id = (SELECT run_id FROM bench_runs WHERE n = :n);
END;
";

/// What pgbench reported.
pub struct Benched {
    pub tps: f64,
    pub latency_ms: f64,
    pub transactions: u64,
}

/// Runs the step transaction `per_client` times on each of `run_ids.len()` clients (client k on
/// `run_ids[k]`), on the database of `url`.
pub fn steps(url: &str, run_ids: &[String], per_client: usize) -> Result<Benched> {
    let mut c = PgConnection::establish(url)?;
    diesel::sql_query("CREATE TABLE IF NOT EXISTS bench_runs (n int PRIMARY KEY, run_id text NOT NULL)")
        .execute(&mut c)?;
    diesel::sql_query("TRUNCATE bench_runs").execute(&mut c)?;
    let values: Vec<String> = run_ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("({}, '{}')", i + 1, id.replace('\'', "''")))
        .collect();
    diesel::sql_query(format!("INSERT INTO bench_runs (n, run_id) VALUES {}", values.join(", ")))
        .execute(&mut c)?;
    let script = std::env::temp_dir().join(format!("gov-load-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, SCRIPT)?;
    let output = Command::new("pgbench")
        .args(["--no-vacuum", "--client"])
        .arg(run_ids.len().to_string())
        .args(["--jobs", "2", "--transactions"])
        .arg(per_client.to_string())
        .arg("--file")
        .arg(&script)
        .arg(url)
        .output()
        .context("running pgbench (apt-get install postgresql-client)")?;
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("pgbench failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    }
    let field = |prefix: &str| -> Result<&str> {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| format!("pgbench printed no `{prefix}`:\n{stdout}"))
    };
    let number = |prefix: &str| -> Result<f64> {
        let text = field(prefix)?;
        text.parse().with_context(|| format!("pgbench's `{prefix}` is {text:?}"))
    };
    let processed = field("number of transactions actually processed:")?;
    let transactions = processed.split('/').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok(Benched { tps: number("tps =")?, latency_ms: number("latency average =")?, transactions })
}
