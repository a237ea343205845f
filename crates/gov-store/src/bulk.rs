//! Batched multi-row inserts for the realistic-tenant generator (`cargo xtask generate`): the
//! same row conversions as the one-row writes, many rows per statement. SQLite allows at most
//! 32,766 bound variables per statement, so every batch is cut into chunks of at most
//! [`MAX_VARIABLES`] variables.

use diesel::prelude::*;
use gov_model::{
    CostRecord, Incident, IncidentEvent, PolicyId, PreventionRecord, Run, TenantId, ThresholdSignal,
    TraceStep, TraceSummary,
};

use crate::audit::{self, NewAuditRow};
use crate::db::{Inner, dispatch};
use crate::models::audit_log::{NewAuditLogRow, NumberedAuditLogRow};
use crate::models::evidence::{CostRow, PreventionRow, SignalRow};
use crate::models::incident::{EventRow, IncidentRow};
use crate::models::run::RunRow;
use crate::models::trace::{StepRow, TraceRow};
use crate::schema::{
    aos_trace_steps, aos_traces, audit_logs, cost_records, incident_events, incidents, policy_rules,
    prevention_records, runs, threshold_signals,
};
use crate::{Conn, StoreError};

/// Bound variables per statement, under SQLite's limit of 32,766.
pub const MAX_VARIABLES: usize = 30_000;

fn chunk_rows(columns: usize) -> usize {
    (MAX_VARIABLES / columns).max(1)
}

/// Inserts runs (with no overrides).
pub fn insert_runs(conn: &mut Conn<'_>, rows: &[Run]) -> Result<(), StoreError> {
    let rows: Vec<RunRow> = rows.iter().map(|r| RunRow::from_model(r, 0)).collect();
    for chunk in rows.chunks(chunk_rows(25)) {
        dispatch!(conn, |c| diesel::insert_into(runs::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts traces.
pub fn insert_traces(conn: &mut Conn<'_>, rows: &[TraceSummary]) -> Result<(), StoreError> {
    let rows: Vec<TraceRow> = rows.iter().map(TraceRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(15)) {
        dispatch!(conn, |c| diesel::insert_into(aos_traces::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts trace steps (already chained by the caller).
pub fn insert_steps(conn: &mut Conn<'_>, rows: &[TraceStep]) -> Result<(), StoreError> {
    let rows: Vec<StepRow> = rows.iter().map(StepRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(22)) {
        dispatch!(conn, |c| diesel::insert_into(aos_trace_steps::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts incidents.
pub fn insert_incidents(conn: &mut Conn<'_>, rows: &[Incident]) -> Result<(), StoreError> {
    let rows: Vec<IncidentRow> = rows.iter().map(IncidentRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(17)) {
        dispatch!(conn, |c| diesel::insert_into(incidents::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// An incident event with its id (the one-row write draws a fresh one).
#[derive(Debug, Clone)]
pub struct NewIncidentEvent {
    pub event_id: uuid::Uuid,
    pub event: IncidentEvent,
}

/// Inserts incident events of `tenant`.
pub fn insert_incident_events(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    rows: &[NewIncidentEvent],
) -> Result<(), StoreError> {
    let rows: Vec<EventRow> =
        rows.iter().map(|e| EventRow::from_model(e.event_id, tenant, &e.event)).collect();
    for chunk in rows.chunks(chunk_rows(7)) {
        dispatch!(conn, |c| diesel::insert_into(incident_events::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts cost records.
pub fn insert_costs(conn: &mut Conn<'_>, rows: &[CostRecord]) -> Result<(), StoreError> {
    let rows: Vec<CostRow> = rows.iter().map(CostRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(10)) {
        dispatch!(conn, |c| diesel::insert_into(cost_records::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts prevention records.
pub fn insert_prevention(conn: &mut Conn<'_>, rows: &[PreventionRecord]) -> Result<(), StoreError> {
    let rows: Vec<PreventionRow> = rows.iter().map(PreventionRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(15)) {
        dispatch!(conn, |c| diesel::insert_into(prevention_records::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Inserts threshold signals (at most one per run, check and type, as the one-row write keeps).
pub fn insert_signals(conn: &mut Conn<'_>, rows: &[ThresholdSignal]) -> Result<(), StoreError> {
    let rows: Vec<SignalRow> = rows.iter().map(SignalRow::from_model).collect();
    for chunk in rows.chunks(chunk_rows(12)) {
        dispatch!(conn, |c| diesel::insert_into(threshold_signals::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Adds `violations` and `incidents` to a policy's counts, as
/// [`crate::policies::record_violation`] adds one violation at a time.
pub fn add_violations(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    policy: PolicyId,
    violations: i64,
    incidents: i64,
) -> Result<(), StoreError> {
    let (t, p) = (tenant.to_string(), policy.to_string());
    dispatch!(conn, |c| diesel::update(
        policy_rules::table.filter(policy_rules::tenant_id.eq(&t).and(policy_rules::policy_id.eq(&p)))
    )
    .set((
        policy_rules::violation_count.eq(policy_rules::violation_count + violations),
        policy_rules::incident_count.eq(policy_rules::incident_count + incidents),
    ))
    .execute(c))?;
    Ok(())
}

/// Appends audit rows of `tenant` in the given order (their hashes computed by the caller),
/// numbered as [`crate::audit::append`] numbers one.
pub fn append_audit(conn: &mut Conn<'_>, tenant: TenantId, rows: Vec<NewAuditRow>) -> Result<(), StoreError> {
    let rows = rows.into_iter().map(|new| audit::new_row(tenant, new));
    match &mut conn.0 {
        Inner::Sqlite(c) => {
            let c = &mut **c;
            let first = audit::next_sqlite_seq(c)?;
            let rows: Vec<NumberedAuditLogRow> =
                rows.zip(first..).map(|(row, seq)| NumberedAuditLogRow { row, seq }).collect();
            for chunk in rows.chunks(chunk_rows(10)) {
                diesel::insert_into(audit_logs::table).values(chunk).execute(c)?;
            }
        }
        Inner::Pg(c) => {
            let c = &mut **c;
            let rows: Vec<NewAuditLogRow> = rows.collect();
            for chunk in rows.chunks(chunk_rows(9)) {
                diesel::insert_into(audit_logs::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Refreshes the query planner's statistics: SQLite `ANALYZE` (in a write transaction); on
/// PostgreSQL `VACUUM ANALYZE`, outside any transaction (call it through `Db::read`), which also
/// sets the visibility map autovacuum would set later, so that index-only scans (a list's
/// capped total) read no table pages, as they do on a database in its steady state.
pub fn analyze(conn: &mut Conn<'_>) -> Result<(), StoreError> {
    let sql = match conn.backend() {
        crate::Backend::Sqlite => "ANALYZE",
        crate::Backend::Postgres => "VACUUM ANALYZE",
    };
    dispatch!(conn, |c| diesel::sql_query(sql).execute(c))?;
    Ok(())
}
