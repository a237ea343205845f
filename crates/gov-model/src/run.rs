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

impl Run {
    /// Whether `self` differs from `before` only in what every recorded step changes: the
    /// counters and the chain head (then the store writes just those).
    pub fn only_progressed_from(&self, before: &Run) -> bool {
        let rewound = Run {
            step_count: before.step_count,
            tokens_used: before.tokens_used,
            input_tokens: before.input_tokens,
            output_tokens: before.output_tokens,
            total_cost_cents: before.total_cost_cents,
            head_hash: before.head_hash.clone(),
            ..self.clone()
        };
        rewound == *before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            run_id: RunId::new(),
            tenant_id: TenantId::new(),
            agent_id: "agent".into(),
            goal: None,
            human_actor_id: None,
            domain: None,
            api_key_id: None,
            status: RunStatus::Running,
            started_at: time::OffsetDateTime::UNIX_EPOCH,
            completed_at: None,
            tokens_used: 10,
            input_tokens: 6,
            output_tokens: 4,
            total_cost_cents: 1.5,
            step_count: 1,
            policy_snapshot_id: SnapshotId::new(),
            policy_snapshot_hash: "h".into(),
            termination_reason: None,
            stopped_at_step: None,
            violation_policy_id: None,
            incident_id: None,
            trace_id: TraceId::new(),
            head_hash: "a".into(),
            metadata: serde_json::json!({}),
        }
    }

    #[test]
    fn only_progressed_from() {
        let before = run();
        type Case = (&'static str, fn(&mut Run), bool);
        let cases: [Case; 6] = [
            ("unchanged", |_| {}, true),
            (
                "a step",
                |r| {
                    r.step_count += 1;
                    r.tokens_used += 5;
                    r.input_tokens += 5;
                    r.total_cost_cents += 0.25;
                    r.head_hash = "b".into();
                },
                true,
            ),
            (
                "stopped",
                |r| {
                    r.step_count += 1;
                    r.status = RunStatus::FailedPolicy;
                },
                false,
            ),
            ("paused", |r| r.status = RunStatus::Paused, false),
            ("a violation noted", |r| r.violation_policy_id = Some(PolicyId::new()), false),
            ("an inflection", |r| r.stopped_at_step = Some(2), false),
        ];
        for (name, change, expected) in cases {
            let mut after = before.clone();
            change(&mut after);
            assert_eq!(after.only_progressed_from(&before), expected, "{name}");
        }
    }
}
