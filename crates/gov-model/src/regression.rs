//! The regression tripwire of a tenant (seed 004): business KPI events, per-(domain, metric)
//! thresholds, and each tripwire's last evaluation.

use crate::enums::str_enum;
use crate::{IncidentId, Timestamp};

str_enum!(
    /// What a tripped tripwire does.
    RegressionAction {
        /// New runs of the domain are limited (see the facades' `THROTTLE_WINDOW_SECS`).
        Throttle = "THROTTLE",
        /// The tenant's kill switch is engaged: every run stops at its next step.
        KillSwitch = "KILL_SWITCH",
    }
);

/// The thresholds of one (domain, metric) tripwire (seed 004 `regression_policy`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionPolicy {
    pub domain: String,
    pub metric: String,
    pub window_events: i64,
    pub baseline_events: i64,
    pub min_events_to_enforce: i64,
    pub max_drop_fraction: f64,
    pub action: RegressionAction,
    pub enabled: bool,
    pub changed_by: String,
    pub reason: String,
    pub updated_at: Timestamp,
}

/// A tripwire's last evaluation (seed 004 `regression_state`). A tripped tripwire stays tripped
/// until an operator resets it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionState {
    pub domain: String,
    pub metric: String,
    pub triggered: bool,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub drop_fraction: Option<f64>,
    pub last_checked_at: Option<Timestamp>,
    pub last_triggered_at: Option<Timestamp>,
    pub note: String,
    /// The incident the last trip opened.
    pub incident_id: Option<IncidentId>,
    /// Only events recorded at or after this instant count (set when the tripwire is reset).
    pub counting_since: Option<Timestamp>,
}

/// One business outcome (seed 004 `kpi_event`).
#[derive(Debug, Clone, PartialEq)]
pub struct KpiEvent {
    pub id: String,
    pub domain: String,
    pub metric: String,
    pub success: bool,
    pub value: Option<f64>,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub detail: String,
    pub created_at: Timestamp,
}
