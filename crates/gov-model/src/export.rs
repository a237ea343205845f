//! Exports of evidence (seed 000 §7.1 step 7): what was exported, in which form, sealed with
//! which key; and the deployment's signing keys.

use crate::enums::str_enum;
use crate::{ExportId, IncidentId, RunId, TenantId, Timestamp};

str_enum!(
    /// What an export holds.
    ExportKind {
        Evidence = "evidence",
        Soc2 = "soc2",
        ExecutiveDebrief = "executive_debrief",
        Logs = "logs",
    }
);

str_enum!(
    /// The form of an export's body.
    ExportFormat {
        Json = "json",
        Pdf = "pdf",
        Csv = "csv",
    }
);

impl ExportFormat {
    /// The content type its body is served with.
    pub const fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Pdf => "application/pdf",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

str_enum!(
    /// Where a signing key came from: the deployment's configuration, or generated once by gov.
    KeySource {
        Configured = "configured",
        Generated = "generated",
    }
);

/// The record of one export (its bytes are read separately). Immutable once written.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceExport {
    pub export_id: ExportId,
    pub tenant_id: TenantId,
    pub kind: ExportKind,
    pub format: ExportFormat,
    pub incident_id: Option<IncidentId>,
    pub run_id: Option<RunId>,
    /// The id of the signed document (a bundle's `bundle_id`, a log export's manifest id).
    pub bundle_id: String,
    pub bundle_hash: String,
    pub key_id: String,
    pub content_type: String,
    /// Size of the artifact served (for a log export: of its streamed body).
    pub size_bytes: i64,
    pub created_by: String,
    pub created_at: Timestamp,
    pub reason: Option<String>,
}

/// A public key that signs, or once signed, this deployment's exports. The private half never
/// leaves the store except to sign.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    pub key_id: String,
    /// 64 hex characters.
    pub public_key: String,
    pub source: KeySource,
    pub created_at: Timestamp,
}
