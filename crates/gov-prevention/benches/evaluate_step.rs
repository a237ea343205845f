//! Cost of deciding one step against snapshots of growing size. Each numeric policy adds its
//! primary check (token, cost and step limits, burn rates and rate limits in turn; the non-rate
//! ones merge into one group per metric) and an extra rate limit with a window of its own, so
//! the effective checks grow with the policies.

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use gov_model::{
    BreachAction, LimitId, LimitScope, Monitors, PolicyControls, PolicyLimit, PolicyRule, PolicyScope,
    PolicySpec, PolicyStatus, RuleType, Severity, TenantId, Timestamp,
};
use gov_policy::{CompiledSnapshot, RunAttributes, build_snapshot};
use gov_prevention::{Outcome, RateCount, RunState, StepSignals, evaluate_step};

fn id<T: std::str::FromStr>(n: u64) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-4000-8000-{n:012x}").parse().expect("a valid id")
}

const KINDS: [(RuleType, f64); 5] = [
    (RuleType::TokenLimit, 1_000_000.0),
    (RuleType::CostLimit, 100_000.0),
    (RuleType::StepLimit, 10_000.0),
    (RuleType::BurnRate, 1_000.0),
    (RuleType::RateLimit, 1_000.0),
];

fn spec(n: u64, rule_type: RuleType, threshold: Option<f64>) -> PolicySpec {
    let rate = rule_type == RuleType::RateLimit;
    PolicySpec {
        name: format!("policy {n}"),
        description: String::new(),
        rule_type,
        condition: None,
        threshold,
        window_seconds: rate.then_some(60 + i64::try_from(n).unwrap_or_default()),
        limit_scope: if rate { LimitScope::Agent } else { LimitScope::Run },
        models: Vec::new(),
        action: BreachAction::Stop,
        severity: Severity::High,
        scope: PolicyScope::all_runs(),
        priority: i32::try_from(n).unwrap_or_default(),
        monitors: Monitors::default(),
        near_threshold_pct: None,
        status: PolicyStatus::Active,
    }
}

fn rule(n: u64, spec: PolicySpec) -> PolicyRule {
    PolicyRule {
        policy_id: id(n),
        tenant_id: id::<TenantId>(0),
        version: 1,
        spec,
        violation_count: 0,
        incident_count: 0,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

/// `numeric` numeric policies, the first `custom` of them replaced by CEL rules.
fn snapshot(numeric: u64, custom: u64) -> CompiledSnapshot {
    let policies: Vec<(PolicyRule, Vec<PolicyLimit>)> = (1..=numeric)
        .map(|n| {
            if n <= custom {
                let mut spec = spec(n, RuleType::Custom, None);
                spec.condition =
                    Some(format!("step.tokens > 50000 || (run.burn_rate > 900.0 && step.model == 'm{n}')"));
                return (rule(n, spec), Vec::new());
            }
            let (rule_type, threshold) = KINDS[usize::try_from(n).unwrap_or_default() % KINDS.len()];
            let policy = rule(n, spec(n, rule_type, Some(threshold)));
            let limit = PolicyLimit {
                limit_id: id::<LimitId>(1000 + n),
                tenant_id: policy.tenant_id,
                policy_id: policy.policy_id,
                limit_type: RuleType::RateLimit,
                value: 5000.0,
                window_seconds: Some(10_000 + i64::try_from(n).unwrap_or_default()),
                scope: LimitScope::Agent,
                created_at: Timestamp::UNIX_EPOCH,
                updated_at: Timestamp::UNIX_EPOCH,
            };
            (policy, vec![limit])
        })
        .collect();
    let run = RunAttributes { agent_id: "agent".into(), ..RunAttributes::default() };
    let content = build_snapshot(&policies, &PolicyControls::default(), &run);
    CompiledSnapshot::load(&content.policies_json, &content.thresholds_json, &content.content_hash)
        .expect("a freshly built snapshot loads")
}

fn bench(c: &mut Criterion) {
    let run = RunState {
        agent_id: "agent",
        human_actor_id: None,
        tokens_used: 120_000,
        total_cost_cents: 900.0,
        step_count: 40,
        elapsed_seconds: 600.0,
    };
    let step = StepSignals {
        step_type: "llm",
        tokens: 1500,
        input_tokens: 1000,
        output_tokens: 500,
        cost_cents: 3.5,
        model: Some("gpt-4o"),
        duration_ms: 800,
        retrieved_documents: 0,
    };
    let mut group = c.benchmark_group("evaluate_step");
    let mut cases: Vec<(String, CompiledSnapshot, StepSignals<'_>, Outcome)> = [1, 5, 10, 20, 40]
        .into_iter()
        .map(|n| (format!("allow/{n}"), snapshot(n, 0), step, Outcome::Allow))
        .collect();
    cases.push(("allow_custom/20".to_owned(), snapshot(20, 2), step, Outcome::Allow));
    cases.push((
        "block/20".to_owned(),
        snapshot(20, 0),
        StepSignals { tokens: 900_000, ..step },
        Outcome::Block,
    ));
    for (name, snapshot, step, expected) in &cases {
        let counts: Vec<RateCount> = snapshot
            .rate_checks()
            .map(|(check_index, _)| RateCount { check_index, count: 3, retry_after_secs: 30 })
            .collect();
        let outcome = evaluate_step(snapshot, &run, step, &counts, &[]).outcome;
        assert_eq!(outcome, *expected, "{name}");
        eprintln!("{name}: {} effective checks", snapshot.checks().len());
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                evaluate_step(black_box(snapshot), black_box(&run), black_box(step), black_box(&counts), &[])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
