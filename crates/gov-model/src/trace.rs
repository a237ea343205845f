//! Traces (seed 000 §12.2, §12.5, GAP-003): the hash-chained evidence of a run.

use crate::enums::str_enum;
use crate::{IncidentId, PolicyId, RunId, StepId, TenantId, Timestamp, TraceId};

/// The summary row of a trace. Its inflection fields are set once, at the breach.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub run_id: RunId,
    pub tenant_id: TenantId,
    /// `running` until the run ends, then the run's final status.
    pub status: String,
    pub step_count: i64,
    pub is_synthetic: bool,
    pub agent_id: String,
    pub started_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub violation_step_index: Option<i64>,
    pub violation_timestamp: Option<Timestamp>,
    pub violation_policy_id: Option<PolicyId>,
    pub violation_reason: Option<String>,
    pub incident_id: Option<IncidentId>,
    /// Chain hash of the last step (the known head).
    pub head_hash: String,
}

str_enum!(
    /// What a step is answered (seed 000 §5.1): it goes on (ALLOW), goes on with a warning (WARN:
    /// a WARN breach or a NEAR), or is refused (BLOCK: a breach whose action blocks).
    Outcome {
        Allow = "ALLOW",
        Warn = "WARN",
        Block = "BLOCK",
    }
);

str_enum!(
    /// How the agent rated a step it reported.
    StepLevel {
        Debug = "debug",
        Info = "info",
        Warn = "warn",
        Error = "error",
    }
);

/// One recorded step. Rows are immutable: database triggers refuse UPDATE and DELETE.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceStep {
    pub step_id: StepId,
    pub trace_id: TraceId,
    pub run_id: RunId,
    pub tenant_id: TenantId,
    /// 1-based, gapless within the trace.
    pub step_index: i64,
    pub step_type: String,
    pub level: StepLevel,
    pub source: String,
    pub timestamp: Timestamp,
    pub tokens: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_cents: f64,
    pub duration_ms: i64,
    pub model: Option<String>,
    pub retrieved_documents: i64,
    /// blake3 of the step's content (the content itself is not stored).
    pub content_hash: Option<String>,
    pub decision: Outcome,
    /// The policy that decided a WARN or BLOCK.
    pub decision_policy_id: Option<PolicyId>,
    pub decision_reason: Option<String>,
    pub prev_hash: String,
    pub chain_hash: String,
}

/// How far a trace's chain has been verified (`trace_verifications`): at `verified_at` every step
/// up to `verified_through_step` was found linked from the genesis, and that step's hash was
/// `head_hash`. Only ever moves forward; a broken chain never moves it.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceVerification {
    pub verified_through_step: i64,
    pub head_hash: String,
    pub verified_at: Timestamp,
}
