//! One UTC day of the risk guard: its ledgers and its decisions counted.

use std::collections::BTreeMap;

use gov_model::{RiskAction, RiskEvent, RiskLedgerDay};

use crate::denial;

/// One UTC day of the risk guard: the ledgers and how its decisions went.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskDay {
    pub day: time::Date,
    pub ledgers: Vec<RiskLedgerDay>,
    /// Denials by engine.
    pub denials: BTreeMap<String, i64>,
    /// Denials by cause (engine and measure, see [`denial::cause`]).
    pub denial_reasons: BTreeMap<String, i64>,
    pub reservations: i64,
    pub settlements: i64,
}

impl RiskDay {
    /// The day's ledgers, and its `events` counted: reservations, settlements, and denials by
    /// engine and by cause (releases are not counted).
    pub fn tally(day: time::Date, ledgers: Vec<RiskLedgerDay>, events: &[RiskEvent]) -> RiskDay {
        let mut today = RiskDay {
            day,
            ledgers,
            denials: BTreeMap::new(),
            denial_reasons: BTreeMap::new(),
            reservations: 0,
            settlements: 0,
        };
        for e in events {
            match e.action {
                RiskAction::Deny => {
                    *today.denials.entry(e.engine.clone()).or_insert(0) += 1;
                    *today.denial_reasons.entry(denial::cause(&e.reason)).or_insert(0) += 1;
                }
                RiskAction::Reserve => today.reservations += 1,
                RiskAction::Settle => today.settlements += 1,
                RiskAction::Release => {}
            }
        }
        today
    }

    pub fn denied(&self) -> i64 {
        self.denials.values().sum()
    }

    /// Denials among reservation requests (0 when there were none).
    #[allow(clippy::cast_precision_loss)]
    pub fn denial_rate(&self) -> f64 {
        let asked = self.reservations + self.denied();
        if asked == 0 { 0.0 } else { self.denied() as f64 / asked as f64 }
    }
}

#[cfg(test)]
mod tests {
    use gov_model::Timestamp;
    use time::macros::date;

    use super::*;
    use crate::caps::tests::tenant;

    fn event(action: RiskAction, engine: &str, reason: &str) -> RiskEvent {
        RiskEvent {
            id: String::new(),
            tenant_id: tenant(),
            engine: engine.to_owned(),
            action,
            amount: 1.0,
            ok: action != RiskAction::Deny,
            reason: reason.to_owned(),
            actor: "deal_engine".to_owned(),
            correlation_id: String::new(),
            metadata: serde_json::Value::Null,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    /// The day of `events` counts (reservations, settlements, denials), denials `by_engine` and
    /// `by_cause`, and a denial `rate`.
    fn check(
        events: &[(RiskAction, &str, &str)],
        counts: (i64, i64, i64),
        by_engine: &[(&str, i64)],
        by_cause: &[(&str, i64)],
        rate: f64,
    ) {
        let events: Vec<RiskEvent> = events.iter().map(|(a, e, r)| event(*a, e, r)).collect();
        let day = RiskDay::tally(date!(2026 - 01 - 19), Vec::new(), &events);
        let counted = |m: &BTreeMap<String, i64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>();
        let owned =
            |rows: &[(&str, i64)]| rows.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<Vec<_>>();
        assert_eq!(
            (
                (day.reservations, day.settlements, day.denied()),
                counted(&day.denials),
                counted(&day.denial_reasons)
            ),
            (counts, owned(by_engine), owned(by_cause)),
            "{events:?}"
        );
        assert!((day.denial_rate() - rate).abs() < 1e-12, "{} != {rate}", day.denial_rate());
    }

    #[test]
    fn a_day_counts_its_decisions() {
        use RiskAction::{Deny, Release, Reserve, Settle};
        let open = "denied: WHOLESALE: max_open_risk 500 (reserved 400, asked 200)";
        let global = "denied: GLOBAL: max_daily_exposure 1500 (used 1400, asked 200); \
                      GLOBAL: max_daily_loss 250 already realised (300)";
        check(&[], (0, 0, 0), &[], &[], 0.0);
        // Releases are not counted.
        let settled = [
            (Reserve, "WHOLESALE", "booking"),
            (Release, "WHOLESALE", "done"),
            (Settle, "WHOLESALE", "done"),
        ];
        check(&settled, (1, 1, 0), &[], &[], 0.0);
        check(
            &[(Deny, "WHOLESALE", open)],
            (0, 0, 1),
            &[("WHOLESALE", 1)],
            &[("WHOLESALE: max_open_risk", 1)],
            1.0,
        );
        let mixed = [
            (Reserve, "CAPITAL", "booking"),
            (Reserve, "CAPITAL", "booking"),
            (Reserve, "WHOLESALE", "booking"),
            (Deny, "WHOLESALE", open),
            (Deny, "CAPITAL", global),
            (Deny, "WHOLESALE", global),
        ];
        let by_cause = [("GLOBAL: max_daily_exposure", 2), ("WHOLESALE: max_open_risk", 1)];
        check(&mixed, (3, 0, 3), &[("CAPITAL", 1), ("WHOLESALE", 2)], &by_cause, 0.5);
    }
}
