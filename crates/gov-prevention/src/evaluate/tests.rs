//! Table-driven tests of `evaluate_step`: each row is a step and the decision it must get,
//! summarised as one line (outcome, winner, then every finding).

use gov_model::{
    BreachAction, ConflictStrategy, LimitScope, PolicyLimit, PolicySpec, PolicyViolationType, RuleType,
    Timestamp,
};
use gov_policy::CompiledSnapshot;

use super::*;
use crate::decision::{Decision, Level, Outcome};

use crate::fixture::{Policy, id, policy, snapshot, with};

/// `OUTCOME [winner=P<n>] | LEVEL metric value/limit P<n> | ...`
fn summary(decision: &Decision) -> String {
    let mut line = decision.outcome.as_str().to_owned();
    if let Some(winner) = &decision.winner {
        line.push_str(&format!(" winner={}", winner.policy_name));
    }
    for f in decision.breaches.iter().chain(&decision.near) {
        let limit = f.limit.map_or(String::new(), |l| format!("/{l}"));
        line.push_str(&format!(
            " | {} {} {}{limit} {}",
            f.level.as_str(),
            f.metric,
            f.current_value,
            f.policy_name
        ));
    }
    line
}

/// A step of the run, given as run totals before it and the step's own values.
#[derive(Clone, Copy)]
struct Step {
    tokens_used: i64,
    tokens: i64,
    cost_before: f64,
    cost: f64,
    step_count: i64,
    elapsed: f64,
    model: Option<&'static str>,
    rate: Option<i64>,
}

const STEP: Step = Step {
    tokens_used: 0,
    tokens: 0,
    cost_before: 0.0,
    cost: 0.0,
    step_count: 0,
    elapsed: 0.0,
    model: None,
    rate: None,
};

fn decide(snapshot: &CompiledSnapshot, s: Step, overrides: &[PolicyOverride]) -> Decision {
    let run = RunState {
        agent_id: "agent-1",
        human_actor_id: None,
        tokens_used: s.tokens_used,
        total_cost_cents: s.cost_before,
        step_count: s.step_count,
        elapsed_seconds: s.elapsed,
    };
    let step = StepSignals {
        step_type: "llm",
        tokens: s.tokens,
        cost_cents: s.cost,
        model: s.model,
        ..Default::default()
    };
    let rates: Vec<RateCount> = match s.rate {
        Some(count) => snapshot
            .rate_checks()
            .map(|(check_index, _)| RateCount { check_index, count, retry_after_secs: 42 })
            .collect(),
        None => Vec::new(),
    };
    evaluate_step(snapshot, &run, &step, &rates, overrides)
}

fn check(snapshot: &CompiledSnapshot, rows: &[(Step, &str)]) {
    check_with(snapshot, &[], rows);
}

fn check_with(snapshot: &CompiledSnapshot, overrides: &[PolicyOverride], rows: &[(Step, &str)]) {
    for (i, (step, expected)) in rows.iter().enumerate() {
        assert_eq!(summary(&decide(snapshot, *step, overrides)), *expected, "row {i}");
    }
}

#[test]
fn token_limit() {
    let s = snapshot(&[policy(1, RuleType::TokenLimit, Some(1000.0))], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { tokens: 100, ..STEP }, "ALLOW"),
            (Step { tokens_used: 700, tokens: 150, ..STEP }, "WARN | NEAR tokens 850/1000 P1"),
            (Step { tokens_used: 700, tokens: 100, ..STEP }, "WARN | NEAR tokens 800/1000 P1"),
            (Step { tokens_used: 850, tokens: 50, ..STEP }, "ALLOW"),
            (Step { tokens_used: 900, tokens: 100, ..STEP }, "BLOCK winner=P1 | BREACH tokens 1000/1000 P1"),
            (Step { tokens_used: 900, tokens: 500, ..STEP }, "BLOCK winner=P1 | BREACH tokens 1400/1000 P1"),
            (Step { tokens: 2000, ..STEP }, "BLOCK winner=P1 | BREACH tokens 2000/1000 P1"),
        ],
    );
}

#[test]
fn cost_limit() {
    let s = snapshot(&[policy(1, RuleType::CostLimit, Some(100.0))], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { cost: 50.0, ..STEP }, "ALLOW"),
            (Step { cost_before: 70.0, cost: 15.0, ..STEP }, "WARN | NEAR cost_cents 85/100 P1"),
            (Step { cost_before: 85.0, cost: 5.0, ..STEP }, "ALLOW"),
            (
                Step { cost_before: 90.0, cost: 10.0, ..STEP },
                "BLOCK winner=P1 | BREACH cost_cents 100/100 P1",
            ),
            (
                Step { cost_before: 90.0, cost: 60.0, ..STEP },
                "BLOCK winner=P1 | BREACH cost_cents 150/100 P1",
            ),
        ],
    );
}

#[test]
fn step_limit() {
    let s = snapshot(&[policy(1, RuleType::StepLimit, Some(10.0))], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { step_count: 3, ..STEP }, "ALLOW"),
            (Step { step_count: 7, ..STEP }, "WARN | NEAR steps 8/10 P1"),
            (Step { step_count: 8, ..STEP }, "ALLOW"),
            (Step { step_count: 9, ..STEP }, "BLOCK winner=P1 | BREACH steps 10/10 P1"),
            (Step { step_count: 12, ..STEP }, "BLOCK winner=P1 | BREACH steps 13/10 P1"),
        ],
    );
}

#[test]
fn rate_limit_is_not_monotonic_so_near_repeats() {
    let s = snapshot(&[policy(1, RuleType::RateLimit, Some(10.0))], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (STEP, "ALLOW"),
            (Step { rate: Some(5), ..STEP }, "ALLOW"),
            (Step { rate: Some(8), ..STEP }, "WARN | NEAR rate 8/10 P1"),
            (Step { rate: Some(9), ..STEP }, "WARN | NEAR rate 9/10 P1"),
            (Step { rate: Some(10), ..STEP }, "BLOCK winner=P1 | BREACH rate 10/10 P1"),
            (Step { rate: Some(11), ..STEP }, "BLOCK winner=P1 | BREACH rate 11/10 P1"),
        ],
    );
    let breach = decide(&s, Step { rate: Some(10), ..STEP }, &[]);
    assert_eq!(breach.breaches[0].retry_after_secs, Some(42));
    assert_eq!(breach.breaches[0].reason, "rate 10 steps in 60s reached the limit 10 of policy \"P1\"");
    // Without the caller's count the step counts alone, and the window is the wait.
    let tight = snapshot(&[policy(1, RuleType::RateLimit, Some(1.0))], ConflictStrategy::MostRestrictive);
    assert_eq!(decide(&tight, STEP, &[]).breaches[0].retry_after_secs, Some(60));
}

#[test]
fn burn_rate_averages_over_at_least_a_minute() {
    let s = snapshot(&[policy(1, RuleType::BurnRate, Some(10.0))], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { cost: 5.0, elapsed: 30.0, ..STEP }, "ALLOW"),
            (Step { cost: 9.0, elapsed: 0.0, ..STEP }, "WARN | NEAR burn_rate 9/10 P1"),
            (Step { cost_before: 8.0, cost: 1.0, elapsed: 60.0, ..STEP }, "WARN | NEAR burn_rate 9/10 P1"),
            (
                Step { cost_before: 10.0, cost: 10.0, elapsed: 120.0, ..STEP },
                "BLOCK winner=P1 | BREACH burn_rate 10/10 P1",
            ),
            (Step { cost_before: 10.0, cost: 10.0, elapsed: 240.0, ..STEP }, "ALLOW"),
        ],
    );
}

#[test]
fn model_allowlist_matches_exactly_and_ignores_steps_without_a_model() {
    let allow =
        with(policy(1, RuleType::ModelAllowlist, None), |s| s.models = vec!["gpt-4o".into(), "o3".into()]);
    let s = snapshot(&[allow], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { model: Some("gpt-4o"), ..STEP }, "ALLOW"),
            (Step { model: Some("o3"), ..STEP }, "ALLOW"),
            (STEP, "ALLOW"),
            (Step { model: Some("gpt-5"), ..STEP }, "BLOCK winner=P1 | BREACH model 0 P1"),
            (Step { model: Some("GPT-4o"), ..STEP }, "BLOCK winner=P1 | BREACH model 0 P1"),
        ],
    );
    let finding = &decide(&s, Step { model: Some("gpt-5"), ..STEP }, &[]).breaches[0];
    assert_eq!(finding.violation_type, PolicyViolationType::ModelNotAllowed);
    assert_eq!(finding.reason, "model \"gpt-5\" is not allowed by policy \"P1\"");
    assert_eq!((finding.limit, finding.percentage), (None, None));
}

#[test]
fn custom_conditions_breach_when_true_and_fail_closed_on_errors() {
    let custom = |n, condition: &str| {
        with(policy(n, RuleType::Custom, None), |s| s.condition = Some(condition.into()))
    };
    let true_when_big = snapshot(
        &[custom(1, "step.tokens > 5000 && run.tokens_used > 5000")],
        ConflictStrategy::MostRestrictive,
    );
    check(
        &true_when_big,
        &[
            (Step { tokens: 100, ..STEP }, "ALLOW"),
            (Step { tokens: 6000, ..STEP }, "BLOCK winner=P1 | BREACH condition 0 P1"),
        ],
    );
    let run_after = snapshot(
        &[custom(
            1,
            "run.step_count == 4 && run.total_cost_cents == 3.5 && run.burn_rate == 3.5 && step.model == ''",
        )],
        ConflictStrategy::MostRestrictive,
    );
    check(
        &run_after,
        &[
            (
                Step { step_count: 3, cost_before: 1.5, cost: 2.0, ..STEP },
                "BLOCK winner=P1 | BREACH condition 0 P1",
            ),
            (Step { step_count: 4, cost_before: 1.5, cost: 2.0, ..STEP }, "ALLOW"),
        ],
    );
    let divides =
        snapshot(&[custom(1, "step.tokens / (run.step_count - 1) > 1")], ConflictStrategy::MostRestrictive);
    check(
        &divides,
        &[(Step { tokens: 10, step_count: 5, ..STEP }, "BLOCK winner=P1 | BREACH condition 0 P1")],
    );
    let failed = decide(&divides, Step { tokens: 10, ..STEP }, &[]);
    assert_eq!(failed.outcome, Outcome::Block, "division by zero fails closed");
    let reason = &failed.breaches[0].reason;
    assert!(reason.contains("could not be evaluated") && reason.contains("failing closed"), "{reason}");
    assert_eq!(failed.breaches[0].violation_type, PolicyViolationType::CustomRule);
    let warn = snapshot(
        &[with(custom(1, "step.tokens > 1"), |s| s.action = BreachAction::Warn)],
        ConflictStrategy::MostRestrictive,
    );
    check(&warn, &[(Step { tokens: 2, ..STEP }, "WARN winner=P1 | BREACH condition 0 P1")]);
}

#[test]
fn values_that_are_not_numbers_fail_closed() {
    let s = snapshot(&[policy(1, RuleType::CostLimit, Some(100.0))], ConflictStrategy::MostRestrictive);
    check(&s, &[(Step { cost: f64::NAN, ..STEP }, "BLOCK winner=P1 | BREACH cost_cents NaN/100 P1")]);
    let raise = PolicyOverride { policy_id: id(1), kind: OverrideKind::RaiseLimit(f64::NAN) };
    check_with(&s, &[raise], &[(Step { cost: 1.0, ..STEP }, "BLOCK winner=P1 | BREACH cost_cents 1/NaN P1")]);
}

#[test]
fn a_warn_breach_warns_and_a_harsher_one_blocks() {
    let warn = with(policy(1, RuleType::TokenLimit, Some(100.0)), |s| s.action = BreachAction::Warn);
    let pause = with(policy(2, RuleType::CostLimit, Some(100.0)), |s| s.action = BreachAction::Pause);
    let s = snapshot(&[warn, pause], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { tokens: 100, ..STEP }, "WARN winner=P1 | BREACH tokens 100/100 P1"),
            (
                Step { tokens: 100, cost: 100.0, ..STEP },
                "BLOCK winner=P2 | BREACH tokens 100/100 P1 | BREACH cost_cents 100/100 P2",
            ),
            (
                Step { tokens: 100, cost: 85.0, ..STEP },
                "WARN winner=P1 | BREACH tokens 100/100 P1 | NEAR cost_cents 85/100 P2",
            ),
        ],
    );
}

#[test]
fn the_winner_is_the_harshest_then_the_first_then_the_furthest_over() {
    let kill = |p| with(p, |s: &mut PolicySpec| s.action = BreachAction::Kill);
    let prio = |p, n| with(p, |s: &mut PolicySpec| s.priority = n);
    let s = snapshot(
        &[policy(1, RuleType::TokenLimit, Some(100.0)), kill(policy(2, RuleType::CostLimit, Some(100.0)))],
        ConflictStrategy::MostRestrictive,
    );
    check(
        &s,
        &[(
            Step { tokens: 500, cost: 100.0, ..STEP },
            "BLOCK winner=P2 | BREACH tokens 500/100 P1 | BREACH cost_cents 100/100 P2",
        )],
    );
    let s = snapshot(
        &[
            prio(policy(1, RuleType::TokenLimit, Some(100.0)), 50),
            prio(policy(2, RuleType::CostLimit, Some(100.0)), 5),
        ],
        ConflictStrategy::MostRestrictive,
    );
    check(
        &s,
        &[(
            Step { tokens: 500, cost: 100.0, ..STEP },
            "BLOCK winner=P2 | BREACH tokens 500/100 P1 | BREACH cost_cents 100/100 P2",
        )],
    );
    let s = snapshot(
        &[
            prio(policy(1, RuleType::TokenLimit, Some(100.0)), 5),
            prio(policy(2, RuleType::CostLimit, Some(100.0)), 5),
        ],
        ConflictStrategy::MostRestrictive,
    );
    check(
        &s,
        &[
            (
                Step { tokens: 500, cost: 100.0, ..STEP },
                "BLOCK winner=P1 | BREACH tokens 500/100 P1 | BREACH cost_cents 100/100 P2",
            ),
            (
                Step { tokens: 100, cost: 300.0, ..STEP },
                "BLOCK winner=P2 | BREACH tokens 100/100 P1 | BREACH cost_cents 300/100 P2",
            ),
            // All equal: the smaller check id, i.e. policy 1's.
            (
                Step { tokens: 100, cost: 100.0, ..STEP },
                "BLOCK winner=P1 | BREACH tokens 100/100 P1 | BREACH cost_cents 100/100 P2",
            ),
        ],
    );
}

/// P1: tokens 1000 WARN, priority 10. P2: tokens 800 STOP, priority 20.
fn two_token_policies() -> [Policy; 2] {
    [
        with(policy(1, RuleType::TokenLimit, Some(1000.0)), |s| s.action = BreachAction::Warn),
        policy(2, RuleType::TokenLimit, Some(800.0)),
    ]
}

#[test]
fn most_restrictive_applies_the_smallest_limit_and_the_harshest_action() {
    let s = snapshot(&two_token_policies(), ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[
            (Step { tokens: 600, ..STEP }, "ALLOW"),
            (Step { tokens: 700, ..STEP }, "WARN | NEAR tokens 700/800 P2"),
            (Step { tokens: 900, ..STEP }, "BLOCK winner=P2 | BREACH tokens 900/800 P2"),
        ],
    );
    let finding = &decide(&s, Step { tokens: 900, ..STEP }, &[]).breaches[0];
    let chain: Vec<&str> = finding.precedence_chain.iter().map(|e| e.policy_name.as_str()).collect();
    assert_eq!(chain, ["P2", "P1"]);
}

#[test]
fn explicit_priority_applies_the_first_policy_as_it_is() {
    let s = snapshot(&two_token_policies(), ConflictStrategy::ExplicitPriority);
    check(
        &s,
        &[
            (Step { tokens: 900, ..STEP }, "WARN | NEAR tokens 900/1000 P1"),
            (Step { tokens: 1000, ..STEP }, "WARN winner=P1 | BREACH tokens 1000/1000 P1"),
        ],
    );
}

#[test]
fn fail_closed_stops_at_the_smallest_limit_when_equal_priorities_disagree() {
    let [a, b] = two_token_policies();
    let tied = [a, with(b, |s| s.priority = 10)];
    let s = snapshot(&tied, ConflictStrategy::FailClosed);
    check(
        &s,
        &[
            (Step { tokens: 700, ..STEP }, "WARN | NEAR tokens 700/800 P2"),
            (Step { tokens: 800, ..STEP }, "BLOCK winner=P2 | BREACH tokens 800/800 P2"),
        ],
    );
    let finding = &decide(&s, Step { tokens: 800, ..STEP }, &[]).breaches[0];
    assert!(finding.ambiguous);
    assert_eq!(finding.action, BreachAction::Stop);
    assert!(finding.reason.ends_with("(FAIL_CLOSED)"), "{}", finding.reason);
    // Without the tie, FAIL_CLOSED is EXPLICIT_PRIORITY.
    let s = snapshot(&two_token_policies(), ConflictStrategy::FailClosed);
    check(&s, &[(Step { tokens: 900, ..STEP }, "WARN | NEAR tokens 900/1000 P1")]);
}

#[test]
fn overrides_suspend_or_raise_a_policy() {
    let suspend = |n| PolicyOverride { policy_id: id(n), kind: OverrideKind::Suspend };
    let raise = |n, v| PolicyOverride { policy_id: id(n), kind: OverrideKind::RaiseLimit(v) };
    let one = snapshot(&[policy(1, RuleType::TokenLimit, Some(1000.0))], ConflictStrategy::MostRestrictive);
    let big = Step { tokens: 1500, ..STEP };
    check_with(&one, &[suspend(1)], &[(big, "ALLOW")]);
    check_with(
        &one,
        &[raise(1, 2000.0)],
        &[(big, "ALLOW"), (Step { tokens: 2000, ..STEP }, "BLOCK winner=P1 | BREACH tokens 2000/2000 P1")],
    );
    check_with(&one, &[suspend(7)], &[(big, "BLOCK winner=P1 | BREACH tokens 1500/1000 P1")]);

    // In a merged group the other policies keep governing: suspending or raising the winner
    // hands the group to the next one.
    let merged = snapshot(&two_token_policies(), ConflictStrategy::MostRestrictive);
    let step = Step { tokens: 900, ..STEP };
    check_with(&merged, &[], &[(step, "BLOCK winner=P2 | BREACH tokens 900/800 P2")]);
    check_with(&merged, &[suspend(2)], &[(step, "WARN | NEAR tokens 900/1000 P1")]);
    check_with(&merged, &[raise(2, 5000.0)], &[(step, "WARN | NEAR tokens 900/1000 P1")]);
    check_with(
        &merged,
        &[raise(2, 5000.0)],
        &[(Step { tokens: 1000, ..STEP }, "BLOCK winner=P1 | BREACH tokens 1000/1000 P1")],
    );
    check_with(&merged, &[suspend(1), suspend(2)], &[(Step { tokens: 9000, ..STEP }, "ALLOW")]);

    let allow = with(policy(3, RuleType::ModelAllowlist, None), |s| s.models = vec!["a".into()]);
    let custom = with(policy(4, RuleType::Custom, None), |s| s.condition = Some("true".into()));
    let s = snapshot(&[allow, custom], ConflictStrategy::MostRestrictive);
    let step = Step { model: Some("b"), ..STEP };
    check_with(
        &s,
        &[raise(3, 1.0)],
        &[(step, "BLOCK winner=P3 | BREACH model 0 P3 | BREACH condition 0 P4")],
    );
    check_with(&s, &[suspend(3), suspend(4)], &[(step, "ALLOW")]);
}

#[test]
fn extra_limits_are_checks_of_their_own_kind() {
    let (rule, _) = policy(1, RuleType::TokenLimit, Some(10_000.0));
    let cost = PolicyLimit {
        limit_id: id(50),
        tenant_id: rule.tenant_id,
        policy_id: rule.policy_id,
        limit_type: RuleType::CostLimit,
        value: 100.0,
        window_seconds: None,
        scope: LimitScope::Run,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    };
    let s = snapshot(&[(rule, vec![cost])], ConflictStrategy::MostRestrictive);
    check(
        &s,
        &[(Step { tokens: 10, cost: 120.0, ..STEP }, "BLOCK winner=P1 | BREACH cost_cents 120/100 P1")],
    );
    let finding = &decide(&s, Step { cost: 120.0, ..STEP }, &[]).breaches[0];
    assert_eq!(finding.violation_type, PolicyViolationType::CostLimit);
    assert_eq!(
        finding.check_id,
        format!("{}:{}", id::<gov_model::PolicyId>(1), id::<gov_model::LimitId>(50))
    );
}

/// The seed scenario: a 10,000-token STOP policy and steps of 2,000, 4,000 and 9,000 tokens.
#[test]
fn seed_scenario_blocks_the_third_step() {
    let policy =
        with(policy(1, RuleType::TokenLimit, Some(10_000.0)), |s| s.name = "Token Limit Policy".into());
    let s = snapshot(&[policy], ConflictStrategy::MostRestrictive);
    let mut tokens_used = 0;
    let mut outcomes = Vec::new();
    for (step_count, tokens) in [2000, 4000, 9000].into_iter().enumerate() {
        let step = Step { tokens_used, tokens, step_count: i64::try_from(step_count).unwrap(), ..STEP };
        let decision = decide(&s, step, &[]);
        tokens_used += tokens;
        outcomes.push(summary(&decision));
        if decision.outcome == Outcome::Block {
            let winner = decision.winner.unwrap();
            assert_eq!(winner.action, BreachAction::Stop);
            assert_eq!(winner.level, Level::Breach);
            assert_eq!(winner.violation_type, PolicyViolationType::TokenLimit);
            assert_eq!(winner.percentage, Some(150.0));
            assert_eq!(
                winner.reason,
                "tokens 15000 reached the limit 10000 of policy \"Token Limit Policy\""
            );
        }
    }
    assert_eq!(
        outcomes,
        ["ALLOW", "ALLOW", "BLOCK winner=Token Limit Policy | BREACH tokens 15000/10000 Token Limit Policy"]
    );
}

#[test]
fn near_reasons_name_the_percentage() {
    let s = snapshot(
        &[with(policy(1, RuleType::CostLimit, Some(10.0)), |s| s.near_threshold_pct = Some(75.5))],
        ConflictStrategy::MostRestrictive,
    );
    let decision = decide(&s, Step { cost: 7.6, ..STEP }, &[]);
    assert_eq!(decision.near[0].reason, "cost_cents 7.6 crossed 75.5% of the limit 10 of policy \"P1\"");
    assert_eq!(decision.near[0].percentage, Some(76.0));
}

#[test]
fn numbers_in_reasons_are_short() {
    for (value, expected) in
        [(15000.0, "15000"), (0.1 + 0.2, "0.3"), (2.5, "2.5"), (-0.00001, "0"), (1e12, "1000000000000")]
    {
        assert_eq!(number(value), expected);
    }
}

#[test]
fn rate_counts_are_matched_to_their_checks_in_any_order() {
    let hourly = with(policy(2, RuleType::RateLimit, Some(100.0)), |s| s.window_seconds = Some(3600));
    let s =
        snapshot(&[policy(1, RuleType::RateLimit, Some(10.0)), hourly], ConflictStrategy::MostRestrictive);
    let [minute, hour]: [usize; 2] = s.rate_checks().map(|(i, _)| i).collect::<Vec<_>>().try_into().unwrap();
    let count = |check_index, count| RateCount { check_index, count, retry_after_secs: 1 };
    let run = RunState::default();
    let step = StepSignals::default();
    for counts in [
        vec![count(minute, 10), count(hour, 85)],
        vec![count(hour, 85), count(minute, 10)],
        vec![count(99, 1), count(hour, 85), count(minute, 10)],
    ] {
        let decision = evaluate_step(&s, &run, &step, &counts, &[]);
        assert_eq!(
            summary(&decision),
            "BLOCK winner=P1 | BREACH rate 10/10 P1 | NEAR rate 85/100 P2",
            "{counts:?}"
        );
    }
    let only_hour = evaluate_step(&s, &run, &step, &[count(hour, 85)], &[]);
    assert_eq!(summary(&only_hour), "WARN | NEAR rate 85/100 P2");
}
