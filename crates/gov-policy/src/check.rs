//! Checks: the unit a snapshot freezes and prevention evaluates. One policy yields one or more
//! checks; arbitration merges numeric checks of the same signal into one effective check.

use gov_model::{BreachAction, LimitScope, PolicyId, RuleType, ScopeType, Severity};
use serde::{Deserialize, Serialize};

/// What a numeric check measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Total tokens of the run.
    Tokens,
    /// Total cost of the run, in cents.
    CostCents,
    /// Number of steps of the run.
    Steps,
    /// Steps in the current window, counted per agent or API key across runs.
    Rate,
    /// Cents per minute within the run.
    BurnRate,
}

impl Metric {
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::Tokens => "tokens",
            Metric::CostCents => "cost_cents",
            Metric::Steps => "steps",
            Metric::Rate => "rate",
            Metric::BurnRate => "burn_rate",
        }
    }

    /// The metric of a numeric rule type; `None` for the others.
    pub const fn of(rule_type: RuleType) -> Option<Metric> {
        match rule_type {
            RuleType::TokenLimit => Some(Metric::Tokens),
            RuleType::CostLimit => Some(Metric::CostCents),
            RuleType::StepLimit => Some(Metric::Steps),
            RuleType::RateLimit => Some(Metric::Rate),
            RuleType::BurnRate => Some(Metric::BurnRate),
            RuleType::ModelAllowlist | RuleType::Custom => None,
        }
    }
}

/// One check of an arbitration group, as the precedence chain lists it: enough to arbitrate the
/// group again when an override suspends or raises one of its policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainEntry {
    pub check_id: String,
    pub policy_id: PolicyId,
    pub policy_name: String,
    pub policy_version: i32,
    pub scope_type: ScopeType,
    pub priority: i32,
    /// `None` for allowlist and custom checks, which have no limit.
    pub limit: Option<f64>,
    pub action: BreachAction,
    pub severity: Severity,
    pub near_pct: f64,
}

/// What a check compares.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    Numeric {
        metric: Metric,
        limit: f64,
        window_seconds: Option<i64>,
        limit_scope: LimitScope,
    },
    /// Breach when the step's model is not one of these (exact match).
    Allowlist {
        models: Vec<String>,
    },
    /// Breach when the CEL condition is true.
    Custom {
        condition: String,
    },
}

/// An effective check. For a merged group, the policy fields name the winner and `limit`,
/// `action`, `severity` and `near_pct` are the group's resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "CheckRecord", try_from = "CheckRecord")]
pub struct Check {
    /// `<policy_id>:primary`, `<policy_id>:<limit_id>`, `<policy_id>:allowlist` or `<policy_id>:custom`.
    pub check_id: String,
    pub kind: CheckKind,
    /// NEAR fires at this percentage of the limit.
    pub near_pct: f64,
    pub action: BreachAction,
    pub severity: Severity,
    pub priority: i32,
    pub policy_id: PolicyId,
    pub policy_version: i32,
    pub policy_name: String,
    /// The numeric rule type of the check (a limit's own type), or the policy's rule type.
    pub rule_type: RuleType,
    pub scope_type: ScopeType,
    /// Every check of the group, winner first, then by (priority, limit, check_id).
    pub precedence_chain: Vec<ChainEntry>,
    /// Policies of the group other than the winner's, sorted.
    pub shadowed: Vec<PolicyId>,
    /// FAIL_CLOSED found a tie between differing policies and took the strictest reading.
    pub ambiguous: bool,
}

impl Check {
    pub fn metric(&self) -> Option<Metric> {
        match self.kind {
            CheckKind::Numeric { metric, .. } => Some(metric),
            _ => None,
        }
    }

    pub fn limit(&self) -> Option<f64> {
        match self.kind {
            CheckKind::Numeric { limit, .. } => Some(limit),
            _ => None,
        }
    }

    /// This check alone, as a chain entry.
    pub(crate) fn entry(&self) -> ChainEntry {
        ChainEntry {
            check_id: self.check_id.clone(),
            policy_id: self.policy_id,
            policy_name: self.policy_name.clone(),
            policy_version: self.policy_version,
            scope_type: self.scope_type,
            priority: self.priority,
            limit: self.limit(),
            action: self.action,
            severity: self.severity,
            near_pct: self.near_pct,
        }
    }
}

/// The flat JSON form of a check in `thresholds_json`: every field present, `null` where it
/// does not apply, so a reader needs no knowledge of the kinds to list them.
#[derive(Clone, Serialize, Deserialize)]
struct CheckRecord {
    check_id: String,
    kind: String,
    metric: Option<Metric>,
    limit: Option<f64>,
    window_seconds: Option<i64>,
    limit_scope: Option<LimitScope>,
    models: Vec<String>,
    condition: Option<String>,
    near_pct: f64,
    action: BreachAction,
    severity: Severity,
    priority: i32,
    policy_id: PolicyId,
    policy_version: i32,
    policy_name: String,
    rule_type: RuleType,
    scope_type: ScopeType,
    precedence_chain: Vec<ChainEntry>,
    shadowed: Vec<PolicyId>,
    ambiguous: bool,
}

impl From<Check> for CheckRecord {
    fn from(check: Check) -> Self {
        let (kind, metric, limit, window_seconds, limit_scope, models, condition) = match check.kind {
            CheckKind::Numeric { metric, limit, window_seconds, limit_scope } => {
                ("numeric", Some(metric), Some(limit), window_seconds, Some(limit_scope), Vec::new(), None)
            }
            CheckKind::Allowlist { models } => ("allowlist", None, None, None, None, models, None),
            CheckKind::Custom { condition } => {
                ("custom", None, None, None, None, Vec::new(), Some(condition))
            }
        };
        CheckRecord {
            check_id: check.check_id,
            kind: kind.to_owned(),
            metric,
            limit,
            window_seconds,
            limit_scope,
            models,
            condition,
            near_pct: check.near_pct,
            action: check.action,
            severity: check.severity,
            priority: check.priority,
            policy_id: check.policy_id,
            policy_version: check.policy_version,
            policy_name: check.policy_name,
            rule_type: check.rule_type,
            scope_type: check.scope_type,
            precedence_chain: check.precedence_chain,
            shadowed: check.shadowed,
            ambiguous: check.ambiguous,
        }
    }
}

impl TryFrom<CheckRecord> for Check {
    type Error = String;

    fn try_from(r: CheckRecord) -> Result<Self, Self::Error> {
        let kind = match (r.kind.as_str(), r.metric, r.limit, r.limit_scope, r.condition) {
            ("numeric", Some(metric), Some(limit), Some(limit_scope), None) if limit.is_finite() => {
                CheckKind::Numeric { metric, limit, window_seconds: r.window_seconds, limit_scope }
            }
            ("allowlist", None, None, None, None) => CheckKind::Allowlist { models: r.models },
            ("custom", None, None, None, Some(condition)) => CheckKind::Custom { condition },
            (kind, ..) => {
                return Err(format!("check {} of kind {kind:?} has inconsistent fields", r.check_id));
            }
        };
        if r.precedence_chain.is_empty() {
            return Err(format!("check {} has an empty precedence chain", r.check_id));
        }
        Ok(Check {
            check_id: r.check_id,
            kind,
            near_pct: r.near_pct,
            action: r.action,
            severity: r.severity,
            priority: r.priority,
            policy_id: r.policy_id,
            policy_version: r.policy_version,
            policy_name: r.policy_name,
            rule_type: r.rule_type,
            scope_type: r.scope_type,
            precedence_chain: r.precedence_chain,
            shadowed: r.shadowed,
            ambiguous: r.ambiguous,
        })
    }
}
