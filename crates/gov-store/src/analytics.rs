//! Aggregates for Analytics: cost, runs and policy activity in a time range, grouped in the
//! database (by model, agent, policy, status or time bucket). Every query is a range scan on a
//! (tenant_id, time) index; the bucket of a row is floor((unix seconds - origin) / width), the
//! same arithmetic as `gov_insight::analytics::Bucket::index`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp as SqlTimestamp};
use gov_model::{RunId, TenantId, Timestamp};
use time::PrimitiveDateTime;

use crate::convert::{opt_from_db, to_db};
use crate::db::dispatch;
use crate::{Backend, Conn, StoreError};

/// The rows an aggregate covers: their time in `[from, to)`, optionally of one agent.
#[derive(Debug, Clone)]
pub struct Range {
    pub from: Timestamp,
    pub to: Timestamp,
    pub agent_id: Option<String>,
    /// Runs only: only those that have not ended (queued, running, paused).
    pub live_only: bool,
}

/// A bucket width and the unix second its bucket 0 starts at.
#[derive(Debug, Clone, Copy)]
pub struct Buckets {
    pub seconds: i64,
    pub origin: i64,
}

/// Cost and tokens of one group (a model or an agent), folded from [`CostCell`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct CostGroup {
    pub key: String,
    pub cost_cents: f64,
    pub tokens: i64,
    pub runs: i64,
}

/// Cost records of one (time bucket, agent, model).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct CostCell {
    #[diesel(sql_type = BigInt)]
    pub bucket: i64,
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Text)]
    pub model: String,
    #[diesel(sql_type = Double)]
    pub cost_cents: f64,
    #[diesel(sql_type = BigInt)]
    pub tokens: i64,
    /// Records: the runs that used the model.
    #[diesel(sql_type = BigInt)]
    pub records: i64,
    /// Runs, each counted once, on its first model.
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
}

/// One of the most expensive runs.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RunCost {
    #[diesel(sql_type = Text)]
    pub run_id: String,
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Double)]
    pub cost_cents: f64,
    #[diesel(sql_type = BigInt)]
    pub tokens: i64,
    #[diesel(sql_type = SqlTimestamp)]
    started_at: PrimitiveDateTime,
}

impl RunCost {
    pub fn started_at(&self) -> Timestamp {
        self.started_at.assume_utc()
    }
}

/// A run its incident stopped at a step: what the cost-stopped estimate needs.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct StoppedRun {
    #[diesel(sql_type = Text)]
    pub run_id: String,
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Text)]
    pub policy_snapshot_id: String,
    #[diesel(sql_type = Double)]
    pub cost_cents: f64,
    #[diesel(sql_type = SqlTimestamp)]
    started_at: PrimitiveDateTime,
    /// The timestamp of the step the incident names.
    #[diesel(sql_type = Nullable<SqlTimestamp>)]
    stop_at: Option<PrimitiveDateTime>,
    /// The first event on the incident by someone other than the system.
    #[diesel(sql_type = Nullable<SqlTimestamp>)]
    first_response: Option<PrimitiveDateTime>,
}

impl StoppedRun {
    pub fn started_at(&self) -> Timestamp {
        self.started_at.assume_utc()
    }
    pub fn stop_at(&self) -> Option<Timestamp> {
        opt_from_db(self.stop_at)
    }
    pub fn first_response(&self) -> Option<Timestamp> {
        opt_from_db(self.first_response)
    }
}

/// Policy activity of one (time bucket, policy, kind): how many and the newest one's time.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PolicyCell {
    #[diesel(sql_type = BigInt)]
    pub bucket: i64,
    #[diesel(sql_type = Text)]
    pub policy_id: String,
    /// NEAR/BREACH for signals, `BLOCK` for enforced blocking prevention records, `incident`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = SqlTimestamp)]
    last: PrimitiveDateTime,
}

impl PolicyCell {
    pub fn last(&self) -> Timestamp {
        self.last.assume_utc()
    }
}

/// Runs and steps per snapshot.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SnapshotUse {
    #[diesel(sql_type = Text)]
    pub snapshot_id: String,
    #[diesel(sql_type = Text)]
    pub policies_json: String,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    #[diesel(sql_type = BigInt)]
    pub steps: i64,
}

/// Runs of one (time bucket, agent, status).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RunGroup {
    #[diesel(sql_type = BigInt)]
    pub bucket: i64,
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    #[diesel(sql_type = BigInt)]
    pub tokens: i64,
    #[diesel(sql_type = Double)]
    pub cost_cents: f64,
    /// Sum of (completed_at - started_at) in seconds over the runs that have both.
    #[diesel(sql_type = Double)]
    pub duration_seconds: f64,
    #[diesel(sql_type = BigInt)]
    pub with_duration: i64,
}

/// The per-backend SQL fragments.
pub(crate) struct Dialect(Backend);

impl Dialect {
    pub(crate) fn of(conn: &Conn<'_>) -> Dialect {
        Dialect(conn.backend())
    }

    /// Whole unix seconds of a timestamp column.
    pub(crate) fn epoch(&self, col: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("CAST(strftime('%s', {col}) AS INTEGER)"),
            Backend::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {col})) AS BIGINT)"),
        }
    }

    fn bucket(&self, col: &str, b: Buckets) -> String {
        let epoch = self.epoch(col);
        // Rows are in range, after the origin: integer division floors on both backends.
        format!("(({epoch} - {}) / {})", b.origin, b.seconds)
    }

    pub(crate) fn seconds_between(&self, from: &str, to: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("((julianday({to}) - julianday({from})) * 86400.0)"),
            Backend::Postgres => format!("CAST(EXTRACT(EPOCH FROM ({to} - {from})) AS DOUBLE PRECISION)"),
        }
    }

    /// `col` as a term no index serves on SQLite (a unary `+`, its documented hint), so that
    /// the planner, which has no statistics there, takes the index meant for the query; on
    /// PostgreSQL, which plans from statistics, `col` itself.
    pub(crate) fn unindexed(&self, col: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("+{col}"),
            Backend::Postgres => col.to_owned(),
        }
    }

    /// `$n` placeholders become SQLite's `?n`.
    pub(crate) fn sql(&self, sql: String) -> String {
        match self.0 {
            Backend::Sqlite => sql.replace('$', "?"),
            Backend::Postgres => sql,
        }
    }
}

/// Runs a query whose placeholders are `$1` tenant, `$2` from, `$3` to, `$4` agent (or NULL).
macro_rules! ranged {
    ($conn:expr, $sql:expr, $tenant:expr, $range:expr, $row:ty) => {{
        let sql = $sql;
        let t = $tenant.to_string();
        let (from, to) = (to_db($range.from), to_db($range.to));
        let agent = $range.agent_id.clone();
        let rows: Vec<$row> = dispatch!($conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<SqlTimestamp, _>(from)
            .bind::<SqlTimestamp, _>(to)
            .bind::<Nullable<Text>, _>(&agent)
            .load(c))?;
        Ok::<Vec<$row>, StoreError>(rows)
    }};
}

/// `CROSS JOIN` keeps SQLite's join order (it never reorders one): the cost records of the range
/// first, on `(tenant_id, created_at)`, then each one's run by key. Left to choose, the planner
/// walked all of a tenant's runs on `runs_tenant_status_started` (2.4 s at a million runs).
const COSTS_IN_RANGE: &str = "FROM cost_records c CROSS JOIN runs r \
     WHERE r.tenant_id = c.tenant_id AND r.run_id = c.run_id AND c.tenant_id = $1 AND c.created_at >= $2 AND c.created_at < $3 AND ($4 IS NULL OR r.agent_id = $4)";

fn runs_in_range(range: &Range) -> String {
    runs_started_in(range, "r.started_at")
}

/// [`runs_in_range`] with the start time spelled `started` (see [`Dialect::unindexed`]).
fn runs_started_in(range: &Range, started: &str) -> String {
    let live = if range.live_only { " AND r.status IN ('queued', 'running', 'paused')" } else { "" };
    format!(
        "FROM runs r WHERE r.tenant_id = $1 AND {started} >= $2 AND {started} < $3 \
         AND ($4 IS NULL OR r.agent_id = $4){live}"
    )
}

/// Cost records in range per (bucket of their time, agent, model). All of a run's records are
/// written at its end, one per model: `records` counts the runs that used the model, `runs` each
/// run once (on its first model, as the rollups count them).
pub fn cost_cells(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    buckets: Buckets,
) -> Result<Vec<CostCell>, StoreError> {
    let d = Dialect::of(conn);
    let bucket = d.bucket("c.created_at", buckets);
    let sql = d.sql(format!(
        "SELECT bucket, agent_id, model, SUM(cost_cents) AS cost_cents, CAST(SUM(tokens) AS BIGINT) AS tokens, \
           COUNT(*) AS records, SUM(CASE WHEN model = first_model THEN 1 ELSE 0 END) AS runs \
         FROM (SELECT {bucket} AS bucket, r.agent_id, c.model, c.cost_cents, c.tokens, \
                 MIN(c.model) OVER (PARTITION BY c.run_id) AS first_model {COSTS_IN_RANGE}) x \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ));
    ranged!(conn, sql, tenant, range, CostCell)
}

/// The `limit` runs started in range with the highest cost (ties: lower id first). The ended runs
/// are read in order on their final cost's index, the live ones (few) from their status; the two
/// lists are merged.
pub fn top_runs(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    limit: i64,
) -> Result<Vec<RunCost>, StoreError> {
    let d = Dialect::of(conn);
    let select = "SELECT r.run_id, r.agent_id, r.status, r.total_cost_cents AS cost_cents, \
                  r.tokens_used AS tokens, r.started_at";
    let ended = d.sql(format!(
        "{select} {} AND r.final_cost_cents IS NOT NULL ORDER BY r.final_cost_cents DESC, r.run_id LIMIT {limit}",
        runs_started_in(&Range { live_only: false, ..range.clone() }, &d.unindexed("r.started_at"))
    ));
    let live = d.sql(format!(
        "{select} {} ORDER BY r.total_cost_cents DESC, r.run_id LIMIT {limit}",
        runs_in_range(&Range { live_only: true, ..range.clone() })
    ));
    let mut runs = if range.live_only { Vec::new() } else { ranged!(conn, ended, tenant, range, RunCost)? };
    runs.extend(ranged!(conn, live, tenant, range, RunCost)?);
    runs.sort_by(|a, b| b.cost_cents.total_cmp(&a.cost_cents).then_with(|| a.run_id.cmp(&b.run_id)));
    runs.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(runs)
}

/// Runs started in range that a breach stopped (`failed_policy`), with their incident's step
/// time and first human response.
pub fn stopped_runs(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
) -> Result<Vec<StoppedRun>, StoreError> {
    let d = Dialect::of(conn);
    let runs = runs_in_range(range);
    let sql =
        d.sql(format!("{STOPPED_RUN} {runs} AND r.status = 'failed_policy' ORDER BY r.started_at, r.run_id"));
    ranged!(conn, sql, tenant, range, StoppedRun)
}

const STOPPED_RUN: &str = "SELECT r.run_id, r.agent_id, r.policy_snapshot_id, r.total_cost_cents AS cost_cents, r.started_at, \
       (SELECT s.timestamp FROM incidents i JOIN aos_trace_steps s \
          ON s.trace_id = r.trace_id AND s.step_index = i.step_index AND s.tenant_id = i.tenant_id \
        WHERE i.tenant_id = r.tenant_id AND i.incident_id = r.incident_id AND i.source_run_id = r.run_id) AS stop_at, \
       (SELECT MIN(e.timestamp) FROM incident_events e \
        WHERE e.tenant_id = r.tenant_id AND e.incident_id = r.incident_id \
          AND e.event <> 'created' AND e.actor <> 'system') AS first_response";

/// The time of the step `incident` stopped `run` at, and the first event on the incident by
/// someone other than the system: what [`STOPPED_RUN`] reads, for a run not saved yet.
pub fn stop_facts(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: RunId,
    incident: gov_model::IncidentId,
) -> Result<(Option<Timestamp>, Option<Timestamp>), StoreError> {
    #[derive(QueryableByName)]
    struct Facts {
        #[diesel(sql_type = Nullable<SqlTimestamp>)]
        stop_at: Option<PrimitiveDateTime>,
        #[diesel(sql_type = Nullable<SqlTimestamp>)]
        first_response: Option<PrimitiveDateTime>,
    }
    let d = Dialect::of(conn);
    let sql = d.sql(
        "SELECT (SELECT s.timestamp FROM incidents i JOIN runs r ON r.tenant_id = i.tenant_id AND r.run_id = i.source_run_id \
              JOIN aos_trace_steps s ON s.trace_id = r.trace_id AND s.step_index = i.step_index AND s.tenant_id = i.tenant_id \
            WHERE i.tenant_id = $1 AND i.incident_id = $3 AND i.source_run_id = $2) AS stop_at, \
           (SELECT MIN(e.timestamp) FROM incident_events e \
            WHERE e.tenant_id = $1 AND e.incident_id = $3 AND e.event <> 'created' AND e.actor <> 'system') AS first_response"
            .to_owned(),
    );
    let (t, r, i) = (tenant.to_string(), run.to_string(), incident.to_string());
    let rows: Vec<Facts> = dispatch!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(&t)
        .bind::<Text, _>(&r)
        .bind::<Text, _>(&i)
        .load(c))?;
    Ok(rows
        .into_iter()
        .next()
        .map_or((None, None), |f| (opt_from_db(f.stop_at), opt_from_db(f.first_response))))
}

/// One run a breach stopped (`failed_policy`), as [`stopped_runs`] reads it; `None` when the run
/// is not (or not yet) stopped.
pub fn stopped_run(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: RunId,
) -> Result<Option<StoppedRun>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(format!(
        "{STOPPED_RUN} FROM runs r WHERE r.tenant_id = $1 AND r.run_id = $2 AND r.status = 'failed_policy'"
    ));
    let (t, r) = (tenant.to_string(), run.to_string());
    let rows: Vec<StoppedRun> =
        dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).bind::<Text, _>(&r).load(c))?;
    Ok(rows.into_iter().next())
}

/// Runs started in range and their steps, per policy snapshot (with the snapshot's policies).
pub fn snapshot_use(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
) -> Result<Vec<SnapshotUse>, StoreError> {
    let d = Dialect::of(conn);
    let runs = runs_in_range(range);
    let sql = d.sql(format!(
        "SELECT g.snapshot_id, p.policies_json, g.runs, g.steps FROM \
           (SELECT r.policy_snapshot_id AS snapshot_id, COUNT(*) AS runs, \
              CAST(COALESCE(SUM(r.step_count), 0) AS BIGINT) AS steps {runs} GROUP BY r.policy_snapshot_id) g \
         JOIN policy_snapshots p ON p.tenant_id = $1 AND p.snapshot_id = g.snapshot_id ORDER BY g.snapshot_id"
    ));
    ranged!(conn, sql, tenant, range, SnapshotUse)
}

/// Per (bucket, policy, kind) in range: NEAR and BREACH signals, enforced blocking prevention
/// records (`BLOCK`) and incidents (`incident`), each with the newest one's time.
pub fn policy_cells(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    buckets: Buckets,
) -> Result<Vec<PolicyCell>, StoreError> {
    let d = Dialect::of(conn);
    let agent = "($4 IS NULL OR EXISTS (SELECT 1 FROM runs r WHERE r.tenant_id = x.tenant_id AND r.run_id = x.RUN AND r.agent_id = $4))";
    let bucket = d.bucket("x.created_at", buckets);
    let sql = d.sql(format!(
        "SELECT {bucket} AS bucket, x.policy_id, x.signal_type AS kind, COUNT(*) AS n, MAX(x.created_at) AS last \
         FROM threshold_signals x \
         WHERE x.tenant_id = $1 AND x.created_at >= $2 AND x.created_at < $3 AND {} GROUP BY 1, 2, 3 \
         UNION ALL \
         SELECT {bucket} AS bucket, x.policy_id, 'BLOCK' AS kind, COUNT(*) AS n, MAX(x.created_at) AS last \
         FROM prevention_records x \
         WHERE x.tenant_id = $1 AND x.created_at >= $2 AND x.created_at < $3 AND x.policy_id IS NOT NULL \
           AND x.decision = 'BLOCK' AND x.enforced AND {} GROUP BY 1, 2, 3 \
         UNION ALL \
         SELECT {bucket} AS bucket, x.policy_id, 'incident' AS kind, COUNT(*) AS n, MAX(x.created_at) AS last \
         FROM incidents x \
         WHERE x.tenant_id = $1 AND x.created_at >= $2 AND x.created_at < $3 AND x.policy_id IS NOT NULL AND {} \
         GROUP BY 1, 2, 3",
        agent.replace("RUN", "run_id"),
        agent.replace("RUN", "run_id"),
        agent.replace("RUN", "source_run_id"),
    ));
    ranged!(conn, sql, tenant, range, PolicyCell)
}

/// Runs started in range per (bucket of their start, agent, status): one pass serves the totals,
/// the agents and the series.
pub fn run_groups(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    buckets: Buckets,
) -> Result<Vec<RunGroup>, StoreError> {
    let d = Dialect::of(conn);
    let runs = runs_in_range(range);
    let bucket = d.bucket("r.started_at", buckets);
    let duration = d.seconds_between("r.started_at", "r.completed_at");
    let sql = d.sql(format!(
        "SELECT {bucket} AS bucket, r.agent_id, r.status, COUNT(*) AS runs, \
           CAST(COALESCE(SUM(r.tokens_used), 0) AS BIGINT) AS tokens, \
           COALESCE(SUM(r.total_cost_cents), 0.0) AS cost_cents, \
           COALESCE(SUM(CASE WHEN r.completed_at IS NULL THEN NULL ELSE {duration} END), 0.0) AS duration_seconds, \
           COUNT(r.completed_at) AS with_duration \
         {runs} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    ));
    ranged!(conn, sql, tenant, range, RunGroup)
}

#[derive(QueryableByName)]
struct Seconds {
    #[diesel(sql_type = Double)]
    seconds: f64,
}

/// The duration (seconds) at 0-based `position` among the durations of the ended runs started in
/// range, in ascending order.
pub fn duration_at(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    position: i64,
) -> Result<Option<f64>, StoreError> {
    let d = Dialect::of(conn);
    let runs = runs_in_range(range);
    let duration = d.seconds_between("r.started_at", "r.completed_at");
    let sql = d.sql(format!(
        "SELECT {duration} AS seconds {runs} AND r.completed_at IS NOT NULL \
         ORDER BY 1 LIMIT 1 OFFSET {}",
        position.max(0)
    ));
    let rows = ranged!(conn, sql, tenant, range, Seconds)?;
    Ok(rows.first().map(|r| r.seconds))
}

/// The durations (seconds) of the ended runs started in range.
pub fn durations(conn: &mut Conn<'_>, tenant: TenantId, range: &Range) -> Result<Vec<f64>, StoreError> {
    let d = Dialect::of(conn);
    let runs = runs_in_range(range);
    let duration = d.seconds_between("r.started_at", "r.completed_at");
    let sql = d.sql(format!("SELECT {duration} AS seconds {runs} AND r.completed_at IS NOT NULL"));
    let rows = ranged!(conn, sql, tenant, range, Seconds)?;
    Ok(rows.into_iter().map(|r| r.seconds).collect())
}

/// The tenant's policies: (policy id, name, status).
pub fn policy_names(
    conn: &mut Conn<'_>,
    tenant: TenantId,
) -> Result<Vec<(String, String, String)>, StoreError> {
    use crate::schema::policy_rules as p;
    let t = tenant.to_string();
    Ok(dispatch!(conn, |c| p::table
        .filter(p::tenant_id.eq(&t))
        .select((p::policy_id, p::name, p::status))
        .order(p::policy_id.asc())
        .load(c))?)
}
