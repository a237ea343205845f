//! The hash chain of a trace: each step's `chain_hash` is blake3 over the step's canonical
//! encoding and the previous step's hash, so any edit, reorder, deletion or truncation against a
//! known head is detectable. The first step chains to a genesis hash bound to the trace id.

use gov_model::{Timestamp, TraceId, TraceStep};
use serde_json::json;
use time::format_description::well_known::iso8601::{Config, EncodedConfig, Iso8601, TimePrecision};

const TIMESTAMP_FORMAT: EncodedConfig = Config::DEFAULT
    .set_time_precision(TimePrecision::Second { decimal_digits: std::num::NonZeroU8::new(6) })
    .encode();

/// A timestamp in the one spelling the chain uses: UTC, microseconds, `Z`.
pub fn canonical_time(t: Timestamp) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Iso8601::<TIMESTAMP_FORMAT>).unwrap_or_default()
}

/// The hash a trace's first step chains to.
pub fn genesis(trace: TraceId) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"gov-trace-v1\0");
    h.update(trace.to_string().as_bytes());
    h.finalize().to_hex().to_string()
}

/// The canonical encoding of a step: JSON with sorted keys of every evidence field except the
/// hashes themselves.
fn canonical(step: &TraceStep) -> String {
    json!({
        "trace_id": step.trace_id.to_string(),
        "run_id": step.run_id.to_string(),
        "step_index": step.step_index,
        "step_type": step.step_type,
        "level": step.level,
        "source": step.source,
        "timestamp": canonical_time(step.timestamp),
        "tokens": step.tokens,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cost_cents": step.cost_cents,
        "duration_ms": step.duration_ms,
        "model": step.model,
        "retrieved_documents": step.retrieved_documents,
        "content_hash": step.content_hash,
        "decision": step.decision,
        "decision_policy_id": step.decision_policy_id.map(|p| p.to_string()),
        "decision_reason": step.decision_reason,
    })
    .to_string()
}

/// The chain hash of `step` given its `prev_hash`.
pub fn chain_hash(step: &TraceStep) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"gov-step-v1\0");
    h.update(canonical(step).as_bytes());
    h.update(b"\0");
    h.update(step.prev_hash.as_bytes());
    h.finalize().to_hex().to_string()
}

/// The result of re-walking a trace's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainIntegrity {
    /// True when every link holds and the chain ends at the known head with the known count.
    pub verified: bool,
    pub step_count: i64,
    pub head_hash: String,
    pub expected_head_hash: String,
    /// The first step whose index, link or hash is wrong.
    pub first_broken_step: Option<i64>,
    pub problem: Option<String>,
}

/// Re-walks `steps` (in stored order) from the genesis of `trace` and compares the end with the
/// known head and count.
pub fn verify(trace: TraceId, steps: &[TraceStep], known_head: &str, known_count: i64) -> ChainIntegrity {
    let mut prev = genesis(trace);
    let mut broken = None;
    for (i, step) in steps.iter().enumerate() {
        let expected_index = i as i64 + 1;
        let problem = if step.step_index != expected_index {
            Some(format!(
                "step {} found where step {expected_index} belongs (missing or reordered)",
                step.step_index
            ))
        } else if step.prev_hash != prev {
            Some(format!("step {expected_index} does not link to the step before it"))
        } else if chain_hash(step) != step.chain_hash {
            Some(format!("step {expected_index} was altered: its hash does not match its content"))
        } else {
            None
        };
        if let Some(problem) = problem {
            broken = Some((expected_index, problem));
            break;
        }
        prev = step.chain_hash.clone();
    }
    let count = steps.len() as i64;
    let (first_broken_step, problem) = match broken {
        Some((i, p)) => (Some(i), Some(p)),
        None if count != known_count => (
            Some(count.min(known_count) + 1),
            Some(format!("{count} steps stored, {known_count} recorded (truncated)")),
        ),
        None if prev != known_head => {
            (Some(count), Some("the chain does not end at the recorded head".to_owned()))
        }
        None => (None, None),
    };
    ChainIntegrity {
        verified: problem.is_none(),
        step_count: count,
        head_hash: prev,
        expected_head_hash: known_head.to_owned(),
        first_broken_step,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use gov_model::{RunId, StepId, TenantId};
    use time::macros::datetime;

    use super::*;

    fn chain(trace: TraceId, n: i64) -> Vec<TraceStep> {
        let run = RunId::new();
        let mut prev = genesis(trace);
        (1..=n)
            .map(|i| {
                let mut step = TraceStep {
                    step_id: StepId::new(),
                    trace_id: trace,
                    run_id: run,
                    tenant_id: TenantId::new(),
                    step_index: i,
                    step_type: "llm_call".into(),
                    level: gov_model::StepLevel::Info,
                    source: "agent".into(),
                    timestamp: datetime!(2026-01-20 10:00 UTC) + time::Duration::seconds(i),
                    tokens: 100 * i,
                    input_tokens: 40 * i,
                    output_tokens: 60 * i,
                    cost_cents: 1.5,
                    duration_ms: 20,
                    model: Some("claude-sonnet-4".into()),
                    retrieved_documents: 0,
                    content_hash: None,
                    decision: gov_model::Outcome::Allow,
                    decision_policy_id: None,
                    decision_reason: None,
                    prev_hash: prev.clone(),
                    chain_hash: String::new(),
                };
                step.chain_hash = chain_hash(&step);
                prev = step.chain_hash.clone();
                step
            })
            .collect()
    }

    fn check(steps: &[TraceStep], head: &str, count: i64, expected_break: Option<i64>) {
        let trace = steps.first().map_or_else(TraceId::new, |s| s.trace_id);
        let result = verify(trace, steps, head, count);
        assert_eq!(result.first_broken_step, expected_break, "{result:?}");
        assert_eq!(result.verified, expected_break.is_none());
    }

    #[test]
    fn intact_chains_verify() {
        let steps = chain(TraceId::new(), 4);
        check(&steps, &steps[3].chain_hash, 4, None);
    }

    #[test]
    fn every_kind_of_tampering_is_detected() {
        let steps = chain(TraceId::new(), 4);
        let head = steps[3].chain_hash.clone();

        let mut edited = steps.clone();
        edited[1].tokens += 1;
        check(&edited, &head, 4, Some(2));

        let mut reordered = steps.clone();
        reordered.swap(1, 2);
        check(&reordered, &head, 4, Some(2));

        let mut deleted = steps.clone();
        deleted.remove(2);
        check(&deleted, &head, 4, Some(3));

        let truncated = steps[..3].to_vec();
        check(&truncated, &head, 4, Some(4));

        // Re-hashing an edited step does not help: the next link breaks.
        let mut rehashed = steps.clone();
        rehashed[1].cost_cents = 0.0;
        rehashed[1].chain_hash = chain_hash(&rehashed[1]);
        check(&rehashed, &head, 4, Some(3));
    }

    #[test]
    fn timestamps_have_one_spelling() {
        assert_eq!(canonical_time(datetime!(2026-01-20 10:04:00 UTC)), "2026-01-20T10:04:00.000000Z");
    }
}
