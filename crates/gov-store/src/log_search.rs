//! Read-only searches over the audit trail and the trace summaries for the unified Logs view
//! (`/logs/`, `/logs/search`). Each is bounded by tenant and ordered newest first on the
//! `(tenant_id, time, id)` indexes; text is matched inside that bound.

use diesel::prelude::*;
use gov_model::{AuditEntry, AuditLogId, TenantId, TraceId, TraceSummary};

use crate::audit::TimeRange;
use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::audit_log::AuditLogRow;
use crate::models::trace::TraceRow;
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

/// Up to `limit` of a tenant's audit rows matching `f`, newest first after `offset`, and how many
/// match.
pub fn audit(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    f: &AuditSearch,
    offset: i64,
    limit: i64,
) -> Result<(Vec<AuditEntry>, i64), StoreError> {
    let t = tenant.to_string();
    let from = f.range.from.map(to_db);
    let to = f.range.to.map(to_db);
    let mentions: Vec<(String, String)> =
        f.mentions.iter().map(|m| (m.clone(), contains_pattern(m))).collect();
    let text = f.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total): (Vec<AuditLogRow>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = audit_logs::table.filter(audit_logs::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = from {
                q = q.filter(audit_logs::timestamp.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(audit_logs::timestamp.le(v));
            }
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
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
            .limit(limit)
            .offset(offset)
            .select(AuditLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(AuditLogRow::into_model).collect::<Result<_, _>>()?;
    Ok((items, total))
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

/// Up to `limit` of a tenant's trace summaries matching `f`, newest first (`started_at`) after
/// `offset`, and how many match.
pub fn traces(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    f: &TraceSearch,
    offset: i64,
    limit: i64,
) -> Result<(Vec<TraceSummary>, i64), StoreError> {
    let t = tenant.to_string();
    let from = f.range.from.map(to_db);
    let to = f.range.to.map(to_db);
    let text = f.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total): (Vec<TraceRow>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = aos_traces::table.filter(aos_traces::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = from {
                q = q.filter(aos_traces::started_at.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(aos_traces::started_at.le(v));
            }
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
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((aos_traces::started_at.desc(), aos_traces::trace_id.desc()))
            .limit(limit)
            .offset(offset)
            .select(TraceRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(TraceRow::into_model).collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// One trace summary of the tenant by id.
pub fn trace(conn: &mut Conn<'_>, tenant: TenantId, id: TraceId) -> Result<TraceSummary, StoreError> {
    crate::traces::get(conn, tenant, id)
}
