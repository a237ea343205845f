//! Runs and policy snapshots on the wire.

use gov_model::{PolicySnapshot, Run};
use serde::Serialize;
use utoipa::ToSchema;

use time::OffsetDateTime;

#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub run_id: String,
    pub tenant_id: String,
    pub agent_id: String,
    pub goal: Option<String>,
    pub human_actor_id: Option<String>,
    /// The business domain the run acts in, if it named one.
    pub domain: Option<String>,
    pub api_key_id: Option<String>,
    /// queued, running, paused, succeeded, failed, failed_policy, cancelled
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub tokens_used: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost_cents: f64,
    pub step_count: i64,
    pub policy_snapshot_id: String,
    pub policy_snapshot_hash: String,
    /// completed, failed, policy_block, budget_exceeded, rate_limited, agent_killed, kill_switch,
    /// snapshot_integrity, cancelled
    pub termination_reason: Option<String>,
    pub stopped_at_step: Option<i64>,
    pub violation_policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub trace_id: String,
    pub head_hash: String,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

impl From<Run> for RunOut {
    fn from(r: Run) -> Self {
        RunOut {
            run_id: r.run_id.to_string(),
            tenant_id: r.tenant_id.to_string(),
            agent_id: r.agent_id,
            goal: r.goal,
            human_actor_id: r.human_actor_id,
            domain: r.domain,
            api_key_id: r.api_key_id.map(|k| k.to_string()),
            status: r.status.as_str().to_owned(),
            started_at: r.started_at,
            completed_at: r.completed_at,
            tokens_used: r.tokens_used,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            total_cost_cents: r.total_cost_cents,
            step_count: r.step_count,
            policy_snapshot_id: r.policy_snapshot_id.to_string(),
            policy_snapshot_hash: r.policy_snapshot_hash,
            termination_reason: r.termination_reason.map(|t| t.as_str().to_owned()),
            stopped_at_step: r.stopped_at_step,
            violation_policy_id: r.violation_policy_id.map(|p| p.to_string()),
            incident_id: r.incident_id.map(|i| i.to_string()),
            trace_id: r.trace_id.to_string(),
            head_hash: r.head_hash,
            metadata: r.metadata,
        }
    }
}

/// A frozen policy snapshot (seed 000 GAP-006).
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotOut {
    pub snapshot_id: String,
    pub tenant_id: String,
    pub content_hash: String,
    pub policy_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The frozen policies (canonical JSON, parsed): one object per policy.
    #[schema(value_type = Vec<Object>)]
    pub policies_json: serde_json::Value,
    /// The effective thresholds after arbitration (canonical JSON, parsed).
    #[schema(value_type = Object)]
    pub thresholds_json: serde_json::Value,
}

impl From<PolicySnapshot> for SnapshotOut {
    fn from(s: PolicySnapshot) -> Self {
        SnapshotOut {
            snapshot_id: s.snapshot_id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            content_hash: s.content_hash,
            policy_count: s.policy_count,
            created_at: s.created_at,
            policies_json: serde_json::from_str(&s.policies_json).unwrap_or(serde_json::Value::Null),
            thresholds_json: serde_json::from_str(&s.thresholds_json).unwrap_or(serde_json::Value::Null),
        }
    }
}
