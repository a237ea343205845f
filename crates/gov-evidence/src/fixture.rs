//! The seed 000 §6 scenario as records, for tests and benchmarks: agent AGT-001's run against a
//! 10,000-token limit ("Token Limit Policy", STOP, high), breached at its last step with 15,000
//! tokens spent, the incident opened by the system, then acknowledged and commented on by a
//! person. Ids and times are fixed, so the same call gives the same records.

use gov_model::{
    AuditEntry, BreachAction, CostRecord, Incident, IncidentComment, IncidentEvent, IncidentStatus, Monitors,
    PolicyControls, PolicyRule, PolicyScope, PolicySnapshot, PolicySpec, PolicyStatus, PolicyViolationType,
    PreventionRecord, RuleType, Run, RunStatus, RunTerminationReason, Severity, SignalType, ThresholdSignal,
    Timestamp, TraceStep, TraceSummary,
};
use serde_json::json;
use time::macros::datetime;

use crate::build::{EvidenceRecords, Generation};
use crate::chain::{chain_hash, genesis};

/// The seed's token limit.
pub const TOKEN_LIMIT: f64 = 10_000.0;

/// A fixed id of any id type: `kind` and `n` in its digits.
pub fn id<T: std::str::FromStr>(kind: u16, n: u64) -> T
where
    T::Err: std::fmt::Debug,
{
    #[allow(clippy::expect_used)]
    format!("00000000-{kind:04x}-4000-8000-{n:012x}").parse().expect("a valid uuid")
}

/// When the run started (seed: 2026-01-20T10:00:00Z).
pub const STARTED_AT: Timestamp = datetime!(2026-01-20 10:00 UTC);

/// The scenario with `steps` steps (at least 2) spread over four minutes; the last one takes
/// the run from below the limit to 15,000 tokens and stops it.
pub fn seed_scenario(steps: usize) -> (EvidenceRecords, Generation) {
    let n = steps.max(2) as i64;
    let tenant = id(1, 1);
    let run_id = id(2, 1);
    let trace_id = id(3, 1);
    let policy_id = id(4, 1);
    let incident_id = id(5, 1);
    let snapshot_id = id(6, 1);
    let agent = "AGT-001".to_owned();

    let spec = PolicySpec {
        name: "Token Limit Policy".to_owned(),
        description: "Stop any run past 10,000 tokens".to_owned(),
        rule_type: RuleType::TokenLimit,
        condition: None,
        threshold: Some(TOKEN_LIMIT),
        window_seconds: None,
        limit_scope: gov_model::LimitScope::Run,
        models: Vec::new(),
        action: BreachAction::Stop,
        severity: Severity::High,
        scope: PolicyScope::all_runs(),
        priority: 100,
        monitors: Monitors::default(),
        near_threshold_pct: None,
        status: PolicyStatus::Active,
    };
    let rule = PolicyRule {
        policy_id,
        tenant_id: tenant,
        version: 1,
        spec,
        violation_count: 0,
        incident_count: 0,
        created_at: STARTED_AT - time::Duration::days(1),
        updated_at: STARTED_AT - time::Duration::days(1),
    };
    let attributes =
        gov_policy::RunAttributes { agent_id: agent.clone(), api_key_id: None, human_actor_id: None };
    let content = gov_policy::build_snapshot(&[(rule, Vec::new())], &PolicyControls::default(), &attributes);
    let snapshot = PolicySnapshot {
        snapshot_id,
        tenant_id: tenant,
        policies_json: content.policies_json,
        thresholds_json: content.thresholds_json,
        content_hash: content.content_hash,
        policy_count: content.policy_count,
        created_at: STARTED_AT,
    };

    // Every step but the last spends an equal share below the limit; the last crosses it.
    let share = (TOKEN_LIMIT as i64 / n).max(1);
    let spacing_ms = 240_000 / (n - 1);
    let mut prev = genesis(trace_id);
    let mut cumulative = 0;
    let mut near_at = None;
    let mut trace_steps = Vec::with_capacity(n as usize);
    for i in 1..=n {
        let last = i == n;
        let tokens = if last { 15_000 - cumulative } else { share };
        cumulative += tokens;
        if !last && near_at.is_none() && cumulative as f64 >= 0.8 * TOKEN_LIMIT {
            near_at = Some(i);
        }
        let step_type = match i {
            1 => "input",
            _ if last => "policy_check",
            _ => "llm_call",
        };
        let mut step = TraceStep {
            step_id: id(7, i as u64),
            trace_id,
            run_id,
            tenant_id: tenant,
            step_index: i,
            step_type: step_type.to_owned(),
            level: gov_model::StepLevel::Info,
            source: "agent".to_owned(),
            timestamp: STARTED_AT + time::Duration::milliseconds((i - 1) * spacing_ms),
            tokens,
            input_tokens: tokens / 3,
            output_tokens: tokens - tokens / 3,
            cost_cents: 450.0 * tokens as f64 / 15_000.0,
            duration_ms: 1200,
            model: Some("claude-sonnet-4".to_owned()),
            retrieved_documents: 0,
            content_hash: Some(blake3::hash(format!("step {i}").as_bytes()).to_hex().to_string()),
            decision: if last { gov_model::Outcome::Block } else { gov_model::Outcome::Allow },
            decision_policy_id: last.then_some(policy_id),
            decision_reason: last.then(|| format!("tokens {cumulative} exceed the limit 10000")),
            prev_hash: prev.clone(),
            chain_hash: String::new(),
        };
        step.chain_hash = chain_hash(&step);
        prev.clone_from(&step.chain_hash);
        trace_steps.push(step);
    }
    let stopped_at = trace_steps.last().map_or(STARTED_AT, |s| s.timestamp);
    let total_cost: f64 = trace_steps.iter().map(|s| s.cost_cents).sum();
    let (input, output): (i64, i64) =
        trace_steps.iter().fold((0, 0), |(a, b), s| (a + s.input_tokens, b + s.output_tokens));
    let reason = "tokens 15000 exceed the limit 10000 of policy \"Token Limit Policy\"".to_owned();

    let run = Run {
        run_id,
        tenant_id: tenant,
        agent_id: agent.clone(),
        goal: Some("Summarise the quarterly report".to_owned()),
        human_actor_id: None,
        domain: None,
        api_key_id: Some(id(8, 1)),
        status: RunStatus::FailedPolicy,
        started_at: STARTED_AT,
        completed_at: Some(stopped_at),
        tokens_used: cumulative,
        input_tokens: input,
        output_tokens: output,
        total_cost_cents: total_cost,
        step_count: n,
        policy_snapshot_id: snapshot_id,
        policy_snapshot_hash: snapshot.content_hash.clone(),
        termination_reason: Some(RunTerminationReason::PolicyBlock),
        stopped_at_step: Some(n),
        violation_policy_id: Some(policy_id),
        incident_id: Some(incident_id),
        trace_id,
        head_hash: prev.clone(),
        metadata: json!({}),
    };
    let trace = TraceSummary {
        trace_id,
        run_id,
        tenant_id: tenant,
        status: "failed_policy".to_owned(),
        step_count: n,
        is_synthetic: false,
        agent_id: agent.clone(),
        started_at: STARTED_AT,
        completed_at: Some(stopped_at),
        violation_step_index: Some(n),
        violation_timestamp: Some(stopped_at),
        violation_policy_id: Some(policy_id),
        violation_reason: Some(reason.clone()),
        incident_id: Some(incident_id),
        head_hash: prev,
    };
    let acknowledged_at = stopped_at + time::Duration::minutes(2);
    let responder = "api_key:00000000-0008-4000-8000-000000000002".to_owned();
    let incident = Incident {
        incident_id,
        tenant_id: tenant,
        source_run_id: Some(run_id),
        policy_id: Some(policy_id),
        trace_id: Some(trace_id),
        severity: Severity::High,
        status: IncidentStatus::Acknowledged,
        incident_type: PolicyViolationType::TokenLimit.incident_type().to_owned(),
        title: format!("Token limit exceeded (Token Limit Policy): agent {agent} at step {n}"),
        description: format!("{reason}; the run was stopped"),
        step_index: Some(n),
        escalation_level: 0,
        created_at: stopped_at,
        acknowledged_at: Some(acknowledged_at),
        escalated_at: None,
        resolved_at: None,
        resolution: None,
    };
    let timeline = vec![
        IncidentEvent {
            incident_id,
            event: gov_model::IncidentEventKind::Created,
            actor: "system".to_owned(),
            detail: incident.title.clone(),
            timestamp: stopped_at,
        },
        IncidentEvent {
            incident_id,
            event: gov_model::IncidentEventKind::Acknowledged,
            actor: responder.clone(),
            detail: String::new(),
            timestamp: acknowledged_at,
        },
        IncidentEvent {
            incident_id,
            event: gov_model::IncidentEventKind::Commented,
            actor: responder.clone(),
            detail: "Looking into the agent's prompt loop.".to_owned(),
            timestamp: acknowledged_at + time::Duration::minutes(1),
        },
    ];
    let comments = vec![IncidentComment {
        comment_id: id(9, 1),
        incident_id,
        author: responder.clone(),
        content: "Looking into the agent's prompt loop.".to_owned(),
        created_at: acknowledged_at + time::Duration::minutes(1),
    }];
    let prevention = PreventionRecord {
        record_id: id(10, 1),
        tenant_id: tenant,
        run_id,
        policy_id: Some(policy_id),
        incident_id: Some(incident_id),
        step_index: n,
        action: BreachAction::Stop,
        decision: gov_model::Outcome::Block,
        violation_type: PolicyViolationType::TokenLimit,
        metric: "tokens".to_owned(),
        current_value: Some(15_000.0),
        limit_value: Some(TOKEN_LIMIT),
        enforced: true,
        reason: reason.clone(),
        created_at: stopped_at,
    };
    let signal = |n_: u64, kind: SignalType, step: i64, value: f64| ThresholdSignal {
        signal_id: id(11, n_),
        tenant_id: tenant,
        run_id,
        policy_id,
        check_id: format!("{policy_id}:primary"),
        signal_type: kind,
        metric: "tokens".to_owned(),
        value,
        limit_value: Some(TOKEN_LIMIT),
        percentage: Some(value / TOKEN_LIMIT * 100.0),
        step_index: step,
        created_at: STARTED_AT,
    };
    let mut signals = Vec::new();
    if let Some(step) = near_at {
        signals.push(signal(1, SignalType::Near, step, (share * step) as f64));
    }
    signals.push(signal(2, SignalType::Breach, n, 15_000.0));
    let cost = CostRecord {
        cost_record_id: id(12, 1),
        tenant_id: tenant,
        run_id,
        model: "claude-sonnet-4".to_owned(),
        input_tokens: input,
        output_tokens: output,
        tokens: cumulative,
        cost_cents: total_cost,
        step_count: n,
        created_at: stopped_at,
    };
    let audit = vec![
        AuditEntry {
            id: id(13, 1),
            tenant_id: tenant,
            actor_id: "system".to_owned(),
            action: "run.stopped".to_owned(),
            resource_type: "run".to_owned(),
            resource_id: run_id.to_string(),
            timestamp: stopped_at,
            details: json!({"step_index": n, "termination_reason": "policy_block",
                            "policy_id": policy_id.to_string(), "incident_id": incident_id.to_string(),
                            "reason": reason}),
        },
        AuditEntry {
            id: id(13, 2),
            tenant_id: tenant,
            actor_id: responder.clone(),
            action: "incident.acknowledged".to_owned(),
            resource_type: "incident".to_owned(),
            resource_id: incident_id.to_string(),
            timestamp: acknowledged_at,
            details: json!({"status": "acknowledged"}),
        },
    ];
    let records = EvidenceRecords {
        incident,
        timeline,
        comments,
        run: Some(run),
        trace: Some(trace),
        steps: trace_steps,
        snapshot: Some(snapshot),
        prevention_records: vec![prevention],
        signals,
        overrides: Vec::new(),
        cost_records: vec![cost],
        audit,
    };
    let generation = Generation {
        bundle_id: id::<gov_model::RunId>(14, 1).to_string(),
        generated_at: stopped_at + time::Duration::minutes(10),
        generated_by: responder,
        gov_version: "0.0.0".to_owned(),
    };
    (records, generation)
}

/// An incident without a run (the kill switch engaged by an operator): what such a bundle has.
pub fn runless_incident() -> (EvidenceRecords, Generation) {
    let (mut records, generation) = seed_scenario(2);
    let i = &mut records.incident;
    i.source_run_id = None;
    i.policy_id = None;
    i.trace_id = None;
    i.step_index = None;
    i.severity = Severity::Critical;
    i.incident_type = PolicyViolationType::KillSwitch.incident_type().to_owned();
    i.title = "Kill switch engaged".to_owned();
    i.description = "An operator engaged the kill switch: every run stops at its next step".to_owned();
    records.run = None;
    records.trace = None;
    records.steps.clear();
    records.snapshot = None;
    records.prevention_records.clear();
    records.signals.clear();
    records.cost_records.clear();
    records.audit.retain(|a| a.resource_type == "incident");
    (records, generation)
}
