//! The levers a new tenant starts with (seed 004 "SEED DATA"), as model values: go-live off, the
//! four risk engines, and the four Heimdall domains and regression tripwires, all disabled. The
//! values are the seed document's public contract; the store writes them through its upserts.

use crate::{
    GoLiveState, HeimdallPolicy, RegressionAction, RegressionPolicy, RiskPolicy, TenantId, Timestamp,
};

/// Who the seeded rows name as their last change.
pub const SEED_ACTOR: &str = "system";

/// Go-live disabled and the kill switch released.
pub fn go_live(tenant: TenantId, now: Timestamp) -> GoLiveState {
    GoLiveState {
        tenant_id: tenant,
        go_live_enabled: false,
        kill_switch_engaged: false,
        changed_by: SEED_ACTOR.to_owned(),
        reason: "seed: disabled is safest".to_owned(),
        updated_at: now,
    }
}

/// GLOBAL, WHOLESALE and CAPITAL capped; NOTIFY disabled (logs only).
pub fn risk_policies(tenant: TenantId, now: Timestamp) -> [RiskPolicy; 4] {
    let risk = |engine: &str, loss, exposure, open_risk, enabled, reason: &str| RiskPolicy {
        tenant_id: tenant,
        engine: engine.to_owned(),
        max_daily_loss: loss,
        max_daily_exposure: exposure,
        max_open_risk: open_risk,
        max_actions_per_day: None,
        enabled,
        changed_by: SEED_ACTOR.to_owned(),
        reason: reason.to_owned(),
        updated_at: now,
    };
    [
        risk("GLOBAL", Some(250.0), Some(1500.0), None, true, "seed"),
        risk("WHOLESALE", Some(200.0), Some(1000.0), Some(500.0), true, "seed"),
        risk("CAPITAL", Some(150.0), Some(750.0), Some(300.0), true, "seed"),
        risk("NOTIFY", None, None, None, false, "seed: disabled (logs only)"),
    ]
}

/// The sandbox gates of the four domains; production use off everywhere.
pub fn heimdall_policies(now: Timestamp) -> [HeimdallPolicy; 4] {
    let gates =
        |domain: &str, min_confidence_prod, min_sandbox_trials, min_sandbox_success_rate| HeimdallPolicy {
            domain: domain.to_owned(),
            min_confidence_prod,
            min_sandbox_trials,
            min_sandbox_success_rate,
            prod_use_enabled: false,
            changed_by: SEED_ACTOR.to_owned(),
            reason: "seed".to_owned(),
            updated_at: now,
        };
    [
        gates("WHOLESALE_OFFER", 0.92, 75, 0.82),
        gates("BUYER_MATCH", 0.90, 50, 0.80),
        gates("CAPITAL_ROUTE", 0.95, 100, 0.85),
        gates("FOLLOWUP_ACTION", 0.90, 60, 0.80),
    ]
}

/// The four tripwires (50 events against the 200 before them, enforced from 250), disabled.
pub fn regression_policies(now: Timestamp) -> [RegressionPolicy; 4] {
    let tripwire = |domain: &str, metric: &str, max_drop_fraction, action| RegressionPolicy {
        domain: domain.to_owned(),
        metric: metric.to_owned(),
        window_events: 50,
        baseline_events: 200,
        min_events_to_enforce: 250,
        max_drop_fraction,
        action,
        enabled: false,
        changed_by: SEED_ACTOR.to_owned(),
        reason: "seed".to_owned(),
        updated_at: now,
    };
    [
        tripwire("WHOLESALE", "contract_rate", 0.20, RegressionAction::Throttle),
        tripwire("WHOLESALE", "offer_accept_rate", 0.15, RegressionAction::Throttle),
        tripwire("BUYER_MATCH", "match_success", 0.25, RegressionAction::Throttle),
        tripwire("CAPITAL", "roi_event", 0.30, RegressionAction::KillSwitch),
    ]
}
