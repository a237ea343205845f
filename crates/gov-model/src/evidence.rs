//! The evidence a governed run leaves besides its trace: snapshots, prevention records,
//! threshold signals, overrides, cost records and agent kills.

use crate::enums::str_enum;
use crate::{
    BreachAction, CostRecordId, IncidentId, Outcome, OverrideId, PolicyId, PolicyViolationType,
    PreventionRecordId, RunId, SignalId, SnapshotId, TenantId, Timestamp,
};

/// A frozen, hashed copy of the policies that govern a run (seed 000 GAP-006).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySnapshot {
    pub snapshot_id: SnapshotId,
    pub tenant_id: TenantId,
    pub policies_json: String,
    pub thresholds_json: String,
    pub content_hash: String,
    pub policy_count: i32,
    pub created_at: Timestamp,
}

/// One breach the prevention engine found (enforced, or recorded only in shadow mode).
#[derive(Debug, Clone, PartialEq)]
pub struct PreventionRecord {
    pub record_id: PreventionRecordId,
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub policy_id: Option<PolicyId>,
    pub incident_id: Option<IncidentId>,
    pub step_index: i64,
    pub action: BreachAction,
    /// `WARN` or `BLOCK` (what the step was answered, or would have been in shadow mode).
    pub decision: Outcome,
    pub violation_type: PolicyViolationType,
    pub metric: String,
    pub current_value: Option<f64>,
    pub limit_value: Option<f64>,
    pub enforced: bool,
    pub reason: String,
    pub created_at: Timestamp,
}

str_enum!(
    /// NEAR (alert only) or BREACH (enforced) (seed 000 §13.5).
    SignalType {
        Near = "NEAR",
        Breach = "BREACH",
    }
);

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSignal {
    pub signal_id: SignalId,
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub policy_id: PolicyId,
    pub check_id: String,
    pub signal_type: SignalType,
    pub metric: String,
    pub value: f64,
    pub limit_value: Option<f64>,
    pub percentage: Option<f64>,
    pub step_index: i64,
    pub created_at: Timestamp,
}

str_enum!(
    /// What an override does to a policy for the rest of one run.
    OverrideKind {
        /// The policy no longer applies to this run.
        Suspend = "SUSPEND",
        /// The policy's numeric limits become `new_limit` for this run.
        RaiseLimit = "RAISE_LIMIT",
    }
);

/// An authorised override of a policy for one run (seed 000 §13.2 OverrideRecord).
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRecord {
    pub override_id: OverrideId,
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub policy_id: PolicyId,
    pub kind: OverrideKind,
    pub new_limit: Option<f64>,
    pub actor: String,
    pub reason: String,
    pub created_at: Timestamp,
}

/// One model's usage within one run, attributed when the run ends (CC-005).
#[derive(Debug, Clone, PartialEq)]
pub struct CostRecord {
    pub cost_record_id: CostRecordId,
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub step_count: i64,
    pub created_at: Timestamp,
}

/// An agent stopped by a KILL breach.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentKill {
    pub tenant_id: TenantId,
    pub agent_id: String,
    pub run_id: RunId,
    pub policy_id: Option<PolicyId>,
    pub reason: String,
    pub killed_at: Timestamp,
}
