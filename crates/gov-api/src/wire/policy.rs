//! Policies, limits and controls on the wire.

use gov_facades::PolicyDraft;
use gov_model::{
    BreachAction, LimitScope, Monitors, PolicyControls, PolicyLimit, PolicyRule, PolicyScope, PolicySpec,
    PolicyStatus, RuleType, ScopeType, Severity,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use time::OffsetDateTime;

/// Whom a policy applies to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeWire {
    /// ALL_RUNS, AGENT, API_KEY or HUMAN_ACTOR.
    #[schema(value_type = String)]
    pub scope_type: ScopeType,
    #[serde(default)]
    pub agent_ids: Vec<String>,
    #[serde(default)]
    pub api_key_ids: Vec<String>,
    #[serde(default)]
    pub human_actor_ids: Vec<String>,
}

impl From<PolicyScope> for ScopeWire {
    fn from(s: PolicyScope) -> Self {
        ScopeWire {
            scope_type: s.kind(),
            agent_ids: s.agent_ids,
            api_key_ids: s.api_key_ids,
            human_actor_ids: s.human_actor_ids,
        }
    }
}

impl From<ScopeWire> for PolicyScope {
    fn from(s: ScopeWire) -> Self {
        PolicyScope {
            scope_type: Some(s.scope_type),
            agent_ids: s.agent_ids,
            api_key_ids: s.api_key_ids,
            human_actor_ids: s.human_actor_ids,
        }
    }
}

/// Which signals the policy collects (seed 000 §13 MonitorConfig).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorsWire {
    #[serde(default = "yes")]
    pub tokens: bool,
    #[serde(default = "yes")]
    pub cost: bool,
    #[serde(default = "yes")]
    pub burn_rate: bool,
    #[serde(default = "yes")]
    pub steps: bool,
    #[serde(default)]
    pub rag: bool,
}

fn yes() -> bool {
    true
}

impl From<Monitors> for MonitorsWire {
    fn from(m: Monitors) -> Self {
        MonitorsWire { tokens: m.tokens, cost: m.cost, burn_rate: m.burn_rate, steps: m.steps, rag: m.rag }
    }
}

impl From<MonitorsWire> for Monitors {
    fn from(m: MonitorsWire) -> Self {
        Monitors { tokens: m.tokens, cost: m.cost, burn_rate: m.burn_rate, steps: m.steps, rag: m.rag }
    }
}

/// A policy as written by a client. Absent fields take their defaults: action STOP, the rule
/// type's severity, scope ALL_RUNS, priority 100, all monitors but RAG, status active.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIn {
    pub name: String,
    pub description: Option<String>,
    /// token_limit, cost_limit, step_limit, rate_limit, burn_rate, model_allowlist, custom
    #[schema(value_type = crate::schema::RuleType)]
    pub rule_type: RuleType,
    /// CEL over `step.*` and `run.*` (custom rules); true means breach.
    pub condition: Option<String>,
    /// The limit of a numeric rule.
    pub threshold: Option<f64>,
    /// Rate limits: the window in seconds.
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub window_seconds: Option<i64>,
    /// RUN, or for rate limits AGENT (default) or API_KEY.
    #[schema(value_type = Option<crate::schema::LimitScope>)]
    pub limit_scope: Option<LimitScope>,
    /// Model allowlists: the allowed models.
    pub models: Option<Vec<String>>,
    /// WARN, PAUSE, STOP (default) or KILL.
    #[schema(value_type = Option<crate::schema::BreachAction>)]
    pub action: Option<BreachAction>,
    /// low, medium, high, critical.
    #[schema(value_type = Option<crate::schema::Severity>)]
    pub severity: Option<Severity>,
    pub scope: Option<ScopeWire>,
    /// Precedence: lower wins (default 100).
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub priority: Option<i32>,
    pub monitors: Option<MonitorsWire>,
    /// NEAR fires at this percentage of the limit (default: the tenant's, 80).
    pub near_threshold_pct: Option<f64>,
    /// active (default) or disabled.
    #[schema(value_type = Option<crate::schema::PolicyStatus>)]
    pub status: Option<PolicyStatus>,
}

impl From<PolicyIn> for PolicyDraft {
    fn from(p: PolicyIn) -> Self {
        PolicyDraft {
            name: p.name,
            description: p.description,
            rule_type: Some(p.rule_type),
            condition: p.condition,
            threshold: p.threshold,
            window_seconds: p.window_seconds,
            limit_scope: p.limit_scope,
            models: p.models,
            action: p.action,
            severity: p.severity,
            scope: p.scope.map(Into::into),
            priority: p.priority,
            monitors: p.monitors.map(Into::into),
            near_threshold_pct: p.near_threshold_pct,
            status: p.status,
        }
    }
}

/// The definition part of a policy (also a library template's).
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicySpecOut {
    pub name: String,
    pub description: String,
    pub rule_type: String,
    pub condition: Option<String>,
    pub threshold: Option<f64>,
    pub window_seconds: Option<i64>,
    pub limit_scope: String,
    pub models: Vec<String>,
    pub action: String,
    pub severity: String,
    pub scope: ScopeWire,
    pub priority: i32,
    pub monitors: MonitorsWire,
    pub near_threshold_pct: Option<f64>,
    pub status: String,
}

impl From<PolicySpec> for PolicySpecOut {
    fn from(s: PolicySpec) -> Self {
        PolicySpecOut {
            name: s.name,
            description: s.description,
            rule_type: s.rule_type.as_str().to_owned(),
            condition: s.condition,
            threshold: s.threshold,
            window_seconds: s.window_seconds,
            limit_scope: s.limit_scope.as_str().to_owned(),
            models: s.models,
            action: s.action.as_str().to_owned(),
            severity: s.severity.as_str().to_owned(),
            scope: s.scope.into(),
            priority: s.priority,
            monitors: s.monitors.into(),
            near_threshold_pct: s.near_threshold_pct,
            status: s.status.as_str().to_owned(),
        }
    }
}

/// A policy (PolicyRule) with its current version and counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyOut {
    pub policy_id: String,
    pub tenant_id: String,
    pub version: i32,
    #[serde(flatten)]
    pub spec: PolicySpecOut,
    pub violation_count: i64,
    pub incident_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<PolicyRule> for PolicyOut {
    fn from(p: PolicyRule) -> Self {
        PolicyOut {
            policy_id: p.policy_id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            version: p.version,
            spec: p.spec.into(),
            violation_count: p.violation_count,
            incident_count: p.incident_count,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitOut {
    pub limit_id: String,
    pub tenant_id: String,
    pub policy_id: String,
    pub limit_type: String,
    pub value: f64,
    pub window_seconds: Option<i64>,
    /// RUN, AGENT or API_KEY: what the limit counts over.
    pub scope: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<PolicyLimit> for LimitOut {
    fn from(l: PolicyLimit) -> Self {
        LimitOut {
            limit_id: l.limit_id.to_string(),
            tenant_id: l.tenant_id.to_string(),
            policy_id: l.policy_id.to_string(),
            limit_type: l.limit_type.as_str().to_owned(),
            value: l.value,
            window_seconds: l.window_seconds,
            scope: l.scope.as_str().to_owned(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// The tenant-wide policy controls.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlsOut {
    /// enforce, or shadow (decide and record, never block).
    pub enforcement_mode: String,
    /// MOST_RESTRICTIVE, EXPLICIT_PRIORITY or FAIL_CLOSED.
    pub conflict_strategy: String,
    pub near_threshold_pct: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    pub updated_by: Option<String>,
    /// Agents a KILL breach stopped; release them with POST /api/v1/runs/agents/{agent_id}/release.
    pub killed_agents: Vec<KilledAgentOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KilledAgentOut {
    pub agent_id: String,
    pub run_id: String,
    pub policy_id: Option<String>,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub killed_at: OffsetDateTime,
}

impl ControlsOut {
    pub fn new(c: PolicyControls, killed: Vec<gov_model::AgentKill>) -> Self {
        ControlsOut {
            enforcement_mode: c.enforcement_mode.as_str().to_owned(),
            conflict_strategy: c.conflict_strategy.as_str().to_owned(),
            near_threshold_pct: c.near_threshold_pct,
            updated_at: c.updated_at,
            updated_by: c.updated_by,
            killed_agents: killed
                .into_iter()
                .map(|k| KilledAgentOut {
                    agent_id: k.agent_id,
                    run_id: k.run_id.to_string(),
                    policy_id: k.policy_id.map(|p| p.to_string()),
                    reason: k.reason,
                    killed_at: k.killed_at,
                })
                .collect(),
        }
    }
}
