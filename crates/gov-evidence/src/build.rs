//! Records in, bundle out: the evidence bundle of an incident, its SOC2 form and its executive
//! debrief. Everything here is derived from the records passed in.

use gov_model::{
    AuditEntry, CostRecord, Incident, IncidentComment, IncidentEvent, OverrideRecord, PolicySnapshot,
    PreventionRecord, Run, ThresholdSignal, Timestamp, TraceStep, TraceSummary,
};

use crate::{EvidenceBundle, ExecutiveDebriefBundle, SOC2Bundle};

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

pub fn evidence_bundle(_records: &EvidenceRecords, _generation: &Generation) -> EvidenceBundle {
    unimplemented!("issue 9: gov-evidence builder")
}

pub fn soc2_bundle(_evidence: EvidenceBundle) -> SOC2Bundle {
    unimplemented!("issue 9: gov-evidence builder")
}

pub fn executive_debrief(_evidence: EvidenceBundle) -> ExecutiveDebriefBundle {
    unimplemented!("issue 9: gov-evidence builder")
}
