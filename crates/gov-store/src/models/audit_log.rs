//! Rows of `audit_logs` and `audit_checkpoints` (append-only: triggers refuse UPDATE, DELETE and,
//! on PostgreSQL, TRUNCATE).

use diesel::prelude::*;
use gov_model::{AuditCheckpoint, AuditEntry, AuditRecord};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, json, parse, to_db};
use crate::schema::{audit_checkpoints, audit_logs};

/// The listing's view of a row.
#[derive(Queryable, Selectable)]
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

/// A new row, without `seq` (the database or the writer assigns it).
#[derive(Insertable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct NewAuditLogRow {
    pub log_id: String,
    pub tenant_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: PrimitiveDateTime,
    pub details: String,
    pub row_hash: String,
}

/// A new row with its `seq`, for SQLite (PostgreSQL numbers rows itself).
#[derive(Insertable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::sqlite::Sqlite))]
pub(crate) struct NumberedAuditLogRow {
    #[diesel(embed)]
    pub row: NewAuditLogRow,
    pub seq: i64,
}

/// A row as stored, for hashing and verification.
#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AuditRecordRow {
    pub seq: i64,
    pub log_id: String,
    pub tenant_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: PrimitiveDateTime,
    pub details: String,
    pub row_hash: Option<String>,
}

impl AuditRecordRow {
    pub fn into_model(self) -> Result<AuditRecord, StoreError> {
        Ok(AuditRecord {
            seq: self.seq,
            tenant_id: parse("audit_logs.tenant_id", &self.tenant_id)?,
            log_id: self.log_id,
            actor_id: self.actor_id,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            timestamp: from_db(self.timestamp),
            details: self.details,
            row_hash: self.row_hash,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_checkpoints, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct CheckpointRow {
    pub tenant_id: String,
    pub n: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    pub row_count: i64,
    pub rows_digest: String,
    pub prev_hash: String,
    pub checkpoint_hash: String,
    pub created_at: PrimitiveDateTime,
}

impl CheckpointRow {
    pub fn from_model(c: &AuditCheckpoint) -> CheckpointRow {
        CheckpointRow {
            tenant_id: c.tenant_id.to_string(),
            n: c.n,
            from_seq: c.from_seq,
            to_seq: c.to_seq,
            row_count: c.row_count,
            rows_digest: c.rows_digest.clone(),
            prev_hash: c.prev_hash.clone(),
            checkpoint_hash: c.checkpoint_hash.clone(),
            created_at: to_db(c.created_at),
        }
    }

    pub fn into_model(self) -> Result<AuditCheckpoint, StoreError> {
        Ok(AuditCheckpoint {
            tenant_id: parse("audit_checkpoints.tenant_id", &self.tenant_id)?,
            n: self.n,
            from_seq: self.from_seq,
            to_seq: self.to_seq,
            row_count: self.row_count,
            rows_digest: self.rows_digest,
            prev_hash: self.prev_hash,
            checkpoint_hash: self.checkpoint_hash,
            created_at: from_db(self.created_at),
        })
    }
}
