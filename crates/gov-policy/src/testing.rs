//! Fixtures for the unit tests: valid specs and stored policies with fixed ids and times.

use gov_model::{
    BreachAction, LimitId, LimitScope, Monitors, PolicyId, PolicyLimit, PolicyRule, PolicyScope, PolicySpec,
    PolicyStatus, RuleType, Severity, TenantId, Timestamp,
};

/// A fixed id of any id type, `n` in its last digits, so tests are deterministic.
pub(crate) fn id<T: std::str::FromStr>(n: u64) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-4000-8000-{n:012x}").parse().unwrap()
}

/// A valid spec of `rule_type`.
pub(crate) fn spec(rule_type: RuleType) -> PolicySpec {
    let (threshold, window_seconds, limit_scope) = match rule_type {
        RuleType::RateLimit => (Some(10.0), Some(60), LimitScope::Agent),
        _ if rule_type.is_numeric() => (Some(1000.0), None, LimitScope::Run),
        _ => (None, None, LimitScope::Run),
    };
    PolicySpec {
        name: format!("{rule_type} policy"),
        description: String::new(),
        rule_type,
        condition: (rule_type == RuleType::Custom).then(|| "step.tokens > 5000".to_owned()),
        threshold,
        window_seconds,
        limit_scope,
        models: if rule_type == RuleType::ModelAllowlist { vec!["gpt-4o".to_owned()] } else { Vec::new() },
        action: BreachAction::Stop,
        severity: Severity::High,
        scope: PolicyScope::all_runs(),
        priority: 100,
        monitors: Monitors::default(),
        near_threshold_pct: None,
        status: PolicyStatus::Active,
    }
}

pub(crate) fn policy(n: u64, spec: PolicySpec) -> PolicyRule {
    PolicyRule {
        policy_id: id(n),
        tenant_id: id::<TenantId>(9999),
        version: 1,
        spec,
        violation_count: 0,
        incident_count: 0,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

pub(crate) fn limit(policy: &PolicyRule, n: u64, limit_type: RuleType, value: f64) -> PolicyLimit {
    let rate = limit_type == RuleType::RateLimit;
    PolicyLimit {
        limit_id: id::<LimitId>(n),
        tenant_id: policy.tenant_id,
        policy_id: policy.policy_id,
        limit_type,
        value,
        window_seconds: rate.then_some(60),
        scope: if rate { LimitScope::Agent } else { LimitScope::Run },
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

pub(crate) fn policy_id(n: u64) -> PolicyId {
    id(n)
}
