//! The institutional governance levers of a tenant (seed 004): go-live and kill switch, and the
//! risk guard's daily caps.

use crate::enums::str_enum;
use crate::{TenantId, Timestamp};

/// Whether a tenant may execute in production at all (seed 004 `go_live_state`).
#[derive(Debug, Clone, PartialEq)]
pub struct GoLiveState {
    pub tenant_id: TenantId,
    pub go_live_enabled: bool,
    pub kill_switch_engaged: bool,
    pub changed_by: String,
    pub reason: String,
    pub updated_at: Timestamp,
}

/// Daily caps of one engine (seed 004 `risk_policy`). `None` means no cap on that measure.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskPolicy {
    pub tenant_id: TenantId,
    pub engine: String,
    pub max_daily_loss: Option<f64>,
    pub max_daily_exposure: Option<f64>,
    pub max_open_risk: Option<f64>,
    pub max_actions_per_day: Option<i64>,
    pub enabled: bool,
    pub changed_by: String,
    pub reason: String,
    pub updated_at: Timestamp,
}

/// The caps a reservation is checked against, as numbers: `f64::MAX` / `i64::MAX` for "no cap".
/// `gov-levers` decides which caps apply; the store enforces them in one conditional UPDATE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskCaps {
    pub max_daily_loss: f64,
    pub max_daily_exposure: f64,
    pub max_open_risk: f64,
    pub max_actions_per_day: i64,
}

impl RiskCaps {
    /// Caps nothing.
    pub const NONE: RiskCaps = RiskCaps {
        max_daily_loss: f64::MAX,
        max_daily_exposure: f64::MAX,
        max_open_risk: f64::MAX,
        max_actions_per_day: i64::MAX,
    };
}

/// One engine's usage on one UTC day (seed 004 `risk_ledger_day`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskLedgerDay {
    pub day: Option<time::Date>,
    pub engine: String,
    pub exposure_used: f64,
    pub open_risk_reserved: f64,
    pub realized_loss: f64,
    pub actions_count: i64,
}

str_enum!(
    /// What a risk event records.
    RiskAction {
        Reserve = "RESERVE",
        Deny = "DENY",
        Settle = "SETTLE",
        Release = "RELEASE",
    }
);

/// One immutable row of the risk audit log (seed 004 `risk_event`).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskEvent {
    pub id: String,
    pub tenant_id: TenantId,
    pub engine: String,
    pub action: RiskAction,
    pub amount: f64,
    pub ok: bool,
    pub reason: String,
    pub actor: String,
    pub correlation_id: String,
    pub metadata: serde_json::Value,
    pub created_at: Timestamp,
}

/// The sandbox-trial gates of one recommendation domain (seed 004 `heimdall_policy`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeimdallPolicy {
    pub domain: String,
    pub min_confidence_prod: f64,
    pub min_sandbox_trials: i64,
    pub min_sandbox_success_rate: f64,
    pub prod_use_enabled: bool,
    pub changed_by: String,
    pub reason: String,
    pub updated_at: Timestamp,
}

/// One domain's sandbox results on one UTC day (seed 004 `heimdall_scorecard_day`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeimdallScorecard {
    pub day: time::Date,
    pub domain: String,
    pub trials: i64,
    pub successes: i64,
    pub success_rate: f64,
    pub avg_confidence: f64,
}

/// An AI recommendation and whether it may be used in production (seed 004 `heimdall_recommendation`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeimdallRecommendation {
    pub id: String,
    pub domain: String,
    pub confidence: f64,
    pub recommendation: serde_json::Value,
    pub evidence: serde_json::Value,
    pub prod_eligible: bool,
    pub gate_reason: String,
    pub actor: String,
    pub created_at: Timestamp,
}
