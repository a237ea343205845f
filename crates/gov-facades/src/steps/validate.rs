//! The first stage of the step path: a reported step checked field by field, before anything is
//! read (a step that fails here changes nothing).

use gov_model::{Outcome, Run, StepId, StepLevel, Timestamp, TraceStep};

use crate::{Error, Result};

/// The largest count (tokens, milliseconds, documents) one step may report.
const MAX_COUNT: i64 = 100_000_000;
/// The largest cost one step may report, in cents ($10M).
const MAX_COST_CENTS: f64 = 1e9;

/// A step as an agent reports it.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub step_type: String,
    /// Defaults to `input_tokens + output_tokens`.
    pub tokens: Option<i64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_cents: Option<f64>,
    pub model: Option<String>,
    pub duration_ms: Option<i64>,
    pub retrieved_documents: Option<i64>,
    /// The step's content; only its blake3 hash is kept.
    pub content: Option<String>,
    pub content_hash: Option<String>,
    pub level: Option<String>,
    pub source: Option<String>,
}

/// A validated step.
#[derive(Debug, Clone)]
pub(super) struct ValidStep {
    step_type: String,
    tokens: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_cents: f64,
    model: Option<String>,
    duration_ms: i64,
    retrieved_documents: i64,
    content_hash: Option<String>,
    level: StepLevel,
    source: String,
}

fn count(field: &str, value: Option<i64>) -> Result<i64> {
    match value.unwrap_or(0) {
        v @ 0..=MAX_COUNT => Ok(v),
        v if v < 0 => Err(Error::invalid(field, "must not be negative")),
        _ => Err(Error::invalid(field, format!("must be at most {MAX_COUNT}"))),
    }
}

fn word(field: &str, value: &str, max: usize) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(field, format!("must be 1 to {max} characters of [A-Za-z0-9_-.:/]")))
    }
}

impl StepInput {
    pub(super) fn validate(self) -> Result<ValidStep> {
        let step_type = word("step_type", self.step_type.trim(), 64)?;
        let input_tokens = count("input_tokens", self.input_tokens)?;
        let output_tokens = count("output_tokens", self.output_tokens)?;
        let tokens = match self.tokens {
            None => input_tokens + output_tokens,
            Some(t) => {
                let t = count("tokens", Some(t))?;
                if t < input_tokens + output_tokens {
                    return Err(Error::invalid("tokens", "must be at least input_tokens + output_tokens"));
                }
                t
            }
        };
        let cost_cents = self.cost_cents.unwrap_or(0.0);
        if !cost_cents.is_finite() || cost_cents < 0.0 {
            return Err(Error::invalid("cost_cents", "must be a number, not negative"));
        }
        if cost_cents > MAX_COST_CENTS {
            return Err(Error::invalid("cost_cents", format!("must be at most {MAX_COST_CENTS}")));
        }
        let model = self.model.map(|m| word("model", m.trim(), 200)).transpose()?;
        let content_hash = match (self.content, self.content_hash) {
            (None, None) => None,
            (Some(content), given) => {
                let actual = blake3::hash(content.as_bytes()).to_hex().to_string();
                if given.is_some_and(|g| !g.eq_ignore_ascii_case(&actual)) {
                    return Err(Error::invalid("content_hash", "does not match the blake3 hash of content"));
                }
                Some(actual)
            }
            (None, Some(given)) => {
                if given.len() != 64 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::invalid("content_hash", "must be 64 hex digits (blake3)"));
                }
                Some(given.to_ascii_lowercase())
            }
        };
        let level = match self.level.as_deref() {
            None => StepLevel::Info,
            Some(level) => {
                level.parse().map_err(|_| Error::invalid("level", "must be debug, info, warn or error"))?
            }
        };
        let source = word("source", self.source.as_deref().unwrap_or("agent"), 64)?;
        Ok(ValidStep {
            step_type,
            tokens,
            input_tokens,
            output_tokens,
            cost_cents,
            model,
            duration_ms: count("duration_ms", self.duration_ms)?,
            retrieved_documents: count("retrieved_documents", self.retrieved_documents)?,
            content_hash,
            level,
            source,
        })
    }
}

impl ValidStep {
    /// The row this step becomes at index `run.step_count + 1`, before it is judged: it is
    /// answered ALLOW and unchained until the record stage fills in the verdict and the hash.
    /// The judge reads the step's signals from it, as a replay does from the stored row.
    pub(super) fn draft(self, run: &Run, now: Timestamp) -> TraceStep {
        TraceStep {
            step_id: StepId::new(),
            trace_id: run.trace_id,
            run_id: run.run_id,
            tenant_id: run.tenant_id,
            step_index: run.step_count + 1,
            step_type: self.step_type,
            level: self.level,
            source: self.source,
            timestamp: now,
            tokens: self.tokens,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_cents: self.cost_cents,
            duration_ms: self.duration_ms,
            model: self.model,
            retrieved_documents: self.retrieved_documents,
            content_hash: self.content_hash,
            decision: Outcome::Allow,
            decision_policy_id: None,
            decision_reason: None,
            prev_hash: run.head_hash.clone(),
            chain_hash: String::new(),
        }
    }
}
