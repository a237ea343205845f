//! The builders on the seed scenario: every member from the records, markers, SOC2 judgments and
//! the debrief's figures.

use gov_model::{IncidentStatus, SignalType};

use super::*;
use crate::fixture::{runless_incident, seed_scenario};
use crate::{executive_debrief, soc2_bundle};

fn build(steps: usize) -> EvidenceBundle {
    let (records, generation) = seed_scenario(steps);
    evidence_bundle(&records, &generation)
}

fn statuses(b: &EvidenceBundle) -> Vec<StepStatus> {
    b.steps.iter().map(|s| s.status).collect()
}

#[test]
fn the_seed_scenario_becomes_an_evidence_bundle() {
    let (records, generation) = seed_scenario(3);
    let b = evidence_bundle(&records, &generation);
    assert_eq!((b.format.as_str(), b.kind), (BUNDLE_FORMAT, BundleKind::Evidence));
    assert_eq!(b.incident_id, records.incident.incident_id.to_string());
    assert_eq!(b.run_id, Some(records.run.as_ref().unwrap().run_id.to_string()));
    let trace = b.trace.as_ref().unwrap();
    assert_eq!(trace.genesis_hash, genesis(records.trace.as_ref().unwrap().trace_id));
    assert_eq!(trace.head_hash, records.steps[2].chain_hash);
    assert_eq!((trace.step_count, trace.violation_step_index), (3, Some(3)));
    let times: Vec<&str> = b.steps.iter().map(|s| s.timestamp.as_str()).collect();
    assert_eq!(
        times,
        ["2026-01-20T10:00:00.000000Z", "2026-01-20T10:02:00.000000Z", "2026-01-20T10:04:00.000000Z"]
    );
    assert_eq!(b.steps.iter().map(|s| s.tokens).sum::<i64>(), 15_000);
    let p = b.policy_context.as_ref().unwrap();
    let snapshot = records.snapshot.as_ref().unwrap();
    assert_eq!((&p.policies_json, &p.content_hash), (&snapshot.policies_json, &snapshot.content_hash));
    assert_eq!(p.conflict_strategy, "MOST_RESTRICTIVE");
    let v = p.violated_policy.as_ref().unwrap();
    assert_eq!(
        (v.name.as_str(), v.version, v.rule_type.as_str(), v.violation_type.as_str(), v.threshold),
        ("Token Limit Policy", 1, "token_limit", "token_limit", Some(10_000.0))
    );
    assert_eq!(
        (v.action.as_str(), v.severity.as_str(), v.metric.as_deref()),
        ("STOP", "high", Some("tokens"))
    );
    assert_eq!(b.incident.timeline.len(), 3);
    assert_eq!(b.incident.comments.len(), 1);
    assert_eq!((b.prevention_records.len(), b.cost_records.len(), b.audit_trail.len()), (1, 1, 2));
    assert_eq!(b.generated_at, "2026-01-20T10:14:00.000000Z");
    // Deterministic: the same records give the same bundle.
    assert_eq!(b, evidence_bundle(&records, &generation));
}

#[test]
fn steps_are_marked_from_decisions_prevention_records_and_signals() {
    use StepStatus::*;
    // Five steps: NEAR at step 4 (8,000 of 10,000), stopped at step 5.
    assert_eq!(statuses(&build(5)), [Ok, Ok, Ok, Near, InflectionPoint]);
    assert_eq!(statuses(&build(3)), [Ok, Ok, InflectionPoint]);

    let (mut records, generation) = seed_scenario(5);
    // A WARN step, and a breach recorded in shadow mode (ALLOW with a prevention record).
    records.steps[1].decision = gov_model::Outcome::Warn;
    let mut shadow = records.prevention_records[0].clone();
    shadow.step_index = 3;
    shadow.incident_id = None;
    shadow.enforced = false;
    records.prevention_records.push(shadow);
    assert_eq!(
        statuses(&evidence_bundle(&records, &generation)),
        [Ok, Breach, Breach, Near, InflectionPoint]
    );

    // A breach outranks a NEAR at the same step; a BREACH signal alone marks nothing.
    records.signals.iter_mut().for_each(|s| s.step_index = 3);
    assert!(records.signals.iter().any(|s| s.signal_type == SignalType::Breach));
    assert_eq!(statuses(&evidence_bundle(&records, &generation)), [Ok, Breach, Breach, Ok, InflectionPoint]);

    // An incident from another run marks no inflection point.
    records.incident.source_run_id = Some(crate::fixture::id(2, 9));
    assert_eq!(statuses(&evidence_bundle(&records, &generation))[4], Breach);
}

#[test]
fn the_violated_policy_is_read_from_the_snapshot_text() {
    let (records, _) = seed_scenario(3);
    let text = &records.snapshot.as_ref().unwrap().policies_json;
    let policy = records.incident.policy_id.unwrap().to_string();
    assert_eq!(violated_policy(text, Some(&policy)).unwrap().policy_id, policy);
    assert_eq!(violated_policy(text, Some("00000000-0000-0000-0000-000000000000")), None);
    assert_eq!(violated_policy(text, None), None);
    assert_eq!(violated_policy("not json", Some(&policy)), None);
    assert_eq!(conflict_strategy("{}"), "unreadable");
}

#[test]
fn an_incident_without_a_run_gives_what_it_has() {
    let (records, generation) = runless_incident();
    let b = evidence_bundle(&records, &generation);
    assert_eq!((b.run_id.as_deref(), b.trace_id.as_deref()), (None, None));
    assert!(b.run.is_none() && b.trace.is_none() && b.steps.is_empty() && b.policy_context.is_none());
    assert_eq!(b.incident.incident_type, "kill_switch_engaged");
    assert_eq!(b.audit_trail.len(), 1);
}

fn mapping<'a>(b: &'a SOC2Bundle, id: &str) -> &'a SOC2ControlMapping {
    b.control_mappings.iter().find(|m| m.control_id == id).unwrap()
}

#[test]
fn soc2_controls_are_judged_from_the_data() {
    let soc2 = soc2_bundle(build(3));
    assert_eq!(soc2.evidence.kind, BundleKind::Soc2);
    let ids: Vec<&str> = soc2.control_mappings.iter().map(|m| m.control_id.as_str()).collect();
    assert_eq!(ids, ["CC7.2", "CC7.3", "CC7.4"]);
    for m in &soc2.control_mappings {
        assert!(m.satisfied, "{m:?}");
        assert!(m.evidence.iter().all(|p| p.starts_with('/')));
    }
    assert!(mapping(&soc2, "CC7.3").rationale.contains("Token Limit Policy"));
    assert!(mapping(&soc2, "CC7.4").rationale.contains("acknowledged by api_key:"));
    assert!(soc2.attestation_statement.contains(&soc2.evidence.incident_id));
    assert!(soc2.attestation_statement.contains("satisfies CC7.2, CC7.3, CC7.4"));
    assert_eq!(soc2.period_start, "2026-01-20T10:00:00.000000Z");
    assert_eq!(soc2.period_end, "2026-01-20T10:07:00.000000Z", "the comment is the last event");

    // Nobody responded: CC7.4 is not met, and the rationale says what is missing.
    let (mut records, generation) = seed_scenario(3);
    records.timeline.truncate(1);
    records.comments.clear();
    records.incident.status = IncidentStatus::Active;
    records.incident.acknowledged_at = None;
    let soc2 = soc2_bundle(evidence_bundle(&records, &generation));
    let cc74 = mapping(&soc2, "CC7.4");
    assert!(!cc74.satisfied);
    assert!(cc74.rationale.contains("nobody has acknowledged"), "{}", cc74.rationale);
    assert!(soc2.attestation_statement.contains("does not (yet) satisfy CC7.4"));

    // No prevention record for the incident: CC7.3 is not met.
    records.prevention_records.clear();
    let soc2 = soc2_bundle(evidence_bundle(&records, &generation));
    assert!(!mapping(&soc2, "CC7.3").satisfied);
    assert!(mapping(&soc2, "CC7.3").rationale.contains("No prevention record"));

    // No snapshot: CC7.2 is not met.
    records.snapshot = None;
    let soc2 = soc2_bundle(evidence_bundle(&records, &generation));
    assert!(mapping(&soc2, "CC7.2").rationale.contains("policy snapshot"));
    assert!(!mapping(&soc2, "CC7.2").satisfied);

    // Without a run: monitoring raised it, and there was nothing to contain.
    let (records, generation) = runless_incident();
    let soc2 = soc2_bundle(evidence_bundle(&records, &generation));
    assert!(soc2.control_mappings.iter().all(|m| m.satisfied), "{:?}", soc2.control_mappings);
}

#[test]
fn the_debrief_is_derived_from_the_evidence() {
    let debrief = executive_debrief(build(3));
    assert_eq!(debrief.evidence.kind, BundleKind::ExecutiveDebrief);
    let impact = &debrief.business_impact;
    assert_eq!(impact.tokens_spent, 15_000);
    assert!((impact.cost_spent_cents - 450.0).abs() < 1e-9, "{impact:?}");
    assert_eq!(impact.seconds_to_stop, Some(240.0));
    // 450 cents over 240 s, and two minutes passed before someone acknowledged.
    assert_eq!(impact.cost_stopped_cents, 225.0);
    assert_eq!((impact.runs_affected, impact.agents_affected.as_slice()), (1, &["AGT-001".to_owned()][..]));
    assert_eq!(debrief.risk_level, "high");
    let s = &debrief.incident_summary;
    assert!(s.contains("AGT-001") && s.contains("Token Limit Policy") && s.contains("step 3"), "{s}");
    assert!(s.contains("$4.50") && s.contains("240 seconds"), "{s}");
    let actions = debrief.recommended_actions.join("\n");
    assert!(
        actions.contains("Review policy \"Token Limit Policy\" v1: its tokens limit of 10000 reached 15000"),
        "{actions}"
    );
    assert!(actions.contains("Resolve incident"), "{actions}");
    assert!(!actions.contains("Acknowledge"), "{actions}");

    // Unacknowledged and breached twice: risk one level up, and the actions say why.
    let (mut records, mut generation) = seed_scenario(5);
    records.timeline.truncate(1);
    records.incident.status = IncidentStatus::Active;
    let mut earlier = records.prevention_records[0].clone();
    earlier.step_index = 2;
    earlier.incident_id = None;
    earlier.enforced = false;
    records.prevention_records.push(earlier);
    generation.generated_at = records.incident.created_at + time::Duration::minutes(4);
    let debrief = executive_debrief(evidence_bundle(&records, &generation));
    assert_eq!(debrief.risk_level, "critical");
    // Nobody responded: the run would have run on until the bundle was generated (4 minutes).
    assert_eq!(debrief.business_impact.cost_stopped_cents, 450.0);
    let actions = debrief.recommended_actions.join("\n");
    assert!(actions.contains("Acknowledge incident"), "{actions}");
    assert!(actions.contains("steps 2, 4"), "{actions}");
    assert!(actions.contains("not enforced"), "{actions}");

    let (records, generation) = runless_incident();
    let debrief = executive_debrief(evidence_bundle(&records, &generation));
    assert_eq!(debrief.business_impact.runs_affected, 0);
    assert_eq!(debrief.business_impact.cost_stopped_cents, 0.0);
    assert_eq!(debrief.risk_level, "critical");
    assert!(debrief.incident_summary.starts_with("Kill switch engaged"));
}
