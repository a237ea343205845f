//! Connection pools for both backends and the [`Conn`] every query runs on.
//!
//! Queries are written once and compiled for each backend by the crate-private `dispatch!`
//! macro, so each backend gets diesel's full native support (RETURNING, ON CONFLICT, row locks)
//! rather than a lowest common denominator. See ARCHITECTURE.md.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use crate::StoreError;
use crate::error::connection_lost;
use crate::lane::Lane;
use crate::writer::{Open, Reply, Writer};

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything else is a SQLite path.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// SQLite's `synchronous` pragma: `Full` syncs the WAL on every commit (nothing acknowledged is
/// lost on power failure); `Normal` only at checkpoints (survives process crashes, not power loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections kept for reads (SQLite) or for everything (PostgreSQL).
    pub pool_size: u32,
    /// How long a request waits for a free connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    pub sqlite_sync: SqliteSync,
    /// Whether a SQLite file (and its folder) that does not exist yet is created; when not, a
    /// missing file is an error naming the path.
    pub create_if_missing: bool,
    /// PostgreSQL connections kept open while idle. A server keeps one; a one-shot command keeps
    /// none, so no pool thread is still connecting when it exits (libpq's exit-time cleanup
    /// racing a connect in progress crashed the process with SIGSEGV after its work was done).
    pub min_idle: u32,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_sync: SqliteSync::Full,
            create_if_missing: true,
            min_idle: 1,
        }
    }
}

/// Sets the pragmas a concurrent server needs on every pooled SQLite connection.
#[derive(Debug)]
struct SqlitePragmas {
    sync: SqliteSync,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        let sync = match self.sync {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        };
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = {sync}; PRAGMA temp_store = MEMORY;"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
pub(crate) type PgPool = Pool<PgManager>;

/// A connection idle for longer than this is pinged before it is handed out, so one that died
/// while idle (a database restart, a proxy dropping idle connections) is replaced instead of
/// failing the request. Busy connections skip the round trip (HikariCP's "alive bypass window").
const IDLE_CHECK: Duration = Duration::from_millis(500);

/// A pooled PostgreSQL connection that remembers whether it lost the server.
///
/// diesel's own check (`R2D2Connection::is_broken`) only looks at the transaction manager, and a
/// statement that fails to prepare on a dead socket leaves that untouched: the dead connection
/// would go back to the pool and fail every later request. Here every failed statement is
/// inspected (diesel's instrumentation sees them all) and a lost connection is discarded.
pub(crate) struct PgConn {
    pub(crate) conn: PgConnection,
    pub(crate) lost: Arc<AtomicBool>,
    pub(crate) last_used: Instant,
}

impl PgConn {
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Whether the connection may be handed out without a ping: used within [`IDLE_CHECK`], and
    /// not last used before a connection of this process was last found to have lost the server
    /// (a restart or terminated backends kill its idle siblings too, however recently used).
    fn alive_bypass(&self) -> bool {
        let since_loss = LAST_LOSS.lock().map(|t| t.is_none_or(|at| self.last_used > at)).unwrap_or(false);
        self.last_used.elapsed() < IDLE_CHECK && since_loss
    }
}

/// When a PostgreSQL connection of this process was last found to have lost the server.
static LAST_LOSS: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Marks a connection lost (it is discarded when it goes back to the pool) and remembers when.
fn mark_lost(flag: &AtomicBool) {
    flag.store(true, Ordering::Relaxed);
    if let Ok(mut at) = LAST_LOSS.lock() {
        *at = Some(Instant::now());
    }
}

/// Opens [`PgConn`]s for the pool and tells it which ones to discard.
pub(crate) struct PgManager {
    url: String,
}

impl ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConn, Self::Error> {
        let mut conn = PgConnection::establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::FinishQuery { error: Some(err), .. } = event
                && connection_lost(err)
            {
                mark_lost(&flag);
            }
        });
        Ok(PgConn { conn, lost, last_used: Instant::now() })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        if conn.is_lost() {
            tracing::warn!("discarding a PostgreSQL connection that lost the server");
            return true;
        }
        std::thread::panicking() || conn.conn.is_broken()
    }
}

#[derive(Clone)]
enum Pools {
    /// SQLite allows one writer at a time: writes queue for the writer thread (group commit)
    /// instead of spinning on `SQLITE_BUSY`; reads run concurrently under WAL.
    Sqlite { read: SqlitePool, writer: Writer, path: String, sync: SqliteSync },
    /// Every connection is pooled; [`Db::write_prepared`] transactions go through the lane.
    Postgres { pool: PgPool, lane: Lane },
}

/// A handle on the database: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend()).finish()
    }
}

/// A connection inside a [`Db::read`] or [`Db::write`] call. Opaque outside this crate: only
/// the store's functions can run SQL on it.
pub struct Conn<'a>(pub(crate) Inner<'a>);

pub(crate) enum Inner<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Conn<'_> {
    pub fn backend(&self) -> Backend {
        match self.0 {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Pg(_) => Backend::Postgres,
        }
    }
}

/// Runs `$body` with `$c` bound to the concrete diesel connection of `$conn` (a `&mut Conn`),
/// compiling the body once per backend.
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut $conn.0 {
            $crate::db::Inner::Sqlite($c) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut **$c;
                $body
            }
            $crate::db::Inner::Pg($c) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut **$c;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// What the read phase of a [`Db::write_prepared`] transaction decided.
pub enum Prepared<T, A> {
    /// The answer, with nothing to write.
    Done(T),
    /// The writes to make.
    Apply(A),
}

/// Error of a closure run inside a transaction: the database's or the caller's own.
enum TxError<E> {
    Db(diesel::result::Error),
    App(E),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(err: diesel::result::Error) -> Self {
        TxError::Db(err)
    }
}

impl<E: From<StoreError>> TxError<E> {
    fn into_app(self) -> E {
        match self {
            TxError::Db(err) => E::from(StoreError::from(err)),
            TxError::App(err) => err,
        }
    }
}

impl Db {
    /// Opens pools for `url` (a `postgres://` URL or a SQLite path, optionally `sqlite://`-prefixed).
    /// For SQLite, the file and its folder are created if missing (unless
    /// `options.create_if_missing` is off).
    pub fn connect(url: &str, options: &DbOptions) -> Result<Db, StoreError> {
        let pools = match Backend::of_url(url) {
            Backend::Postgres => {
                let manager = PgManager { url: url.to_owned() };
                let pool = Pool::builder()
                    .max_size(options.pool_size.max(1))
                    .min_idle(Some(options.min_idle.min(options.pool_size.max(1))))
                    .connection_timeout(options.acquire_timeout)
                    .test_on_check_out(false)
                    .build(manager)
                    .map_err(|e| StoreError::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
                let lane = Lane::start(pool.clone())?;
                Pools::Postgres { pool, lane }
            }
            Backend::Sqlite => {
                let path = sqlite_path(url);
                let on_disk = path != ":memory:" && !path.starts_with("file:");
                if on_disk && !options.create_if_missing && !Path::new(path).is_file() {
                    return Err(StoreError::Unavailable(format!("there is no SQLite database at {path}")));
                }
                let folder = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty());
                if let Some(dir) = folder.filter(|_| on_disk) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                // The writer first: it switches the file to WAL before readers open it.
                let writer = Writer::start(opener(path.to_owned(), options.sqlite_sync))?;
                let read = Pool::builder()
                    .max_size(options.pool_size.max(1))
                    .connection_timeout(options.acquire_timeout)
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas { sync: options.sqlite_sync }))
                    .build(ConnectionManager::<SqliteConnection>::new(path))
                    .map_err(|e| {
                        StoreError::Unavailable(format!("cannot open SQLite database {path}: {e}"))
                    })?;
                Pools::Sqlite { read, writer, path: path.to_owned(), sync: options.sqlite_sync }
            }
        };
        Ok(Db { pools })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Runs read-only work on a pooled connection.
    pub fn read<T, E>(&self, f: impl FnOnce(&mut Conn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        match &self.pools {
            Pools::Sqlite { read, .. } => {
                let mut c = read.get().map_err(StoreError::from)?;
                f(&mut Conn(Inner::Sqlite(&mut c)))
            }
            Pools::Postgres { pool, .. } => {
                let mut c = pg_checkout(pool)?;
                let result = f(&mut Conn(Inner::Pg(&mut c.conn)));
                c.last_used = Instant::now();
                result
            }
        }
    }

    /// Runs `f` in one transaction: all of its writes commit together or none do, and `write`
    /// returns only once they are committed. On SQLite the transaction runs on the writer thread,
    /// in a savepoint of an `IMMEDIATE` batch transaction (see `writer.rs`).
    pub fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, E>>(1);
                writer.submit(Box::new(move |conn: &mut SqliteConnection| -> Reply {
                    let result = conn
                        .transaction::<T, TxError<E>, _>(|c| {
                            f(&mut Conn(Inner::Sqlite(c))).map_err(TxError::App)
                        })
                        .map_err(TxError::into_app);
                    answer_after_commit(tx, result)
                }))?;
                awaited(&rx)
            }
            Pools::Postgres { pool, .. } => {
                // A connection can die between checkout and BEGIN; then `f` has not run and
                // nothing was sent but BEGIN, so it is safe to run it on another connection.
                // Once `f` has run, never: COMMIT may have reached the server.
                let mut f = Some(f);
                let mut attempts = 0;
                loop {
                    let mut c = pg_checkout(pool)?;
                    let result = c.conn.transaction::<T, TxError<E>, _>(|c| match f.take() {
                        Some(f) => f(&mut Conn(Inner::Pg(c))).map_err(TxError::App),
                        None => Err(TxError::Db(diesel::result::Error::BrokenTransactionManager)),
                    });
                    c.last_used = Instant::now();
                    if let Err(TxError::Db(err)) = &result
                        && connection_lost(err)
                    {
                        mark_lost(&c.lost);
                    }
                    match result {
                        Err(TxError::Db(err))
                            if f.is_some() && c.is_lost() && attempts < pg_attempts(pool) =>
                        {
                            tracing::debug!(error = %err, "BEGIN failed on a lost connection; retrying");
                            attempts += 1;
                        }
                        other => return other.map_err(TxError::into_app),
                    }
                }
            }
        }
    }

    /// Like [`Db::write`], for transactions that contend on a few hot rows, in two phases:
    /// `prepare` reads (it must not write) and decides the answer or the writes to make, `apply`
    /// writes. On PostgreSQL `prepare` runs here on a pooled connection, outside any transaction
    /// (it holds no locks), and `apply` queues for the group-commit lane (`lane.rs`): every queued
    /// `apply` in its own savepoint of one transaction, committed once, in `key` order (give the
    /// key that orders the rows the writes lock first). On SQLite both phases run in one transaction of
    /// the writer, whose writes are grouped already.
    pub fn write_prepared<T, E, P, A>(&self, key: String, prepare: P) -> Result<T, E>
    where
        P: FnOnce(&mut Conn<'_>) -> Result<Prepared<T, A>, E> + Send + 'static,
        A: FnOnce(&mut Conn<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let Pools::Postgres { lane, .. } = &self.pools else {
            return self.write(move |c| match prepare(c)? {
                Prepared::Done(answer) => Ok(answer),
                Prepared::Apply(apply) => apply(c),
            });
        };
        // The reads, here and outside any transaction: they hold no locks, so they neither wait
        // for a batch nor lengthen one.
        let apply = match self.read(prepare)? {
            Prepared::Done(answer) => return Ok(answer),
            Prepared::Apply(apply) => apply,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T, E>>(1);
        lane.submit(
            key,
            Box::new(move |conn: Result<&mut PgConnection, StoreError>| -> Reply {
                let result = match conn {
                    Ok(conn) => conn
                        .transaction::<T, TxError<E>, _>(|c| {
                            apply(&mut Conn(Inner::Pg(c))).map_err(TxError::App)
                        })
                        .map_err(TxError::into_app),
                    Err(e) => Err(E::from(e)),
                };
                answer_after_commit(tx, result)
            }),
        )?;
        awaited(&rx)
    }

    /// Whether the database answers a trivial query.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            dispatch!(conn, |c| diesel::sql_query("SELECT 1").execute(c))?;
            Ok(())
        })
    }

    /// Runs `f` on a connection of its own, outside any transaction (migrations).
    pub(crate) fn with_writer<T>(
        &self,
        sqlite: impl FnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
        pg: impl FnOnce(&mut PgConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.pools {
            Pools::Sqlite { path, sync, .. } => sqlite(&mut opener(path.clone(), *sync)()?),
            Pools::Postgres { pool, .. } => pg(&mut pg_checkout(pool)?.conn),
        }
    }
}

/// How a batched transaction (SQLite writer, PostgreSQL lane) is answered: with its own result
/// once its batch committed, or unavailable when the batch did not.
fn answer_after_commit<T: Send + 'static, E: From<StoreError> + Send + 'static>(
    tx: std::sync::mpsc::SyncSender<Result<T, E>>,
    result: Result<T, E>,
) -> Reply {
    Box::new(move |committed: Result<(), String>| {
        let answer = match committed {
            Ok(()) => result,
            Err(msg) => Err(E::from(StoreError::Unavailable(msg))),
        };
        let _ = tx.send(answer);
    })
}

/// The answer of a batched transaction; a batch that dropped it (a panic) rolled it back.
fn awaited<T, E: From<StoreError>>(rx: &std::sync::mpsc::Receiver<Result<T, E>>) -> Result<T, E> {
    rx.recv().unwrap_or_else(|_| {
        Err(E::from(StoreError::Unavailable("the write was interrupted and rolled back".to_owned())))
    })
}

/// How many connections a request may find dead before it gives up: every pooled one, and one.
pub(crate) fn pg_attempts(pool: &PgPool) -> u32 {
    pool.max_size() + 1
}

/// A live connection from the pool: one that was idle for a while is pinged first, and a dead
/// one is discarded and the next tried, within the pool's acquire timeout overall.
pub(crate) fn pg_checkout(pool: &PgPool) -> Result<diesel::r2d2::PooledConnection<PgManager>, StoreError> {
    let deadline = Instant::now() + pool.connection_timeout();
    for _ in 0..pg_attempts(pool) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut c = pool.get_timeout(remaining)?;
        if c.alive_bypass() {
            return Ok(c);
        }
        match c.conn.ping() {
            Ok(()) => return Ok(c),
            Err(err) if connection_lost(&err) || c.is_lost() => {
                mark_lost(&c.lost);
            }
            Err(err) => return Err(StoreError::from(err)),
        }
    }
    Err(StoreError::Unavailable("every pooled connection had lost the server".to_owned()))
}

/// Opens a SQLite connection with the server's pragmas.
fn opener(path: String, sync: SqliteSync) -> Open {
    Box::new(move || {
        let mut conn = SqliteConnection::establish(&path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open SQLite database {path}: {e}")))?;
        SqlitePragmas { sync }
            .on_acquire(&mut conn)
            .map_err(|e| StoreError::Unavailable(format!("cannot configure SQLite database {path}: {e}")))?;
        Ok(conn)
    })
}

/// The file name inside a SQLite URL.
fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::of_url("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(Backend::of_url("./gov-data/gov.db"), Backend::Sqlite);
        assert_eq!(sqlite_path("sqlite://./x.db"), "./x.db");
        assert_eq!(sqlite_path("sqlite:x.db"), "x.db");
    }
}
