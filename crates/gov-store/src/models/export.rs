//! Rows of `evidence_exports` and `signing_keys` (append-only: triggers refuse UPDATE, DELETE
//! and, on PostgreSQL, TRUNCATE).

use diesel::prelude::*;
use gov_model::{EvidenceExport, SigningKeyRecord};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, parse, parse_opt, to_db};
use crate::schema::{evidence_exports, signing_keys};

/// An export's record, without its bytes.
#[derive(Queryable, Selectable)]
#[diesel(table_name = evidence_exports, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ExportRow {
    pub export_id: String,
    pub tenant_id: String,
    pub kind: String,
    pub format: String,
    pub incident_id: Option<String>,
    pub run_id: Option<String>,
    pub bundle_id: String,
    pub bundle_hash: String,
    pub key_id: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_by: String,
    pub created_at: PrimitiveDateTime,
    pub reason: Option<String>,
}

impl ExportRow {
    pub fn into_model(self) -> Result<EvidenceExport, StoreError> {
        Ok(EvidenceExport {
            export_id: parse("evidence_exports.export_id", &self.export_id)?,
            tenant_id: parse("evidence_exports.tenant_id", &self.tenant_id)?,
            kind: parse("evidence_exports.kind", &self.kind)?,
            format: parse("evidence_exports.format", &self.format)?,
            incident_id: parse_opt("evidence_exports.incident_id", self.incident_id)?,
            run_id: parse_opt("evidence_exports.run_id", self.run_id)?,
            bundle_id: self.bundle_id,
            bundle_hash: self.bundle_hash,
            key_id: self.key_id,
            content_type: self.content_type,
            size_bytes: self.size_bytes,
            created_by: self.created_by,
            created_at: from_db(self.created_at),
            reason: self.reason,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = evidence_exports, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct NewExportRow<'a> {
    pub export_id: String,
    pub tenant_id: String,
    pub kind: &'static str,
    pub format: &'static str,
    pub incident_id: Option<String>,
    pub run_id: Option<String>,
    pub bundle_id: &'a str,
    pub bundle_hash: &'a str,
    pub key_id: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub created_by: &'a str,
    pub created_at: PrimitiveDateTime,
    pub reason: Option<&'a str>,
    pub artifact: Option<&'a [u8]>,
    pub document: &'a [u8],
}

impl<'a> NewExportRow<'a> {
    pub fn from_model(e: &'a EvidenceExport, artifact: Option<&'a [u8]>, document: &'a [u8]) -> Self {
        Self {
            export_id: e.export_id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            kind: e.kind.as_str(),
            format: e.format.as_str(),
            incident_id: e.incident_id.map(|i| i.to_string()),
            run_id: e.run_id.map(|r| r.to_string()),
            bundle_id: &e.bundle_id,
            bundle_hash: &e.bundle_hash,
            key_id: &e.key_id,
            content_type: &e.content_type,
            size_bytes: e.size_bytes,
            created_by: &e.created_by,
            created_at: to_db(e.created_at),
            reason: e.reason.as_deref(),
            artifact,
            document,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SigningKeyRow {
    pub key_id: String,
    pub public_key: String,
    pub private_key: Option<String>,
    pub source: String,
    pub created_at: PrimitiveDateTime,
}

impl SigningKeyRow {
    pub fn into_model(self) -> Result<SigningKeyRecord, StoreError> {
        Ok(SigningKeyRecord {
            key_id: self.key_id,
            public_key: self.public_key,
            source: parse("signing_keys.source", &self.source)?,
            created_at: from_db(self.created_at),
        })
    }
}
