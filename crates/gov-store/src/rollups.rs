//! The hourly rollups (migration `000010_rollups`): added to in the transaction of the change
//! they count (a run's end, its cost records, a signal, block or incident), summed over whole
//! hours by the Overview and Analytics. `hour` is the unix hour. Grouping keys come back as
//! text: an agent id, a model, a snapshot id, a policy id or a bucket index.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Timestamp as SqlTimestamp};
use gov_model::{TenantId, Timestamp};

use crate::analytics::{Buckets, CostCell, Dialect, PolicyCell, RunGroup};
use crate::convert::to_db;
use crate::db::dispatch;
use crate::{Backend, Conn, StoreError};

/// What one or more ended runs of one (hour, agent, status, snapshot) add.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRollup {
    pub hour: i64,
    pub agent_id: String,
    pub status: String,
    pub policy_snapshot_id: String,
    pub runs: i64,
    pub steps: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub duration_seconds: f64,
    pub timed: i64,
    pub stop_open_rate: f64,
    pub stop_open_rate_offset: f64,
    pub stop_answered_cents: f64,
}

/// Ended runs of one (hour, agent) whose duration fell in `bin`.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationRollup {
    pub hour: i64,
    pub agent_id: String,
    pub bin: i32,
    pub runs: i64,
}

/// Cost records of one (hour, agent, model).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostRollup {
    pub hour: i64,
    pub agent_id: String,
    pub model: String,
    pub cost_cents: f64,
    pub tokens: i64,
    pub records: i64,
    pub runs: i64,
}

/// The kinds of policy activity a policy rollup counts.
pub const POLICY_KINDS: [&str; 4] = ["NEAR", "BREACH", "BLOCK", "incident"];

/// Policy activity of one (hour, policy, agent, kind).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRollup {
    pub hour: i64,
    pub policy_id: String,
    pub agent_id: String,
    /// One of [`POLICY_KINDS`].
    pub kind: &'static str,
    pub n: i64,
    pub last_at: Timestamp,
}

/// Adds ended runs to their rows.
pub fn add_runs(conn: &mut Conn<'_>, tenant: TenantId, rows: &[RunRollup]) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "INSERT INTO run_rollups (tenant_id, hour, agent_id, status, policy_snapshot_id, runs, steps, tokens, \
           cost_cents, duration_seconds, timed, stop_open_rate, stop_open_rate_offset, stop_answered_cents) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (tenant_id, hour, agent_id, status, policy_snapshot_id) DO UPDATE SET \
           runs = run_rollups.runs + excluded.runs, steps = run_rollups.steps + excluded.steps, \
           tokens = run_rollups.tokens + excluded.tokens, cost_cents = run_rollups.cost_cents + excluded.cost_cents, \
           duration_seconds = run_rollups.duration_seconds + excluded.duration_seconds, \
           timed = run_rollups.timed + excluded.timed, \
           stop_open_rate = run_rollups.stop_open_rate + excluded.stop_open_rate, \
           stop_open_rate_offset = run_rollups.stop_open_rate_offset + excluded.stop_open_rate_offset, \
           stop_answered_cents = run_rollups.stop_answered_cents + excluded.stop_answered_cents"
            .to_owned(),
    );
    let t = tenant.to_string();
    for r in rows {
        dispatch!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>(r.hour)
            .bind::<Text, _>(&r.agent_id)
            .bind::<Text, _>(&r.status)
            .bind::<Text, _>(&r.policy_snapshot_id)
            .bind::<BigInt, _>(r.runs)
            .bind::<BigInt, _>(r.steps)
            .bind::<BigInt, _>(r.tokens)
            .bind::<Double, _>(r.cost_cents)
            .bind::<Double, _>(r.duration_seconds)
            .bind::<BigInt, _>(r.timed)
            .bind::<Double, _>(r.stop_open_rate)
            .bind::<Double, _>(r.stop_open_rate_offset)
            .bind::<Double, _>(r.stop_answered_cents)
            .execute(c))?;
    }
    Ok(())
}

pub fn add_durations(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    rows: &[DurationRollup],
) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "INSERT INTO run_duration_rollups (tenant_id, hour, agent_id, bin, runs) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, hour, agent_id, bin) DO UPDATE SET runs = run_duration_rollups.runs + excluded.runs"
            .to_owned(),
    );
    let t = tenant.to_string();
    for r in rows {
        dispatch!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>(r.hour)
            .bind::<Text, _>(&r.agent_id)
            .bind::<Integer, _>(r.bin)
            .bind::<BigInt, _>(r.runs)
            .execute(c))?;
    }
    Ok(())
}

pub fn add_costs(conn: &mut Conn<'_>, tenant: TenantId, rows: &[CostRollup]) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "INSERT INTO cost_rollups (tenant_id, hour, agent_id, model, cost_cents, tokens, records, runs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, hour, agent_id, model) DO UPDATE SET \
           cost_cents = cost_rollups.cost_cents + excluded.cost_cents, tokens = cost_rollups.tokens + excluded.tokens, \
           records = cost_rollups.records + excluded.records, runs = cost_rollups.runs + excluded.runs"
            .to_owned(),
    );
    let t = tenant.to_string();
    for r in rows {
        dispatch!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>(r.hour)
            .bind::<Text, _>(&r.agent_id)
            .bind::<Text, _>(&r.model)
            .bind::<Double, _>(r.cost_cents)
            .bind::<BigInt, _>(r.tokens)
            .bind::<BigInt, _>(r.records)
            .bind::<BigInt, _>(r.runs)
            .execute(c))?;
    }
    Ok(())
}

pub fn add_policy(conn: &mut Conn<'_>, tenant: TenantId, rows: &[PolicyRollup]) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "INSERT INTO policy_rollups (tenant_id, hour, policy_id, agent_id, kind, n, last_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, hour, policy_id, agent_id, kind) DO UPDATE SET n = policy_rollups.n + excluded.n, \
           last_at = CASE WHEN excluded.last_at > policy_rollups.last_at THEN excluded.last_at ELSE policy_rollups.last_at END"
            .to_owned(),
    );
    let t = tenant.to_string();
    for r in rows {
        dispatch!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>(r.hour)
            .bind::<Text, _>(&r.policy_id)
            .bind::<Text, _>(&r.agent_id)
            .bind::<Text, _>(r.kind)
            .bind::<BigInt, _>(r.n)
            .bind::<SqlTimestamp, _>(to_db(r.last_at))
            .execute(c))?;
    }
    Ok(())
}

/// What one incident adds to (or, negated, takes from) the row of its created hour and current
/// (status, severity, type).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentRollup {
    pub hour: i64,
    pub status: String,
    pub severity: String,
    pub incident_type: String,
    pub n: i64,
    pub acknowledged: i64,
    pub resolved: i64,
    pub ack_seconds: f64,
    pub resolve_seconds: f64,
}

pub fn add_incidents(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    rows: &[IncidentRollup],
) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "INSERT INTO incident_rollups (tenant_id, hour, status, severity, incident_type, n, acknowledged, resolved, \
           ack_seconds, resolve_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, hour, status, severity, incident_type) DO UPDATE SET \
           n = incident_rollups.n + excluded.n, acknowledged = incident_rollups.acknowledged + excluded.acknowledged, \
           resolved = incident_rollups.resolved + excluded.resolved, \
           ack_seconds = incident_rollups.ack_seconds + excluded.ack_seconds, \
           resolve_seconds = incident_rollups.resolve_seconds + excluded.resolve_seconds"
            .to_owned(),
    );
    let t = tenant.to_string();
    // In key order: two transitions that move incidents between the same two rows lock them in
    // one order on PostgreSQL, so neither waits for the other in a cycle.
    let mut rows: Vec<&IncidentRollup> = rows.iter().collect();
    rows.sort_by(|a, b| {
        (a.hour, &a.status, &a.severity, &a.incident_type).cmp(&(
            b.hour,
            &b.status,
            &b.severity,
            &b.incident_type,
        ))
    });
    for r in rows {
        dispatch!(conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>(r.hour)
            .bind::<Text, _>(&r.status)
            .bind::<Text, _>(&r.severity)
            .bind::<Text, _>(&r.incident_type)
            .bind::<BigInt, _>(r.n)
            .bind::<BigInt, _>(r.acknowledged)
            .bind::<BigInt, _>(r.resolved)
            .bind::<Double, _>(r.ack_seconds)
            .bind::<Double, _>(r.resolve_seconds)
            .execute(c))?;
    }
    Ok(())
}

/// In the order every writer takes them (a step: its signals' and blocks' `policy_rollups`, then an
/// incident's `incident_rollups`, then a run's end; a transition: `incident_rollups`, then a first
/// answer's `run_rollups`), so that a rebuild's table locks, taken one by one in this order, never
/// wait in a cycle with a writer's.
const TABLES: [&str; 5] =
    ["policy_rollups", "incident_rollups", "run_rollups", "run_duration_rollups", "cost_rollups"];

/// Before a rebuild: on PostgreSQL, holds writers that would add to the rollups until this
/// transaction ends, so that none adds to a row the rebuild is about to replace.
pub fn lock_for_rebuild(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    if conn.backend() == Backend::Postgres {
        let sql = format!("LOCK TABLE {} IN EXCLUSIVE MODE", TABLES.join(", "));
        dispatch!(conn, |c| diesel::sql_query(&sql).execute(c))?;
    }
    Ok(())
}

/// Removes a tenant's rollup rows.
pub fn clear(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let t = tenant.to_string();
    for table in TABLES {
        let sql = d.sql(format!("DELETE FROM {table} WHERE tenant_id = $1"));
        dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).execute(c))?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Whether the rollups still wait to be built from the rows written before they existed: a
/// migration that adds a rollup adds a row here (`rollups_v1`, `incident_rollups_v1`).
pub fn backfill_pending(conn: &mut Conn<'_>) -> Result<bool, StoreError> {
    let rows: Vec<Name> = dispatch!(conn, |c| diesel::sql_query("SELECT name FROM rollup_backfill").load(c))?;
    Ok(!rows.is_empty())
}

/// The tenants that have any row a rollup counts.
pub fn tenants_with_rows(conn: &mut Conn<'_>) -> Result<Vec<TenantId>, StoreError> {
    let sql = "SELECT tenant_id AS name FROM runs UNION SELECT tenant_id FROM incidents \
               UNION SELECT tenant_id FROM threshold_signals UNION SELECT tenant_id FROM prevention_records \
               UNION SELECT tenant_id FROM cost_records";
    let rows: Vec<Name> = dispatch!(conn, |c| diesel::sql_query(sql).load(c))?;
    rows.iter().map(|r| crate::convert::parse("tenant_id", &r.name)).collect()
}

pub fn backfill_done(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    dispatch!(conn, |c| diesel::sql_query("DELETE FROM rollup_backfill").execute(c))?;
    Ok(())
}

/// Whole unix hours `[from, to)` of one tenant, optionally of one agent.
#[derive(Debug, Clone)]
pub struct Hours {
    pub from: i64,
    pub to: i64,
    pub agent_id: Option<String>,
}

/// How run rows are grouped.
#[derive(Debug, Clone, Copy)]
pub enum RunKey {
    Snapshot,
    /// One group, key `""`.
    All,
    /// One group (key `""`) of the runs a breach stopped (`failed_policy`): the index on the
    /// rollup's key skips the rest without reading them.
    Stopped,
}

/// Ended runs of one (key, status).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RunRollupGroup {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
    #[diesel(sql_type = BigInt)]
    pub steps: i64,
    #[diesel(sql_type = BigInt)]
    pub tokens: i64,
    #[diesel(sql_type = Double)]
    pub cost_cents: f64,
    #[diesel(sql_type = Double)]
    pub duration_seconds: f64,
    #[diesel(sql_type = BigInt)]
    pub timed: i64,
    #[diesel(sql_type = Double)]
    pub stop_open_rate: f64,
    /// Σ rate × hour, so that the open estimate needs no per-row arithmetic.
    #[diesel(sql_type = Double)]
    pub stop_open_rate_hours: f64,
    #[diesel(sql_type = Double)]
    pub stop_open_rate_offset: f64,
    #[diesel(sql_type = Double)]
    pub stop_answered_cents: f64,
}

fn bucket_of_hour(b: Buckets) -> String {
    format!("((hour * 3600 - {}) / {})", b.origin, b.seconds)
}

fn hours_filter() -> &'static str {
    "tenant_id = $1 AND hour >= $2 AND hour < $3 AND ($4 IS NULL OR agent_id = $4)"
}

macro_rules! by_hours {
    ($conn:expr, $sql:expr, $tenant:expr, $hours:expr, $row:ty) => {{
        let sql = $sql;
        let t = $tenant.to_string();
        let agent = $hours.agent_id.clone();
        let rows: Vec<$row> = dispatch!($conn, |c| diesel::sql_query(&sql)
            .bind::<Text, _>(&t)
            .bind::<BigInt, _>($hours.from)
            .bind::<BigInt, _>($hours.to)
            .bind::<Nullable<Text>, _>(&agent)
            .load(c))?;
        Ok::<Vec<$row>, StoreError>(rows)
    }};
}

pub fn run_groups(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    hours: &Hours,
    key: RunKey,
) -> Result<Vec<RunRollupGroup>, StoreError> {
    let d = Dialect::of(conn);
    let (key, only) = match key {
        RunKey::Snapshot => ("policy_snapshot_id", ""),
        RunKey::All => ("''", ""),
        RunKey::Stopped => ("''", " AND status = 'failed_policy'"),
    };
    let sql = d.sql(format!(
        "SELECT {key} AS key, status, CAST(SUM(runs) AS BIGINT) AS runs, CAST(SUM(steps) AS BIGINT) AS steps, \
           CAST(SUM(tokens) AS BIGINT) AS tokens, SUM(cost_cents) AS cost_cents, \
           SUM(duration_seconds) AS duration_seconds, CAST(SUM(timed) AS BIGINT) AS timed, \
           SUM(stop_open_rate) AS stop_open_rate, SUM(stop_open_rate * hour) AS stop_open_rate_hours, \
           SUM(stop_open_rate_offset) AS stop_open_rate_offset, SUM(stop_answered_cents) AS stop_answered_cents \
         FROM run_rollups WHERE {}{only} GROUP BY 1, 2 ORDER BY 1, 2",
        hours_filter()
    ));
    by_hours!(conn, sql, tenant, hours, RunRollupGroup)
}

/// Ended runs in `hours` per (bucket, agent, status): one pass serves the totals, the agents and
/// the series of Productivity.
pub fn run_tallies(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    hours: &Hours,
    buckets: Buckets,
) -> Result<Vec<RunGroup>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(format!(
        "SELECT {} AS bucket, agent_id, status, CAST(SUM(runs) AS BIGINT) AS runs, \
           CAST(SUM(tokens) AS BIGINT) AS tokens, SUM(cost_cents) AS cost_cents, \
           SUM(duration_seconds) AS duration_seconds, CAST(SUM(timed) AS BIGINT) AS with_duration \
         FROM run_rollups WHERE {} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        bucket_of_hour(buckets),
        hours_filter()
    ));
    by_hours!(conn, sql, tenant, hours, RunGroup)
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct BinCount {
    #[diesel(sql_type = Integer)]
    pub bin: i32,
    #[diesel(sql_type = BigInt)]
    pub runs: i64,
}

/// The duration histogram of the ended runs started in `hours`.
pub fn durations(conn: &mut Conn<'_>, tenant: TenantId, hours: &Hours) -> Result<Vec<BinCount>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(format!(
        "SELECT bin, CAST(SUM(runs) AS BIGINT) AS runs FROM run_duration_rollups WHERE {} GROUP BY bin ORDER BY bin",
        hours_filter()
    ));
    by_hours!(conn, sql, tenant, hours, BinCount)
}

/// Cost records in `hours` per (bucket, agent, model): one pass serves the totals, the models, the
/// agents and the series of Cost Intelligence.
pub fn cost_cells(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    hours: &Hours,
    buckets: Buckets,
) -> Result<Vec<CostCell>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(format!(
        "SELECT {} AS bucket, agent_id, model, SUM(cost_cents) AS cost_cents, CAST(SUM(tokens) AS BIGINT) AS tokens, \
           CAST(SUM(records) AS BIGINT) AS records, CAST(SUM(runs) AS BIGINT) AS runs \
         FROM cost_rollups WHERE {} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        bucket_of_hour(buckets),
        hours_filter()
    ));
    by_hours!(conn, sql, tenant, hours, CostCell)
}

/// Policy activity in `hours` per (bucket, policy, kind): one pass serves the policies and the
/// series of Policies Usage.
pub fn policy_cells(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    hours: &Hours,
    buckets: Buckets,
) -> Result<Vec<PolicyCell>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(format!(
        "SELECT {} AS bucket, policy_id, kind, CAST(SUM(n) AS BIGINT) AS n, MAX(last_at) AS last FROM policy_rollups \
         WHERE {} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        bucket_of_hour(buckets),
        hours_filter()
    ));
    by_hours!(conn, sql, tenant, hours, PolicyCell)
}

// The rebuild: every rollup of one tenant recomputed from its rows (after `clear`). The sums
// are grouped in SQL; what needs gov's own arithmetic (duration bins, cost stopped) is read per
// run for the caller to fold.

const LIVE: &str = "('queued', 'running', 'paused')";

/// Adds the tenant's ended runs to `run_rollups` by start hour (without the stop columns).
pub fn rebuild_runs(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let hour = format!("({} / 3600)", d.epoch("r.started_at"));
    let duration = d.seconds_between("r.started_at", "r.completed_at");
    let sql = d.sql(format!(
        "INSERT INTO run_rollups (tenant_id, hour, agent_id, status, policy_snapshot_id, runs, steps, tokens, \
           cost_cents, duration_seconds, timed, stop_open_rate, stop_open_rate_offset, stop_answered_cents) \
         SELECT r.tenant_id, {hour}, r.agent_id, r.status, r.policy_snapshot_id, COUNT(*), \
           CAST(COALESCE(SUM(r.step_count), 0) AS BIGINT), CAST(COALESCE(SUM(r.tokens_used), 0) AS BIGINT), \
           COALESCE(SUM(r.total_cost_cents), 0.0), \
           COALESCE(SUM(CASE WHEN r.completed_at IS NULL THEN NULL ELSE {duration} END), 0.0), \
           COUNT(r.completed_at), 0.0, 0.0, 0.0 \
         FROM runs r WHERE r.tenant_id = $1 AND r.status NOT IN {LIVE} \
         GROUP BY r.tenant_id, {hour}, r.agent_id, r.status, r.policy_snapshot_id"
    ));
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).execute(c))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct RunDuration {
    #[diesel(sql_type = BigInt)]
    pub hour: i64,
    #[diesel(sql_type = Text)]
    pub agent_id: String,
    #[diesel(sql_type = Double)]
    pub seconds: f64,
}

/// The duration of every ended run of the tenant, with its start hour and agent.
pub fn ended_durations(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<RunDuration>, StoreError> {
    let d = Dialect::of(conn);
    let hour = format!("({} / 3600)", d.epoch("r.started_at"));
    let duration = d.seconds_between("r.started_at", "r.completed_at");
    let sql = d.sql(format!(
        "SELECT {hour} AS hour, r.agent_id, {duration} AS seconds FROM runs r \
         WHERE r.tenant_id = $1 AND r.status NOT IN {LIVE} AND r.completed_at IS NOT NULL"
    ));
    let t = tenant.to_string();
    Ok(dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).load(c))?)
}

/// Fills `cost_rollups` from the tenant's cost records (a run counts once, on its first model).
pub fn rebuild_costs(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let hour = format!("({} / 3600)", d.epoch("x.created_at"));
    let sql = d.sql(format!(
        "INSERT INTO cost_rollups (tenant_id, hour, agent_id, model, cost_cents, tokens, records, runs) \
         SELECT x.tenant_id, {hour}, x.agent_id, x.model, SUM(x.cost_cents), CAST(SUM(x.tokens) AS BIGINT), \
           COUNT(*), CAST(SUM(CASE WHEN x.nth = 1 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM (SELECT c.tenant_id, c.created_at, r.agent_id, c.model, c.cost_cents, c.tokens, \
                 ROW_NUMBER() OVER (PARTITION BY c.run_id ORDER BY c.model) AS nth \
               FROM cost_records c JOIN runs r ON r.tenant_id = c.tenant_id AND r.run_id = c.run_id \
               WHERE c.tenant_id = $1) x \
         GROUP BY x.tenant_id, {hour}, x.agent_id, x.model"
    ));
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).execute(c))?;
    Ok(())
}

/// Fills `policy_rollups` from the tenant's signals, enforced blocks and incidents.
pub fn rebuild_policy(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let hour = format!("({} / 3600)", d.epoch("x.created_at"));
    let parts = [
        ("x.signal_type", "threshold_signals x", "x.run_id", "TRUE"),
        (
            "'BLOCK'",
            "prevention_records x",
            "x.run_id",
            "x.policy_id IS NOT NULL AND x.decision = 'BLOCK' AND x.enforced",
        ),
        ("'incident'", "incidents x", "x.source_run_id", "x.policy_id IS NOT NULL"),
    ];
    let t = tenant.to_string();
    for (kind, from, run, cond) in parts {
        // PostgreSQL refuses a constant in GROUP BY.
        let kind_group = if kind.starts_with('\'') { String::new() } else { format!(", {kind}") };
        let sql = d.sql(format!(
            "INSERT INTO policy_rollups (tenant_id, hour, policy_id, agent_id, kind, n, last_at) \
             SELECT x.tenant_id, {hour}, x.policy_id, COALESCE(r.agent_id, ''), {kind}, COUNT(*), MAX(x.created_at) \
             FROM {from} LEFT JOIN runs r ON r.tenant_id = x.tenant_id AND r.run_id = {run} \
             WHERE x.tenant_id = $1 AND {cond} \
             GROUP BY x.tenant_id, {hour}, x.policy_id, COALESCE(r.agent_id, ''){kind_group}"
        ));
        dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).execute(c))?;
    }
    Ok(())
}

/// The incidents created in `hours` per (status, severity, type), from their rollups.
pub fn incident_groups(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    hours: &Hours,
) -> Result<Vec<crate::incidents::IncidentGroup>, StoreError> {
    let d = Dialect::of(conn);
    let sql = d.sql(
        "SELECT status, severity, incident_type, CAST(SUM(n) AS BIGINT) AS n, \
           CAST(SUM(acknowledged) AS BIGINT) AS acknowledged, CAST(SUM(resolved) AS BIGINT) AS resolved, \
           SUM(ack_seconds) AS ack_seconds, SUM(resolve_seconds) AS resolve_seconds \
         FROM incident_rollups WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            .to_owned(),
    );
    let t = tenant.to_string();
    Ok(dispatch!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(&t)
        .bind::<BigInt, _>(hours.from)
        .bind::<BigInt, _>(hours.to)
        .load(c))?)
}

/// Adds the tenant's incidents to `incident_rollups` by created hour.
pub fn rebuild_incidents(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), StoreError> {
    let d = Dialect::of(conn);
    let hour = format!("({} / 3600)", d.epoch("x.created_at"));
    let ack = d.seconds_between("x.created_at", "x.acknowledged_at");
    let res = d.seconds_between("x.created_at", "x.resolved_at");
    let sql = d.sql(format!(
        "INSERT INTO incident_rollups (tenant_id, hour, status, severity, incident_type, n, acknowledged, resolved, \
           ack_seconds, resolve_seconds) \
         SELECT x.tenant_id, {hour}, x.status, x.severity, x.type, COUNT(*), COUNT(x.acknowledged_at), \
           COUNT(x.resolved_at), COALESCE(SUM({ack}), 0.0), COALESCE(SUM({res}), 0.0) \
         FROM incidents x WHERE x.tenant_id = $1 GROUP BY x.tenant_id, {hour}, x.status, x.severity, x.type"
    ));
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::sql_query(&sql).bind::<Text, _>(&t).execute(c))?;
    Ok(())
}
