//! Read-only searches over the audit trail and the trace summaries for the unified Logs view
//! (`/logs/`, `/logs/search`). Each reads one page of one topic by keyset: bounded by tenant and
//! ordered newest first on the `(tenant_id, time, id)` indexes, after the page's cursor, with a
//! capped count. Substring filters (and audit `actor_id`, `resource_type`, system `level`,
//! `source`, `event`) cannot use an index, so a search with one examines at most
//! [`SCAN_ROWS`] rows of the range per page instead of counting.

use diesel::prelude::*;
use gov_model::{
    AuditEntry, AuditLogId, SortDirection, Source, TenantId, TimeKey, Total, TraceId, TraceSummary,
};

use crate::audit::TimeRange;
use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::audit_log::AuditLogRow;
use crate::models::trace::TraceRow;
use crate::paging::{after_cursor, capped_total, db_key, not_older, time_key};
use crate::schema::{aos_traces, audit_logs};
use crate::system_logs::contains_pattern;
use crate::{Conn, StoreError};

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `lower(text)` of a nullable column.
    #[sql_name = "lower"]
    fn lower_opt(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Rows of its range a search with a filter no index serves examines per topic and page.
/// `LIKE '%…%'` cannot use an index, so a rare needle would otherwise read every row of the
/// tenant's topic; the page stops at the last row examined and the next one goes on from there.
/// About 10 ms of SQLite per topic on a million-row tenant.
pub const SCAN_ROWS: i64 = 2_000;

/// Which stretch of one topic a page of a log search reads, newest first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice {
    /// Only rows older than this position (the previous page's last row).
    pub after: Option<TimeKey>,
    /// Matching rows to skip (`?page=N`), then at most `limit` to read.
    pub offset: i64,
    pub limit: i64,
}

/// The total of a bounded scan, which does not count: exact only when it read every match.
pub(crate) fn scanned_total(slice: &Slice, floor: bool, read: usize) -> Total {
    let read = read as i64;
    let whole = slice.after.is_none() && !floor && read < slice.limit && (read > 0 || slice.offset == 0);
    if whole { Total::Exact(slice.offset + read) } else { Total::AtLeast(0) }
}

/// Narrows the audit rows of a log search; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AuditSearch {
    pub range: TimeRange,
    pub actor_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Ids (run, incident) the row must name: as its `resource_id` or inside `details`.
    pub mentions: Vec<String>,
    /// Case-insensitive substring of `action`, `resource_type`, `resource_id` or `details`.
    pub text: Option<String>,
}

impl AuditSearch {
    /// Whether a filter no index serves narrows the rows: substrings, and `actor_id` or
    /// `resource_type` unless `resource_id` (indexed) picks the rows already.
    fn scans(&self) -> bool {
        !self.mentions.is_empty()
            || self.text.is_some()
            || (self.resource_id.is_none() && (self.actor_id.is_some() || self.resource_type.is_some()))
    }
}

/// One page of a tenant's audit rows matching `f`, newest first.
pub fn audit(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    f: &AuditSearch,
    slice: Slice,
) -> Result<Source<AuditEntry>, StoreError> {
    let t = tenant.to_string();
    let from = f.range.from.map(to_db);
    let to = f.range.to.map(to_db);
    let after = slice.after.map(db_key);
    let scan = f.scans();
    let mentions: Vec<(String, String)> =
        f.mentions.iter().map(|m| (m.clone(), contains_pattern(m))).collect();
    let text = f.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total, floor) = dispatch!(conn, |c| {
        let range = || {
            let mut q = audit_logs::table.filter(audit_logs::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = from {
                q = q.filter(audit_logs::timestamp.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(audit_logs::timestamp.le(v));
            }
            q
        };
        // The last row a bounded scan examines: an index-only walk of the range.
        let floor: Option<(time::PrimitiveDateTime, String)> = if scan {
            after_cursor!(range(), &after, SortDirection::Desc, audit_logs::timestamp, audit_logs::log_id)
                .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
                .select((audit_logs::timestamp, audit_logs::log_id))
                .offset(SCAN_ROWS - 1)
                .first(c)
                .optional()?
        } else {
            None
        };
        let filtered = || {
            let mut q = range();
            if let Some(v) = &f.actor_id {
                q = q.filter(audit_logs::actor_id.eq(v));
            }
            if let Some(v) = &f.resource_type {
                q = q.filter(audit_logs::resource_type.eq(v));
            }
            if let Some(v) = &f.resource_id {
                q = q.filter(audit_logs::resource_id.eq(v));
            }
            for (id, p) in &mentions {
                q = q.filter(
                    audit_logs::resource_id
                        .eq(id.clone())
                        .or(audit_logs::details.like(p.clone()).escape('\\')),
                );
            }
            if let Some(p) = &text {
                q = q.filter(
                    lower(audit_logs::action)
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(audit_logs::resource_type).like(p.clone()).escape('\\'))
                        .or(lower(audit_logs::resource_id).like(p.clone()).escape('\\'))
                        .or(lower(audit_logs::details).like(p.clone()).escape('\\')),
                );
            }
            q
        };
        let total = if scan { None } else { Some(capped_total!(filtered, audit_logs::tenant_id, c)) };
        let q =
            after_cursor!(filtered(), &after, SortDirection::Desc, audit_logs::timestamp, audit_logs::log_id);
        let rows: Vec<AuditLogRow> = not_older!(q, &floor, audit_logs::timestamp, audit_logs::log_id)
            .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
            .limit(slice.limit)
            .offset(slice.offset)
            .select(AuditLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total, floor))
    })?;
    let total = total.unwrap_or_else(|| scanned_total(&slice, floor.is_some(), rows.len()));
    let floor = floor.map(|k| time_key("audit_logs.log_id", k)).transpose()?;
    let rows = rows.into_iter().map(AuditLogRow::into_model).collect::<Result<_, _>>()?;
    Ok(Source { rows, total, floor })
}

/// One audit row of the tenant by id.
pub fn audit_entry(conn: &mut Conn<'_>, tenant: TenantId, id: AuditLogId) -> Result<AuditEntry, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: AuditLogRow = dispatch!(conn, |c| audit_logs::table
        .filter(audit_logs::tenant_id.eq(&t).and(audit_logs::log_id.eq(&i)))
        .select(AuditLogRow::as_select())
        .first(c))?;
    row.into_model()
}

/// Narrows the trace summaries of a log search; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct TraceSearch {
    pub range: TimeRange,
    /// `Some(true)`: only traces with a violation; `Some(false)`: only those without.
    pub has_violation: Option<bool>,
    pub run_id: Option<String>,
    pub incident_id: Option<String>,
    /// Case-insensitive substring of `agent_id`, `status` or `violation_reason`.
    pub text: Option<String>,
}

/// One page of a tenant's trace summaries matching `f`, newest first (`started_at`).
pub fn traces(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    f: &TraceSearch,
    slice: Slice,
) -> Result<Source<TraceSummary>, StoreError> {
    let t = tenant.to_string();
    let from = f.range.from.map(to_db);
    let to = f.range.to.map(to_db);
    let after = slice.after.map(db_key);
    let scan = f.text.is_some();
    let text = f.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total, floor) = dispatch!(conn, |c| {
        let range = || {
            let mut q = aos_traces::table.filter(aos_traces::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = from {
                q = q.filter(aos_traces::started_at.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(aos_traces::started_at.le(v));
            }
            q
        };
        let floor: Option<(time::PrimitiveDateTime, String)> = if scan {
            after_cursor!(range(), &after, SortDirection::Desc, aos_traces::started_at, aos_traces::trace_id)
                .order((aos_traces::started_at.desc(), aos_traces::trace_id.desc()))
                .select((aos_traces::started_at, aos_traces::trace_id))
                .offset(SCAN_ROWS - 1)
                .first(c)
                .optional()?
        } else {
            None
        };
        let filtered = || {
            let mut q = range();
            match f.has_violation {
                Some(true) => q = q.filter(aos_traces::violation_step_index.is_not_null()),
                Some(false) => q = q.filter(aos_traces::violation_step_index.is_null()),
                None => {}
            }
            if let Some(v) = &f.run_id {
                q = q.filter(aos_traces::run_id.eq(v));
            }
            if let Some(v) = &f.incident_id {
                q = q.filter(aos_traces::incident_id.eq(v));
            }
            if let Some(p) = &text {
                q = q.filter(
                    lower(aos_traces::agent_id)
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(aos_traces::status).like(p.clone()).escape('\\'))
                        .or(lower_opt(aos_traces::violation_reason)
                            .like(p.clone())
                            .escape('\\')
                            .assume_not_null()),
                );
            }
            q
        };
        let total = if scan { None } else { Some(capped_total!(filtered, aos_traces::tenant_id, c)) };
        let q = after_cursor!(
            filtered(),
            &after,
            SortDirection::Desc,
            aos_traces::started_at,
            aos_traces::trace_id
        );
        let rows: Vec<TraceRow> = not_older!(q, &floor, aos_traces::started_at, aos_traces::trace_id)
            .order((aos_traces::started_at.desc(), aos_traces::trace_id.desc()))
            .limit(slice.limit)
            .offset(slice.offset)
            .select(TraceRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total, floor))
    })?;
    let total = total.unwrap_or_else(|| scanned_total(&slice, floor.is_some(), rows.len()));
    let floor = floor.map(|k| time_key("aos_traces.trace_id", k)).transpose()?;
    let rows = rows.into_iter().map(TraceRow::into_model).collect::<Result<_, _>>()?;
    Ok(Source { rows, total, floor })
}

/// One trace summary of the tenant by id.
pub fn trace(conn: &mut Conn<'_>, tenant: TenantId, id: TraceId) -> Result<TraceSummary, StoreError> {
    crate::traces::get(conn, tenant, id)
}
