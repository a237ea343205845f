//! `cargo xtask`: project automation for the gov workspace, namely the layer lint
//! (`cargo xtask layers`), the CI pipeline (`cargo xtask ci`), the OpenAPI check
//! (`cargo xtask spec`), the load harness (`cargo xtask load`), the generator of a realistic
//! tenant (`cargo xtask generate`, behind a feature) and the list benchmark over it (`cargo xtask
//! bench-lists`).

mod bench_lists;
mod ci;
mod export_load;
#[cfg(feature = "generate")]
mod generate;
mod http;
mod layers;
mod load;
mod pgbench;
mod server;
mod spec;
mod sqlite_loop;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  layers          check that workspace crates only depend on lower layers
                  ([package.metadata] layer; same-layer edges need
                  [workspace.metadata.layers] allowed-same-layer)
  ci [--no-lint]  fmt --check, clippy -D warnings, layers, cargo test (SQLite), then
                  cargo test -p gov-tests on PostgreSQL if TEST_DATABASE_URL is set
                  (required when CI=true), then spec (required when CI=true);
                  --no-lint skips fmt and clippy
  spec [--max-examples N] [--max-time SECS] [--seed N] [--require]
                  start gov on a fresh database and check its OpenAPI document with
                  openapi-spec-validator and a bounded schemathesis run (every check);
                  skipped when the tools are missing, unless --require (or CI=true)
  load [--scenario steps|check|read|risk|kpi|trace|export] [--debug] [--clients N] [--requests N]
       [--database-url URL] [--sqlite-synchronous full|normal] [--rounds N] [--replicas N]
       [--policies N]
                  build a release gov, start it on a fresh database (SQLite, or a database
                  gov_load_<pid> created on the PostgreSQL server of URL and dropped after)
                  and drive a hot path with N concurrent clients, alternating --rounds times
                  (default 3) with a baseline measured in the same run: steps vs pgbench's
                  step transaction (PostgreSQL) or a raw SQLite loop (1 and 32 rows per
                  commit); check, read, risk, kpi vs an actix-web hello-world; trace: the
                  trace of 5,000 steps vs that of 2 and vs the 5,000 with ?verify=full.
                  Prints each round, then the medians and the ratio gov / baseline.
                  --policies N: N policies in every run's snapshot (default 12).
                  --replicas 2: risk on two gov processes sharing the PostgreSQL
                  database; risk then checks today's ledger and a bounded cap
  generate [--database-url URL] [--runs N] [--steps-per-run N] [--incidents N] [--days N]
           [--seed N] [--tenant NAME] [--batch-runs N]
                  migrate the database and bulk-write a realistic tenant (valid hash chains;
                  defaults: 1,000,000 runs x 10 steps, 100,000 incidents over 30 days);
                  prints the tenant and an admin key, kept in target/generated-tenant.json.
                  Build it in release: cargo run --release -p xtask --features generate -- generate ...
  bench-lists [--database-url URL] [--requests N] [--tenant-file PATH] [--max-pages N] [--max-secs S]
                  start a release gov on a generated tenant (default: the database and admin key
                  of target/generated-tenant.json) and time, N sequential requests each (default
                  200), page 1 and a deep page (next_cursor followed to the end, or for N pages,
                  default 2000, or S seconds) of every list in the OpenAPI document, the
                  overview, analytics and incident aggregates and a log search, against
                  GET /healthz: p50 and p99 of the server's own time. Each request stops after S
                  seconds (default 60) once timed 3 times. Prints a table, written to
                  target/bench-lists.json
  help            print this message";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[&str]) -> Result<()> {
    match args {
        [] | ["help" | "-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        ["layers"] => layers::run(&workspace_root()?),
        ["ci", flags @ ..] => {
            let mut options = ci::Options { lint: true };
            for flag in flags {
                match *flag {
                    "--no-lint" => options.lint = false,
                    other => bail!("unknown flag for `ci`: {other}\n\n{USAGE}"),
                }
            }
            ci::run(&workspace_root()?, &options)
        }
        ["spec", flags @ ..] => {
            let mut options = spec::Options {
                required: std::env::var("CI").is_ok_and(|ci| ci == "true"),
                ..Default::default()
            };
            let mut it = flags.iter();
            while let Some(flag) = it.next() {
                let mut value = || it.next().copied().with_context(|| format!("{flag} needs a value"));
                match *flag {
                    "--max-examples" => options.max_examples = value()?.parse().context("--max-examples")?,
                    "--max-time" => options.max_time_secs = value()?.parse().context("--max-time")?,
                    "--seed" => options.seed = value()?.parse().context("--seed")?,
                    "--require" => options.required = true,
                    other => bail!("unknown flag for `spec`: {other}\n\n{USAGE}"),
                }
            }
            spec::run(&workspace_root()?, &options)
        }
        ["load", flags @ ..] => {
            let mut options = load::Options::default();
            let mut it = flags.iter();
            while let Some(flag) = it.next() {
                let mut value = || it.next().copied().with_context(|| format!("{flag} needs a value"));
                match *flag {
                    "--scenario" => options.scenario = value()?.to_owned(),
                    "--clients" => options.clients = value()?.parse().context("--clients")?,
                    "--requests" => options.requests = value()?.parse().context("--requests")?,
                    "--database-url" => options.database_url = Some(value()?.to_owned()),
                    "--sqlite-synchronous" => options.sqlite_synchronous = value()?.to_owned(),
                    "--debug" => options.release = false,
                    "--rounds" => options.rounds = value()?.parse().context("--rounds")?,
                    "--replicas" => options.replicas = value()?.parse().context("--replicas")?,
                    "--policies" => options.policies = value()?.parse().context("--policies")?,
                    other => bail!("unknown flag for `load`: {other}\n\n{USAGE}"),
                }
            }
            load::run(&workspace_root()?, &options)
        }
        ["bench-lists", flags @ ..] => {
            let root = workspace_root()?;
            let mut options = bench_lists::Options::new(&root);
            let mut it = flags.iter();
            while let Some(flag) = it.next() {
                let mut value = || it.next().copied().with_context(|| format!("{flag} needs a value"));
                match *flag {
                    "--database-url" => options.database_url = Some(value()?.to_owned()),
                    "--requests" => options.requests = value()?.parse().context("--requests")?,
                    "--tenant-file" => options.tenant_file = value()?.into(),
                    "--max-pages" => options.max_pages = value()?.parse().context("--max-pages")?,
                    "--max-secs" => options.max_secs = value()?.parse().context("--max-secs")?,
                    other => bail!("unknown flag for `bench-lists`: {other}\n\n{USAGE}"),
                }
            }
            bench_lists::run(&root, &options)
        }
        #[cfg(feature = "generate")]
        ["generate", flags @ ..] => generate::main(&workspace_root()?, flags),
        #[cfg(not(feature = "generate"))]
        ["generate", ..] => bail!(
            "`generate` links all of gov, so it is behind a feature (the other commands stay quick to \
             build): cargo run --release -p xtask --features generate -- generate ..."
        ),
        _ => bail!("unknown command: {}\n\n{USAGE}", args.join(" ")),
    }
}

/// Where `generate` describes the tenant it made (database, tenant, admin key) for `bench-lists`.
fn tenant_file(root: &Path) -> PathBuf {
    root.join("target").join("generated-tenant.json")
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}
