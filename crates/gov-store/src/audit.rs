//! The audit trail: one row per change, written in the same transaction as the change.

use diesel::prelude::*;
use gov_model::{Actor, AuditEntry, AuditLogId, NewAuditEntry, Page, PageRequest, TenantId, Timestamp};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::audit_log::AuditLogRow;
use crate::schema::audit_logs;
use crate::{Conn, StoreError};

/// Narrows an audit listing; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
}

/// Appends one audit row. `actor.request_id`, when known, is kept in `details.request_id`.
pub fn record(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    actor: &Actor,
    entry: NewAuditEntry,
    now: Timestamp,
) -> Result<AuditLogId, StoreError> {
    let id = AuditLogId::new();
    let mut details = entry.details;
    if let (Some(request_id), Some(map)) = (&actor.request_id, details.as_object_mut()) {
        map.insert("request_id".to_owned(), serde_json::Value::String(request_id.clone()));
    }
    let row = AuditLogRow {
        log_id: id.to_string(),
        tenant_id: tenant.to_string(),
        actor_id: actor.id.clone(),
        action: entry.action.to_owned(),
        resource_type: entry.resource_type.to_owned(),
        resource_id: entry.resource_id,
        timestamp: to_db(now),
        details: details.to_string(),
    };
    dispatch!(conn, |c| diesel::insert_into(audit_logs::table).values(&row).execute(c))?;
    Ok(id)
}

/// A tenant's audit rows, newest first.
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>, StoreError> {
    let t = tenant.to_string();
    let (rows, total): (Vec<AuditLogRow>, i64) = dispatch!(conn, |c| {
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
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
            .limit(page.limit())
            .offset(page.offset())
            .select(AuditLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(AuditLogRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page { items, total, request: page })
}
