//! The answer for one step: ALLOW, WARN or BLOCK, the winning breach and every finding.

use gov_model::{BreachAction, PolicyId, PolicyViolationType, RuleType, ScopeType, Severity};
use gov_policy::ChainEntry;
use serde::Serialize;

pub use gov_model::Outcome;

/// How far a check's value went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Crossed the check's NEAR percentage of the limit.
    Near,
    /// Reached the limit (or broke an allowlist or custom rule).
    Breach,
}

impl Level {
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Near => "NEAR",
            Level::Breach => "BREACH",
        }
    }
}

/// One check that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check_id: String,
    pub policy_id: PolicyId,
    pub policy_name: String,
    pub policy_version: i32,
    pub rule_type: RuleType,
    pub violation_type: PolicyViolationType,
    /// `tokens`, `cost_cents`, `steps`, `rate`, `burn_rate`; `model` or `condition` otherwise.
    pub metric: &'static str,
    /// The value after the step; 0 for allowlist and custom checks.
    pub current_value: f64,
    pub limit: Option<f64>,
    /// `current_value` as a percentage of `limit`.
    pub percentage: Option<f64>,
    pub level: Level,
    pub action: BreachAction,
    pub severity: Severity,
    pub scope_type: ScopeType,
    pub priority: i32,
    /// FAIL_CLOSED resolved a tie between differing policies to the strictest reading.
    pub ambiguous: bool,
    pub precedence_chain: Vec<ChainEntry>,
    pub reason: String,
    /// For rate checks: when the window frees up.
    pub retry_after_secs: Option<i64>,
}

/// The decision for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// The breach that decides the outcome: harshest action, then lower priority number, then
    /// larger overshoot, then check id.
    pub winner: Option<Finding>,
    pub breaches: Vec<Finding>,
    pub near: Vec<Finding>,
}

impl Decision {
    pub(crate) fn from_findings(breaches: Vec<Finding>, near: Vec<Finding>) -> Decision {
        let outcome = if breaches.iter().any(|f| f.action.blocks()) {
            Outcome::Block
        } else if !breaches.is_empty() || !near.is_empty() {
            Outcome::Warn
        } else {
            Outcome::Allow
        };
        let winner = breaches.iter().min_by(|a, b| precedence(a, b)).cloned();
        Decision { outcome, winner, breaches, near }
    }
}

/// Orders breaches so the winner comes first.
fn precedence(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    // A breach without a percentage (allowlist, custom) counts as exactly at its limit.
    let overshoot = |f: &Finding| f.percentage.unwrap_or(100.0);
    b.action
        .cmp(&a.action)
        .then(a.priority.cmp(&b.priority))
        .then(overshoot(b).total_cmp(&overshoot(a)))
        .then(a.check_id.cmp(&b.check_id))
}

/// The violation a breach of this rule type records.
pub fn violation_type(rule_type: RuleType) -> PolicyViolationType {
    match rule_type {
        RuleType::TokenLimit => PolicyViolationType::TokenLimit,
        RuleType::CostLimit => PolicyViolationType::CostLimit,
        RuleType::StepLimit => PolicyViolationType::StepLimit,
        RuleType::RateLimit => PolicyViolationType::RateLimit,
        RuleType::BurnRate => PolicyViolationType::BurnRate,
        RuleType::ModelAllowlist => PolicyViolationType::ModelNotAllowed,
        RuleType::Custom => PolicyViolationType::CustomRule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_levels_serialise_as_their_names() {
        for outcome in [Outcome::Allow, Outcome::Warn, Outcome::Block] {
            assert_eq!(serde_json::to_string(&outcome).unwrap(), format!("\"{}\"", outcome.as_str()));
        }
        for level in [Level::Near, Level::Breach] {
            assert_eq!(serde_json::to_string(&level).unwrap(), format!("\"{}\"", level.as_str()));
        }
        assert_eq!(
            [Outcome::Allow, Outcome::Warn, Outcome::Block].map(Outcome::as_str),
            ["ALLOW", "WARN", "BLOCK"]
        );
        assert_eq!([Level::Near, Level::Breach].map(Level::as_str), ["NEAR", "BREACH"]);
    }

    #[test]
    fn every_rule_type_has_its_violation_type() {
        for rule_type in RuleType::ALL {
            let expected = match rule_type {
                RuleType::ModelAllowlist => "model_not_allowed",
                RuleType::Custom => "custom_rule",
                numeric => numeric.as_str(),
            };
            assert_eq!(violation_type(*rule_type).as_str(), expected);
        }
    }
}
