//! Records in, bundle out: the evidence bundle of an incident. Everything in it is copied or
//! derived from the records passed in; the derived members (step status markers, the violated
//! policy, the conflict strategy) are computed from the bundle's own members by functions the
//! verifier calls again, so a bundle whose derived members disagree with its evidence fails.

use std::collections::HashSet;

use gov_model::{
    AuditEntry, CostRecord, Incident, IncidentComment, IncidentEvent, OverrideRecord, PolicySnapshot,
    PreventionRecord, RuleType, Run, ThresholdSignal, Timestamp, TraceStep, TraceSummary,
};
use serde::Deserialize;

use crate::bundle::*;
use crate::chain::{canonical_time, genesis};

pub use crate::debrief::executive_debrief;
pub use crate::soc2::soc2_bundle;

/// Everything stored about one incident and its run, as the facade read it (one tenant).
/// An incident without a run has `run`, `trace` and `snapshot` `None` and no steps.
#[derive(Debug, Clone)]
pub struct EvidenceRecords {
    pub incident: Incident,
    pub timeline: Vec<IncidentEvent>,
    pub comments: Vec<IncidentComment>,
    pub run: Option<Run>,
    pub trace: Option<TraceSummary>,
    /// In step order.
    pub steps: Vec<TraceStep>,
    pub snapshot: Option<PolicySnapshot>,
    pub prevention_records: Vec<PreventionRecord>,
    pub signals: Vec<ThresholdSignal>,
    pub overrides: Vec<OverrideRecord>,
    pub cost_records: Vec<CostRecord>,
    /// Audit rows whose resource is the run or the incident, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// Who asked for a bundle and when; the id is drawn by the caller.
#[derive(Debug, Clone)]
pub struct Generation {
    pub bundle_id: String,
    pub generated_at: Timestamp,
    pub generated_by: String,
    pub gov_version: String,
}

/// The evidence bundle of `records.incident`: every record as evidence, each step marked.
pub fn evidence_bundle(records: &EvidenceRecords, generation: &Generation) -> EvidenceBundle {
    let incident = &records.incident;
    let run = records.run.as_ref().map(run_evidence);
    // The trace row's count and head are written when the run ends; the run's are current.
    let trace = records.trace.as_ref().map(|t| trace_evidence(t, records.run.as_ref()));
    let policy_context = records.snapshot.as_ref().map(|s| policy_context(s, incident));
    let mut bundle = EvidenceBundle {
        format: BUNDLE_FORMAT.to_owned(),
        kind: BundleKind::Evidence,
        bundle_id: generation.bundle_id.clone(),
        tenant_id: incident.tenant_id.to_string(),
        incident_id: incident.incident_id.to_string(),
        run_id: records.run.as_ref().map(|r| r.run_id.to_string()),
        trace_id: records
            .trace
            .as_ref()
            .map(|t| t.trace_id.to_string())
            .or_else(|| records.run.as_ref().map(|r| r.trace_id.to_string())),
        incident: incident_evidence(incident, &records.timeline, &records.comments),
        run,
        trace,
        steps: records.steps.iter().map(step_evidence).collect(),
        policy_context,
        prevention_records: records.prevention_records.iter().map(prevention_evidence).collect(),
        threshold_signals: records.signals.iter().map(signal_evidence).collect(),
        overrides: records.overrides.iter().map(override_evidence).collect(),
        cost_records: records.cost_records.iter().map(cost_evidence).collect(),
        audit_trail: records.audit.iter().map(audit_evidence).collect(),
        generated_at: canonical_time(generation.generated_at),
        generated_by: generation.generated_by.clone(),
        gov_version: generation.gov_version.clone(),
    };
    let statuses = step_statuses(&bundle_view(&bundle));
    for (step, status) in bundle.steps.iter_mut().zip(statuses) {
        step.status = status;
    }
    bundle
}

/// What the status markers are computed from (borrowed, so the builder can mark its own steps).
pub(crate) struct StatusInputs<'a> {
    pub inflection: Option<i64>,
    pub steps: &'a [TraceStepEvidence],
    pub prevention_records: &'a [PreventionRecordEvidence],
    pub threshold_signals: &'a [ThresholdSignalEvidence],
}

pub(crate) fn bundle_view(bundle: &EvidenceBundle) -> StatusInputs<'_> {
    StatusInputs {
        inflection: inflection_step(bundle),
        steps: &bundle.steps,
        prevention_records: &bundle.prevention_records,
        threshold_signals: &bundle.threshold_signals,
    }
}

/// The step at which the incident stopped (or paused) its run: the incident's own step when the
/// incident came from this bundle's run, else the trace's recorded inflection point when this
/// incident is the one that stopped the trace.
pub(crate) fn inflection_step(bundle: &EvidenceBundle) -> Option<i64> {
    let run_id = bundle.run_id.as_deref()?;
    let incident = &bundle.incident;
    if incident.source_run_id.as_deref() != Some(run_id) {
        return None;
    }
    incident.step_index.or_else(|| {
        bundle
            .trace
            .as_ref()
            .filter(|t| t.incident_id.as_deref() == Some(bundle.incident_id.as_str()))
            .and_then(|t| t.violation_step_index)
    })
}

/// One marker per step, in step order: the inflection point; else a breach (a WARN or BLOCK
/// decision, or a prevention record at the step, e.g. one recorded in shadow mode); else near (a
/// NEAR signal at the step); else ok.
pub(crate) fn step_statuses(inputs: &StatusInputs<'_>) -> Vec<StepStatus> {
    let prevented: HashSet<i64> = inputs.prevention_records.iter().map(|p| p.step_index).collect();
    let near: HashSet<i64> = inputs
        .threshold_signals
        .iter()
        .filter(|s| s.signal_type == gov_model::SignalType::Near.as_str())
        .map(|s| s.step_index)
        .collect();
    inputs
        .steps
        .iter()
        .map(|step| {
            let i = step.step_index;
            if inputs.inflection == Some(i) {
                StepStatus::InflectionPoint
            } else if step.decision != "ALLOW" || prevented.contains(&i) {
                StepStatus::Breach
            } else if near.contains(&i) {
                StepStatus::Near
            } else {
                StepStatus::Ok
            }
        })
        .collect()
}

/// The members of a snapshot's policy record the bundle names (the rest stays in the text).
#[derive(Deserialize)]
struct PolicyRecord {
    policy_id: String,
    name: String,
    version: i32,
    rule_type: RuleType,
    threshold: Option<f64>,
    action: String,
    severity: String,
}

#[derive(Deserialize)]
struct ThresholdsHead {
    conflict_strategy: String,
}

/// The conflict strategy the snapshot's thresholds text states; `unreadable` when it states none.
pub(crate) fn conflict_strategy(thresholds_json: &str) -> String {
    serde_json::from_str::<ThresholdsHead>(thresholds_json)
        .map_or_else(|_| "unreadable".to_owned(), |t| t.conflict_strategy)
}

/// The policy `policy_id` as the snapshot's policies text states it, when it is there.
pub(crate) fn violated_policy(policies_json: &str, policy_id: Option<&str>) -> Option<ViolatedPolicy> {
    let policy_id = policy_id?;
    let records: Vec<PolicyRecord> = serde_json::from_str(policies_json).ok()?;
    let record = records.into_iter().find(|p| p.policy_id == policy_id)?;
    let metric = gov_policy::Metric::of(record.rule_type).map(|m| m.as_str().to_owned());
    Some(ViolatedPolicy {
        policy_id: record.policy_id,
        name: record.name,
        version: record.version,
        rule_type: record.rule_type.as_str().to_owned(),
        violation_type: violation_type(record.rule_type).as_str().to_owned(),
        threshold: record.threshold,
        metric,
        action: record.action,
        severity: record.severity,
    })
}

/// The violation a rule type's breach is (the prevention engine's mapping; gov-evidence may not
/// depend on gov-prevention, and the mapping is total over `RuleType`).
fn violation_type(rule_type: RuleType) -> gov_model::PolicyViolationType {
    use gov_model::PolicyViolationType as V;
    match rule_type {
        RuleType::TokenLimit => V::TokenLimit,
        RuleType::CostLimit => V::CostLimit,
        RuleType::StepLimit => V::StepLimit,
        RuleType::RateLimit => V::RateLimit,
        RuleType::BurnRate => V::BurnRate,
        RuleType::ModelAllowlist => V::ModelNotAllowed,
        RuleType::Custom => V::CustomRule,
    }
}

fn policy_context(snapshot: &PolicySnapshot, incident: &Incident) -> PolicyContext {
    let policy_id = incident.policy_id.map(|p| p.to_string());
    PolicyContext {
        snapshot_id: snapshot.snapshot_id.to_string(),
        policies_json: snapshot.policies_json.clone(),
        thresholds_json: snapshot.thresholds_json.clone(),
        content_hash: snapshot.content_hash.clone(),
        policy_count: snapshot.policy_count,
        snapshot_created_at: canonical_time(snapshot.created_at),
        conflict_strategy: conflict_strategy(&snapshot.thresholds_json),
        violated_policy: violated_policy(&snapshot.policies_json, policy_id.as_deref()),
    }
}

fn time_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(canonical_time)
}

fn incident_evidence(
    incident: &Incident,
    timeline: &[IncidentEvent],
    comments: &[IncidentComment],
) -> IncidentEvidence {
    IncidentEvidence {
        incident_id: incident.incident_id.to_string(),
        source_run_id: incident.source_run_id.map(|r| r.to_string()),
        policy_id: incident.policy_id.map(|p| p.to_string()),
        trace_id: incident.trace_id.map(|t| t.to_string()),
        severity: incident.severity.as_str().to_owned(),
        status: incident.status.as_str().to_owned(),
        incident_type: incident.incident_type.clone(),
        title: incident.title.clone(),
        description: incident.description.clone(),
        step_index: incident.step_index,
        escalation_level: incident.escalation_level,
        created_at: canonical_time(incident.created_at),
        acknowledged_at: time_opt(incident.acknowledged_at),
        escalated_at: time_opt(incident.escalated_at),
        resolved_at: time_opt(incident.resolved_at),
        resolution: incident.resolution.clone(),
        timeline: timeline
            .iter()
            .map(|e| IncidentEventEvidence {
                event: e.event.as_str().to_owned(),
                actor: e.actor.clone(),
                detail: e.detail.clone(),
                timestamp: canonical_time(e.timestamp),
            })
            .collect(),
        comments: comments
            .iter()
            .map(|c| IncidentCommentEvidence {
                comment_id: c.comment_id.to_string(),
                author: c.author.clone(),
                content: c.content.clone(),
                created_at: canonical_time(c.created_at),
            })
            .collect(),
    }
}

fn run_evidence(run: &Run) -> RunEvidence {
    RunEvidence {
        run_id: run.run_id.to_string(),
        agent_id: run.agent_id.clone(),
        goal: run.goal.clone(),
        human_actor_id: run.human_actor_id.clone(),
        api_key_id: run.api_key_id.map(|k| k.to_string()),
        status: run.status.as_str().to_owned(),
        termination_reason: run.termination_reason.map(|r| r.as_str().to_owned()),
        started_at: canonical_time(run.started_at),
        completed_at: time_opt(run.completed_at),
        tokens_used: run.tokens_used,
        input_tokens: run.input_tokens,
        output_tokens: run.output_tokens,
        total_cost_cents: run.total_cost_cents,
        step_count: run.step_count,
        stopped_at_step: run.stopped_at_step,
        violation_policy_id: run.violation_policy_id.map(|p| p.to_string()),
        incident_id: run.incident_id.map(|i| i.to_string()),
        trace_id: run.trace_id.to_string(),
        policy_snapshot_id: run.policy_snapshot_id.to_string(),
        policy_snapshot_hash: run.policy_snapshot_hash.clone(),
    }
}

fn trace_evidence(trace: &TraceSummary, run: Option<&Run>) -> TraceEvidence {
    TraceEvidence {
        trace_id: trace.trace_id.to_string(),
        run_id: trace.run_id.to_string(),
        status: trace.status.clone(),
        step_count: run.map_or(trace.step_count, |r| r.step_count),
        genesis_hash: genesis(trace.trace_id),
        head_hash: run.map_or_else(|| trace.head_hash.clone(), |r| r.head_hash.clone()),
        started_at: canonical_time(trace.started_at),
        completed_at: time_opt(trace.completed_at),
        violation_step_index: trace.violation_step_index,
        violation_timestamp: time_opt(trace.violation_timestamp),
        violation_policy_id: trace.violation_policy_id.map(|p| p.to_string()),
        violation_reason: trace.violation_reason.clone(),
        incident_id: trace.incident_id.map(|i| i.to_string()),
    }
}

fn step_evidence(step: &TraceStep) -> TraceStepEvidence {
    TraceStepEvidence {
        step_index: step.step_index,
        step_type: step.step_type.clone(),
        timestamp: canonical_time(step.timestamp),
        level: step.level.as_str().to_owned(),
        source: step.source.clone(),
        tokens: step.tokens,
        input_tokens: step.input_tokens,
        output_tokens: step.output_tokens,
        cost_cents: step.cost_cents,
        duration_ms: step.duration_ms,
        model: step.model.clone(),
        retrieved_documents: step.retrieved_documents,
        content_hash: step.content_hash.clone(),
        decision: step.decision.as_str().to_owned(),
        decision_policy_id: step.decision_policy_id.map(|p| p.to_string()),
        decision_reason: step.decision_reason.clone(),
        prev_hash: step.prev_hash.clone(),
        chain_hash: step.chain_hash.clone(),
        status: StepStatus::Ok,
    }
}

fn prevention_evidence(p: &PreventionRecord) -> PreventionRecordEvidence {
    PreventionRecordEvidence {
        record_id: p.record_id.to_string(),
        policy_id: p.policy_id.map(|id| id.to_string()),
        incident_id: p.incident_id.map(|id| id.to_string()),
        step_index: p.step_index,
        action: p.action.as_str().to_owned(),
        decision: p.decision.as_str().to_owned(),
        violation_type: p.violation_type.as_str().to_owned(),
        metric: p.metric.clone(),
        current_value: p.current_value,
        limit_value: p.limit_value,
        enforced: p.enforced,
        reason: p.reason.clone(),
        created_at: canonical_time(p.created_at),
    }
}

fn signal_evidence(s: &ThresholdSignal) -> ThresholdSignalEvidence {
    ThresholdSignalEvidence {
        signal_id: s.signal_id.to_string(),
        policy_id: s.policy_id.to_string(),
        check_id: s.check_id.clone(),
        signal_type: s.signal_type.as_str().to_owned(),
        metric: s.metric.clone(),
        value: s.value,
        limit_value: s.limit_value,
        percentage: s.percentage,
        step_index: s.step_index,
        created_at: canonical_time(s.created_at),
    }
}

fn override_evidence(o: &OverrideRecord) -> OverrideEvidence {
    OverrideEvidence {
        override_id: o.override_id.to_string(),
        policy_id: o.policy_id.to_string(),
        kind: o.kind.as_str().to_owned(),
        new_limit: o.new_limit,
        actor: o.actor.clone(),
        reason: o.reason.clone(),
        created_at: canonical_time(o.created_at),
    }
}

fn cost_evidence(c: &CostRecord) -> CostRecordEvidence {
    CostRecordEvidence {
        cost_record_id: c.cost_record_id.to_string(),
        model: c.model.clone(),
        input_tokens: c.input_tokens,
        output_tokens: c.output_tokens,
        tokens: c.tokens,
        cost_cents: c.cost_cents,
        step_count: c.step_count,
        created_at: canonical_time(c.created_at),
    }
}

fn audit_evidence(a: &AuditEntry) -> AuditEvidence {
    AuditEvidence {
        log_id: a.id.to_string(),
        actor_id: a.actor_id.clone(),
        action: a.action.clone(),
        resource_type: a.resource_type.clone(),
        resource_id: a.resource_id.clone(),
        timestamp: canonical_time(a.timestamp),
        details: a.details.clone(),
    }
}

#[cfg(test)]
mod tests;
