//! Opening an incident from a breach: its type, severity, title and description.

use gov_model::{
    BreachAction, Incident, IncidentId, IncidentStatus, PolicyId, PolicyViolationType, RunId, Severity,
    TenantId, Timestamp, TraceId,
};

/// The facts of a breach that opens an incident.
#[derive(Debug, Clone)]
pub struct Breach<'a> {
    pub tenant_id: TenantId,
    pub run_id: RunId,
    pub trace_id: TraceId,
    pub agent_id: &'a str,
    pub policy_id: Option<PolicyId>,
    pub policy_name: Option<&'a str>,
    pub violation_type: PolicyViolationType,
    pub severity: Severity,
    pub action: BreachAction,
    pub step_index: i64,
    pub reason: &'a str,
}

/// The incident a breach opens (status `active`).
pub fn open(id: IncidentId, breach: &Breach<'_>, now: Timestamp) -> Incident {
    let what = breach.violation_type.incident_type();
    let by = breach.policy_name.map(|n| format!(" ({n})")).unwrap_or_default();
    let outcome = match breach.action {
        BreachAction::Warn => "the run continued",
        BreachAction::Pause => "the run was paused until an override",
        BreachAction::Stop => "the run was stopped",
        BreachAction::Kill => "the run was stopped and its agent killed",
    };
    Incident {
        incident_id: id,
        tenant_id: breach.tenant_id,
        source_run_id: Some(breach.run_id),
        policy_id: breach.policy_id,
        trace_id: Some(breach.trace_id),
        severity: breach.severity,
        status: IncidentStatus::Active,
        incident_type: what.to_owned(),
        title: format!("{what}{by}: agent {} at step {}", breach.agent_id, breach.step_index),
        description: format!(
            "{}. Action {}: {outcome} at step {} of run {}.",
            breach.reason, breach.action, breach.step_index, breach.run_id
        ),
        step_index: Some(breach.step_index),
        escalation_level: 0,
        created_at: now,
        acknowledged_at: None,
        escalated_at: None,
        resolved_at: None,
        resolution: None,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_token_breach_opens_an_active_incident_linked_to_run_and_policy() {
        let (run, policy, trace) = (RunId::new(), PolicyId::new(), TraceId::new());
        let breach = Breach {
            tenant_id: TenantId::new(),
            run_id: run,
            trace_id: trace,
            agent_id: "AGT-001",
            policy_id: Some(policy),
            policy_name: Some("Token Limit Policy"),
            violation_type: PolicyViolationType::TokenLimit,
            severity: Severity::High,
            action: BreachAction::Stop,
            step_index: 3,
            reason: "tokens 15000 reached the limit 10000",
        };
        let now = datetime!(2026-01-20 10:05:01 UTC);
        let incident = open(IncidentId::new(), &breach, now);
        assert_eq!(incident.status, IncidentStatus::Active);
        assert_eq!(incident.incident_type, "token_limit_exceeded");
        assert_eq!(
            (incident.source_run_id, incident.policy_id, incident.trace_id),
            (Some(run), Some(policy), Some(trace))
        );
        assert_eq!(incident.severity, Severity::High);
        assert_eq!(incident.step_index, Some(3));
        assert!(
            incident.title.contains("Token Limit Policy") && incident.title.contains("step 3"),
            "{}",
            incident.title
        );
        assert!(incident.description.contains("the run was stopped"), "{}", incident.description);
    }
}
