//! Evidence exports on the wire: the request to export, an export's record, the O5 evidence view
//! and the deployment's public keys.

use gov_model::{EvidenceExport, SigningKeyRecord};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// The optional body of an export request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportBundleRequest {
    /// Why the export is made (kept in the export's record and its audit row).
    #[schema(value_type = Option<crate::schema::Text1000>)]
    pub reason: Option<String>,
}

/// The record of one export. Immutable once written.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportBundleResponse {
    pub export_id: String,
    /// evidence, soc2, executive_debrief or logs.
    pub kind: String,
    /// json, pdf or csv.
    pub format: String,
    pub incident_id: Option<String>,
    pub run_id: Option<String>,
    /// The id of the signed document (a bundle's `bundle_id`, a log export's manifest id).
    pub bundle_id: String,
    /// blake3 of the signed document's canonical JSON without `integrity` (64 hex digits).
    pub bundle_hash: String,
    /// The signing key's id: the first 16 hex digits of blake3 over its public key.
    pub key_id: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub reason: Option<String>,
    /// The bytes served by the export (a log export: its manifest), byte-identical every time.
    pub url: String,
    /// The signed JSON document (for a PDF, the bundle it was rendered from).
    pub document_url: String,
}

impl From<EvidenceExport> for ExportBundleResponse {
    fn from(e: EvidenceExport) -> Self {
        let url = format!("/api/v1/exports/{}", e.export_id);
        Self {
            export_id: e.export_id.to_string(),
            kind: e.kind.as_str().to_owned(),
            format: e.format.as_str().to_owned(),
            incident_id: e.incident_id.map(|i| i.to_string()),
            run_id: e.run_id.map(|r| r.to_string()),
            bundle_id: e.bundle_id,
            bundle_hash: e.bundle_hash,
            key_id: e.key_id,
            content_type: e.content_type,
            size_bytes: e.size_bytes,
            created_by: e.created_by,
            created_at: e.created_at,
            reason: e.reason,
            document_url: format!("{url}/document"),
            url,
        }
    }
}

/// O5 (seed §8.5): the evidence of an incident or a run, and how to export it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceViewOut {
    pub source: SourceRef,
    pub incident_id: Option<String>,
    pub run_id: Option<String>,
    /// The trace, with one page of its steps (`?page`, `?page_size`); `null` for an incident
    /// without a run.
    pub trace: Option<TraceEvidenceOut>,
    /// The exports made of it, newest first (at most 200; `GET /api/v1/exports/` lists all).
    pub exports: Vec<ExportLink>,
    /// The exports one can make of it now.
    pub available: Vec<AvailableExport>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceRef {
    pub id: String,
    /// incident or run.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TraceEvidenceOut {
    pub trace_id: String,
    pub status: String,
    pub step_count: i64,
    /// Chain hash of the last step.
    pub head_hash: String,
    pub steps: Vec<StepRef>,
    pub pagination: crate::envelope::Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepRef {
    pub step_number: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(rename = "type")]
    pub step_type: String,
    /// ALLOW, WARN or BLOCK.
    pub decision: String,
    pub chain_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportLink {
    pub export_id: String,
    pub kind: String,
    pub format: String,
    pub url: String,
    pub bundle_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<&EvidenceExport> for ExportLink {
    fn from(e: &EvidenceExport) -> Self {
        Self {
            export_id: e.export_id.to_string(),
            kind: e.kind.as_str().to_owned(),
            format: e.format.as_str().to_owned(),
            url: format!("/api/v1/exports/{}", e.export_id),
            bundle_hash: e.bundle_hash.clone(),
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailableExport {
    pub method: String,
    pub url: String,
    pub format: String,
    pub kind: String,
}

/// The key that signs this deployment's exports, and the keys that signed before it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyOut {
    /// ed25519.
    pub algorithm: String,
    pub key_id: String,
    /// The 32-byte public key, 64 hex digits.
    pub public_key: String,
    /// configured (GOV_SIGNING_KEY, GOV_SIGNING_KEY_FILE) or generated (once, kept in the database).
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Keys that signed earlier exports, oldest first.
    pub previous_keys: Vec<PreviousKey>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviousKey {
    pub algorithm: String,
    pub key_id: String,
    pub public_key: String,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<SigningKeyRecord> for PreviousKey {
    fn from(k: SigningKeyRecord) -> Self {
        Self {
            algorithm: gov_evidence::sign::SIGNATURE_ALGORITHM.to_owned(),
            key_id: k.key_id,
            public_key: k.public_key,
            source: k.source.as_str().to_owned(),
            created_at: k.created_at,
        }
    }
}

impl PublicKeyOut {
    pub fn new(current: SigningKeyRecord, older: Vec<SigningKeyRecord>) -> Self {
        Self {
            algorithm: gov_evidence::sign::SIGNATURE_ALGORITHM.to_owned(),
            key_id: current.key_id,
            public_key: current.public_key,
            source: current.source.as_str().to_owned(),
            created_at: current.created_at,
            previous_keys: older.into_iter().map(PreviousKey::from).collect(),
        }
    }
}
