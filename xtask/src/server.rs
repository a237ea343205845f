//! A `gov` server for the harnesses (`cargo xtask load`, `cargo xtask spec`, `cargo xtask
//! bench-lists`): built, started on a fresh SQLite database (or a given one) on a free port, its
//! first admin key read from its output (or an existing database's key given); killed, and its
//! scratch directory removed, when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::http::Client;

pub struct Options {
    /// Build and run the release binary (the debug one otherwise: quicker to build).
    pub release: bool,
    /// `postgres://...`; a fresh SQLite file in a scratch directory when `None`.
    pub database_url: Option<String>,
    pub sqlite_synchronous: String,
    /// An admin key of the database, which is then used as it is; `None`: the database is empty
    /// and gov prints its first admin key.
    pub admin_key: Option<String>,
    /// Have gov log every request as JSON and hand the timings over in `Server::requests`.
    pub request_log: bool,
}

/// One request as gov logged it (`observe.rs`): its time in the server.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub request_id: String,
    pub ms: f64,
}

/// The server under test; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    /// The default tenant's admin key, printed once on an empty database.
    pub key: String,
    /// The database it serves (the SQLite file in the scratch directory, or the given URL).
    pub database_url: String,
    /// The requests gov logged, in order (with `Options::request_log`).
    pub requests: Option<Receiver<RequestLog>>,
    _dir: Option<TempDir>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn start(root: &Path, options: &Options) -> Result<Server> {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.args(["build", "-p", "gov-api", "--bin", "gov"]).current_dir(root);
    if options.release {
        build.arg("--release");
    }
    if !build.status()?.success() {
        bail!("building gov failed");
    }
    let (url, dir) = match &options.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("gov-xtask-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            (dir.join("gov.db").display().to_string(), Some(TempDir(dir)))
        }
    };
    let addr = format!("127.0.0.1:{}", free_port()?);
    let binary = root.join("target").join(if options.release { "release" } else { "debug" }).join("gov");
    let mut command = Command::new(binary);
    command
        .args([
            "serve",
            "--listen",
            &addr,
            "--database-url",
            &url,
            "--sqlite-synchronous",
            &options.sqlite_synchronous,
        ])
        .stdout(Stdio::piped());
    if options.request_log {
        // The request lines only: they carry each request's time in the server.
        command
            .env("GOV_LOG", "warn,gov_api::observe=info")
            .env("GOV_LOG_FORMAT", "json")
            .stderr(Stdio::piped());
    } else {
        command.env("GOV_LOG", "warn").stderr(Stdio::inherit());
    }
    let mut child = command.spawn().context("starting gov")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let key = match &options.admin_key {
        Some(key) => key.clone(),
        None => {
            let mut key = None;
            for line in lines.by_ref() {
                let line = line?;
                if let Some(k) = line.split_whitespace().find(|w| w.starts_with("gov_")) {
                    key = Some(k.to_owned());
                    break;
                }
            }
            key.context("gov printed no admin key (is the database empty?)")?
        }
    };
    // Keep reading what gov prints, so a full pipe never blocks it.
    std::thread::spawn(move || lines.for_each(drop));
    let requests = match child.stderr.take() {
        Some(stderr) => {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    match request_log(&line) {
                        Some(entry) => {
                            let _ = tx.send(entry);
                        }
                        None => eprintln!("{line}"),
                    }
                }
            });
            Some(rx)
        }
        None => None,
    };
    let server = Server { child, addr, key, database_url: url, requests, _dir: dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Client::connect(&server.addr)
        .and_then(|mut c| c.send("GET", "/readyz", None, None))
        .map(|r| r.status)
        .ok()
        != Some(200)
    {
        if Instant::now() > deadline {
            bail!("gov did not become ready");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// A request line of gov's JSON log (`"message":"request"`, with the request span).
fn request_log(line: &str) -> Option<RequestLog> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["message"] != "request" && v["message"] != "request failed" {
        return None;
    }
    Some(RequestLog { request_id: v["span"]["request_id"].as_str()?.to_owned(), ms: v["ms"].as_f64()? })
}

/// The actix-web hello-world (`crates/gov-api/examples/hello.rs`), the floor of an HTTP request
/// the load harness compares gov with; killed when dropped.
pub struct Hello {
    child: Child,
    pub addr: String,
}

impl Drop for Hello {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_hello(root: &Path, release: bool) -> Result<Hello> {
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.args(["build", "-p", "gov-api", "--example", "hello"]).current_dir(root);
    if release {
        build.arg("--release");
    }
    if !build.status()?.success() {
        bail!("building the hello example failed");
    }
    let binary =
        root.join("target").join(if release { "release" } else { "debug" }).join("examples").join("hello");
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the hello example")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = match lines.next() {
        Some(line) => line?.strip_prefix("listening on ").map(str::to_owned),
        None => None,
    };
    let hello = Hello { child, addr: addr.context("hello printed no `listening on ADDR`")? };
    std::thread::spawn(move || lines.for_each(drop));
    Ok(hello)
}
