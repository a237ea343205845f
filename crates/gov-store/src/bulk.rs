//! Batched multi-row inserts for the realistic-tenant generator (`cargo xtask generate`): the
//! same row conversions as the one-row writes, many rows per statement. SQLite allows at most
//! 32,766 bound variables per statement, so every batch is cut into chunks of at most
//! [`MAX_VARIABLES`] variables.

use diesel::dsl::max;
use diesel::prelude::*;
use gov_model::{Incident, Run, TenantId, TraceStep, TraceSummary};
use time::PrimitiveDateTime;

use crate::audit::NewAuditRow;
use crate::convert::to_db;
use crate::db::{Inner, dispatch};
use crate::models::audit_log::NewAuditLogRow;
use crate::models::incident::IncidentRow;
use crate::models::run::RunRow;
use crate::models::trace::{StepRow, TraceRow};
use crate::schema::{aos_trace_steps, aos_traces, audit_checkpoints, audit_logs, incidents, runs};
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

/// An audit row with its number, for SQLite (PostgreSQL numbers rows itself).
#[derive(Insertable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::sqlite::Sqlite))]
struct NumberedAuditRow {
    log_id: String,
    tenant_id: String,
    actor_id: String,
    action: String,
    resource_type: String,
    resource_id: String,
    timestamp: PrimitiveDateTime,
    details: String,
    row_hash: String,
    seq: i64,
}

/// Appends audit rows of `tenant` in the given order (their hashes computed by the caller), numbered
/// after every row and sealed range already there, as [`crate::audit::append`] numbers one.
pub fn append_audit(conn: &mut Conn<'_>, tenant: TenantId, rows: Vec<NewAuditRow>) -> Result<(), StoreError> {
    let convert = |new: NewAuditRow| NewAuditLogRow {
        log_id: new.id.to_string(),
        tenant_id: tenant.to_string(),
        actor_id: new.actor_id,
        action: new.action,
        resource_type: new.resource_type,
        resource_id: new.resource_id,
        timestamp: to_db(new.timestamp),
        details: new.details,
        row_hash: new.row_hash,
    };
    match &mut conn.0 {
        Inner::Sqlite(c) => {
            let c = &mut **c;
            let used: Option<i64> = audit_logs::table.select(max(audit_logs::seq)).first(c)?;
            let sealed: Option<i64> =
                audit_checkpoints::table.select(max(audit_checkpoints::to_seq)).first(c)?;
            let first = used.unwrap_or(0).max(sealed.unwrap_or(0)) + 1;
            let rows: Vec<NumberedAuditRow> = rows
                .into_iter()
                .zip(first..)
                .map(|(new, seq)| {
                    let r = convert(new);
                    NumberedAuditRow {
                        log_id: r.log_id,
                        tenant_id: r.tenant_id,
                        actor_id: r.actor_id,
                        action: r.action,
                        resource_type: r.resource_type,
                        resource_id: r.resource_id,
                        timestamp: r.timestamp,
                        details: r.details,
                        row_hash: r.row_hash,
                        seq,
                    }
                })
                .collect();
            for chunk in rows.chunks(chunk_rows(10)) {
                diesel::insert_into(audit_logs::table).values(chunk).execute(c)?;
            }
        }
        Inner::Pg(c) => {
            let c = &mut **c;
            let rows: Vec<NewAuditLogRow> = rows.into_iter().map(convert).collect();
            for chunk in rows.chunks(chunk_rows(9)) {
                diesel::insert_into(audit_logs::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}
