//! Evidence an auditor can verify without trusting the server (seed 000 GAP-004, GAP-005,
//! GAP-008): the records of an incident and its run go in, a canonical, hashed and signed bundle
//! comes out; `verify` checks such a bundle with nothing but its bytes and a public key. The
//! server and `gov verify` run this same code.
//!
//! Pure: no clock, no randomness, no I/O. Ids, times and key material come from the caller.

pub mod build;
pub mod bundle;
pub mod canonical;
pub mod chain;
mod debrief;
pub mod fixture;
pub mod manifest;
pub mod sign;
pub mod soc2;
pub mod verify;

pub use build::{EvidenceRecords, Generation, evidence_bundle, executive_debrief, soc2_bundle};
pub use bundle::*;
pub use debrief::{cost_stopped_cents, run_cost_stopped_cents};
pub use manifest::{ExportReport, LogExportManifest, MANIFEST_SCHEMA, verify_export};
pub use sign::{KeyError, PublicKey, Sealed, SigningKey, bundle_hash, seal};
pub use soc2::{DEFAULT_SOC2_CONTROLS, Soc2Control};
pub use verify::{VerifyFailure, VerifyReport, verify_bundle};
