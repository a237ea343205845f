//! The incident state machine. `resolved` is final; everything else can be resolved.
//!
//! | from \ to    | acknowledge | escalate | resolve |
//! |--------------|-------------|----------|---------|
//! | active       | yes         | yes      | yes     |
//! | acknowledged | no          | yes      | yes     |
//! | escalated    | yes         | yes      | yes     |
//! | resolved     | no          | no       | no      |

use gov_model::{Incident, IncidentEventKind, IncidentStatus, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Acknowledge,
    /// Raises the severity one level (capped at critical) and the escalation level by one.
    Escalate,
    Resolve,
}

impl Transition {
    pub const fn as_str(self) -> &'static str {
        match self {
            Transition::Acknowledge => "acknowledge",
            Transition::Escalate => "escalate",
            Transition::Resolve => "resolve",
        }
    }

    /// The timeline entry this transition writes.
    pub const fn event_kind(self) -> IncidentEventKind {
        match self {
            Transition::Acknowledge => IncidentEventKind::Acknowledged,
            Transition::Escalate => IncidentEventKind::Escalated,
            Transition::Resolve => IncidentEventKind::Resolved,
        }
    }

    /// The audit action this transition records.
    pub const fn audit_action(self) -> &'static str {
        match self {
            Transition::Acknowledge => "incident.acknowledged",
            Transition::Escalate => "incident.escalated",
            Transition::Resolve => "incident.resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} an incident that is {}", transition.as_str(), from.as_str())]
pub struct TransitionError {
    pub from: IncidentStatus,
    pub transition: Transition,
}

/// The incident after `transition` at `now`, or why it is not allowed.
pub fn apply(
    incident: &Incident,
    transition: Transition,
    now: Timestamp,
    note: Option<&str>,
) -> Result<Incident, TransitionError> {
    use IncidentStatus::{Acknowledged, Active, Escalated, Resolved};
    let illegal = TransitionError { from: incident.status, transition };
    let mut next = incident.clone();
    match (incident.status, transition) {
        (Active | Escalated, Transition::Acknowledge) => {
            next.status = Acknowledged;
            next.acknowledged_at = Some(now);
        }
        (Active | Acknowledged | Escalated, Transition::Escalate) => {
            next.status = Escalated;
            next.severity = incident.severity.raised();
            next.escalation_level += 1;
            next.escalated_at = Some(now);
        }
        (Active | Acknowledged | Escalated, Transition::Resolve) => {
            next.status = Resolved;
            next.resolved_at = Some(now);
            next.resolution = note.map(str::to_owned);
        }
        (Acknowledged, Transition::Acknowledge) | (Resolved, _) => return Err(illegal),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use gov_model::{IncidentId, Severity, TenantId};
    use time::macros::datetime;

    use super::*;

    fn incident(status: IncidentStatus) -> Incident {
        Incident {
            incident_id: IncidentId::new(),
            tenant_id: TenantId::new(),
            source_run_id: None,
            policy_id: None,
            trace_id: None,
            severity: Severity::High,
            status,
            incident_type: "token_limit_exceeded".into(),
            title: "t".into(),
            description: "d".into(),
            step_index: None,
            escalation_level: 0,
            created_at: datetime!(2026-01-20 10:05:01 UTC),
            acknowledged_at: None,
            escalated_at: None,
            resolved_at: None,
            resolution: None,
        }
    }

    fn check(from: IncidentStatus, transition: Transition, expected: Option<IncidentStatus>) {
        let now = datetime!(2026-01-20 11:00 UTC);
        let result = apply(&incident(from), transition, now, Some("fixed"));
        assert_eq!(result.as_ref().ok().map(|i| i.status), expected, "{from} --{transition:?}-->");
        if let Err(e) = result {
            assert_eq!(e, TransitionError { from, transition });
        }
    }

    #[test]
    fn transitions() {
        use IncidentStatus::*;
        use Transition::*;
        check(Active, Acknowledge, Some(Acknowledged));
        check(Active, Escalate, Some(Escalated));
        check(Active, Resolve, Some(Resolved));
        check(Acknowledged, Acknowledge, None);
        check(Acknowledged, Escalate, Some(Escalated));
        check(Acknowledged, Resolve, Some(Resolved));
        check(Escalated, Acknowledge, Some(Acknowledged));
        check(Escalated, Escalate, Some(Escalated));
        check(Escalated, Resolve, Some(Resolved));
        check(Resolved, Acknowledge, None);
        check(Resolved, Escalate, None);
        check(Resolved, Resolve, None);
    }

    #[test]
    fn escalation_raises_severity_up_to_critical() {
        let now = datetime!(2026-01-20 11:00 UTC);
        let once = apply(&incident(IncidentStatus::Active), Transition::Escalate, now, None).unwrap();
        assert_eq!(
            (once.severity, once.escalation_level, once.escalated_at),
            (Severity::Critical, 1, Some(now))
        );
        let twice = apply(&once, Transition::Escalate, now, None).unwrap();
        assert_eq!((twice.severity, twice.escalation_level), (Severity::Critical, 2));
    }

    #[test]
    fn resolution_keeps_the_note_and_time() {
        let now = datetime!(2026-01-20 12:00 UTC);
        let done =
            apply(&incident(IncidentStatus::Acknowledged), Transition::Resolve, now, Some("raised limit"))
                .unwrap();
        assert_eq!((done.resolved_at, done.resolution.as_deref()), (Some(now), Some("raised limit")));
    }
}
