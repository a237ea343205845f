//! `cargo xtask`: project automation for the gov workspace, namely the layer lint
//! (`cargo xtask layers`) and the CI pipeline (`cargo xtask ci`).

mod ci;
mod http;
mod layers;
mod load;

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
                  (required when CI=true); --no-lint skips fmt and clippy
  load [--scenario steps|read|risk|kpi] [--clients N] [--requests N] [--database-url URL]
       [--sqlite-synchronous full|normal]
                  build a release gov, start it on a fresh database and drive a hot
                  path with N concurrent clients; prints throughput and latency
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
                    other => bail!("unknown flag for `load`: {other}\n\n{USAGE}"),
                }
            }
            load::run(&workspace_root()?, &options)
        }
        _ => bail!("unknown command: {}\n\n{USAGE}", args.join(" ")),
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}
