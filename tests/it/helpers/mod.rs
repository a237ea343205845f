//! `TestApp`: a real server on port 0 against a fresh database, and a client for it.

mod database;
pub mod process;
mod proxy;

use std::sync::Arc;
use std::thread::JoinHandle;

use gov_facades::{Caller, Clock, CreatedTenant, Gov};
use gov_model::{Actor, Timestamp};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub use database::{TestDb, postgres_url, raw_count, raw_execute};
pub use proxy::TcpProxy;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Direct access to the same database, for arranging what the API cannot (e.g. the clock).
    pub gov: Gov,
    /// The first tenant and its admin key.
    pub tenant: CreatedTenant,
    pub admin_key: String,
    /// The server's clock: pin or advance it to control time.
    pub clock: Arc<TestClock>,
    server: Option<Server>,
    // Dropped last: the database outlives the server that uses it.
    db: TestDb,
}

/// Rewrites the database URL a test server connects to.
type UrlRewrite<'a> = Box<dyn FnOnce(&str) -> String + 'a>;

/// How a test server is started.
struct Spawn<'a> {
    go_live_enforce: bool,
    audit_seal_interval: Option<std::time::Duration>,
    /// Rewrites the database URL the server connects to (the test's own handle connects directly).
    server_url: Option<UrlRewrite<'a>>,
}

/// A clock fixed at one instant.
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The server's clock in tests: real time until a test pins it.
#[derive(Default)]
pub struct TestClock(std::sync::Mutex<Option<Timestamp>>);

impl TestClock {
    pub fn set(&self, now: Timestamp) {
        *self.0.lock().unwrap() = Some(now);
    }

    pub fn advance(&self, by: time::Duration) {
        let mut guard = self.0.lock().unwrap();
        let now = guard.unwrap_or_else(time::OffsetDateTime::now_utc);
        *guard = Some(now + by);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        let pinned = *self.0.lock().unwrap();
        pinned.unwrap_or_else(|| gov_facades::SystemClock.now())
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(false, None).await
    }

    /// A server that refuses guarded requests of tenants that are not live (`GO_LIVE_ENFORCE`).
    pub async fn spawn_enforcing_go_live() -> TestApp {
        Self::spawn_with(true, None).await
    }

    async fn spawn_with(go_live_enforce: bool, audit_seal_interval: Option<std::time::Duration>) -> TestApp {
        Self::spawn_inner(Spawn { go_live_enforce, audit_seal_interval, server_url: None }).await
    }

    /// A server that seals its audit trail every `every` (others leave that to the test, through
    /// `gov.seal_audit_log()`).
    pub async fn spawn_sealing_every(every: std::time::Duration) -> TestApp {
        Self::spawn_with(false, Some(every)).await
    }

    /// A server that reaches its database through `server_url(database_url)` (e.g. through a
    /// [`TcpProxy`]), while the test's own handle (`gov`, `db_url`) connects directly.
    pub async fn spawn_through(server_url: impl FnOnce(&str) -> String) -> TestApp {
        Self::spawn_inner(Spawn {
            go_live_enforce: false,
            audit_seal_interval: None,
            server_url: Some(Box::new(server_url)),
        })
        .await
    }

    async fn spawn_inner(spawn: Spawn<'_>) -> TestApp {
        let Spawn { go_live_enforce, audit_seal_interval, server_url } = spawn;
        if std::env::var_os("TEST_LOG").is_some() {
            gov_api::init_logging(gov_api::LogFormat::Human, "info");
        }
        let db = TestDb::create();
        let gov = db.gov();
        let tenant = gov.create_tenant(&Actor::cli(), "tenant-a").expect("create tenant");
        let admin_key = tenant.admin_key.secret.clone();

        let clock = Arc::new(TestClock::default());
        let server_gov = match server_url {
            Some(rewrite) => db.gov_at_url(&rewrite(db.url())),
            None => db.gov(),
        }
        .with_clock(clock.clone());
        let (base, server) = serve(server_gov, go_live_enforce, audit_seal_interval);
        TestApp {
            base,
            client: reqwest::Client::new(),
            gov,
            tenant,
            admin_key,
            clock,
            server: Some(server),
            db,
        }
    }

    /// Another server on the same database and clock, with caches of its own: a second replica.
    /// Drop it before the `TestApp` (declare it after).
    pub fn replica(&self) -> Replica {
        let (base, server) = serve(self.db.gov().with_clock(self.clock.clone()), false, None);
        Replica { base, server: Some(server) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with `key` as bearer token.
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &self.admin_key).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, &self.admin_key).json(body).send().await.expect("POST")
    }

    /// Creates another tenant with its own admin key.
    pub fn create_tenant(&self, name: &str) -> CreatedTenant {
        self.gov.create_tenant(&Actor::cli(), name).expect("create tenant")
    }

    /// Creates a key for the first tenant with the given scopes; returns its secret.
    pub fn key_with_scopes(&self, scopes: &[&str]) -> String {
        let input = gov_facades::NewApiKey {
            name: format!("test {scopes:?}"),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        };
        self.gov.create_api_key(&self.caller(), input).expect("create key").secret
    }

    pub fn caller(&self) -> Caller {
        Caller { tenant_id: self.tenant.tenant.id, actor: Actor::cli() }
    }

    /// The same database seen through another clock.
    pub fn gov_at(&self, now: Timestamp) -> Gov {
        self.db.gov().with_clock(Arc::new(FixedClock(now)))
    }

    pub fn db_url(&self) -> &str {
        self.db.url()
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path, &self.admin_key).json(body).send().await.expect("PUT")
    }

    /// Creates a policy rule; returns its id.
    pub async fn create_policy(&self, body: Value) -> String {
        let res = self.post("/api/v1/policies/rules/", &body).await;
        let created = json(res, StatusCode::CREATED).await;
        created["entity"]["policy_id"].as_str().expect("policy id").to_owned()
    }

    /// Starts a run for `agent`; returns the response body (`run`, `policy_snapshot`).
    pub async fn start_run(&self, agent: &str) -> Value {
        let res = self.post("/api/v1/runs", &serde_json::json!({ "agent_id": agent })).await;
        json(res, StatusCode::CREATED).await
    }

    /// Reports a step with the admin key.
    pub async fn step(&self, run_id: &str, body: Value) -> Response {
        self.post(&format!("/api/v1/runs/{run_id}/steps"), &body).await
    }

    /// Reports a step that must be recorded (201); returns the body.
    pub async fn step_ok(&self, run_id: &str, body: Value) -> Value {
        json(self.step(run_id, body).await, StatusCode::CREATED).await
    }

    /// The seed scenario (seed 000 §6): a 10,000-token limit breached at step 3 of a run of
    /// `AGT-001`. Returns the incident's id.
    pub async fn seed_scenario(&self) -> String {
        use serde_json::json;
        self.create_policy(json!({"name": "Token Limit Policy", "rule_type": "token_limit", "threshold": 10000}))
            .await;
        let run = self.start_run("AGT-001").await;
        let run_id = run["run"]["run_id"].as_str().expect("run id").to_owned();
        self.step_ok(&run_id, json!({"step_type": "input", "input_tokens": 2000})).await;
        self.step_ok(&run_id, json!({"step_type": "llm_call", "input_tokens": 1000, "output_tokens": 3000, "cost_cents": 150, "model": "claude-sonnet-4"}))
            .await;
        let s3 = self
            .step_ok(&run_id, json!({"step_type": "policy_check", "input_tokens": 2000, "output_tokens": 7000, "cost_cents": 300, "model": "claude-sonnet-4"}))
            .await;
        s3["incident_id"].as_str().expect("incident id").to_owned()
    }

    /// Number of audit rows of the first tenant.
    pub fn audit_count(&self) -> i64 {
        let page = gov_model::PageRequest::new(1, 1).unwrap();
        self.gov.list_audit_logs(self.tenant.tenant.id, &Default::default(), page).unwrap().total
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        stop(self.server.take());
    }
}

type Server = (actix_web::dev::ServerHandle, JoinHandle<()>);

/// Starts a server for `gov` on port 0 on a thread of its own; returns its base URL.
fn serve(
    gov: Gov,
    go_live_enforce: bool,
    audit_seal_interval: Option<std::time::Duration>,
) -> (String, Server) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let config = gov_api::ServerConfig {
                listen: "127.0.0.1:0".to_owned(),
                max_body_bytes: 64 * 1024,
                workers: Some(2),
                go_live_enforce,
                audit_seal_interval,
            };
            let server = gov_api::start(gov, &config).expect("start server");
            tx.send((server.addr, server.server.handle())).expect("report address");
            let _ = server.server.await;
        });
    });
    let (addr, handle) = rx.recv().expect("server started");
    (format!("http://{addr}"), (handle, thread))
}

fn stop(server: Option<Server>) {
    if let Some((handle, thread)) = server {
        drop(handle.stop(false));
        let _ = thread.join();
    }
}

/// A second server on a `TestApp`'s database (see [`TestApp::replica`]).
pub struct Replica {
    pub base: String,
    server: Option<Server>,
}

impl Replica {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        stop(self.server.take());
    }
}

/// Reads a JSON body, asserting the status first (with the body in the message when it differs).
pub async fn json(res: Response, expected: StatusCode) -> Value {
    let status = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(status, expected, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts the JSON error envelope and its code.
pub async fn error(res: Response, expected: StatusCode, code: &str) -> Value {
    let body = json(res, expected).await;
    assert_eq!(body["error"]["code"], code, "error code; body: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error message; body: {body}");
    body
}
