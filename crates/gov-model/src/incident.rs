//! Incidents (seed 000 §12.3): what went wrong, linked to the run and the policy.

use crate::enums::str_enum;
use crate::{CommentId, IncidentId, PolicyId, PostmortemId, RunId, Severity, TenantId, Timestamp, TraceId};

str_enum!(
    /// Incident lifecycle. `resolved` is final.
    IncidentStatus {
        Active = "active",
        Acknowledged = "acknowledged",
        Escalated = "escalated",
        Resolved = "resolved",
    }
);

str_enum!(
    /// What an entry of an incident's timeline records.
    IncidentEventKind {
        /// Opened (by `system`, at the step that breached, or by the tripwire).
        Created = "created",
        Acknowledged = "acknowledged",
        Escalated = "escalated",
        Resolved = "resolved",
        Commented = "commented",
        /// An authorised override of the run's policy.
        Overridden = "overridden",
        /// Its postmortem was written.
        Postmortem = "postmortem",
    }
);

impl IncidentEventKind {
    /// Whether this entry is a person's answer to the incident (what the time to acknowledge
    /// measures): anything but its opening, by anyone but `system`.
    pub fn answers(self, actor: &str) -> bool {
        self != IncidentEventKind::Created && actor != "system"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub incident_id: IncidentId,
    pub tenant_id: TenantId,
    pub source_run_id: Option<RunId>,
    pub policy_id: Option<PolicyId>,
    pub trace_id: Option<TraceId>,
    pub severity: Severity,
    pub status: IncidentStatus,
    /// e.g. `token_limit_exceeded`.
    pub incident_type: String,
    pub title: String,
    pub description: String,
    /// The step that triggered it, when one did.
    pub step_index: Option<i64>,
    pub escalation_level: i32,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IncidentComment {
    pub comment_id: CommentId,
    pub incident_id: IncidentId,
    /// Who wrote it (`api_key:<id>`, or a user id given by the console).
    pub author: String,
    pub content: String,
    pub created_at: Timestamp,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    pub incident_id: IncidentId,
    pub event: IncidentEventKind,
    pub actor: String,
    pub detail: String,
    pub timestamp: Timestamp,
}

/// An incident's postmortem (one per incident, final once written).
#[derive(Debug, Clone, PartialEq)]
pub struct Postmortem {
    pub postmortem_id: PostmortemId,
    pub tenant_id: TenantId,
    pub incident_id: IncidentId,
    pub root_cause: String,
    /// What happened, in order.
    pub timeline: Vec<PostmortemEntry>,
    pub lessons_learned: String,
    pub author: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PostmortemEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: Timestamp,
    pub event: String,
}
