//! The chain result a report prints, recomputed from the bundle's own steps with
//! `gov_evidence::chain` (never read from a field of the bundle).

use std::str::FromStr;

use gov_evidence::{TraceEvidence, TraceStepEvidence, chain};
use gov_model::{PolicyId, RunId, StepId, TenantId, TraceId, TraceStep};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What the report says about the chain.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainResult {
    /// The incident has no trace (a tripwire trip, the kill switch).
    NoTrace,
    Checked(chain::ChainIntegrity),
    /// A step could not even be read back into the form the chain hashes.
    Unreadable {
        step_index: i64,
        problem: String,
    },
}

/// Re-walks `steps` from the genesis of `trace` and compares the end with its recorded head.
pub fn recompute(trace: Option<&TraceEvidence>, steps: &[TraceStepEvidence]) -> ChainResult {
    let Some(trace) = trace else { return ChainResult::NoTrace };
    let unreadable = |step_index: i64, problem: String| ChainResult::Unreadable { step_index, problem };
    let Ok(trace_id) = TraceId::from_str(&trace.trace_id) else {
        return unreadable(0, format!("trace id {:?} is not a UUID", trace.trace_id));
    };
    let Ok(run_id) = RunId::from_str(&trace.run_id) else {
        return unreadable(0, format!("run id {:?} is not a UUID", trace.run_id));
    };
    let mut model = Vec::with_capacity(steps.len());
    for step in steps {
        match to_model(step, trace_id, run_id) {
            Ok(s) => model.push(s),
            Err(problem) => return unreadable(step.step_index, problem),
        }
    }
    ChainResult::Checked(chain::verify(trace_id, &model, &trace.head_hash, trace.step_count))
}

fn to_model(step: &TraceStepEvidence, trace_id: TraceId, run_id: RunId) -> Result<TraceStep, String> {
    let timestamp = OffsetDateTime::parse(&step.timestamp, &Rfc3339)
        .map_err(|_| format!("timestamp {:?} is not an RFC 3339 time", step.timestamp))?;
    let decision_policy_id = match &step.decision_policy_id {
        None => None,
        Some(p) => Some(PolicyId::from_str(p).map_err(|_| format!("policy id {p:?} is not a UUID"))?),
    };
    Ok(TraceStep {
        // Neither id is part of what the chain hashes.
        step_id: StepId::from_uuid(uuid_nil()),
        tenant_id: TenantId::from_uuid(uuid_nil()),
        trace_id,
        run_id,
        step_index: step.step_index,
        step_type: step.step_type.clone(),
        level: step.level.parse().map_err(|e| format!("level: {e}"))?,
        source: step.source.clone(),
        timestamp,
        tokens: step.tokens,
        input_tokens: step.input_tokens,
        output_tokens: step.output_tokens,
        cost_cents: step.cost_cents,
        duration_ms: step.duration_ms,
        model: step.model.clone(),
        retrieved_documents: step.retrieved_documents,
        content_hash: step.content_hash.clone(),
        decision: step.decision.parse().map_err(|e| format!("decision: {e}"))?,
        decision_policy_id,
        decision_reason: step.decision_reason.clone(),
        prev_hash: step.prev_hash.clone(),
        chain_hash: step.chain_hash.clone(),
    })
}

fn uuid_nil() -> uuid::Uuid {
    uuid::Uuid::nil()
}
