//! `cargo xtask spec`: the OpenAPI document checked by real tools. Builds gov, starts it on a
//! fresh SQLite database, fetches `/api/openapi.json`, runs `openapi-spec-validator` on it and a
//! bounded schemathesis run with every check against the running server (with the admin key, so
//! the authenticated operations are exercised). Any finding fails the step.
//!
//! Both tools come from PyPI: `.ci/run` installs the pinned versions into `target/spec-venv`
//! (on a Python without CPython 3.11.7's `ast.parse` bug, which breaks hypothesis), which this
//! step prefers to the `PATH`. Without them the step is skipped, unless it is required (under
//! CI), where a missing tool is a failure.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::http::Client;
use crate::server;

/// How to get the tools: `.ci/run` installs the pinned versions (other versions differ in flags
/// and findings) into `VENV`.
pub const INSTALL: &str =
    "bash .ci/run --spec-tools (or: pip install openapi-spec-validator==0.9.0 schemathesis==4.32.5)";

/// Where `.ci/run` installs the tools, relative to the workspace root.
const VENV: &str = "target/spec-venv/bin";

/// `name` from the tools' virtualenv when it is there, else from the `PATH`.
fn tool(root: &Path, name: &str) -> Command {
    let installed = root.join(VENV).join(name);
    Command::new(if installed.exists() { installed.into_os_string() } else { name.into() })
}

/// Operations schemathesis leaves alone: revoking or rotating a key could revoke the one it
/// authenticates with, and every later request would be 401.
const EXCLUDED: &[&str] = &["revoke_api_key", "rotate_api_key"];

pub struct Options {
    /// Fail when a tool is missing (under CI) instead of skipping.
    pub required: bool,
    /// Test cases per operation and phase.
    pub max_examples: u32,
    /// Wall-clock budget of the schemathesis run, in seconds.
    pub max_time_secs: u32,
    /// Fixed by default, so a run can be repeated; `--seed` picks another.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { required: false, max_examples: 10, max_time_secs: 180, seed: 8 }
    }
}

/// Whether the step can run here; prints why not when it cannot.
pub fn tools_present(root: &Path, required: bool) -> Result<bool> {
    let missing: Vec<&str> = ["openapi-spec-validator", "schemathesis"]
        .into_iter()
        .filter(|name| !tool(root, name).arg("--version").output().is_ok_and(|o| o.status.success()))
        .collect();
    if missing.is_empty() {
        return Ok(true);
    }
    if required {
        bail!("{} not installed (CI requires them): {INSTALL}", missing.join(" and "));
    }
    println!(
        "==> spec (openapi-spec-validator, schemathesis): SKIPPED, {} not installed",
        missing.join(" and ")
    );
    println!("    to run it: {INSTALL}");
    Ok(false)
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    if !tools_present(root, options.required)? {
        return Ok(());
    }
    let server = server::start(
        root,
        &server::Options {
            release: false,
            database_url: None,
            sqlite_synchronous: "normal".into(),
            admin_key: None,
            request_log: false,
        },
    )?;
    let document = Client::connect(&server.addr)?.send("GET", "/api/openapi.json", None, None)?;
    if document.status != 200 {
        bail!("GET /api/openapi.json answered {}", document.status);
    }
    let dir = root.join("target").join("spec");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("openapi.json");
    std::fs::write(&file, &document.body).with_context(|| format!("writing {}", file.display()))?;

    println!("==> openapi-spec-validator {}", file.display());
    let mut validator = tool(root, "openapi-spec-validator");
    validator.arg(&file);
    status(validator)?;

    let config = root.join("xtask").join("spec").join("schemathesis.toml");
    let mut schemathesis = tool(root, "schemathesis");
    schemathesis
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("http://{}/api/openapi.json", server.addr))
        .args(["--header", &format!("Authorization: Bearer {}", server.key)])
        .args(["--checks", "all"])
        .args(["--max-examples", &options.max_examples.to_string()])
        .args(["--max-time", &options.max_time_secs.to_string()])
        .args(["--seed", &options.seed.to_string()])
        .args(["--workers", "2", "--generation-database", "none", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&dir)
        // Its cache of past failures (`.schemathesis/`) stays out of the work tree.
        .current_dir(&dir);
    for operation in EXCLUDED {
        schemathesis.args(["--exclude-operation-id", operation]);
    }
    println!(
        "==> schemathesis: every check, at most {} cases per operation and phase, {}s, seed {}",
        options.max_examples, options.max_time_secs, options.seed
    );
    // The key is a throwaway database's; still, keep it out of the printed command.
    status(schemathesis).context("schemathesis found a contract failure (see above)")
}

/// Runs `cmd` with inherited stdio; a non-zero exit is an error naming the program.
fn status(mut cmd: Command) -> Result<()> {
    let program = Path::new(cmd.get_program()).file_name().unwrap_or_default().to_string_lossy().into_owned();
    let exit = cmd.status().with_context(|| format!("spawning {program}"))?;
    if !exit.success() {
        bail!("{program} exited with {exit}");
    }
    Ok(())
}
