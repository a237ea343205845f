//! `cargo xtask generate`: a realistic tenant for the benchmarks (see `gov_facades::generate`).
//! Migrates the database, creates (or reuses) the tenant, writes the rows, prints the tenant and
//! an admin key, and keeps them in `target/generated-tenant.json` for `cargo xtask bench-lists`.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use gov_facades::{DbOptions, GenerateOptions, Gov, SqliteSync};

pub struct Options {
    pub database_url: String,
    pub generate: GenerateOptions,
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    let db_options = DbOptions { sqlite_sync: SqliteSync::Normal, min_idle: 0, ..Default::default() };
    let gov = Gov::connect(&options.database_url, &db_options)
        .with_context(|| format!("connecting to {}", options.database_url))?;
    gov.migrate_up().context("applying migrations")?;
    let g = &options.generate;
    eprintln!(
        "generating {} runs x {} steps, {} incidents over {} days (seed {}) into {}",
        g.runs, g.steps_per_run, g.incidents, g.days, g.seed, options.database_url
    );
    let started = Instant::now();
    let mut last_report = Instant::now();
    let total = g.runs;
    let generated = gov
        .generate(g, &mut |done| {
            if last_report.elapsed().as_secs() >= 10 || done == total {
                last_report = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                eprintln!("  {done}/{total} runs in {secs:.1}s ({:.0} runs/s)", done as f64 / secs);
            }
        })
        .context("generating")?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "generated in {secs:.1}s: {} runs, {} steps, {} cost records, {} signals, {} prevention records, \
         {} incidents with {} events, {} audit rows",
        generated.runs,
        generated.steps,
        generated.cost_records,
        generated.signals,
        generated.prevention_records,
        generated.incidents,
        generated.incident_events,
        generated.audit_rows
    );
    println!("tenant {} ({})", generated.tenant_name, generated.tenant_id);
    println!("admin key {}", generated.admin_key);
    let file = crate::tenant_file(root);
    std::fs::create_dir_all(file.parent().context("target dir")?)?;
    let doc = serde_json::json!({
        "database_url": options.database_url,
        "tenant_id": generated.tenant_id.to_string(),
        "tenant_name": generated.tenant_name,
        "admin_key": generated.admin_key,
        "runs": generated.runs,
        "steps": generated.steps,
        "incidents": generated.incidents,
        "incident_events": generated.incident_events,
        "cost_records": generated.cost_records,
        "prevention_records": generated.prevention_records,
        "signals": generated.signals,
        "audit_rows": generated.audit_rows,
        "seconds": secs,
    });
    std::fs::write(&file, serde_json::to_string_pretty(&doc)?)?;
    println!("written {}", file.display());
    Ok(())
}

/// `cargo xtask generate [flags]`.
pub fn main(root: &std::path::Path, flags: &[&str]) -> anyhow::Result<()> {
    use crate::USAGE;
    use anyhow::{Context, bail};
    let mut options = Options {
        database_url: "target/bench/gov.db".to_owned(),
        generate: gov_facades::GenerateOptions::default(),
    };
    let g = &mut options.generate;
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().copied().with_context(|| format!("{flag} needs a value"));
        match *flag {
            "--database-url" => options.database_url = value()?.to_owned(),
            "--runs" => g.runs = value()?.parse().context("--runs")?,
            "--steps-per-run" => g.steps_per_run = value()?.parse().context("--steps-per-run")?,
            "--incidents" => g.incidents = value()?.parse().context("--incidents")?,
            "--days" => g.days = value()?.parse().context("--days")?,
            "--seed" => g.seed = value()?.parse().context("--seed")?,
            "--tenant" => g.tenant_name = value()?.to_owned(),
            "--batch-runs" => g.batch_runs = value()?.parse().context("--batch-runs")?,
            other => bail!("unknown flag for `generate`: {other}\n\n{USAGE}"),
        }
    }
    run(root, &options)
}
