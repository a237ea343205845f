//! A risk engine's caps: which apply under its policy, whether a ledger admits a reservation
//! under them, and which ones a refused reservation broke.

use std::fmt;

use gov_model::{RiskCaps, RiskLedgerDay, RiskPolicy};

/// The caps a reservation on `policy`'s engine must hold. An absent cap caps nothing, and a
/// disabled engine caps nothing at all: it only logs (GLOBAL still applies).
pub fn caps(policy: &RiskPolicy) -> RiskCaps {
    if !policy.enabled {
        return RiskCaps::NONE;
    }
    RiskCaps {
        max_daily_loss: policy.max_daily_loss.unwrap_or(f64::MAX),
        max_daily_exposure: policy.max_daily_exposure.unwrap_or(f64::MAX),
        max_open_risk: policy.max_open_risk.unwrap_or(f64::MAX),
        max_actions_per_day: policy.max_actions_per_day.unwrap_or(i64::MAX),
    }
}

/// Whether reserving `amount` on `ledger` keeps it within `caps`: the day's loss is not realised
/// yet and exposure, open risk and actions stay at or below their caps. The store's conditional
/// UPDATE (`risk::try_reserve`) is this condition in SQL; it is what enforces it.
pub fn admits(caps: &RiskCaps, ledger: &RiskLedgerDay, amount: f64) -> bool {
    ledger.realized_loss < caps.max_daily_loss
        && ledger.exposure_used + amount <= caps.max_daily_exposure
        && ledger.open_risk_reserved + amount <= caps.max_open_risk
        && ledger.actions_count < caps.max_actions_per_day
}

/// One cap a reservation would break, with the numbers that break it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cap {
    DailyLoss {
        cap: f64,
        realized: f64,
    },
    DailyExposure {
        cap: f64,
        used: f64,
        asked: f64,
    },
    OpenRisk {
        cap: f64,
        reserved: f64,
        asked: f64,
    },
    ActionsPerDay {
        cap: i64,
    },
    /// The store refused, but the ledger read afterwards admits the reservation: other
    /// transactions changed it in between (PostgreSQL, READ COMMITTED), so which cap held is lost.
    Changed,
}

/// A cap of `engine` that a reservation would break.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenCap {
    pub engine: String,
    pub cap: Cap,
}

/// `<engine>: <measure> <cap> ...`, the text a denial's reason is made of (see `denial`).
impl fmt::Display for BrokenCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = &self.engine;
        match self.cap {
            Cap::DailyLoss { cap, realized } => {
                write!(f, "{engine}: max_daily_loss {cap} already realised ({realized})")
            }
            Cap::DailyExposure { cap, used, asked } => {
                write!(f, "{engine}: max_daily_exposure {cap} (used {used}, asked {asked})")
            }
            Cap::OpenRisk { cap, reserved, asked } => {
                write!(f, "{engine}: max_open_risk {cap} (reserved {reserved}, asked {asked})")
            }
            Cap::ActionsPerDay { cap } => write!(f, "{engine}: max_actions_per_day {cap} reached"),
            Cap::Changed => {
                write!(f, "{engine}: concurrent_change (a cap held when reserving; the ledger changed since)")
            }
        }
    }
}

/// Every cap of `policy` that reserving `amount` on `ledger` would break, in a fixed order (loss,
/// exposure, open risk, actions); empty exactly when [`admits`] holds.
pub fn broken_caps(policy: &RiskPolicy, ledger: &RiskLedgerDay, amount: f64) -> Vec<BrokenCap> {
    let c = caps(policy);
    let mut broken = Vec::new();
    let mut push = |cap| broken.push(BrokenCap { engine: policy.engine.clone(), cap });
    if ledger.realized_loss >= c.max_daily_loss {
        push(Cap::DailyLoss { cap: c.max_daily_loss, realized: ledger.realized_loss });
    }
    if ledger.exposure_used + amount > c.max_daily_exposure {
        push(Cap::DailyExposure { cap: c.max_daily_exposure, used: ledger.exposure_used, asked: amount });
    }
    if ledger.open_risk_reserved + amount > c.max_open_risk {
        push(Cap::OpenRisk { cap: c.max_open_risk, reserved: ledger.open_risk_reserved, asked: amount });
    }
    if ledger.actions_count >= c.max_actions_per_day {
        push(Cap::ActionsPerDay { cap: c.max_actions_per_day });
    }
    broken
}

#[cfg(test)]
pub(crate) mod tests {
    use gov_model::{TenantId, Timestamp};

    use super::*;

    pub(crate) fn tenant() -> TenantId {
        "00000000-0000-4000-8000-000000000001".parse().unwrap()
    }

    /// `engine` with caps (loss, exposure, open risk, actions), enabled.
    pub(crate) fn policy(
        engine: &str,
        loss: Option<f64>,
        exposure: Option<f64>,
        open: Option<f64>,
        actions: Option<i64>,
    ) -> RiskPolicy {
        RiskPolicy {
            tenant_id: tenant(),
            engine: engine.to_owned(),
            max_daily_loss: loss,
            max_daily_exposure: exposure,
            max_open_risk: open,
            max_actions_per_day: actions,
            enabled: true,
            changed_by: "seed".to_owned(),
            reason: "seed".to_owned(),
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// A ledger of (exposure used, open risk reserved, realised loss, actions).
    pub(crate) fn ledger(
        engine: &str,
        (exposure, open, loss, actions): (f64, f64, f64, i64),
    ) -> RiskLedgerDay {
        RiskLedgerDay {
            day: None,
            engine: engine.to_owned(),
            exposure_used: exposure,
            open_risk_reserved: open,
            realized_loss: loss,
            actions_count: actions,
        }
    }

    #[test]
    fn caps_of_a_policy() {
        const NO: f64 = f64::MAX;
        let check = |p: RiskPolicy, expected: (f64, f64, f64, i64)| {
            let c = caps(&p);
            let got = (c.max_daily_loss, c.max_daily_exposure, c.max_open_risk, c.max_actions_per_day);
            assert_eq!(got, expected, "{p:?}");
        };
        let seed = policy("WHOLESALE", Some(100.0), Some(1000.0), Some(500.0), Some(40));
        check(seed.clone(), (100.0, 1000.0, 500.0, 40));
        check(policy("GLOBAL", Some(250.0), Some(1500.0), None, None), (250.0, 1500.0, NO, i64::MAX));
        check(policy("NEW", None, None, None, None), (NO, NO, NO, i64::MAX));
        check(policy("ZERO", Some(0.0), Some(0.0), Some(0.0), Some(0)), (0.0, 0.0, 0.0, 0));
        // Disabled: logs only, whatever it would cap.
        check(RiskPolicy { enabled: false, ..seed }, (NO, NO, NO, i64::MAX));
    }

    /// A reservation of `amount` on a ledger with `usage` of the seed's WHOLESALE (loss 100,
    /// exposure 1000, open risk 500, 3 actions a day) breaks `expected`, and is admitted exactly
    /// when that is nothing.
    fn check_broken(usage: (f64, f64, f64, i64), amount: f64, expected: &[&str]) {
        let p = policy("WHOLESALE", Some(100.0), Some(1000.0), Some(500.0), Some(3));
        let l = ledger("WHOLESALE", usage);
        let broken: Vec<String> = broken_caps(&p, &l, amount).iter().map(ToString::to_string).collect();
        assert_eq!(broken, expected, "{usage:?} + {amount}");
        assert_eq!(admits(&caps(&p), &l, amount), expected.is_empty(), "{usage:?} + {amount}");
    }

    #[test]
    fn broken_caps_explain_what_admits_refuses() {
        check_broken((0.0, 0.0, 0.0, 0), 400.0, &[]);
        check_broken((0.0, 0.0, 0.0, 0), 0.0, &[]);
        check_broken((500.0, 0.0, 0.0, 0), 500.0, &[]); // exactly at the exposure cap
        check_broken((0.0, 400.0, 0.0, 0), 100.0, &[]); // exactly at the open-risk cap
        check_broken(
            (0.0, 400.0, 0.0, 1),
            200.0,
            &["WHOLESALE: max_open_risk 500 (reserved 400, asked 200)"],
        );
        check_broken(
            (900.0, 0.0, 0.0, 1),
            100.5,
            &["WHOLESALE: max_daily_exposure 1000 (used 900, asked 100.5)"],
        );
        check_broken((0.0, 0.0, 99.9, 1), 1.0, &[]);
        check_broken((0.0, 0.0, 100.0, 1), 1.0, &["WHOLESALE: max_daily_loss 100 already realised (100)"]);
        check_broken((0.0, 0.0, 0.0, 2), 1.0, &[]);
        check_broken((0.0, 0.0, 0.0, 3), 1.0, &["WHOLESALE: max_actions_per_day 3 reached"]);
        check_broken(
            (950.0, 450.0, 120.0, 3),
            100.0,
            &[
                "WHOLESALE: max_daily_loss 100 already realised (120)",
                "WHOLESALE: max_daily_exposure 1000 (used 950, asked 100)",
                "WHOLESALE: max_open_risk 500 (reserved 450, asked 100)",
                "WHOLESALE: max_actions_per_day 3 reached",
            ],
        );
        let p = policy("WHOLESALE", Some(100.0), Some(1000.0), Some(500.0), Some(3));
        // Disabled, nothing is broken however far past its caps the ledger is.
        let off = RiskPolicy { enabled: false, ..p };
        let l = ledger("WHOLESALE", (5000.0, 5000.0, 5000.0, 50));
        assert_eq!(broken_caps(&off, &l, 1e15), Vec::new());
        assert!(admits(&caps(&off), &l, 1e15));
    }
}
