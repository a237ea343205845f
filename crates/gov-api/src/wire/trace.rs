//! Traces, steps and chain integrity on the wire.

use gov_facades::ChainIntegrity;
use gov_model::{TraceStep, TraceSummary};
use serde::Serialize;
use utoipa::ToSchema;

use time::OffsetDateTime;

#[derive(Debug, Serialize, ToSchema)]
pub struct TraceOut {
    pub trace_id: String,
    pub run_id: String,
    pub tenant_id: String,
    pub status: String,
    pub step_count: i64,
    pub is_synthetic: bool,
    pub agent_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// The inflection point: the step where the run was stopped.
    pub violation_step_index: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub violation_timestamp: Option<OffsetDateTime>,
    pub violation_policy_id: Option<String>,
    pub violation_reason: Option<String>,
    pub incident_id: Option<String>,
    pub head_hash: String,
}

impl From<TraceSummary> for TraceOut {
    fn from(t: TraceSummary) -> Self {
        TraceOut {
            trace_id: t.trace_id.to_string(),
            run_id: t.run_id.to_string(),
            tenant_id: t.tenant_id.to_string(),
            status: t.status,
            step_count: t.step_count,
            is_synthetic: t.is_synthetic,
            agent_id: t.agent_id,
            started_at: t.started_at,
            completed_at: t.completed_at,
            violation_step_index: t.violation_step_index,
            violation_timestamp: t.violation_timestamp,
            violation_policy_id: t.violation_policy_id.map(|p| p.to_string()),
            violation_reason: t.violation_reason,
            incident_id: t.incident_id.map(|i| i.to_string()),
            head_hash: t.head_hash,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub step_id: String,
    pub trace_id: String,
    pub run_id: String,
    pub step_index: i64,
    pub step_type: String,
    pub level: String,
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
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
}

impl From<TraceStep> for StepOut {
    fn from(s: TraceStep) -> Self {
        StepOut {
            step_id: s.step_id.to_string(),
            trace_id: s.trace_id.to_string(),
            run_id: s.run_id.to_string(),
            step_index: s.step_index,
            step_type: s.step_type,
            level: s.level.as_str().to_owned(),
            source: s.source,
            timestamp: s.timestamp,
            tokens: s.tokens,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_cents: s.cost_cents,
            duration_ms: s.duration_ms,
            model: s.model,
            retrieved_documents: s.retrieved_documents,
            content_hash: s.content_hash,
            decision: s.decision.as_str().to_owned(),
            decision_policy_id: s.decision_policy_id.map(|p| p.to_string()),
            decision_reason: s.decision_reason,
            prev_hash: s.prev_hash,
            chain_hash: s.chain_hash,
        }
    }
}

/// The result of re-walking the hash chain against the run's recorded head.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrityOut {
    pub verified: bool,
    pub step_count: i64,
    pub head_hash: String,
    pub expected_head_hash: String,
    pub first_broken_step: Option<i64>,
    pub problem: Option<String>,
}

impl From<ChainIntegrity> for IntegrityOut {
    fn from(i: ChainIntegrity) -> Self {
        IntegrityOut {
            verified: i.verified,
            step_count: i.step_count,
            head_hash: i.head_hash,
            expected_head_hash: i.expected_head_hash,
            first_broken_step: i.first_broken_step,
            problem: i.problem,
        }
    }
}
