//! PDF reports rendered from sealed evidence bundles: the SOC2 report and the executive
//! debrief. Bundle in, PDF bytes out; the font is embedded in the binary, so nothing needs to be
//! installed. Every page's footer names the bundle hash and the signing key's id.

use gov_evidence::{ExecutiveDebriefBundle, Integrity, SOC2Bundle};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the PDF could not be rendered: {0}")]
    Render(String),
}

/// The SOC2 report of `bundle`, sealed as `integrity`.
pub fn render_soc2_pdf(_bundle: &SOC2Bundle, _integrity: &Integrity) -> Result<Vec<u8>, RenderError> {
    unimplemented!("issue 9: gov-report")
}

/// The executive debrief of `bundle` (one or two pages), sealed as `integrity`.
pub fn render_executive_debrief_pdf(
    _bundle: &ExecutiveDebriefBundle,
    _integrity: &Integrity,
) -> Result<Vec<u8>, RenderError> {
    unimplemented!("issue 9: gov-report")
}

/// The bundle hash a PDF rendered here names (read back from the PDF itself), if any.
pub fn named_bundle_hash(_pdf: &[u8]) -> Option<String> {
    unimplemented!("issue 9: gov-report")
}
