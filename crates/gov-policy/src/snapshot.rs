//! Snapshots: the policies that govern one run, frozen as canonical JSON with a content hash when
//! the run starts, and loaded back (hash verified first) to evaluate its steps.

use gov_model::{ConflictStrategy, PolicyControls, PolicyId, PolicyLimit, PolicyRule, RuleType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::arbitrate::effective_checks;
use crate::canonical::to_canonical_json;
use crate::check::{Check, CheckKind, Metric};
use crate::condition::CompiledCondition;
use crate::error::{ConditionError, SnapshotError};
use crate::scope::{RunAttributes, applies_to};

/// Domain separation: a snapshot hash can never collide with another kind of gov hash.
const HASH_DOMAIN: &[u8] = b"gov-snapshot-v1\0";

/// A frozen snapshot, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotContent {
    /// The applicable policies as they were, sorted by (priority, policy id).
    pub policies_json: String,
    /// The effective checks after arbitration: everything evaluation needs.
    pub thresholds_json: String,
    pub content_hash: String,
    /// How many policies apply to the run.
    pub policy_count: i32,
}

/// The thresholds document.
#[derive(Serialize, Deserialize)]
struct Thresholds {
    conflict_strategy: ConflictStrategy,
    checks: Vec<Check>,
}

/// Freezes the policies that apply to `run`. Deterministic: the same policies, in any order,
/// give byte-identical content.
pub fn build_snapshot(
    policies: &[(PolicyRule, Vec<PolicyLimit>)],
    controls: &PolicyControls,
    run: &RunAttributes,
) -> SnapshotContent {
    let mut applicable: Vec<&(PolicyRule, Vec<PolicyLimit>)> =
        policies.iter().filter(|(rule, _)| applies_to(&rule.spec, run)).collect();
    // Should a policy appear twice, its latest version counts, whatever the input order.
    applicable.sort_by(|(a, _), (b, _)| a.policy_id.cmp(&b.policy_id).then(b.version.cmp(&a.version)));
    applicable.dedup_by(|(a, _), (b, _)| a.policy_id == b.policy_id);
    // PolicyId orders as its UUID bytes, which is the order of its lowercase hyphenated text.
    applicable
        .sort_by(|(a, _), (b, _)| a.spec.priority.cmp(&b.spec.priority).then(a.policy_id.cmp(&b.policy_id)));

    let records = applicable.iter().map(|(rule, limits)| policy_record(rule, limits)).collect();
    let policies_json = to_canonical_json(Value::Array(records));

    let checks = applicable.iter().flat_map(|(rule, limits)| policy_checks(rule, limits, controls)).collect();
    let thresholds = Thresholds {
        conflict_strategy: controls.conflict_strategy,
        checks: effective_checks(controls.conflict_strategy, checks),
    };
    // A Check serialises through its flat record; nothing in it can fail to serialise.
    let thresholds_json = to_canonical_json(serde_json::to_value(thresholds).unwrap_or(Value::Null));

    SnapshotContent {
        content_hash: snapshot_hash(&policies_json, &thresholds_json),
        policy_count: i32::try_from(applicable.len()).unwrap_or(i32::MAX),
        policies_json,
        thresholds_json,
    }
}

/// Lowercase hex blake3 of the domain tag, the policies, a NUL and the thresholds.
pub fn snapshot_hash(policies_json: &str, thresholds_json: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(HASH_DOMAIN);
    hasher.update(policies_json.as_bytes());
    hasher.update(b"\0");
    hasher.update(thresholds_json.as_bytes());
    hasher.finalize().to_hex().to_string()
}

fn policy_record(rule: &PolicyRule, limits: &[PolicyLimit]) -> Value {
    let spec = &rule.spec;
    let mut limits: Vec<&PolicyLimit> = limits.iter().collect();
    limits.sort_by_key(|l| l.limit_id);
    let limits: Vec<Value> = limits
        .iter()
        .map(|l| {
            json!({
                "limit_id": l.limit_id,
                "limit_type": l.limit_type,
                "value": l.value,
                "window_seconds": l.window_seconds,
                "scope": l.scope,
            })
        })
        .collect();
    json!({
        "policy_id": rule.policy_id,
        "version": rule.version,
        "name": spec.name,
        "description": spec.description,
        "rule_type": spec.rule_type,
        "condition": spec.condition,
        "threshold": spec.threshold,
        "window_seconds": spec.window_seconds,
        "limit_scope": spec.limit_scope,
        "models": spec.models,
        "action": spec.action,
        "severity": spec.severity,
        "scope": {
            "scope_type": spec.scope.kind(),
            "agent_ids": spec.scope.agent_ids,
            "api_key_ids": spec.scope.api_key_ids,
            "human_actor_ids": spec.scope.human_actor_ids,
        },
        "priority": spec.priority,
        "monitors": spec.monitors,
        "near_threshold_pct": spec.near_threshold_pct,
        "limits": limits,
    })
}

/// The checks one policy yields before arbitration.
fn policy_checks(rule: &PolicyRule, limits: &[PolicyLimit], controls: &PolicyControls) -> Vec<Check> {
    let spec = &rule.spec;
    let check = |suffix: String, rule_type, kind| {
        let mut check = Check {
            check_id: format!("{}:{suffix}", rule.policy_id),
            kind,
            near_pct: spec.near_threshold_pct.unwrap_or(controls.near_threshold_pct),
            action: spec.action,
            severity: spec.severity,
            priority: spec.priority,
            policy_id: rule.policy_id,
            policy_version: rule.version,
            policy_name: spec.name.clone(),
            rule_type,
            scope_type: spec.scope.kind(),
            precedence_chain: Vec::new(),
            shadowed: Vec::new(),
            ambiguous: false,
        };
        check.precedence_chain = vec![check.entry()];
        check
    };
    let mut checks = Vec::with_capacity(1 + limits.len());
    match (spec.rule_type, Metric::of(spec.rule_type), spec.threshold) {
        (_, Some(metric), Some(limit)) => {
            let kind = CheckKind::Numeric {
                metric,
                limit,
                window_seconds: spec.window_seconds,
                limit_scope: spec.limit_scope,
            };
            checks.push(check("primary".to_owned(), spec.rule_type, kind));
        }
        // A numeric rule without a threshold does not validate, so it is never stored.
        (_, Some(_), None) => {}
        (RuleType::ModelAllowlist, ..) => {
            checks.push(check(
                "allowlist".to_owned(),
                spec.rule_type,
                CheckKind::Allowlist { models: spec.models.clone() },
            ));
        }
        // Were the condition missing, the empty one fails to compile, and so fails closed.
        (_, None, _) => {
            let condition = spec.condition.clone().unwrap_or_default();
            checks.push(check("custom".to_owned(), spec.rule_type, CheckKind::Custom { condition }));
        }
    }
    for limit in limits {
        if let Some(metric) = Metric::of(limit.limit_type) {
            let kind = CheckKind::Numeric {
                metric,
                limit: limit.value,
                window_seconds: limit.window_seconds,
                limit_scope: limit.scope,
            };
            checks.push(check(limit.limit_id.to_string(), limit.limit_type, kind));
        }
    }
    checks
}

/// A verified snapshot with its custom conditions compiled, cached and shared across threads.
#[derive(Debug)]
pub struct CompiledSnapshot {
    content_hash: String,
    conflict_strategy: ConflictStrategy,
    checks: Vec<Check>,
    /// One per check; `Some` for custom checks. A condition that no longer compiles is kept as
    /// its error, and evaluating it fails closed.
    conditions: Vec<Option<Result<CompiledCondition, ConditionError>>>,
    policy_ids: Vec<PolicyId>,
    has_custom_checks: bool,
}

#[derive(Deserialize)]
struct PolicyIdOnly {
    policy_id: PolicyId,
}

impl CompiledSnapshot {
    /// Verifies the content against `expected_hash` before reading anything, then parses the
    /// checks and compiles each custom condition once.
    pub fn load(
        policies_json: &str,
        thresholds_json: &str,
        expected_hash: &str,
    ) -> Result<CompiledSnapshot, SnapshotError> {
        let actual = snapshot_hash(policies_json, thresholds_json);
        if actual != expected_hash {
            return Err(SnapshotError::Integrity { expected: expected_hash.to_owned(), actual });
        }
        let malformed = |what: &str, e: serde_json::Error| SnapshotError::Malformed(format!("{what}: {e}"));
        let policies: Vec<PolicyIdOnly> =
            serde_json::from_str(policies_json).map_err(|e| malformed("policies_json", e))?;
        let thresholds: Thresholds =
            serde_json::from_str(thresholds_json).map_err(|e| malformed("thresholds_json", e))?;
        let conditions: Vec<_> = thresholds
            .checks
            .iter()
            .map(|check| match &check.kind {
                CheckKind::Custom { condition } => Some(CompiledCondition::compile(condition)),
                _ => None,
            })
            .collect();
        Ok(CompiledSnapshot {
            content_hash: actual,
            conflict_strategy: thresholds.conflict_strategy,
            has_custom_checks: conditions.iter().any(Option::is_some),
            checks: thresholds.checks,
            conditions,
            policy_ids: policies.into_iter().map(|p| p.policy_id).collect(),
        })
    }

    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    pub fn conflict_strategy(&self) -> ConflictStrategy {
        self.conflict_strategy
    }

    /// The effective checks, sorted by check id. Indexes into this slice identify checks.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The rate checks with their index, so the caller can count steps per window for each.
    pub fn rate_checks(&self) -> impl Iterator<Item = (usize, &Check)> {
        self.checks.iter().enumerate().filter(|(_, check)| check.metric() == Some(Metric::Rate))
    }

    /// The compiled condition of the custom check at `index`; `None` for other checks.
    pub fn condition(&self, index: usize) -> Option<&Result<CompiledCondition, ConditionError>> {
        self.conditions.get(index).and_then(Option::as_ref)
    }

    pub fn has_custom_checks(&self) -> bool {
        self.has_custom_checks
    }

    /// The applicable policies, in snapshot order (priority, policy id).
    pub fn policy_ids(&self) -> &[PolicyId] {
        &self.policy_ids
    }
}

#[cfg(test)]
mod tests {
    use gov_model::{BreachAction, LimitScope, PolicyStatus, ScopeType};

    use super::*;
    use crate::testing::{id, limit, policy, policy_id, spec};

    fn run() -> RunAttributes {
        RunAttributes { agent_id: "agent-1".into(), api_key_id: None, human_actor_id: None }
    }

    fn controls(strategy: ConflictStrategy) -> PolicyControls {
        PolicyControls { conflict_strategy: strategy, ..PolicyControls::default() }
    }

    fn numeric(n: u64, rule_type: RuleType, threshold: f64, priority: i32) -> (PolicyRule, Vec<PolicyLimit>) {
        let mut spec = spec(rule_type);
        spec.threshold = Some(threshold);
        spec.priority = priority;
        (policy(n, spec), Vec::new())
    }

    fn load(content: &SnapshotContent) -> CompiledSnapshot {
        CompiledSnapshot::load(&content.policies_json, &content.thresholds_json, &content.content_hash)
            .unwrap()
    }

    /// A mixed set: two token policies (one group), a token policy with an extra cost limit, a
    /// cost policy, two rate windows, an allowlist, a custom rule, and two that do not apply.
    fn mixed() -> Vec<(PolicyRule, Vec<PolicyLimit>)> {
        let mut with_limit = numeric(3, RuleType::TokenLimit, 5000.0, 30);
        with_limit.1.push(limit(&with_limit.0, 31, RuleType::CostLimit, 250.0));
        let mut hourly = numeric(6, RuleType::RateLimit, 100.0, 60);
        hourly.0.spec.window_seconds = Some(3600);
        let mut disabled = numeric(8, RuleType::TokenLimit, 1.0, 0);
        disabled.0.spec.status = PolicyStatus::Disabled;
        let mut other_agent = numeric(9, RuleType::StepLimit, 1.0, 0);
        other_agent.0.spec.scope = gov_model::PolicyScope {
            scope_type: Some(ScopeType::Agent),
            agent_ids: vec!["agent-2".into()],
            ..Default::default()
        };
        vec![
            numeric(1, RuleType::TokenLimit, 10_000.0, 10),
            numeric(2, RuleType::TokenLimit, 8000.0, 20),
            with_limit,
            numeric(4, RuleType::CostLimit, 500.0, 40),
            numeric(5, RuleType::RateLimit, 10.0, 50),
            hourly,
            (policy(7, spec(RuleType::ModelAllowlist)), Vec::new()),
            (policy(10, spec(RuleType::Custom)), Vec::new()),
            disabled,
            other_agent,
        ]
    }

    #[test]
    fn the_same_policies_in_any_order_freeze_to_the_same_bytes() {
        let policies = mixed();
        let first = build_snapshot(&policies, &controls(ConflictStrategy::MostRestrictive), &run());
        let mut reversed = policies.clone();
        reversed.reverse();
        let mut rotated = policies.clone();
        rotated.rotate_left(3);
        for other in [reversed, rotated] {
            assert_eq!(build_snapshot(&other, &controls(ConflictStrategy::MostRestrictive), &run()), first);
        }
        assert_eq!(first.content_hash, snapshot_hash(&first.policies_json, &first.thresholds_json));
        assert_eq!(first.content_hash.len(), 64);
        assert!(first.content_hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        for json in [&first.policies_json, &first.thresholds_json] {
            let parsed: Value = serde_json::from_str(json).unwrap();
            assert_eq!(&to_canonical_json(parsed), json, "already canonical");
        }
    }

    /// Pins the format: a change here changes every new snapshot's hash, so it must be deliberate.
    #[test]
    fn freezes_to_a_known_document() {
        let policies = [(policy(1, spec(RuleType::TokenLimit)), Vec::new())];
        let content = build_snapshot(&policies, &PolicyControls::default(), &RunAttributes::default());
        assert!(content.policies_json.starts_with(r#"[{"action":"STOP","condition":null,"description":"","#));
        assert!(content.thresholds_json.starts_with(r#"{"checks":[{"action":"STOP","ambiguous":false,"#));
        assert!(
            content
                .thresholds_json
                .ends_with(r#""window_seconds":null}],"conflict_strategy":"MOST_RESTRICTIVE"}"#)
        );
        assert_eq!(content.content_hash, "c9d0abcfc75df6bba622ee1b91c391ba7ad84eb489a38e295352936aed1fffe6");
    }

    #[test]
    fn anything_that_changes_changes_the_hash() {
        let base = build_snapshot(&mixed(), &controls(ConflictStrategy::MostRestrictive), &run());
        let mut edited = mixed();
        edited[6].0.spec.models.push("o3".into());
        let strategy = build_snapshot(&mixed(), &controls(ConflictStrategy::FailClosed), &run());
        let edit = build_snapshot(&edited, &controls(ConflictStrategy::MostRestrictive), &run());
        assert_ne!(strategy.content_hash, base.content_hash);
        assert_ne!(edit.content_hash, base.content_hash);
        // The NUL separator keeps bytes from moving between the two documents unnoticed.
        assert_ne!(snapshot_hash("ab", "c"), snapshot_hash("a", "bc"));
    }

    #[test]
    fn lists_the_applicable_policies_by_priority_then_id() {
        let mut policies = mixed();
        policies[1].0.spec.priority = 10; // ties with policy 1, whose id is smaller
        let content = build_snapshot(&policies, &PolicyControls::default(), &run());
        assert_eq!(content.policy_count, 8);
        let listed: Vec<Value> = serde_json::from_str(&content.policies_json).unwrap();
        let ids: Vec<&str> = listed.iter().map(|p| p["policy_id"].as_str().unwrap()).collect();
        let expected: Vec<String> =
            [1, 2, 3, 4, 5, 6, 7, 10].iter().map(|n| policy_id(*n).to_string()).collect();
        assert_eq!(ids, expected);
        let third = &listed[2];
        assert_eq!(third["rule_type"], "token_limit");
        assert_eq!(third["scope"]["scope_type"], "ALL_RUNS");
        assert_eq!(third["monitors"]["burn_rate"], true);
        assert_eq!(third["limits"][0]["limit_type"], "cost_limit");
        assert_eq!(third["limits"][0]["value"], 250.0);
        assert_eq!(third["limits"][0]["scope"], "RUN");
    }

    /// Expects `(check id suffix of the winner, metric, limit, action, chain length, shadowed)`
    /// for every effective check, in check id order.
    fn check(
        strategy: ConflictStrategy,
        policies: &[(PolicyRule, Vec<PolicyLimit>)],
        expected: &[(&str, &str, f64, usize)],
    ) {
        let snapshot = load(&build_snapshot(policies, &controls(strategy), &run()));
        let actual: Vec<(String, String, f64, usize)> = snapshot
            .checks()
            .iter()
            .map(|c| {
                let n = snapshot.policy_ids().iter().position(|id| *id == c.policy_id).unwrap();
                let metric = c.metric().map_or(c.rule_type.as_str(), Metric::as_str);
                (format!("p{n}"), metric.to_owned(), c.limit().unwrap_or(f64::NAN), c.precedence_chain.len())
            })
            .collect();
        let actual: Vec<(&str, &str, f64, usize)> =
            actual.iter().map(|(p, m, l, n)| (p.as_str(), m.as_str(), *l, *n)).collect();
        let fmt = |v: &[(&str, &str, f64, usize)]| format!("{v:?}");
        assert_eq!(fmt(&actual), fmt(expected), "{strategy}");
    }

    #[test]
    fn yields_checks_per_policy_and_limit_and_merges_groups() {
        // Sorted by check id: by policy (p0..p7 are policies 1..7 and 10), a limit's id before `primary`.
        check(
            ConflictStrategy::MostRestrictive,
            &mixed(),
            &[
                ("p2", "cost_cents", 250.0, 2),
                ("p2", "tokens", 5000.0, 3),
                ("p4", "rate", 10.0, 1),
                ("p5", "rate", 100.0, 1),
                ("p6", "model_allowlist", f64::NAN, 1),
                ("p7", "custom", f64::NAN, 1),
            ],
        );
        check(
            ConflictStrategy::ExplicitPriority,
            &mixed(),
            &[
                ("p0", "tokens", 10_000.0, 3),
                ("p2", "cost_cents", 250.0, 2),
                ("p4", "rate", 10.0, 1),
                ("p5", "rate", 100.0, 1),
                ("p6", "model_allowlist", f64::NAN, 1),
                ("p7", "custom", f64::NAN, 1),
            ],
        );
    }

    #[test]
    fn merged_checks_carry_their_chain_and_shadowed_policies() {
        let snapshot = load(&build_snapshot(&mixed(), &controls(ConflictStrategy::MostRestrictive), &run()));
        let tokens = snapshot.checks().iter().find(|c| c.metric() == Some(Metric::Tokens)).unwrap();
        assert_eq!(tokens.check_id, format!("{}:primary", policy_id(3)));
        let chain: Vec<f64> = tokens.precedence_chain.iter().map(|e| e.limit.unwrap()).collect();
        assert_eq!(chain, [5000.0, 10_000.0, 8000.0], "winner, then by priority");
        assert_eq!(tokens.shadowed, [policy_id(1), policy_id(2)]);
        let cost = snapshot.checks().iter().find(|c| c.metric() == Some(Metric::CostCents)).unwrap();
        assert_eq!(cost.check_id, format!("{}:{}", policy_id(3), id::<gov_model::LimitId>(31)));
        assert_eq!(cost.rule_type, RuleType::CostLimit);
        let rate = snapshot.checks().iter().find(|c| c.metric() == Some(Metric::Rate)).unwrap();
        assert!(matches!(
            rate.kind,
            CheckKind::Numeric { window_seconds: Some(60), limit_scope: LimitScope::Agent, .. }
        ));
        assert!(rate.shadowed.is_empty());
    }

    #[test]
    fn near_pct_comes_from_the_policy_or_the_tenant() {
        let mut policies =
            vec![numeric(1, RuleType::TokenLimit, 100.0, 1), numeric(2, RuleType::CostLimit, 100.0, 1)];
        policies[0].0.spec.near_threshold_pct = Some(95.0);
        let controls = PolicyControls { near_threshold_pct: 70.0, ..PolicyControls::default() };
        let snapshot = load(&build_snapshot(&policies, &controls, &run()));
        let near: Vec<f64> = snapshot.checks().iter().map(|c| c.near_pct).collect();
        assert_eq!(near, [95.0, 70.0]);
    }

    #[test]
    fn fail_closed_marks_an_ambiguous_tie() {
        let mut policies =
            vec![numeric(1, RuleType::TokenLimit, 1000.0, 5), numeric(2, RuleType::TokenLimit, 900.0, 5)];
        policies[0].0.spec.action = BreachAction::Warn;
        policies[1].0.spec.action = BreachAction::Warn;
        let snapshot = load(&build_snapshot(&policies, &controls(ConflictStrategy::FailClosed), &run()));
        let [check] = snapshot.checks() else { panic!("one merged check") };
        assert!(check.ambiguous);
        assert_eq!(
            (check.policy_id, check.limit(), check.action),
            (policy_id(2), Some(900.0), BreachAction::Stop)
        );
    }

    #[test]
    fn loading_verifies_the_hash_before_anything_else() {
        let content = build_snapshot(&mixed(), &PolicyControls::default(), &run());
        let tampered_policies = content.policies_json.replace("10000.0", "99999.0");
        let tampered_thresholds = content.thresholds_json.replacen("5000.0", "50000.0", 1);
        assert_ne!(tampered_policies, content.policies_json);
        assert_ne!(tampered_thresholds, content.thresholds_json);
        for (policies, thresholds, hash) in [
            (tampered_policies.as_str(), content.thresholds_json.as_str(), content.content_hash.as_str()),
            (&content.policies_json, &tampered_thresholds, &content.content_hash),
            (&content.policies_json, &content.thresholds_json, &content.content_hash.to_uppercase()),
            (&content.policies_json, &content.thresholds_json, ""),
        ] {
            let error = CompiledSnapshot::load(policies, thresholds, hash).unwrap_err();
            assert_eq!(
                error,
                SnapshotError::Integrity {
                    expected: hash.to_owned(),
                    actual: snapshot_hash(policies, thresholds)
                }
            );
        }
    }

    #[test]
    fn a_correctly_hashed_but_unreadable_snapshot_is_malformed() {
        for (policies, thresholds) in [
            ("[]", "{}"),
            ("{}", r#"{"conflict_strategy":"MOST_RESTRICTIVE","checks":[]}"#),
            ("[]", r#"{"conflict_strategy":"MOST_RESTRICTIVE","checks":[{"check_id":"x"}]}"#),
        ] {
            let hash = snapshot_hash(policies, thresholds);
            let error = CompiledSnapshot::load(policies, thresholds, &hash).unwrap_err();
            assert!(matches!(error, SnapshotError::Malformed(_)), "{error}");
        }
        let empty = r#"{"checks":[],"conflict_strategy":"MOST_RESTRICTIVE"}"#;
        let snapshot = CompiledSnapshot::load("[]", empty, &snapshot_hash("[]", empty)).unwrap();
        assert!(snapshot.checks().is_empty());
    }

    #[test]
    fn loading_exposes_rate_checks_policies_and_compiled_conditions() {
        let content = build_snapshot(&mixed(), &PolicyControls::default(), &run());
        let snapshot = load(&content);
        assert_eq!(snapshot.content_hash(), content.content_hash);
        assert_eq!(snapshot.policy_ids().len(), 8);
        let rates: Vec<(usize, f64)> = snapshot.rate_checks().map(|(i, c)| (i, c.limit().unwrap())).collect();
        assert_eq!(rates, [(2, 10.0), (3, 100.0)]);
        assert!(snapshot.has_custom_checks());
        let custom =
            snapshot.checks().iter().position(|c| matches!(c.kind, CheckKind::Custom { .. })).unwrap();
        assert!(matches!(snapshot.condition(custom), Some(Ok(_))));
        assert!(snapshot.condition(0).is_none());
        assert!(snapshot.condition(99).is_none());
    }

    #[test]
    fn a_frozen_condition_that_no_longer_compiles_is_kept_as_its_error() {
        let mut policies = vec![(policy(1, spec(RuleType::Custom)), Vec::new())];
        policies[0].0.spec.condition = Some("step.gone > 1".into());
        let snapshot = load(&build_snapshot(&policies, &PolicyControls::default(), &run()));
        assert!(matches!(snapshot.condition(0), Some(Err(e)) if e.message.contains("step.gone")));
    }

    #[test]
    fn compiled_snapshots_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledSnapshot>();
    }
}
