//! Opening an incident from a regression tripwire trip: the numbers that tripped it and what the
//! tripwire did.

use gov_model::{Incident, IncidentId, IncidentStatus, RegressionAction, Severity, TenantId, Timestamp};

/// The incident type of every tripwire trip.
pub const INCIDENT_TYPE: &str = "regression_tripwire";

/// The facts of a trip.
#[derive(Debug, Clone)]
pub struct Trip<'a> {
    pub tenant_id: TenantId,
    pub domain: &'a str,
    pub metric: &'a str,
    pub action: RegressionAction,
    /// Success rate of the baseline events.
    pub baseline: f64,
    /// Success rate of the window events.
    pub current: f64,
    pub drop_fraction: f64,
    pub max_drop_fraction: f64,
    pub window_events: i64,
    pub baseline_events: i64,
    /// What the action does, in words (the caller knows its parameters).
    pub effect: &'a str,
}

/// The incident a trip opens (status `active`): critical when it engages the kill switch, high
/// when it throttles.
pub fn open_trip(id: IncidentId, trip: &Trip<'_>, now: Timestamp) -> Incident {
    let severity = match trip.action {
        RegressionAction::KillSwitch => Severity::Critical,
        RegressionAction::Throttle => Severity::High,
    };
    Incident {
        incident_id: id,
        tenant_id: trip.tenant_id,
        source_run_id: None,
        policy_id: None,
        trace_id: None,
        severity,
        status: IncidentStatus::Active,
        incident_type: INCIDENT_TYPE.to_owned(),
        title: format!(
            "Regression tripwire {}/{} tripped: success rate {:.3} -> {:.3} ({:.1}% drop)",
            trip.domain,
            trip.metric,
            trip.baseline,
            trip.current,
            trip.drop_fraction * 100.0
        ),
        description: format!(
            "Baseline {:.3} over the {} events before the last {}, current {:.3} over the last {} events: \
             a drop of {:.1}% (limit {:.1}%). Action {}: {}.",
            trip.baseline,
            trip.baseline_events,
            trip.window_events,
            trip.current,
            trip.window_events,
            trip.drop_fraction * 100.0,
            trip.max_drop_fraction * 100.0,
            trip.action,
            trip.effect
        ),
        step_index: None,
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
    fn a_trip_names_its_numbers_and_action() {
        let trip = Trip {
            tenant_id: TenantId::new(),
            domain: "CAPITAL",
            metric: "roi_event",
            action: RegressionAction::KillSwitch,
            baseline: 0.8,
            current: 0.5,
            drop_fraction: 0.375,
            max_drop_fraction: 0.3,
            window_events: 50,
            baseline_events: 200,
            effect: "the kill switch was engaged",
        };
        let i = open_trip(IncidentId::new(), &trip, datetime!(2026-01-20 10:00 UTC));
        assert_eq!(
            (i.severity, i.status, i.incident_type.as_str()),
            (Severity::Critical, IncidentStatus::Active, INCIDENT_TYPE)
        );
        assert!(
            i.title.contains("CAPITAL/roi_event") && i.title.contains("0.800") && i.title.contains("37.5%"),
            "{}",
            i.title
        );
        assert!(
            i.description.contains("KILL_SWITCH") && i.description.contains("limit 30.0%"),
            "{}",
            i.description
        );
        assert_eq!(i.source_run_id, None);
    }
}
