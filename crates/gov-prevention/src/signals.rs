//! What the caller knows about a step: the step's own signals, the run's totals before it, the
//! per-window rate counts and the overrides in force. Everything is borrowed, so building the
//! inputs of a step allocates nothing.

use gov_model::{OverrideRecord, PolicyId, Run, Timestamp, TraceStep};

/// The signals of the step being decided.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepSignals<'a> {
    pub step_type: &'a str,
    pub tokens: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_cents: f64,
    pub model: Option<&'a str>,
    pub duration_ms: i64,
    pub retrieved_documents: i64,
}

/// The run as it was before this step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunState<'a> {
    pub agent_id: &'a str,
    pub human_actor_id: Option<&'a str>,
    pub tokens_used: i64,
    pub total_cost_cents: f64,
    pub step_count: i64,
    /// From the run's start to this step.
    pub elapsed_seconds: f64,
}

/// The caller's count for one rate check (see `CompiledSnapshot::rate_checks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCount {
    /// Index of the check in `CompiledSnapshot::checks`.
    pub check_index: usize,
    /// Steps in the current window, including this one.
    pub count: i64,
    /// When the window frees up, for the caller's `Retry-After`.
    pub retry_after_secs: i64,
}

/// An authorised override of one policy for this run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyOverride {
    pub policy_id: PolicyId,
    pub kind: OverrideKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverrideKind {
    /// The policy's checks are skipped.
    Suspend,
    /// The policy's numeric limits become this value.
    RaiseLimit(f64),
}

impl<'a> StepSignals<'a> {
    /// The signals of a step as it is recorded: what the step path judged, and what a replay
    /// judges again.
    pub fn of(step: &'a TraceStep) -> Self {
        StepSignals {
            step_type: &step.step_type,
            tokens: step.tokens,
            input_tokens: step.input_tokens,
            output_tokens: step.output_tokens,
            cost_cents: step.cost_cents,
            model: step.model.as_deref(),
            duration_ms: step.duration_ms,
            retrieved_documents: step.retrieved_documents,
        }
    }
}

impl<'a> RunState<'a> {
    /// `run`, with its totals as they are, at a step taken at `at`.
    pub fn of(run: &'a Run, at: Timestamp) -> Self {
        RunState {
            agent_id: &run.agent_id,
            human_actor_id: run.human_actor_id.as_deref(),
            tokens_used: run.tokens_used,
            total_cost_cents: run.total_cost_cents,
            step_count: run.step_count,
            elapsed_seconds: (at - run.started_at).as_seconds_f64().max(0.0),
        }
    }
}

impl From<&OverrideRecord> for PolicyOverride {
    fn from(o: &OverrideRecord) -> Self {
        PolicyOverride {
            policy_id: o.policy_id,
            kind: match o.new_limit {
                Some(limit) => OverrideKind::RaiseLimit(limit),
                None => OverrideKind::Suspend,
            },
        }
    }
}
