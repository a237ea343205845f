//! Decisions, violations, signals, overrides and cost records on the wire.

use gov_facades::{Finding, Verdict};
use gov_model::{CostRecord, OverrideRecord, PreventionRecord, ThresholdSignal};
use serde::Serialize;
use utoipa::ToSchema;

use time::OffsetDateTime;

/// One policy finding of a step evaluation: a NEAR crossing or a BREACH.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingOut {
    pub check_id: String,
    pub policy_id: String,
    pub policy_name: String,
    pub policy_version: i32,
    pub rule_type: String,
    pub violation_type: String,
    /// ALL_RUNS, AGENT, API_KEY or HUMAN_ACTOR.
    pub scope_type: String,
    pub priority: i32,
    /// tokens, cost_cents, steps, rate, burn_rate, model or condition.
    pub signal: String,
    pub current_value: f64,
    pub limit: Option<f64>,
    pub percentage: Option<f64>,
    /// NEAR or BREACH.
    pub level: String,
    /// WARN, PAUSE, STOP or KILL.
    pub action: String,
    pub severity: String,
    pub reason: String,
    /// The policies that govern the same signal, the winner first.
    #[schema(value_type = Vec<Object>)]
    pub precedence_chain: Vec<serde_json::Value>,
    pub retry_after_secs: Option<i64>,
}

impl From<&Finding> for FindingOut {
    fn from(f: &Finding) -> Self {
        FindingOut {
            check_id: f.check_id.clone(),
            policy_id: f.policy_id.to_string(),
            policy_name: f.policy_name.clone(),
            policy_version: f.policy_version,
            rule_type: f.rule_type.as_str().to_owned(),
            violation_type: f.violation_type.as_str().to_owned(),
            scope_type: f.scope_type.as_str().to_owned(),
            priority: f.priority,
            signal: f.metric.to_owned(),
            current_value: f.current_value,
            limit: f.limit,
            percentage: f.percentage,
            level: f.level.as_str().to_owned(),
            action: f.action.as_str().to_owned(),
            severity: f.severity.as_str().to_owned(),
            reason: f.reason.clone(),
            precedence_chain: f
                .precedence_chain
                .iter()
                .map(|link| {
                    serde_json::json!({
                        "check_id": link.check_id,
                        "policy_id": link.policy_id.to_string(),
                        "priority": link.priority,
                        "limit": link.limit,
                        "action": link.action.as_str(),
                    })
                })
                .collect(),
            retry_after_secs: f.retry_after_secs,
        }
    }
}

/// Why a step was answered the way it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    /// ALLOW, WARN or BLOCK: what the agent must do.
    pub decision: String,
    /// Shadow mode: what enforcement would have answered.
    pub shadow_decision: Option<String>,
    pub enforced: bool,
    pub reason: Option<String>,
    /// The finding that decided a WARN or BLOCK (the winning policy).
    pub winner: Option<FindingOut>,
    pub breaches: Vec<FindingOut>,
    pub near: Vec<FindingOut>,
    /// A stop that did not come from the policies (killed agent, snapshot integrity, kill switch).
    pub forced: Option<ForcedOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForcedOut {
    pub violation_type: String,
    pub termination_reason: String,
    pub policy_id: Option<String>,
    pub reason: String,
}

impl From<&Verdict> for DecisionOut {
    fn from(v: &Verdict) -> Self {
        let (winner, breaches, near) = match v.decision() {
            Some(d) => (
                d.winner.as_ref().map(FindingOut::from),
                d.breaches.iter().map(FindingOut::from).collect(),
                d.near.iter().map(FindingOut::from).collect(),
            ),
            None => (None, Vec::new(), Vec::new()),
        };
        DecisionOut {
            decision: v.outcome().as_str().to_owned(),
            shadow_decision: v.shadow_outcome().map(|o| o.as_str().to_owned()),
            enforced: v.enforced(),
            reason: v.reason().map(str::to_owned),
            winner,
            breaches,
            near,
            forced: v.forced().map(|f| ForcedOut {
                violation_type: f.violation_type.as_str().to_owned(),
                termination_reason: f.termination.as_str().to_owned(),
                policy_id: f.policy_id.map(|p| p.to_string()),
                reason: f.reason.clone(),
            }),
        }
    }
}

/// A prevention record: one policy violation found at a step.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationOut {
    pub record_id: String,
    pub run_id: String,
    pub policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub step_index: i64,
    pub action: String,
    pub decision: String,
    pub violation_type: String,
    pub signal: String,
    pub current_value: Option<f64>,
    pub limit: Option<f64>,
    /// False in shadow mode (recorded, not enforced) and for findings another policy outranked.
    pub enforced: bool,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<PreventionRecord> for ViolationOut {
    fn from(r: PreventionRecord) -> Self {
        ViolationOut {
            record_id: r.record_id.to_string(),
            run_id: r.run_id.to_string(),
            policy_id: r.policy_id.map(|p| p.to_string()),
            incident_id: r.incident_id.map(|i| i.to_string()),
            step_index: r.step_index,
            action: r.action.as_str().to_owned(),
            decision: r.decision.as_str().to_owned(),
            violation_type: r.violation_type.as_str().to_owned(),
            signal: r.metric,
            current_value: r.current_value,
            limit: r.limit_value,
            enforced: r.enforced,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignalOut {
    pub signal_id: String,
    pub run_id: String,
    pub policy_id: String,
    pub check_id: String,
    /// NEAR or BREACH.
    pub signal_type: String,
    pub signal: String,
    pub value: f64,
    pub limit: Option<f64>,
    pub percentage: Option<f64>,
    pub step_index: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<ThresholdSignal> for SignalOut {
    fn from(s: ThresholdSignal) -> Self {
        SignalOut {
            signal_id: s.signal_id.to_string(),
            run_id: s.run_id.to_string(),
            policy_id: s.policy_id.to_string(),
            check_id: s.check_id,
            signal_type: s.signal_type.as_str().to_owned(),
            signal: s.metric,
            value: s.value,
            limit: s.limit_value,
            percentage: s.percentage,
            step_index: s.step_index,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideOut {
    pub override_id: String,
    pub run_id: String,
    pub policy_id: String,
    /// SUSPEND or RAISE_LIMIT.
    pub kind: String,
    pub new_limit: Option<f64>,
    pub actor: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<OverrideRecord> for OverrideOut {
    fn from(o: OverrideRecord) -> Self {
        OverrideOut {
            override_id: o.override_id.to_string(),
            run_id: o.run_id.to_string(),
            policy_id: o.policy_id.to_string(),
            kind: o.kind.as_str().to_owned(),
            new_limit: o.new_limit,
            actor: o.actor,
            reason: o.reason,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostOut {
    pub cost_record_id: String,
    pub run_id: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub step_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<CostRecord> for CostOut {
    fn from(c: CostRecord) -> Self {
        CostOut {
            cost_record_id: c.cost_record_id.to_string(),
            run_id: c.run_id.to_string(),
            model: c.model,
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            tokens: c.tokens,
            cost_cents: c.cost_cents,
            step_count: c.step_count,
            created_at: c.created_at,
        }
    }
}
