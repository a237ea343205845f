//! Offline verification of a signed bundle: signature, canonical hash, every step's hash and
//! link, the snapshot text against its hash, and the cross-links between incident, run, policy
//! and trace. The first bad item is named.

use crate::sign::PublicKey;

/// What a successful verification found (the one-screen summary of `gov verify`).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub kind: crate::BundleKind,
    pub bundle_id: String,
    pub bundle_hash: String,
    pub key_id: String,
    /// False when no key was pinned and the embedded key was used.
    pub key_pinned: bool,
    pub incident_id: String,
    pub run_id: Option<String>,
    pub step_count: usize,
    pub inflection_step: Option<i64>,
    /// One line per check that passed.
    pub checks: Vec<String>,
}

/// The first item that does not hold, e.g. `step 7: hash does not match its content`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{item}: {problem}")]
pub struct VerifyFailure {
    pub item: String,
    pub problem: String,
}

pub fn verify_bundle(_document: &[u8], _pinned: Option<&PublicKey>) -> Result<VerifyReport, VerifyFailure> {
    unimplemented!("issue 9: gov-evidence verifier")
}
