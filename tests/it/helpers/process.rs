//! The `gov` command line as a real process: one-shot commands, and `gov serve` as a child the
//! test can signal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings a developer's shell may have exported; the tests set what they need explicitly.
const AMBIENT: [&str; 16] = [
    "DATABASE_URL",
    "ENV",
    "GO_LIVE_ENFORCE",
    "GOV_GO_LIVE_ENFORCE",
    "GOV_KEY",
    "GOV_LISTEN",
    "GOV_LOG",
    "GOV_LOG_FORMAT",
    "GOV_MAX_BODY_BYTES",
    "GOV_POOL_SIZE",
    "GOV_SHUTDOWN_GRACE_SECS",
    "GOV_SIGNING_KEY",
    "GOV_SIGNING_KEY_FILE",
    "GOV_SQLITE_SYNCHRONOUS",
    "GOV_URL",
    "GOV_WORKERS",
];

/// `gov` with `args`, in `dir`, with a clean environment apart from `envs`.
pub fn gov(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gov-it"));
    cmd.args(args).current_dir(dir);
    for name in AMBIENT {
        cmd.env_remove(name);
    }
    cmd.envs(envs.iter().copied());
    cmd
}

/// Runs a one-shot command to completion.
pub fn run(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    gov(dir, args, envs).stdin(Stdio::null()).output().expect("run gov")
}

/// A running `gov serve`.
pub struct Served {
    pub child: Child,
    pub base: String,
    /// The admin key `gov serve` printed on a fresh database.
    pub admin_key: Option<String>,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// Why `gov serve` did not come up.
#[derive(Debug)]
pub struct NotServing {
    pub status: Option<ExitStatus>,
    pub stderr: String,
}

impl Served {
    /// Starts `gov serve` on a free port with JSON logs and waits until it listens.
    pub fn start(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Result<Served, NotServing> {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--log", "info"];
        all.extend_from_slice(args);
        let mut child = gov(dir, &all, envs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gov serve");
        let (_, stdout) = collected(child.stdout.take().unwrap());
        let (stderr_rx, stderr) = collected(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            match stderr_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                    if event["message"] == "gov listening" {
                        break event["addr"].as_str().expect("addr").to_owned();
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().ok();
                    return Err(NotServing { status, stderr: stderr.lock().unwrap().join("\n") });
                }
                Err(RecvTimeoutError::Timeout) => {
                    assert!(
                        Instant::now() < deadline,
                        "gov serve did not start: {:?}",
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        // On a fresh database the key is printed (on stdout) before the server listens.
        let key_deadline = Instant::now() + Duration::from_secs(2);
        let admin_key = loop {
            let key = stdout
                .lock()
                .unwrap()
                .iter()
                .map(|l| l.trim())
                .find(|l| l.starts_with("gov_"))
                .map(str::to_owned);
            if key.is_some() || Instant::now() >= key_deadline {
                break key;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(Served { child, base: format!("http://{addr}"), admin_key, stderr })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits at most `limit` for the process to exit.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log lines so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of `stream` as they come, and all of them kept.
fn collected(stream: impl std::io::Read + Send + 'static) -> (Receiver<String>, Arc<Mutex<Vec<String>>>) {
    let (tx, rx) = channel();
    let all = Arc::new(Mutex::new(Vec::new()));
    let keep = all.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            keep.lock().unwrap().push(line.clone());
            let _ = tx.send(line);
        }
    });
    (rx, all)
}
