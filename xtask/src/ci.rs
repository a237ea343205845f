//! The pipeline behind `cargo xtask ci`: fmt, clippy, the layer lint, the test suite on SQLite,
//! then the PostgreSQL run of the integration suite (`gov-tests`) when `TEST_DATABASE_URL` is set,
//! then the OpenAPI check (`cargo xtask spec`; its tools are required under CI).

use std::env;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{layers, spec};

const PG_EXAMPLE: &str = "TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo xtask ci";

pub struct Options {
    /// Run `cargo fmt --check` and `cargo clippy` (off with `--no-lint`).
    pub lint: bool,
}

/// Runs every step in order and stops at the first failure, naming it.
pub fn run(root: &Path, options: &Options) -> Result<()> {
    let pg_url = env::var("TEST_DATABASE_URL").ok().filter(|url| !url.is_empty());
    let in_ci = env::var("CI").is_ok_and(|ci| ci == "true");
    if pg_url.is_none() && in_ci {
        bail!("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL suite must run under CI");
    }

    let started = Instant::now();
    if options.lint {
        step("cargo fmt --all --check", || status(cargo(root, &["fmt", "--all", "--check"])))?;
        step("cargo clippy --workspace --all-targets -- -D warnings", || {
            status(cargo(root, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
        })?;
    }
    step("layers", || layers::run(root))?;
    step("cargo test --workspace (SQLite)", || {
        let mut cmd = cargo(root, &["test", "--workspace", "--lib", "--bins", "--tests"]);
        cmd.env_remove("TEST_DATABASE_URL");
        status(cmd)
    })?;
    match pg_url {
        Some(url) => step("cargo test -p gov-tests (PostgreSQL)", || {
            let mut cmd = cargo(root, &["test", "-p", "gov-tests"]);
            cmd.env("TEST_DATABASE_URL", url);
            status(cmd)
        })?,
        None => {
            println!("==> cargo test -p gov-tests (PostgreSQL): SKIPPED, TEST_DATABASE_URL is not set");
            println!("    to run the PostgreSQL suite too: {PG_EXAMPLE}");
        }
    }
    if spec::tools_present(root, in_ci)? {
        let options = spec::Options { required: in_ci, ..Default::default() };
        step("spec (openapi-spec-validator, schemathesis)", || spec::run(root, &options))?;
    }
    println!("==> ci: ok in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Prints a header, runs the step, prints its timing; a failure names the step.
fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("==> {name}");
    let started = Instant::now();
    let result = body();
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            println!("    {name}: ok in {secs:.1}s");
            Ok(())
        }
        Err(err) => Err(err.context(format!("ci step `{name}` failed after {secs:.1}s"))),
    }
}

/// A `cargo` command (the one running us, via `CARGO`) in the workspace root.
fn cargo(root: &Path, args: &[&str]) -> Command {
    let program: OsString = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(root);
    cmd
}

/// Runs `cmd` with inherited stdio; a non-zero exit is an error.
fn status(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let exit = cmd.status().with_context(|| format!("spawning {shown}"))?;
    if !exit.success() {
        bail!("{shown} exited with {exit}");
    }
    Ok(())
}
