//! The SOC2 form of an evidence bundle: the default Trust Services Criteria (CC7.2, CC7.3,
//! CC7.4) mapped to the bundle members that evidence them, each judged from the data, and an
//! attestation naming what the bundle proves. All of it is recomputed by the verifier.

use crate::build::inflection_step;
use crate::bundle::*;

/// One default control: its id, the criterion (AICPA 2017 Trust Services Criteria, common
/// criteria 7, "System Operations") and the bundle members that evidence it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Soc2Control {
    pub control_id: &'static str,
    pub criterion: &'static str,
    pub evidence: &'static [&'static str],
}

/// The controls every SOC2 bundle maps (seed 000 GAP-008 `DEFAULT_SOC2_CONTROLS`).
pub const DEFAULT_SOC2_CONTROLS: [Soc2Control; 3] = [
    Soc2Control {
        control_id: "CC7.2",
        criterion: "The entity monitors system components and the operation of those components for \
                    anomalies that are indicative of malicious acts, natural disasters, and errors \
                    affecting the entity's ability to meet its objectives; anomalies are analyzed to \
                    determine whether they represent security events.",
        evidence: &["/steps", "/trace", "/threshold_signals", "/policy_context"],
    },
    Soc2Control {
        control_id: "CC7.3",
        criterion: "The entity evaluates security events to determine whether they could or have \
                    resulted in a failure of the entity to meet its objectives (security incidents) \
                    and, if so, takes actions to prevent or address such failures.",
        evidence: &["/incident", "/prevention_records", "/policy_context/violated_policy"],
    },
    Soc2Control {
        control_id: "CC7.4",
        criterion: "The entity responds to identified security incidents by executing a defined \
                    incident-response program to understand, contain, remediate, and communicate \
                    security incidents, as appropriate.",
        evidence: &["/incident/timeline", "/incident/comments", "/run/status", "/audit_trail"],
    },
];

/// The SOC2 bundle of `evidence`: the same evidence, its control mappings, attestation and period.
pub fn soc2_bundle(mut evidence: EvidenceBundle) -> SOC2Bundle {
    evidence.kind = BundleKind::Soc2;
    let control_mappings = control_mappings(&evidence);
    let attestation_statement = attestation(&evidence, &control_mappings);
    let (period_start, period_end) = period(&evidence);
    SOC2Bundle { evidence, control_mappings, attestation_statement, period_start, period_end }
}

/// The derived members of a SOC2 bundle, recomputed from its evidence.
pub(crate) fn derived(evidence: &EvidenceBundle) -> (Vec<SOC2ControlMapping>, String, String, String) {
    let mappings = control_mappings(evidence);
    let attestation = attestation(evidence, &mappings);
    let (start, end) = period(evidence);
    (mappings, attestation, start, end)
}

fn control_mappings(b: &EvidenceBundle) -> Vec<SOC2ControlMapping> {
    let judged = [cc7_2(b), cc7_3(b), cc7_4(b)];
    DEFAULT_SOC2_CONTROLS
        .iter()
        .zip(judged)
        .map(|(control, (satisfied, rationale))| SOC2ControlMapping {
            control_id: control.control_id.to_owned(),
            criterion: control.criterion.to_owned(),
            evidence: control.evidence.iter().map(|p| (*p).to_owned()).collect(),
            satisfied,
            rationale,
        })
        .collect()
}

/// Monitoring: every step of the run was judged against a hashed policy snapshot and recorded in
/// the hash chain; an incident without a run was raised by the system's own monitoring.
fn cc7_2(b: &EvidenceBundle) -> (bool, String) {
    let Some(run) = &b.run else {
        let by_system = b.incident.timeline.iter().any(IncidentEventEvidence::opened_by_system);
        return if by_system {
            (
                true,
                format!(
                    "Incident {} ({}) was raised by gov's own monitoring (timeline: created by system); \
                     no agent run was involved.",
                    b.incident_id, b.incident.incident_type
                ),
            )
        } else {
            (
                false,
                format!(
                    "Incident {} has no run and its timeline has no `created` event by the system, \
                     so the bundle does not show that monitoring detected it.",
                    b.incident_id
                ),
            )
        };
    };
    let mut missing = Vec::new();
    if b.trace.is_none() {
        missing.push("the run's trace");
    }
    if b.steps.is_empty() {
        missing.push("recorded steps");
    }
    if b.policy_context.is_none() {
        missing.push("the policy snapshot the steps were judged against");
    }
    if missing.is_empty() {
        let signals = b.threshold_signals.len();
        (
            true,
            format!(
                "All {} steps of run {} were judged against policy snapshot {} and recorded in a hash \
                 chain; {signals} threshold signal(s) were raised.",
                b.steps.len(),
                run.run_id,
                b.policy_context.as_ref().map_or("", |p| p.snapshot_id.as_str()),
            ),
        )
    } else {
        (false, format!("The bundle lacks {}.", missing.join(" and ")))
    }
}

/// Evaluation: the event was classified (type and severity) and, for a run, traced to the policy
/// it violated and the prevention record of the step where it happened.
fn cc7_3(b: &EvidenceBundle) -> (bool, String) {
    let i = &b.incident;
    if b.run.is_none() {
        return (
            true,
            format!(
                "Incident {} was classified as {} with severity {}: {}",
                i.incident_id, i.incident_type, i.severity, i.title
            ),
        );
    }
    let Some(step) = inflection_step(b) else {
        return (false, format!("Incident {} names no step of its run.", i.incident_id));
    };
    let record = b
        .prevention_records
        .iter()
        .find(|p| p.step_index == step && p.incident_id.as_deref() == Some(i.incident_id.as_str()));
    let Some(record) = record else {
        return (false, format!("No prevention record links incident {} to step {step}.", i.incident_id));
    };
    let policy = b.policy_context.as_ref().and_then(|p| p.violated_policy.as_ref());
    match (&i.policy_id, policy) {
        (Some(id), None) => {
            (false, format!("Policy {id} of incident {} is not in the run's policy snapshot.", i.incident_id))
        }
        (_, Some(p)) => (
            true,
            format!(
                "Step {step} breached policy \"{}\" v{} ({}); prevention record {} shows the {} decision \
                 and incident {} classified it as {} with severity {}.",
                p.name,
                p.version,
                p.rule_type,
                record.record_id,
                record.action,
                i.incident_id,
                i.incident_type,
                i.severity
            ),
        ),
        (None, None) => (
            true,
            format!(
                "Step {step} was stopped by gov itself ({}); prevention record {} and incident {} \
                 classify it with severity {}.",
                record.violation_type, record.record_id, i.incident_id, i.severity
            ),
        ),
    }
}

/// Response: the run was contained, and a person responded to the incident (acknowledged,
/// escalated, resolved or commented on it).
fn cc7_4(b: &EvidenceBundle) -> (bool, String) {
    let i = &b.incident;
    let responses: Vec<&IncidentEventEvidence> = i.timeline.iter().filter(|e| e.answers()).collect();
    let contained = b.run.as_ref().is_none_or(|r| r.status != "running" && r.status != "queued");
    let mut missing = Vec::new();
    if !contained {
        missing.push("the run is still running (not contained)".to_owned());
    }
    if responses.is_empty() {
        missing.push(format!(
            "the incident is {} and nobody has acknowledged, escalated, resolved or commented on it",
            i.status
        ));
    }
    if !missing.is_empty() {
        return (false, format!("Not yet: {}.", missing.join("; ")));
    }
    let containment = match &b.run {
        Some(r) => format!("run {} ended {}", r.run_id, r.status),
        None => "no run needed containing".to_owned(),
    };
    let events: Vec<String> = responses.iter().map(|e| format!("{} by {}", e.event, e.actor)).collect();
    (
        true,
        format!("Contained ({containment}); responded: {}; incident status {}.", events.join(", "), i.status),
    )
}

fn attestation(b: &EvidenceBundle, mappings: &[SOC2ControlMapping]) -> String {
    let mut s = format!(
        "This bundle ({}) attests the evidence of incident {} of tenant {}, generated at {} by {} with gov {}.",
        b.bundle_id, b.incident_id, b.tenant_id, b.generated_at, b.generated_by, b.gov_version
    );
    if let (Some(run), Some(trace)) = (&b.run, &b.trace) {
        s.push_str(&format!(
            " Run {} of agent {} is recorded as trace {} with {} hash-chained steps from genesis {} to head {}.",
            run.run_id, run.agent_id, trace.trace_id, trace.step_count, trace.genesis_hash, trace.head_hash
        ));
    }
    if let Some(p) = &b.policy_context {
        s.push_str(&format!(
            " The run was judged against policy snapshot {} (content hash {}, {} policies, {}).",
            p.snapshot_id, p.content_hash, p.policy_count, p.conflict_strategy
        ));
        if let Some(v) = &p.violated_policy {
            s.push_str(&format!(
                " It violated policy \"{}\" v{} ({}, threshold {}, action {}) at step {}.",
                v.name,
                v.version,
                v.rule_type,
                v.threshold.map_or_else(|| "none".to_owned(), |t| t.to_string()),
                v.action,
                inflection_step(b).map_or_else(|| "unknown".to_owned(), |i| i.to_string())
            ));
        }
    }
    let (met, unmet): (Vec<&SOC2ControlMapping>, Vec<&SOC2ControlMapping>) =
        mappings.iter().partition(|m| m.satisfied);
    let ids =
        |ms: &[&SOC2ControlMapping]| ms.iter().map(|m| m.control_id.as_str()).collect::<Vec<_>>().join(", ");
    if !met.is_empty() {
        s.push_str(&format!(" The evidence satisfies {}.", ids(&met)));
    }
    if !unmet.is_empty() {
        s.push_str(&format!(" It does not (yet) satisfy {}.", ids(&unmet)));
    }
    s.push_str(
        " The integrity member signs the canonical hash of every other member; `gov verify` re-checks \
         the signature, every step's hash and link, the snapshot text and these mappings offline.",
    );
    s
}

/// From the run's start (or the incident's creation) to the latest event the bundle records.
fn period(b: &EvidenceBundle) -> (String, String) {
    let start = b.run.as_ref().map_or(&b.incident.created_at, |r| &r.started_at).clone();
    let i = &b.incident;
    let candidates = [
        Some(&i.created_at),
        i.acknowledged_at.as_ref(),
        i.escalated_at.as_ref(),
        i.resolved_at.as_ref(),
        b.run.as_ref().and_then(|r| r.completed_at.as_ref()),
        b.steps.last().map(|s| &s.timestamp),
    ];
    let events = i.timeline.iter().map(|e| &e.timestamp).chain(i.comments.iter().map(|c| &c.created_at));
    // Canonical times are fixed-width UTC, so their text order is their time order.
    let end = candidates.into_iter().flatten().chain(events).max().unwrap_or(&start).clone();
    (start, end)
}
