//! PDF reports rendered from sealed evidence bundles: the SOC2 report and the executive
//! debrief. Bundle in, PDF bytes out; the font is embedded in the binary, so nothing needs to be
//! installed. Every page's footer names the bundle hash and the signing key's id, and the PDF's
//! document information names the hash again (`/Keywords bundle_hash=<hex>`), which
//! `named_bundle_hash` reads back.

mod chain_check;
mod debrief;
mod pdf;
mod rewrite;
mod soc2;
pub mod text;

use gov_evidence::{ExecutiveDebriefBundle, Integrity, SOC2Bundle};

pub use chain_check::{ChainResult, recompute as recompute_chain};
pub use pdf::{Block, Row, Table};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the PDF could not be rendered: {0}")]
    Render(String),
}

/// The SOC2 report of `bundle`, sealed as `integrity`.
pub fn render_soc2_pdf(bundle: &SOC2Bundle, integrity: &Integrity) -> Result<Vec<u8>, RenderError> {
    let e = &bundle.evidence;
    let frame = pdf::Frame {
        title: format!("SOC2 evidence report: {}", e.incident.title),
        subject: format!("SOC2 evidence of incident {} (bundle {})", e.incident_id, e.bundle_id),
        bundle_hash: integrity.bundle_hash.clone(),
        key_id: integrity.key_id.clone(),
        generated_at: e.generated_at.clone(),
        creator: format!("gov {}", e.gov_version),
    };
    pdf::render(&frame, &soc2_blocks(bundle, integrity))
}

/// The executive debrief of `bundle` (one or two pages), sealed as `integrity`.
pub fn render_executive_debrief_pdf(
    bundle: &ExecutiveDebriefBundle,
    integrity: &Integrity,
) -> Result<Vec<u8>, RenderError> {
    let e = &bundle.evidence;
    let frame = pdf::Frame {
        title: format!("Executive debrief: {}", e.incident.title),
        subject: format!("Executive debrief of incident {} (bundle {})", e.incident_id, e.bundle_id),
        bundle_hash: integrity.bundle_hash.clone(),
        key_id: integrity.key_id.clone(),
        generated_at: e.generated_at.clone(),
        creator: format!("gov {}", e.gov_version),
    };
    pdf::render(&frame, &debrief_blocks(bundle, integrity))
}

/// The content of the SOC2 report, before layout (what the tests read).
pub fn soc2_blocks(bundle: &SOC2Bundle, integrity: &Integrity) -> Vec<Block> {
    soc2::blocks(bundle, integrity)
}

/// The content of the executive debrief, before layout.
pub fn debrief_blocks(bundle: &ExecutiveDebriefBundle, integrity: &Integrity) -> Vec<Block> {
    debrief::blocks(bundle, integrity)
}

/// The bundle hash a PDF rendered here names (read back from the PDF's document information),
/// if any. Bytes that are not a PDF, or a PDF without the marker, give `None`.
pub fn named_bundle_hash(pdf: &[u8]) -> Option<String> {
    text::hash_in_keywords(&rewrite::keywords(pdf)?)
}
