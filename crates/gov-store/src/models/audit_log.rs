//! A row of `audit_logs` (append-only: triggers refuse UPDATE and DELETE).

use diesel::prelude::*;
use gov_model::AuditEntry;
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, json, parse};
use crate::schema::audit_logs;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AuditLogRow {
    pub log_id: String,
    pub tenant_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: PrimitiveDateTime,
    pub details: String,
}

impl AuditLogRow {
    pub fn into_model(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: parse("audit_logs.log_id", &self.log_id)?,
            tenant_id: parse("audit_logs.tenant_id", &self.tenant_id)?,
            details: json("audit_logs.details", &self.details)?,
            actor_id: self.actor_id,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            timestamp: from_db(self.timestamp),
        })
    }
}
