//! Policies and snapshots for the engine's tests.

use gov_model::{
    BreachAction, ConflictStrategy, LimitScope, Monitors, PolicyControls, PolicyLimit, PolicyRule,
    PolicyScope, PolicySpec, PolicyStatus, RuleType, Severity, Timestamp,
};
use gov_policy::{CompiledSnapshot, RunAttributes, build_snapshot};

pub(crate) type Policy = (PolicyRule, Vec<PolicyLimit>);

pub(crate) fn id<T: std::str::FromStr>(n: u64) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-4000-8000-{n:012x}").parse().unwrap()
}

/// Policy `n`, named `P<n>`, priority `n * 10`, action STOP.
pub(crate) fn policy(n: u64, rule_type: RuleType, threshold: Option<f64>) -> Policy {
    let rate = rule_type == RuleType::RateLimit;
    let spec = PolicySpec {
        name: format!("P{n}"),
        description: String::new(),
        rule_type,
        condition: None,
        threshold,
        window_seconds: rate.then_some(60),
        limit_scope: if rate { LimitScope::Agent } else { LimitScope::Run },
        models: Vec::new(),
        action: BreachAction::Stop,
        severity: Severity::High,
        scope: PolicyScope::all_runs(),
        priority: i32::try_from(n).unwrap() * 10,
        monitors: Monitors { rag: true, ..Monitors::default() },
        near_threshold_pct: None,
        status: PolicyStatus::Active,
    };
    let rule = PolicyRule {
        policy_id: id(n),
        tenant_id: id(999),
        version: 1,
        spec,
        violation_count: 0,
        incident_count: 0,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    };
    (rule, Vec::new())
}

pub(crate) fn with(mut policy: Policy, edit: impl FnOnce(&mut PolicySpec)) -> Policy {
    edit(&mut policy.0.spec);
    policy
}

pub(crate) fn snapshot(policies: &[Policy], strategy: ConflictStrategy) -> CompiledSnapshot {
    let controls = PolicyControls { conflict_strategy: strategy, ..PolicyControls::default() };
    let run = RunAttributes { agent_id: "agent-1".into(), ..RunAttributes::default() };
    let content = build_snapshot(policies, &controls, &run);
    CompiledSnapshot::load(&content.policies_json, &content.thresholds_json, &content.content_hash).unwrap()
}
