//! The bundle documents (seed 000 GAP-008 names): what an export contains, field by field.
//!
//! Every id is its string form and every time the chain's one spelling (UTC, microseconds, `Z`,
//! see `chain::canonical_time`), so a bundle parsed back and re-encoded gives the same canonical
//! bytes. A signed document is the bundle's JSON object with one more member, `integrity`, which
//! the canonical hash leaves out.

use serde::{Deserialize, Serialize};

/// The `format` member of every evidence bundle this version writes.
pub const BUNDLE_FORMAT: &str = "gov.evidence-bundle/v1";

/// Which of the three exports a bundle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BundleKind {
    Evidence,
    Soc2,
    ExecutiveDebrief,
}

/// The status marker of one step in an evidence bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Nothing fired.
    Ok,
    /// A NEAR signal (alert only) was raised at this step.
    Near,
    /// A breach was found at this step (a WARN, or a breach recorded in shadow mode).
    Breach,
    /// The step at which the run was stopped: the trace's inflection point.
    InflectionPoint,
}

/// One step of the trace with everything its chain hash covers, so a verifier can recompute it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStepEvidence {
    pub step_index: i64,
    pub step_type: String,
    pub timestamp: String,
    pub level: String,
    pub source: String,
    pub tokens: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_cents: f64,
    pub duration_ms: i64,
    pub model: Option<String>,
    pub retrieved_documents: i64,
    pub content_hash: Option<String>,
    /// ALLOW, WARN or BLOCK.
    pub decision: String,
    pub decision_policy_id: Option<String>,
    pub decision_reason: Option<String>,
    pub prev_hash: String,
    pub chain_hash: String,
    pub status: StepStatus,
}

/// The trace a bundle's steps belong to: what the chain must end at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEvidence {
    pub trace_id: String,
    pub run_id: String,
    pub status: String,
    pub step_count: i64,
    /// The hash the first step chains to (bound to the trace id).
    pub genesis_hash: String,
    /// The recorded head: chain hash of the last step.
    pub head_hash: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub violation_step_index: Option<i64>,
    pub violation_timestamp: Option<String>,
    pub violation_policy_id: Option<String>,
    pub violation_reason: Option<String>,
    pub incident_id: Option<String>,
}

/// The run the incident came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvidence {
    pub run_id: String,
    pub agent_id: String,
    pub goal: Option<String>,
    pub human_actor_id: Option<String>,
    pub api_key_id: Option<String>,
    pub status: String,
    pub termination_reason: Option<String>,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub tokens_used: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost_cents: f64,
    pub step_count: i64,
    pub stopped_at_step: Option<i64>,
    pub violation_policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub trace_id: String,
    pub policy_snapshot_id: String,
    pub policy_snapshot_hash: String,
}

/// The policy a breach violated, as the snapshot the run was judged against states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViolatedPolicy {
    pub policy_id: String,
    pub name: String,
    pub version: i32,
    pub rule_type: String,
    pub violation_type: String,
    /// The limit that was crossed, when the rule has one.
    pub threshold: Option<f64>,
    pub metric: Option<String>,
    /// WARN, PAUSE, STOP or KILL.
    pub action: String,
    pub severity: String,
}

/// The policy state a run was judged against (seed GAP-006) and what it violated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyContext {
    pub snapshot_id: String,
    /// The snapshot's canonical texts, exactly as stored; `content_hash` is taken over them.
    pub policies_json: String,
    pub thresholds_json: String,
    pub content_hash: String,
    pub policy_count: i32,
    pub snapshot_created_at: String,
    /// MOST_RESTRICTIVE, EXPLICIT_PRIORITY or FAIL_CLOSED.
    pub conflict_strategy: String,
    pub violated_policy: Option<ViolatedPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEventEvidence {
    pub event: String,
    pub actor: String,
    pub detail: String,
    pub timestamp: String,
}

impl IncidentEventEvidence {
    /// A person's answer to the incident ([`gov_model::IncidentEventKind::answers`]).
    pub fn answers(&self) -> bool {
        self.event != gov_model::IncidentEventKind::Created.as_str() && self.actor != "system"
    }

    /// The incident's opening by `system` (at the step that breached).
    pub fn opened_by_system(&self) -> bool {
        self.event == gov_model::IncidentEventKind::Created.as_str() && self.actor == "system"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentCommentEvidence {
    pub comment_id: String,
    pub author: String,
    pub content: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvidence {
    pub incident_id: String,
    pub source_run_id: Option<String>,
    pub policy_id: Option<String>,
    pub trace_id: Option<String>,
    pub severity: String,
    pub status: String,
    pub incident_type: String,
    pub title: String,
    pub description: String,
    pub step_index: Option<i64>,
    pub escalation_level: i32,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub escalated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
    pub timeline: Vec<IncidentEventEvidence>,
    pub comments: Vec<IncidentCommentEvidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreventionRecordEvidence {
    pub record_id: String,
    pub policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub step_index: i64,
    pub action: String,
    pub decision: String,
    pub violation_type: String,
    pub metric: String,
    pub current_value: Option<f64>,
    pub limit_value: Option<f64>,
    pub enforced: bool,
    pub reason: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdSignalEvidence {
    pub signal_id: String,
    pub policy_id: String,
    pub check_id: String,
    /// NEAR or BREACH.
    pub signal_type: String,
    pub metric: String,
    pub value: f64,
    pub limit_value: Option<f64>,
    pub percentage: Option<f64>,
    pub step_index: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideEvidence {
    pub override_id: String,
    pub policy_id: String,
    pub kind: String,
    pub new_limit: Option<f64>,
    pub actor: String,
    pub reason: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRecordEvidence {
    pub cost_record_id: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub step_count: i64,
    pub created_at: String,
}

/// An audit row about the run or the incident, with the row hash the audit trail sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvidence {
    pub log_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: String,
    pub details: serde_json::Value,
}

/// The generic evidence export of one incident (seed GAP-008 `EvidenceBundle`). An incident
/// without a run (a tripwire trip, the kill switch) has no run, trace, steps or policy context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBundle {
    /// `BUNDLE_FORMAT`.
    pub format: String,
    pub kind: BundleKind,
    pub bundle_id: String,
    pub tenant_id: String,
    pub incident_id: String,
    pub run_id: Option<String>,
    pub trace_id: Option<String>,
    pub incident: IncidentEvidence,
    pub run: Option<RunEvidence>,
    pub trace: Option<TraceEvidence>,
    pub steps: Vec<TraceStepEvidence>,
    pub policy_context: Option<PolicyContext>,
    pub prevention_records: Vec<PreventionRecordEvidence>,
    pub threshold_signals: Vec<ThresholdSignalEvidence>,
    pub overrides: Vec<OverrideEvidence>,
    pub cost_records: Vec<CostRecordEvidence>,
    pub audit_trail: Vec<AuditEvidence>,
    pub generated_at: String,
    /// The principal that asked for the export (`api_key:<id>`).
    pub generated_by: String,
    pub gov_version: String,
}

/// One SOC2 Trust Services Criterion and how this bundle evidences it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub struct SOC2ControlMapping {
    /// e.g. `CC7.2`.
    pub control_id: String,
    pub criterion: String,
    /// Bundle members that evidence it, as JSON pointers (e.g. `/steps`, `/incident/timeline`).
    pub evidence: Vec<String>,
    pub satisfied: bool,
    /// Why it is or is not satisfied, in one sentence.
    pub rationale: String,
}

/// The SOC2 export: the evidence bundle plus control mappings and an attestation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
pub struct SOC2Bundle {
    #[serde(flatten)]
    pub evidence: EvidenceBundle,
    pub control_mappings: Vec<SOC2ControlMapping>,
    pub attestation_statement: String,
    /// The period the evidence covers: from the run's start (or the incident) to its end.
    pub period_start: String,
    pub period_end: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessImpact {
    pub tokens_spent: i64,
    pub cost_spent_cents: f64,
    /// What prevention kept from being spent (defined in docs/EVIDENCE.md).
    pub cost_stopped_cents: f64,
    /// From the run's start to the step that stopped it.
    pub seconds_to_stop: Option<f64>,
    pub runs_affected: i64,
    pub agents_affected: Vec<String>,
}

/// The leadership summary: plain language, derived from the evidence it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutiveDebriefBundle {
    #[serde(flatten)]
    pub evidence: EvidenceBundle,
    pub incident_summary: String,
    pub business_impact: BusinessImpact,
    /// low, medium, high or critical.
    pub risk_level: String,
    pub recommended_actions: Vec<String>,
}

/// The `integrity` member of a signed document: how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    /// `gov-jcs-v1`: the canonical JSON rules of `canonical.rs`.
    pub canonicalization: String,
    /// `blake3`.
    pub hash_algorithm: String,
    /// Lowercase hex blake3 of the canonical JSON of the document without `integrity`.
    pub bundle_hash: String,
    /// `ed25519`.
    pub signature_algorithm: String,
    /// Fingerprint of the public key (see `sign.rs`).
    pub key_id: String,
    /// Lowercase hex of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Lowercase hex of the 64-byte signature (see `sign.rs` for the signed message).
    pub signature: String,
}
