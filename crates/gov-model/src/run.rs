//! Runs (seed 000 §12.2, GAP-002, GAP-007): a governed agent execution and how it ended.

use crate::enums::str_enum;
use crate::{ApiKeyId, IncidentId, PolicyId, RunId, SnapshotId, TenantId, Timestamp, TraceId};

str_enum!(
    /// Where a run is in its life.
    RunStatus {
        Queued = "queued",
        Running = "running",
        /// Parked by a PAUSE breach until an authorised override resumes it.
        Paused = "paused",
        Succeeded = "succeeded",
        Failed = "failed",
        /// Stopped by a policy breach.
        FailedPolicy = "failed_policy",
        Cancelled = "cancelled",
    }
);

impl RunStatus {
    /// Whether the run can take no more steps, ever.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::FailedPolicy | RunStatus::Cancelled
        )
    }
}

str_enum!(
    /// Why a run ended.
    RunTerminationReason {
        Completed = "completed",
        Failed = "failed",
        /// A policy breach with action STOP.
        PolicyBlock = "policy_block",
        /// A cost or token budget was exhausted (cost_limit / token_limit breach).
        BudgetExceeded = "budget_exceeded",
        RateLimited = "rate_limited",
        /// A KILL breach stopped the run and its agent.
        AgentKilled = "agent_killed",
        /// The tenant's kill switch is engaged.
        KillSwitch = "kill_switch",
        /// The run's policy snapshot failed hash verification (fail closed).
        SnapshotIntegrity = "snapshot_integrity",
        Cancelled = "cancelled",
    }
);

str_enum!(
    /// The kind of a policy violation (seed 000 GAP-007).
    PolicyViolationType {
        TokenLimit = "token_limit",
        CostLimit = "cost_limit",
        StepLimit = "step_limit",
        RateLimit = "rate_limit",
        BurnRate = "burn_rate",
        ModelNotAllowed = "model_not_allowed",
        CustomRule = "custom_rule",
        SnapshotIntegrity = "snapshot_integrity",
        KillSwitch = "kill_switch",
        /// A step of an agent that a KILL breach stopped elsewhere.
        AgentKilled = "agent_killed",
    }
);

impl PolicyViolationType {
    /// The incident `type` this violation opens, e.g. `token_limit_exceeded` (seed 000 §6.1).
    pub const fn incident_type(self) -> &'static str {
        match self {
            PolicyViolationType::TokenLimit => "token_limit_exceeded",
            PolicyViolationType::CostLimit => "cost_limit_exceeded",
            PolicyViolationType::StepLimit => "step_limit_exceeded",
            PolicyViolationType::RateLimit => "rate_limit_exceeded",
            PolicyViolationType::BurnRate => "burn_rate_exceeded",
            PolicyViolationType::ModelNotAllowed => "model_not_allowed",
            PolicyViolationType::CustomRule => "custom_rule_violated",
            PolicyViolationType::SnapshotIntegrity => "snapshot_integrity_failed",
            PolicyViolationType::KillSwitch => "kill_switch_engaged",
            PolicyViolationType::AgentKilled => "agent_killed",
        }
    }
}

/// A governed run and its running totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub run_id: RunId,
    pub tenant_id: TenantId,
    pub agent_id: String,
    pub goal: Option<String>,
    pub human_actor_id: Option<String>,
    /// The business domain the run acts in (e.g. `WHOLESALE`); a tripped THROTTLE tripwire of
    /// that domain limits how many such runs may start.
    pub domain: Option<String>,
    /// The key that started the run.
    pub api_key_id: Option<ApiKeyId>,
    pub status: RunStatus,
    pub started_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub tokens_used: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost_cents: f64,
    pub step_count: i64,
    pub policy_snapshot_id: SnapshotId,
    /// The snapshot's content hash as recorded when the run started.
    pub policy_snapshot_hash: String,
    pub termination_reason: Option<RunTerminationReason>,
    pub stopped_at_step: Option<i64>,
    pub violation_policy_id: Option<PolicyId>,
    pub incident_id: Option<IncidentId>,
    pub trace_id: TraceId,
    /// Chain hash of the last recorded step (the trace's head).
    pub head_hash: String,
    pub metadata: serde_json::Value,
}
