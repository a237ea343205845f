//! Evaluates one step against a run's frozen snapshot. Values are taken after the step:
//! tokens = run tokens + step tokens; cost_cents = run cost + step cost; steps = run steps + 1;
//! rate = the caller's count for the window (1 when not given); burn_rate = cost after the step
//! / max(elapsed seconds, 60) * 60, cents per minute averaged over at least a minute.
//!
//! BREACH when the value reaches the limit. NEAR when the step crosses the NEAR line
//! (limit * near_pct / 100) without reaching the limit: for the monotonic totals (tokens, cost,
//! steps) only on the step that crosses it; for rate and burn rate, which can fall back, on every
//! step that sits between the line and the limit (the caller dedupes).

use std::borrow::Cow;
use std::cmp::Ordering;

use gov_model::{BreachAction, ConflictStrategy, PolicyId, RuleType, ScopeType, Severity};
use gov_policy::{
    ChainEntry, Check, CheckKind, CompiledSnapshot, ConditionInput, Metric, SignalValues, arbitrate,
    chain_order,
};

use crate::decision::{Decision, Finding, Level, violation_type};
use crate::signals::{OverrideKind, PolicyOverride, RateCount, RunState, StepSignals};

/// Decides one step. Allocates nothing unless a check fires or the snapshot has custom rules.
pub fn evaluate_step(
    snapshot: &CompiledSnapshot,
    run: &RunState<'_>,
    step: &StepSignals<'_>,
    rate_counts: &[RateCount],
    overrides: &[PolicyOverride],
) -> Decision {
    let totals = Totals::new(run, step);
    let mut breaches = Vec::new();
    let mut near = Vec::new();
    let mut condition_input = None;
    let mut rates = RateCursor { counts: rate_counts, next: 0 };
    for (index, check) in snapshot.checks().iter().enumerate() {
        match &check.kind {
            CheckKind::Numeric { metric, window_seconds, .. } => {
                let mut scratch = Vec::new();
                let Some(view) = View::resolve(check, snapshot.conflict_strategy(), overrides, &mut scratch)
                else {
                    continue;
                };
                let rate = if *metric == Metric::Rate { rates.find(index) } else { None };
                let measure = totals.measure(*metric, rate);
                let retry_after = (*metric == Metric::Rate)
                    .then(|| rate.map_or(window_seconds.unwrap_or_default(), |r| r.retry_after_secs));
                // Anything but "below the limit" breaches, a value that is not a number included:
                // what cannot be shown to be within the limit is not let through.
                if measure.after.partial_cmp(&view.limit) != Some(Ordering::Less) {
                    breaches.push(view.numeric_finding(*metric, measure.after, Level::Breach, retry_after));
                } else if measure.crosses(view.limit * view.near_pct / 100.0) {
                    near.push(view.numeric_finding(*metric, measure.after, Level::Near, retry_after));
                }
            }
            CheckKind::Allowlist { models } => {
                if suspended(check.policy_id, overrides) {
                    continue;
                }
                if let Some(model) = step.model
                    && !models.iter().any(|allowed| allowed == model)
                {
                    let reason =
                        format!("model \"{model}\" is not allowed by policy \"{}\"", check.policy_name);
                    breaches.push(View::frozen(check).finding(
                        "model",
                        0.0,
                        None,
                        Level::Breach,
                        reason,
                        None,
                    ));
                }
            }
            CheckKind::Custom { .. } => {
                if suspended(check.policy_id, overrides) {
                    continue;
                }
                let input = condition_input
                    .get_or_insert_with(|| ConditionInput::new(&totals.signal_values(run, step)));
                let outcome = match snapshot.condition(index) {
                    Some(Ok(condition)) => condition.evaluate(input).map_err(|e| e.message),
                    Some(Err(error)) => Err(format!("it does not compile: {}", error.message)),
                    None => Err("it is missing from the snapshot".to_owned()),
                };
                let name = &check.policy_name;
                let reason = match outcome {
                    Ok(false) => continue,
                    Ok(true) => format!("condition of policy \"{name}\" is true"),
                    Err(error) => format!(
                        "condition of policy \"{name}\" could not be evaluated ({error}); failing closed"
                    ),
                };
                breaches.push(View::frozen(check).finding(
                    "condition",
                    0.0,
                    None,
                    Level::Breach,
                    reason,
                    None,
                ));
            }
        }
    }
    Decision::from_findings(breaches, near)
}

/// Finds the caller's count of a rate check. Counts usually come in check order (as
/// `CompiledSnapshot::rate_checks` lists them), so a cursor finds each in one step; any other
/// order still works, by a scan.
struct RateCursor<'r> {
    counts: &'r [RateCount],
    next: usize,
}

impl<'r> RateCursor<'r> {
    fn find(&mut self, check_index: usize) -> Option<&'r RateCount> {
        if let Some(count) = self.counts.get(self.next).filter(|c| c.check_index == check_index) {
            self.next += 1;
            return Some(count);
        }
        self.counts.iter().find(|c| c.check_index == check_index)
    }
}

fn suspended(policy_id: PolicyId, overrides: &[PolicyOverride]) -> bool {
    overrides.iter().any(|o| o.policy_id == policy_id && o.kind == OverrideKind::Suspend)
}

/// The run's values before and after the step.
struct Totals {
    tokens: (f64, f64),
    cost_cents: (f64, f64),
    steps: (f64, f64),
    burn_rate: f64,
}

/// One metric's value after the step, and before it for the monotonic ones.
struct Measure {
    before: Option<f64>,
    after: f64,
}

impl Measure {
    /// Whether the step puts the value on or past the NEAR line (the caller ensures it is below
    /// the limit).
    fn crosses(&self, line: f64) -> bool {
        line <= self.after && self.before.is_none_or(|before| before < line)
    }
}

impl Totals {
    // Token and step counts stay far below 2^53, where `as f64` is exact.
    fn new(run: &RunState<'_>, step: &StepSignals<'_>) -> Totals {
        let tokens = run.tokens_used as f64;
        let cost_after = run.total_cost_cents + step.cost_cents;
        let steps = run.step_count as f64;
        Totals {
            tokens: (tokens, tokens + step.tokens as f64),
            cost_cents: (run.total_cost_cents, cost_after),
            steps: (steps, steps + 1.0),
            // Multiplied before dividing: 250 cents over 120 s is exactly 125 per minute.
            burn_rate: cost_after * 60.0 / run.elapsed_seconds.max(60.0),
        }
    }

    fn measure(&self, metric: Metric, rate: Option<&RateCount>) -> Measure {
        let monotonic = |(before, after): (f64, f64)| Measure { before: Some(before), after };
        match metric {
            Metric::Tokens => monotonic(self.tokens),
            Metric::CostCents => monotonic(self.cost_cents),
            Metric::Steps => monotonic(self.steps),
            Metric::Rate => Measure { before: None, after: rate.map_or(1, |r| r.count) as f64 },
            Metric::BurnRate => Measure { before: None, after: self.burn_rate },
        }
    }

    fn signal_values<'a>(&self, run: &RunState<'a>, step: &StepSignals<'a>) -> SignalValues<'a> {
        SignalValues {
            step_type: step.step_type,
            step_tokens: step.tokens,
            step_input_tokens: step.input_tokens,
            step_output_tokens: step.output_tokens,
            step_duration_ms: step.duration_ms,
            step_retrieved_documents: step.retrieved_documents,
            step_cost_cents: step.cost_cents,
            step_model: step.model.unwrap_or_default(),
            run_tokens_used: run.tokens_used.saturating_add(step.tokens),
            run_step_count: run.step_count.saturating_add(1),
            run_total_cost_cents: self.cost_cents.1,
            run_elapsed_seconds: run.elapsed_seconds,
            run_burn_rate: self.burn_rate,
            run_agent_id: run.agent_id,
            run_human_actor_id: run.human_actor_id.unwrap_or_default(),
        }
    }
}

/// A check as it applies to this step: the frozen resolution, or the group arbitrated again
/// without the suspended policies and with the raised limits.
struct View<'c> {
    check: &'c Check,
    check_id: &'c str,
    policy_id: PolicyId,
    policy_name: &'c str,
    policy_version: i32,
    scope_type: ScopeType,
    priority: i32,
    limit: f64,
    action: BreachAction,
    severity: Severity,
    near_pct: f64,
    ambiguous: bool,
    chain: &'c [ChainEntry],
}

impl<'c> View<'c> {
    fn frozen(check: &'c Check) -> View<'c> {
        View {
            check,
            check_id: &check.check_id,
            policy_id: check.policy_id,
            policy_name: &check.policy_name,
            policy_version: check.policy_version,
            scope_type: check.scope_type,
            priority: check.priority,
            // Allowlist and custom checks have no limit, and are never compared with one.
            limit: check.limit().unwrap_or(f64::INFINITY),
            action: check.action,
            severity: check.severity,
            near_pct: check.near_pct,
            ambiguous: check.ambiguous,
            chain: &check.precedence_chain,
        }
    }

    /// `None` when overrides suspend every policy of the group.
    fn resolve(
        check: &'c Check,
        strategy: ConflictStrategy,
        overrides: &[PolicyOverride],
        scratch: &'c mut Vec<ChainEntry>,
    ) -> Option<View<'c>> {
        let touched = |entry: &ChainEntry| overrides.iter().any(|o| o.policy_id == entry.policy_id);
        if !check.precedence_chain.iter().any(touched) {
            return Some(View::frozen(check));
        }
        let mut entries = Vec::with_capacity(check.precedence_chain.len());
        for entry in &check.precedence_chain {
            let policy_id = entry.policy_id;
            let mut entry = Cow::Borrowed(entry);
            let mut keep = true;
            for o in overrides.iter().filter(|o| o.policy_id == policy_id) {
                match o.kind {
                    OverrideKind::Suspend => keep = false,
                    OverrideKind::RaiseLimit(value) => entry.to_mut().limit = Some(value),
                }
            }
            if keep {
                entries.push(entry.into_owned());
            }
        }
        let resolution = arbitrate(strategy, &entries)?;
        *scratch = chain_order(&entries, resolution.winner);
        let chain: &'c [ChainEntry] = scratch;
        let winner = chain.first()?;
        Some(View {
            check,
            check_id: &winner.check_id,
            policy_id: winner.policy_id,
            policy_name: &winner.policy_name,
            policy_version: winner.policy_version,
            scope_type: winner.scope_type,
            priority: winner.priority,
            limit: resolution.limit,
            action: resolution.action,
            severity: resolution.severity,
            near_pct: resolution.near_pct,
            ambiguous: resolution.ambiguous,
            chain,
        })
    }

    fn numeric_finding(&self, metric: Metric, value: f64, level: Level, retry_after: Option<i64>) -> Finding {
        let (value_text, limit, name) = (number(value), number(self.limit), self.policy_name);
        let window = match self.check.kind {
            CheckKind::Numeric { window_seconds, .. } => window_seconds,
            _ => None,
        };
        let subject = match (metric, window) {
            (Metric::Rate, Some(window)) => format!("rate {value_text} steps in {window}s"),
            (Metric::BurnRate, _) => format!("burn_rate {value_text} cents/min"),
            _ => format!("{} {value_text}", metric.as_str()),
        };
        let mut reason = match level {
            Level::Breach => format!("{subject} reached the limit {limit} of policy \"{name}\""),
            Level::Near => {
                format!(
                    "{subject} crossed {}% of the limit {limit} of policy \"{name}\"",
                    number(self.near_pct)
                )
            }
        };
        if self.ambiguous {
            reason.push_str("; policies of equal priority disagree, so the strictest applies (FAIL_CLOSED)");
        }
        self.finding(metric.as_str(), value, Some(self.limit), level, reason, retry_after)
    }

    fn finding(
        &self,
        metric: &'static str,
        value: f64,
        limit: Option<f64>,
        level: Level,
        reason: String,
        retry_after_secs: Option<i64>,
    ) -> Finding {
        let rule_type: RuleType = self.check.rule_type;
        Finding {
            check_id: self.check_id.to_owned(),
            policy_id: self.policy_id,
            policy_name: self.policy_name.to_owned(),
            policy_version: self.policy_version,
            rule_type,
            violation_type: violation_type(rule_type),
            metric,
            current_value: value,
            limit,
            percentage: limit.filter(|l| *l > 0.0).map(|l| value / l * 100.0),
            level,
            action: self.action,
            severity: self.severity,
            scope_type: self.scope_type,
            priority: self.priority,
            ambiguous: self.ambiguous,
            precedence_chain: self.chain.to_vec(),
            reason,
            retry_after_secs,
        }
    }
}

/// A number for a reason: integral values without decimals, others to at most four places.
fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

#[cfg(test)]
mod tests;
