//! A change to a lever's policy (an engine's risk caps, a domain's Heimdall gates): absent fields
//! keep their value, and a policy made by its first change starts from the seed's defaults.

use gov_model::{HeimdallPolicy, RiskPolicy, TenantId, Timestamp};

/// Who changes a policy, why, and when.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub reason: &'a str,
    pub now: Timestamp,
}

/// A change to an engine's caps; `Some(None)` removes a cap.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CapsChange {
    pub max_daily_loss: Option<Option<f64>>,
    pub max_daily_exposure: Option<Option<f64>>,
    pub max_open_risk: Option<Option<f64>>,
    pub max_actions_per_day: Option<Option<i64>>,
    pub enabled: Option<bool>,
}

impl CapsChange {
    /// `current` (the engine's policy, if it has one) changed; a new engine starts uncapped and
    /// enabled.
    pub fn apply(
        &self,
        current: Option<RiskPolicy>,
        tenant: TenantId,
        engine: &str,
        stamp: Stamp<'_>,
    ) -> RiskPolicy {
        let base = current.unwrap_or_else(|| RiskPolicy {
            tenant_id: tenant,
            engine: engine.to_owned(),
            max_daily_loss: None,
            max_daily_exposure: None,
            max_open_risk: None,
            max_actions_per_day: None,
            enabled: true,
            changed_by: String::new(),
            reason: String::new(),
            updated_at: stamp.now,
        });
        RiskPolicy {
            max_daily_loss: self.max_daily_loss.unwrap_or(base.max_daily_loss),
            max_daily_exposure: self.max_daily_exposure.unwrap_or(base.max_daily_exposure),
            max_open_risk: self.max_open_risk.unwrap_or(base.max_open_risk),
            max_actions_per_day: self.max_actions_per_day.unwrap_or(base.max_actions_per_day),
            enabled: self.enabled.unwrap_or(base.enabled),
            changed_by: stamp.actor.to_owned(),
            reason: stamp.reason.to_owned(),
            updated_at: stamp.now,
            ..base
        }
    }
}

/// A change to a domain's gates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GatesChange {
    pub min_confidence_prod: Option<f64>,
    pub min_sandbox_trials: Option<i64>,
    pub min_sandbox_success_rate: Option<f64>,
    pub prod_use_enabled: Option<bool>,
}

impl GatesChange {
    /// `current` (the domain's gates, if it has them) changed; a new domain starts closed:
    /// confidence 1, no trials required, success rate 1, production use off.
    pub fn apply(&self, current: Option<HeimdallPolicy>, domain: &str, stamp: Stamp<'_>) -> HeimdallPolicy {
        let base = current.unwrap_or_else(|| HeimdallPolicy {
            domain: domain.to_owned(),
            min_confidence_prod: 1.0,
            min_sandbox_trials: 0,
            min_sandbox_success_rate: 1.0,
            prod_use_enabled: false,
            changed_by: String::new(),
            reason: String::new(),
            updated_at: stamp.now,
        });
        HeimdallPolicy {
            min_confidence_prod: self.min_confidence_prod.unwrap_or(base.min_confidence_prod),
            min_sandbox_trials: self.min_sandbox_trials.unwrap_or(base.min_sandbox_trials),
            min_sandbox_success_rate: self.min_sandbox_success_rate.unwrap_or(base.min_sandbox_success_rate),
            prod_use_enabled: self.prod_use_enabled.unwrap_or(base.prod_use_enabled),
            changed_by: stamp.actor.to_owned(),
            reason: stamp.reason.to_owned(),
            updated_at: stamp.now,
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::caps::tests::{policy, tenant};

    const STAMP: Stamp<'static> =
        Stamp { actor: "ops", reason: "tighten", now: datetime!(2026-01-19 09:00 UTC) };

    #[test]
    fn caps_changes() {
        type Caps = (Option<f64>, Option<f64>, Option<f64>, Option<i64>, bool);
        let seed = policy("WHOLESALE", Some(100.0), Some(1000.0), Some(500.0), None);
        #[rustfmt::skip]
        let rows: &[(Option<&RiskPolicy>, CapsChange, Caps)] = &[
            (None, CapsChange::default(), (None, None, None, None, true)),
            (None, CapsChange { max_open_risk: Some(Some(5.0)), enabled: Some(false), ..CapsChange::default() },
                (None, None, Some(5.0), None, false)),
            (Some(&seed), CapsChange::default(), (Some(100.0), Some(1000.0), Some(500.0), None, true)),
            (Some(&seed), CapsChange { max_daily_loss: Some(None), max_actions_per_day: Some(Some(3)), ..CapsChange::default() },
                (None, Some(1000.0), Some(500.0), Some(3), true)),
        ];
        for (current, change, expected) in rows {
            let p = change.apply(current.cloned(), tenant(), "WHOLESALE", STAMP);
            let got =
                (p.max_daily_loss, p.max_daily_exposure, p.max_open_risk, p.max_actions_per_day, p.enabled);
            assert_eq!(got, *expected, "{current:?} {change:?}");
            assert_eq!((p.engine.as_str(), p.tenant_id), ("WHOLESALE", tenant()));
            assert_eq!(
                (p.changed_by.as_str(), p.reason.as_str(), p.updated_at),
                ("ops", "tighten", STAMP.now)
            );
        }
    }

    #[test]
    fn gates_changes() {
        type Gates = (f64, i64, f64, bool);
        let seed = HeimdallPolicy {
            domain: "WHOLESALE_OFFER".into(),
            min_confidence_prod: 0.92,
            min_sandbox_trials: 75,
            min_sandbox_success_rate: 0.82,
            prod_use_enabled: true,
            changed_by: "seed".into(),
            reason: "seed".into(),
            updated_at: datetime!(2026-01-13 00:00 UTC),
        };
        #[rustfmt::skip]
        let rows: &[(Option<&HeimdallPolicy>, GatesChange, Gates)] = &[
            (None, GatesChange::default(), (1.0, 0, 1.0, false)),
            (None, GatesChange { min_sandbox_trials: Some(10), ..GatesChange::default() }, (1.0, 10, 1.0, false)),
            (Some(&seed), GatesChange::default(), (0.92, 75, 0.82, true)),
            (Some(&seed), GatesChange { min_confidence_prod: Some(0.95), prod_use_enabled: Some(false), ..GatesChange::default() },
                (0.95, 75, 0.82, false)),
        ];
        for (current, change, expected) in rows {
            let p = change.apply(current.cloned(), "WHOLESALE_OFFER", STAMP);
            let got =
                (p.min_confidence_prod, p.min_sandbox_trials, p.min_sandbox_success_rate, p.prod_use_enabled);
            assert_eq!(got, *expected, "{current:?} {change:?}");
            assert_eq!(
                (p.domain.as_str(), p.changed_by.as_str(), p.updated_at),
                ("WHOLESALE_OFFER", "ops", STAMP.now)
            );
        }
    }
}
