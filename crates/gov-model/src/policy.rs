//! Policies (seed 000 §12.4, §13): what a policy checks, whom it applies to, what a breach does.

use serde::{Deserialize, Serialize};

use crate::enums::str_enum;
use crate::{LimitId, PolicyId, TenantId, Timestamp};

str_enum!(
    /// What a policy checks.
    RuleType {
        /// Total tokens of the run.
        TokenLimit = "token_limit",
        /// Total cost of the run, in cents.
        CostLimit = "cost_limit",
        /// Number of steps of the run.
        StepLimit = "step_limit",
        /// Steps per agent (or API key) per time window, counted across runs.
        RateLimit = "rate_limit",
        /// Cost per minute within a run.
        BurnRate = "burn_rate",
        /// Only the listed models may be called.
        ModelAllowlist = "model_allowlist",
        /// A CEL condition over the step and run signals; true means breach.
        Custom = "custom",
    }
);

impl RuleType {
    /// Whether the rule compares a number against a threshold.
    pub const fn is_numeric(self) -> bool {
        matches!(
            self,
            RuleType::TokenLimit
                | RuleType::CostLimit
                | RuleType::StepLimit
                | RuleType::RateLimit
                | RuleType::BurnRate
        )
    }
}

str_enum!(
    /// Whom a policy applies to (seed 000 §13.3).
    ScopeType {
        AllRuns = "ALL_RUNS",
        Agent = "AGENT",
        ApiKey = "API_KEY",
        HumanActor = "HUMAN_ACTOR",
    }
);

str_enum!(
    /// What a breach does, mildest first: the derived order is harshness.
    BreachAction {
        /// Record the violation; the step is answered WARN and the run goes on.
        Warn = "WARN",
        /// Park the run until an authorised override resumes it.
        Pause = "PAUSE",
        /// End the run as `failed_policy`.
        Stop = "STOP",
        /// Stop the run and the agent: the agent's other live runs are stopped at their next step
        /// and it cannot start runs until released.
        Kill = "KILL",
    }
);

impl BreachAction {
    /// Whether the step is refused (everything but WARN).
    pub const fn blocks(self) -> bool {
        !matches!(self, BreachAction::Warn)
    }

    /// What a breach with this action answers the step: WARN, or BLOCK for every action that
    /// refuses it.
    pub const fn outcome(self) -> crate::Outcome {
        if self.blocks() { crate::Outcome::Block } else { crate::Outcome::Warn }
    }
}

str_enum!(
    /// How policies that govern the same signal are reconciled (seed 000 §13.4).
    ConflictStrategy {
        /// The smallest limit and the harshest action win.
        MostRestrictive = "MOST_RESTRICTIVE",
        /// The policy with the higher precedence (lower priority number) wins.
        ExplicitPriority = "EXPLICIT_PRIORITY",
        /// Like EXPLICIT_PRIORITY, but a tie between differing policies is ambiguous: the smallest
        /// limit applies and the action is at least STOP.
        FailClosed = "FAIL_CLOSED",
    }
);

str_enum!(
    /// Lifecycle of a policy.
    PolicyStatus {
        Active = "active",
        Disabled = "disabled",
        /// Deleted: kept for the evidence that names it, never applied again.
        Archived = "archived",
    }
);

str_enum!(
    /// Severity of a violation or incident, lowest first (seed 000 §11.2 GAP-007).
    Severity {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
);

impl Severity {
    /// One level up, capped at critical.
    pub const fn raised(self) -> Severity {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

str_enum!(
    /// Tenant-wide: enforce decisions, or only decide and record them.
    EnforcementMode {
        Enforce = "enforce",
        Shadow = "shadow",
    }
);

str_enum!(
    /// What a limit is counted over.
    LimitScope {
        /// Within one run.
        Run = "RUN",
        /// Per agent, across its runs (rate limits).
        Agent = "AGENT",
        /// Per API key, across its runs (rate limits).
        ApiKey = "API_KEY",
    }
);

/// Whom a policy applies to. With `ALL_RUNS` the id lists are empty; otherwise the list of the
/// scope's kind names the targets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PolicyScope {
    pub scope_type: Option<ScopeType>,
    #[serde(default)]
    pub agent_ids: Vec<String>,
    #[serde(default)]
    pub api_key_ids: Vec<String>,
    #[serde(default)]
    pub human_actor_ids: Vec<String>,
}

impl PolicyScope {
    pub fn all_runs() -> Self {
        PolicyScope { scope_type: Some(ScopeType::AllRuns), ..Default::default() }
    }

    pub fn kind(&self) -> ScopeType {
        self.scope_type.unwrap_or(ScopeType::AllRuns)
    }
}

/// Which signals a policy collects (seed 000 §13.2 MonitorConfig). A custom condition may only
/// read signals whose monitor is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitors {
    pub tokens: bool,
    pub cost: bool,
    pub burn_rate: bool,
    pub steps: bool,
    pub rag: bool,
}

impl Default for Monitors {
    fn default() -> Self {
        Monitors { tokens: true, cost: true, burn_rate: true, steps: true, rag: false }
    }
}

/// The editable definition of a policy: what one version freezes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub name: String,
    pub description: String,
    pub rule_type: RuleType,
    /// CEL source of a `custom` rule.
    pub condition: Option<String>,
    /// The limit of a numeric rule (tokens, cents, steps, steps per window, cents per minute).
    pub threshold: Option<f64>,
    /// The window of a `rate_limit`, in seconds.
    pub window_seconds: Option<i64>,
    /// What a `rate_limit` counts per (AGENT or API_KEY); RUN for the other numeric rules.
    pub limit_scope: LimitScope,
    /// The models a `model_allowlist` allows.
    pub models: Vec<String>,
    pub action: BreachAction,
    pub severity: Severity,
    pub scope: PolicyScope,
    /// Precedence: lower numbers win.
    pub priority: i32,
    pub monitors: Monitors,
    /// NEAR fires at this percentage of the limit; `None` takes the tenant default (80).
    pub near_threshold_pct: Option<f64>,
    pub status: PolicyStatus,
}

/// A policy as stored: its current version and counters.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub policy_id: PolicyId,
    pub tenant_id: TenantId,
    pub version: i32,
    pub spec: PolicySpec,
    pub violation_count: i64,
    pub incident_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One past or current version of a policy, readable forever.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyVersion {
    pub policy_id: PolicyId,
    pub version: i32,
    pub spec: PolicySpec,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// An additional numeric limit of a policy (seed 000 §12.4 `policy_limits`).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyLimit {
    pub limit_id: LimitId,
    pub tenant_id: TenantId,
    pub policy_id: PolicyId,
    /// A numeric rule type.
    pub limit_type: RuleType,
    pub value: f64,
    pub window_seconds: Option<i64>,
    pub scope: LimitScope,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The tenant-wide policy controls (`/api/v1/policies/controls`).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyControls {
    pub enforcement_mode: EnforcementMode,
    pub conflict_strategy: ConflictStrategy,
    pub near_threshold_pct: f64,
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<String>,
}

impl Default for PolicyControls {
    fn default() -> Self {
        PolicyControls {
            enforcement_mode: EnforcementMode::Enforce,
            conflict_strategy: ConflictStrategy::MostRestrictive,
            near_threshold_pct: 80.0,
            updated_at: None,
            updated_by: None,
        }
    }
}
