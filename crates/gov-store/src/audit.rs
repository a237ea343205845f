//! The audit trail: one row per change, written in the same transaction as the change, and the
//! checkpoints that seal it.
//!
//! Every row has a `seq`, increasing across all tenants in the order rows are written: on
//! PostgreSQL an identity the database fills (no row or counter that concurrent writers would
//! queue on), on SQLite one past the largest number in use, which is safe because every SQLite
//! write runs on the one writer thread. [`seal_boundary`] is where the sealer learns up to which
//! `seq` the trail is final.

use crate::paging::{after_cursor, capped_total, time_cursor};
use diesel::dsl::max;
use diesel::prelude::*;
use gov_model::{
    AuditCheckpoint, AuditEntry, AuditLogId, AuditRecord, Page, PageRequest, SortDirection, SortKey,
    TenantId, Timestamp, Total,
};

use crate::convert::to_db;
use crate::db::{Inner, dispatch};
use crate::models::audit_log::{
    AuditLogRow, AuditRecordRow, CheckpointRow, NewAuditLogRow, NumberedAuditLogRow,
};
use crate::schema::{audit_checkpoints, audit_logs};
use crate::{Conn, StoreError};

/// Narrows an audit listing; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
}

/// A row to append, with its content hash; `details` is the exact text to store.
#[derive(Debug, Clone)]
pub struct NewAuditRow {
    pub id: AuditLogId,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: Timestamp,
    pub details: String,
    pub row_hash: String,
}

/// Appends one audit row of `tenant`; its `seq` is assigned here (see the module doc).
pub fn append(conn: &mut Conn<'_>, tenant: TenantId, new: NewAuditRow) -> Result<(), StoreError> {
    let row = new_row(tenant, new);
    match &mut conn.0 {
        Inner::Sqlite(c) => {
            let c = &mut **c;
            let seq = next_sqlite_seq(c)?;
            diesel::insert_into(audit_logs::table).values(&NumberedAuditLogRow { row, seq }).execute(c)?;
        }
        Inner::Pg(c) => {
            diesel::insert_into(audit_logs::table).values(&row).execute(&mut **c)?;
        }
    }
    Ok(())
}

/// The row stored for `new` (without `seq`, which the database or [`next_sqlite_seq`] assigns).
pub(crate) fn new_row(tenant: TenantId, new: NewAuditRow) -> NewAuditLogRow {
    NewAuditLogRow {
        log_id: new.id.to_string(),
        tenant_id: tenant.to_string(),
        actor_id: new.actor_id,
        action: new.action,
        resource_type: new.resource_type,
        resource_id: new.resource_id,
        timestamp: to_db(new.timestamp),
        details: new.details,
        row_hash: new.row_hash,
    }
}

/// The `seq` of the next audit row on SQLite: one past the largest number in use or sealed, so
/// rows deleted from the end are never renumbered into a sealed range. Safe because every SQLite
/// write runs on the one writer thread.
pub(crate) fn next_sqlite_seq(c: &mut diesel::SqliteConnection) -> QueryResult<i64> {
    let used: Option<i64> = audit_logs::table.select(max(audit_logs::seq)).first(c)?;
    let sealed: Option<i64> = audit_checkpoints::table.select(max(audit_checkpoints::to_seq)).first(c)?;
    Ok(used.unwrap_or(0).max(sealed.unwrap_or(0)) + 1)
}

/// A tenant's audit rows, newest first.
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, StoreError> {
    let t = tenant.to_string();
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<AuditLogRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = audit_logs::table.filter(audit_logs::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = &filter.action {
                q = q.filter(audit_logs::action.eq(v));
            }
            if let Some(v) = &filter.resource_type {
                q = q.filter(audit_logs::resource_type.eq(v));
            }
            if let Some(v) = &filter.resource_id {
                q = q.filter(audit_logs::resource_id.eq(v));
            }
            if let Some(v) = &filter.actor_id {
                q = q.filter(audit_logs::actor_id.eq(v));
            }
            q
        };
        let total = capped_total!(filtered, audit_logs::tenant_id, c);
        let q = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            audit_logs::timestamp,
            audit_logs::log_id
        );
        let rows = q
            .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
            .limit(page.probe_limit())
            .offset(page.offset())
            .select(AuditLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(AuditLogRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |e: &AuditEntry| (SortKey::Time(e.timestamp), e.id.to_string())))
}

/// Up to `limit` of a tenant's rows as stored, with `after < seq <= upto`, in `seq` order.
pub fn records(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<AuditRecordRow> = dispatch!(conn, |c| audit_logs::table
        .filter(audit_logs::tenant_id.eq(&t))
        .filter(audit_logs::seq.gt(after))
        .filter(audit_logs::seq.le(upto))
        .order(audit_logs::seq.asc())
        .limit(limit)
        .select(AuditRecordRow::as_select())
        .load(c))?;
    rows.into_iter().map(AuditRecordRow::into_model).collect()
}

/// The largest `seq` of a tenant's rows (0 when it has none).
pub fn last_seq(conn: &mut Conn<'_>, tenant: TenantId) -> Result<i64, StoreError> {
    let t = tenant.to_string();
    let last: Option<i64> = dispatch!(conn, |c| audit_logs::table
        .filter(audit_logs::tenant_id.eq(&t))
        .select(max(audit_logs::seq))
        .first(c))?;
    Ok(last.unwrap_or(0))
}

/// The `seq` up to which the audit trail is final: every row with a smaller or equal `seq` is
/// committed, every later write gets a larger one. `None` when there are no rows.
///
/// Call it inside a write transaction. On PostgreSQL it first takes `audit_logs` in SHARE mode,
/// which waits for the transactions that are inserting audit rows to end (an insert holds ROW
/// EXCLUSIVE from before it draws its `seq` until it commits) and holds new inserts back until
/// this transaction ends; so commit right after it. Waiting is bounded by a lock timeout, after
/// which this is [`StoreError::Unavailable`] and nothing was held. On SQLite the writer thread
/// runs one write at a time, so the largest `seq` is final as read.
pub fn seal_boundary(conn: &mut Conn<'_>) -> Result<Option<i64>, StoreError> {
    match &mut conn.0 {
        Inner::Sqlite(c) => Ok(audit_logs::table.select(max(audit_logs::seq)).first(&mut **c)?),
        Inner::Pg(c) => {
            let c = &mut **c;
            diesel::sql_query("SET LOCAL lock_timeout = '500ms'").execute(c)?;
            diesel::sql_query("LOCK TABLE audit_logs IN SHARE MODE").execute(c).map_err(|e| match e {
                diesel::result::Error::DatabaseError(_, ref info)
                    if info.message().contains("lock timeout") =>
                {
                    StoreError::Unavailable("audit_logs stayed busy: sealing waits for the next round".into())
                }
                other => other.into(),
            })?;
            Ok(audit_logs::table.select(max(audit_logs::seq)).first(c)?)
        }
    }
}

/// The largest `to_seq` any checkpoint seals (0 when there is none). Every seal covers every
/// tenant up to its boundary, so nothing at or below this number is waiting for a seal.
pub fn sealed_through(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    let last: Option<i64> =
        dispatch!(conn, |c| audit_checkpoints::table.select(max(audit_checkpoints::to_seq)).first(c))?;
    Ok(last.unwrap_or(0))
}

/// A tenant's newest checkpoint.
pub fn head_checkpoint(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Option<AuditCheckpoint>, StoreError> {
    let t = tenant.to_string();
    let row: Option<CheckpointRow> = dispatch!(conn, |c| audit_checkpoints::table
        .filter(audit_checkpoints::tenant_id.eq(&t))
        .order(audit_checkpoints::n.desc())
        .select(CheckpointRow::as_select())
        .first(c)
        .optional())?;
    row.map(CheckpointRow::into_model).transpose()
}

/// Up to `limit` of a tenant's checkpoints with `after < n <= upto`, in `n` order.
pub fn checkpoints(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<AuditCheckpoint>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<CheckpointRow> = dispatch!(conn, |c| audit_checkpoints::table
        .filter(audit_checkpoints::tenant_id.eq(&t))
        .filter(audit_checkpoints::n.gt(after))
        .filter(audit_checkpoints::n.le(upto))
        .order(audit_checkpoints::n.asc())
        .limit(limit)
        .select(CheckpointRow::as_select())
        .load(c))?;
    rows.into_iter().map(CheckpointRow::into_model).collect()
}

/// Appends a checkpoint; one with the same tenant and `n` (another replica sealed first) is a
/// [`StoreError::Conflict`].
pub fn insert_checkpoint(conn: &mut Conn<'_>, checkpoint: &AuditCheckpoint) -> Result<(), StoreError> {
    let row = CheckpointRow::from_model(checkpoint);
    dispatch!(conn, |c| diesel::insert_into(audit_checkpoints::table).values(&row).execute(c))?;
    Ok(())
}

/// A time range on a log's time column; `None` ends are open. Both ends are inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// One keyset page of a log export: up to `limit` of a tenant's rows matching `filter` and
/// `range` (on `timestamp`) with `after < seq <= upto`, in `seq` order (the trail's order), each
/// with its `seq` (the next page's `after`). Uses the `(tenant_id, seq)` index, never OFFSET.
pub fn export_page(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &AuditFilter,
    range: TimeRange,
    after: i64,
    upto: i64,
    limit: i64,
) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<(i64, AuditLogRow)> = dispatch!(conn, |c| {
        let mut q = audit_logs::table
            .filter(audit_logs::tenant_id.eq(&t))
            .filter(audit_logs::seq.gt(after))
            .filter(audit_logs::seq.le(upto))
            .into_boxed();
        if let Some(v) = &filter.action {
            q = q.filter(audit_logs::action.eq(v));
        }
        if let Some(v) = &filter.resource_type {
            q = q.filter(audit_logs::resource_type.eq(v));
        }
        if let Some(v) = &filter.resource_id {
            q = q.filter(audit_logs::resource_id.eq(v));
        }
        if let Some(v) = &filter.actor_id {
            q = q.filter(audit_logs::actor_id.eq(v));
        }
        if let Some(from) = range.from {
            q = q.filter(audit_logs::timestamp.ge(to_db(from)));
        }
        if let Some(to) = range.to {
            q = q.filter(audit_logs::timestamp.le(to_db(to)));
        }
        q.order(audit_logs::seq.asc())
            .limit(limit)
            .select((audit_logs::seq, AuditLogRow::as_select()))
            .load(c)
    })?;
    rows.into_iter().map(|(seq, row)| Ok((seq, row.into_model()?))).collect()
}

/// A tenant's audit rows about any of `resource_ids`, oldest first (in `seq` order).
pub fn about(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    resource_ids: &[String],
) -> Result<Vec<AuditEntry>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<AuditLogRow> = dispatch!(conn, |c| audit_logs::table
        .filter(audit_logs::tenant_id.eq(&t).and(audit_logs::resource_id.eq_any(resource_ids)))
        .order(audit_logs::seq.asc())
        .select(AuditLogRow::as_select())
        .load(c))?;
    rows.into_iter().map(AuditLogRow::into_model).collect()
}
