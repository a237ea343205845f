//! The SQLite baseline of `cargo xtask load --scenario steps`: a raw loop that writes
//! step-shaped rows, in one process with no HTTP and no prevention, into a copy of gov's database
//! (so the same tables and indexes) in `target/`: per row it reads the run, inserts one
//! `aos_trace_steps` row and updates the run's counters and head hash, with gov's pragmas (WAL,
//! the same `synchronous`). Statements are diesel's typed ones, prepared once and cached.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use diesel::prelude::*;

mod schema {
    diesel::table! {
        aos_trace_steps (step_id) {
            step_id -> Text,
            trace_id -> Text,
            run_id -> Text,
            tenant_id -> Text,
            step_index -> BigInt,
            step_type -> Text,
            level -> Text,
            source -> Text,
            timestamp -> Text,
            tokens -> BigInt,
            input_tokens -> BigInt,
            output_tokens -> BigInt,
            cost_cents -> Double,
            duration_ms -> BigInt,
            model -> Nullable<Text>,
            retrieved_documents -> BigInt,
            content_hash -> Nullable<Text>,
            decision -> Text,
            decision_policy_id -> Nullable<Text>,
            decision_reason -> Nullable<Text>,
            prev_hash -> Text,
            chain_hash -> Text,
        }
    }

    diesel::table! {
        runs (run_id) {
            run_id -> Text,
            tenant_id -> Text,
            trace_id -> Text,
            step_count -> BigInt,
            tokens_used -> BigInt,
            input_tokens -> BigInt,
            output_tokens -> BigInt,
            total_cost_cents -> Double,
            head_hash -> Text,
        }
    }
}

use schema::{aos_trace_steps as s, runs as r};

/// What one mode of the loop did.
pub struct Looped {
    pub rows: usize,
    pub elapsed: Duration,
}

impl Looped {
    pub fn rate(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

/// A copy of gov's database in `target/`, removed (with its WAL) when dropped.
pub struct Copy(PathBuf);

impl Drop for Copy {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// Copies gov's database (`VACUUM INTO`, a consistent snapshot while gov idles) into `target/`.
pub fn copy(root: &Path, gov_db: &str) -> Result<Copy> {
    let path = root.join("target").join(format!("load-baseline-{}.db", std::process::id()));
    drop(Copy(path.clone()));
    let mut c = SqliteConnection::establish(gov_db)?;
    diesel::sql_query("PRAGMA busy_timeout = 10000").execute(&mut c)?;
    diesel::sql_query(format!("VACUUM INTO '{}'", path.display())).execute(&mut c).context("VACUUM INTO")?;
    Ok(Copy(path))
}

/// Writes up to `rows` steps round-robin over `run_ids`, `per_commit` rows per immediate
/// transaction, stopping early after `budget`.
pub fn run(
    db: &Copy,
    synchronous: &str,
    run_ids: &[String],
    rows: usize,
    per_commit: usize,
    budget: Duration,
) -> Result<Looped> {
    let mut c = SqliteConnection::establish(&db.0.display().to_string())?;
    for pragma in [
        "PRAGMA busy_timeout = 10000".to_owned(),
        "PRAGMA journal_mode = WAL".to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
        format!("PRAGMA synchronous = {synchronous}"),
        "PRAGMA temp_store = MEMORY".to_owned(),
    ] {
        diesel::sql_query(pragma).execute(&mut c)?;
    }
    let started = Instant::now();
    let mut done = 0;
    while done < rows && started.elapsed() < budget {
        let batch = per_commit.min(rows - done);
        c.immediate_transaction(|c| -> QueryResult<()> {
            for i in done..done + batch {
                step(c, &run_ids[i % run_ids.len()], per_commit, i)?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(Looped { rows: done, elapsed: started.elapsed() })
}

/// One step-shaped write: read the run, append its next step, advance its counters and head.
fn step(c: &mut SqliteConnection, run_id: &str, per_commit: usize, i: usize) -> QueryResult<()> {
    let (tenant_id, trace_id, count, head): (String, String, i64, String) =
        r::table.find(run_id).select((r::tenant_id, r::trace_id, r::step_count, r::head_hash)).first(c)?;
    // A stand-in for the chain hash: as long as blake3's hex, not its cost.
    let chain = format!("{:064x}", ((count as u128) << 64) | i as u128);
    diesel::insert_into(s::table)
        .values((
            s::step_id.eq(format!("baseline-{per_commit}-{i}")),
            s::trace_id.eq(trace_id),
            s::run_id.eq(run_id),
            s::tenant_id.eq(tenant_id),
            s::step_index.eq(count + 1),
            s::step_type.eq("llm_call"),
            s::level.eq("info"),
            s::source.eq("agent"),
            s::timestamp
                .eq(diesel::dsl::sql::<diesel::sql_types::Text>("strftime('%Y-%m-%d %H:%M:%f', 'now')")),
            s::tokens.eq(200),
            s::input_tokens.eq(120),
            s::output_tokens.eq(80),
            s::cost_cents.eq(0.4),
            s::duration_ms.eq(900),
            s::model.eq(Some("claude-sonnet-4")),
            s::retrieved_documents.eq(0),
            s::content_hash.eq(None::<String>),
            s::decision.eq("ALLOW"),
            s::decision_policy_id.eq(None::<String>),
            s::decision_reason.eq(None::<String>),
            s::prev_hash.eq(head),
            s::chain_hash.eq(&chain),
        ))
        .execute(c)?;
    diesel::update(r::table.find(run_id))
        .set((
            r::step_count.eq(r::step_count + 1),
            r::tokens_used.eq(r::tokens_used + 200),
            r::input_tokens.eq(r::input_tokens + 120),
            r::output_tokens.eq(r::output_tokens + 80),
            r::total_cost_cents.eq(r::total_cost_cents + 0.4),
            r::head_hash.eq(&chain),
        ))
        .execute(c)?;
    Ok(())
}
