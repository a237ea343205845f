//! A fresh database per test: a SQLite file in a temporary folder, or (with `TEST_DATABASE_URL`)
//! a PostgreSQL database cloned from a migrated template and dropped afterwards.

use std::sync::OnceLock;
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use gov_facades::{DbOptions, Gov};

pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

/// `TEST_DATABASE_URL`, when the PostgreSQL suite runs.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
}

fn options() -> DbOptions {
    // Enough connections for the concurrency tests on PostgreSQL, where waiting on a row lock
    // holds a connection.
    DbOptions { pool_size: 12, ..DbOptions::default() }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = &base[..base.rfind('/').expect("database URL has a path")];
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn admin(url: &str) -> PgConnection {
    PgConnection::establish(url)
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable ({url}): {e}"))
}

fn exec(conn: &mut PgConnection, sql: &str) -> diesel::QueryResult<usize> {
    diesel::sql_query(sql).execute(conn)
}

/// The migrated template, created once per migration set (named by the migrations' hash).
fn template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres");
        let mut hasher = blake3::Hasher::new();
        let mut entries: Vec<_> = walk(std::path::Path::new(dir));
        entries.sort();
        for path in entries {
            hasher.update(path.as_bytes());
            hasher.update(&std::fs::read(&path).expect("read migration"));
        }
        let name = format!("gov_tpl_{}", &hasher.finalize().to_hex()[..16]);
        let mut conn = admin(admin_url);
        // Test processes may race to build it: one builds, the others wait on the lock.
        exec(&mut conn, "SELECT pg_advisory_lock(7201)").expect("lock");
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let exists: Count =
            diesel::sql_query(format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"))
                .get_result(&mut conn)
                .expect("look up template");
        if exists.n == 0 {
            exec(&mut conn, &format!("CREATE DATABASE {name}")).expect("create template");
        }
        // Migrate (or finish migrating) the template with the migrations this binary embeds.
        let gov = Gov::connect(&with_database(admin_url, &name), &options()).expect("connect template");
        gov.migrate_up().expect("migrate template");
        drop(gov);
        exec(&mut conn, "SELECT pg_advisory_unlock(7201)").expect("unlock");
        name
    })
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read migrations").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Runs SQL directly against a test database, as someone with database access would.
pub fn raw_execute(url: &str, sql: &str) -> Result<usize, diesel::result::Error> {
    if url.starts_with("postgres") {
        let mut c = PgConnection::establish(url).expect("connect");
        diesel::sql_query(sql).execute(&mut c)
    } else {
        let mut c = diesel::sqlite::SqliteConnection::establish(url).expect("connect");
        diesel::sql_query(sql).execute(&mut c)
    }
}

/// `SELECT count(*) ...` run directly against a test database.
pub fn raw_count(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Count = if url.starts_with("postgres") {
        diesel::sql_query(sql).get_result(&mut PgConnection::establish(url).expect("connect"))
    } else {
        diesel::sql_query(sql)
            .get_result(&mut diesel::sqlite::SqliteConnection::establish(url).expect("connect"))
    }
    .expect("count");
    row.n
}

impl TestDb {
    /// A migrated, empty database.
    pub fn create() -> TestDb {
        match postgres_url() {
            Some(admin_url) => {
                let template = template(&admin_url);
                let name = format!("gov_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = admin(&admin_url);
                // Creating from a template fails while any session is still connected to it
                // (e.g. the one that just migrated it is closing): retry briefly.
                let mut attempt = 0;
                while let Err(e) = exec(&mut conn, &format!("CREATE DATABASE {name} TEMPLATE {template}")) {
                    attempt += 1;
                    assert!(attempt < 50, "cannot create test database: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                let url = with_database(&admin_url, &name);
                TestDb::Postgres { admin_url, name, url }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("gov.db").display().to_string();
                let db = TestDb::Sqlite { _dir: dir, url };
                db.gov().migrate_up().expect("migrate");
                db
            }
        }
    }

    /// An empty database with no schema at all (migration tests).
    pub fn create_unmigrated() -> TestDb {
        match postgres_url() {
            Some(admin_url) => {
                let name = format!("gov_m_{}", uuid::Uuid::new_v4().simple());
                exec(&mut admin(&admin_url), &format!("CREATE DATABASE {name}")).expect("create database");
                let url = with_database(&admin_url, &name);
                TestDb::Postgres { admin_url, name, url }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("gov.db").display().to_string();
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// A new handle (own pool) on this database.
    pub fn gov(&self) -> Gov {
        self.gov_at_url(self.url())
    }

    /// A new handle on this database reached at another URL (e.g. through a proxy).
    pub fn gov_at_url(&self, url: &str) -> Gov {
        Gov::connect(url, &options()).expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name, .. } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = exec(&mut conn, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
