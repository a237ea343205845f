//! The manifest of a streamed log export: what was exported, how many rows, and the blake3 of
//! the exact body bytes, sealed like a bundle. `verify_export` checks a body against it offline.

use crate::VerifyFailure;
use crate::sign::PublicKey;

/// What a successful check of a log export found.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    pub export_id: String,
    pub topic: String,
    pub format: String,
    pub row_count: u64,
    pub body_blake3: String,
    pub key_id: String,
    pub key_pinned: bool,
}

/// Checks `body` (the downloaded CSV or JSON) against the signed `manifest` document.
pub fn verify_export(
    _manifest: &[u8],
    _body: &[u8],
    _pinned: Option<&PublicKey>,
) -> Result<ExportReport, VerifyFailure> {
    unimplemented!("issue 9: log export manifest")
}
