//! What the caller knows about a step: the step's own signals, the run's totals before it, the
//! per-window rate counts and the overrides in force. Everything is borrowed, so building the
//! inputs of a step allocates nothing.

use gov_model::PolicyId;

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
