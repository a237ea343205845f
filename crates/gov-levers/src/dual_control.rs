//! Dual control (seed 004): a reservation on an engine is checked against the engine's caps and
//! GLOBAL's, and it holds on all of them or on none.

use gov_model::{RiskCaps, RiskLedgerDay, RiskPolicy};

use crate::{BrokenCap, Cap, broken_caps, caps, denial};

/// The engine every reservation is also checked against.
pub const GLOBAL: &str = "GLOBAL";

/// The policies a reservation on `own`'s engine is checked against, in this order: GLOBAL's
/// when GLOBAL has a policy and is not the engine itself, then its own.
///
/// The order is the lock order: each check is a conditional UPDATE that locks the ledger row,
/// and every transaction on a tenant's ledgers locks GLOBAL's row before any engine's, so no two
/// (or two batches of them, see the store's lane) wait on each other in a cycle. A denial names
/// the first engine that refused, in this order.
pub fn checked(own: RiskPolicy, global: Option<RiskPolicy>) -> Vec<RiskPolicy> {
    let mut checked: Vec<RiskPolicy> = global.into_iter().filter(|_| own.engine != GLOBAL).collect();
    checked.push(own);
    checked
}

/// The engines whose ledgers a settlement of a reservation on `engine` releases and charges, in
/// the lock order of [`checked`]: GLOBAL when GLOBAL has a policy, then the engine.
pub fn settled(engine: &str, global_has_policy: bool) -> Vec<String> {
    let mut engines = Vec::with_capacity(2);
    if engine != GLOBAL && global_has_policy {
        engines.push(GLOBAL.to_owned());
    }
    engines.push(engine.to_owned());
    engines
}

/// What the store's conditional reservation on one engine's ledger did.
#[derive(Debug, Clone, PartialEq)]
pub enum TryReserve {
    Reserved,
    /// It refused; the ledger as it stands now, to explain why.
    Refused(RiskLedgerDay),
}

/// A dual-control reservation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// Every checked engine reserved it.
    Granted,
    /// An engine refused: the engines in `give_back` reserved it before and must release it
    /// (exposure, open risk and the action), `broken` says why.
    Denied { give_back: Vec<String>, broken: Vec<BrokenCap> },
}

impl Reservation {
    pub fn ok(&self) -> bool {
        matches!(self, Reservation::Granted)
    }

    /// The reason recorded: the one asked for when granted, the broken caps when denied.
    pub fn reason(&self, asked: String) -> String {
        match self {
            Reservation::Granted => asked,
            Reservation::Denied { broken, .. } => denial::reason(broken),
        }
    }
}

/// Reserves `amount` on every engine of `checked`, in order, through `try_reserve` (the store's
/// conditional update, given the engine's caps); the first refusal ends the check and denies it,
/// explained by the caps the refusing engine's ledger breaks.
pub fn reserve<E>(
    checked: &[RiskPolicy],
    amount: f64,
    mut try_reserve: impl FnMut(&RiskPolicy, RiskCaps) -> Result<TryReserve, E>,
) -> Result<Reservation, E> {
    let mut reserved = Vec::new();
    for policy in checked {
        match try_reserve(policy, caps(policy))? {
            TryReserve::Reserved => reserved.push(policy.engine.clone()),
            TryReserve::Refused(ledger) => {
                let mut broken = broken_caps(policy, &ledger, amount);
                if broken.is_empty() {
                    // A refusal is a denial even when the ledger no longer shows why.
                    broken.push(BrokenCap { engine: policy.engine.clone(), cap: Cap::Changed });
                }
                return Ok(Reservation::Denied { give_back: reserved, broken });
            }
        }
    }
    Ok(Reservation::Granted)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::admits;
    use crate::caps::tests::{ledger, policy};

    type Usage = (f64, f64, f64, i64);

    /// Reserves `amount` on `engine` against ledgers holding `before`, as the facade does through
    /// the store, and returns what it checked, the outcome and every ledger's usage afterwards.
    fn run(
        engine: &str,
        global: bool,
        before: &[(&str, Usage)],
        amount: f64,
    ) -> (Vec<String>, String, Vec<(String, Usage)>) {
        let own = match engine {
            // Exposure 1000, open risk 500.
            "WHOLESALE" => policy("WHOLESALE", Some(100.0), Some(1000.0), Some(500.0), None),
            "OFF" => RiskPolicy { enabled: false, ..policy("OFF", None, Some(10.0), None, None) },
            // GLOBAL: loss 250, exposure 1500.
            _ => policy(engine, Some(250.0), Some(1500.0), None, None),
        };
        let global = global.then(|| policy(GLOBAL, Some(250.0), Some(1500.0), None, None));
        let checked = checked(own, global);
        let mut ledgers: BTreeMap<String, RiskLedgerDay> =
            before.iter().map(|(e, u)| ((*e).to_owned(), ledger(e, *u))).collect();
        let outcome = reserve(&checked, amount, |p, caps| {
            let l = ledgers.entry(p.engine.clone()).or_insert_with(|| ledger(&p.engine, (0.0, 0.0, 0.0, 0)));
            if !admits(&caps, l, amount) {
                return Ok::<_, ()>(TryReserve::Refused(l.clone()));
            }
            l.exposure_used += amount;
            l.open_risk_reserved += amount;
            l.actions_count += 1;
            Ok(TryReserve::Reserved)
        })
        .unwrap();
        if let Reservation::Denied { give_back, .. } = &outcome {
            for e in give_back {
                let l = ledgers.get_mut(e).unwrap();
                l.exposure_used -= amount;
                l.open_risk_reserved -= amount;
                l.actions_count -= 1;
            }
        }
        let after = ledgers
            .into_values()
            .map(|l| (l.engine, (l.exposure_used, l.open_risk_reserved, l.realized_loss, l.actions_count)))
            .collect();
        (checked.into_iter().map(|p| p.engine).collect(), outcome.reason("booking".into()), after)
    }

    /// Reserving `amount` on `engine` (with a GLOBAL policy or not) against ledgers holding
    /// `before` checks `checked`, records `reason`, and leaves the ledgers at `after`.
    fn check(
        (engine, global): (&str, bool),
        before: &[(&str, Usage)],
        amount: f64,
        checked: &[&str],
        reason: &str,
        after: &[(&str, Usage)],
    ) {
        let (got_checked, got_reason, got_after) = run(engine, global, before, amount);
        let got_after: Vec<(&str, Usage)> = got_after.iter().map(|(e, u)| (e.as_str(), *u)).collect();
        assert_eq!(
            (got_checked.iter().map(String::as_str).collect::<Vec<_>>(), got_reason.as_str(), got_after),
            (checked.to_vec(), reason, after.to_vec()),
            "{engine} {amount}"
        );
    }

    #[test]
    fn a_reservation_holds_on_every_checked_engine_or_on_none() {
        let zero = (0.0, 0.0, 0.0, 0);
        let both = ["GLOBAL", "WHOLESALE"];
        // Granted: both ledgers count it.
        let held = (400.0, 400.0, 0.0, 1);
        check(("WHOLESALE", true), &[], 400.0, &both, "booking", &[("GLOBAL", held), ("WHOLESALE", held)]);
        // No GLOBAL policy: only the engine is checked.
        check(("WHOLESALE", false), &[], 400.0, &["WHOLESALE"], "booking", &[("WHOLESALE", held)]);
        // GLOBAL itself is checked once.
        check(("GLOBAL", true), &[], 400.0, &["GLOBAL"], "booking", &[("GLOBAL", held)]);
        // The engine refuses after GLOBAL reserved: GLOBAL gives it back.
        check(
            ("WHOLESALE", true),
            &[("WHOLESALE", held)],
            200.0,
            &both,
            "denied: WHOLESALE: max_open_risk 500 (reserved 400, asked 200)",
            &[("GLOBAL", zero), ("WHOLESALE", held)],
        );
        // GLOBAL refuses: the engine is not touched.
        let busy = (1400.0, 0.0, 0.0, 9);
        check(
            ("CAPITAL", true),
            &[("GLOBAL", busy)],
            200.0,
            &["GLOBAL", "CAPITAL"],
            "denied: GLOBAL: max_daily_exposure 1500 (used 1400, asked 200)",
            &[("GLOBAL", busy)],
        );
        // GLOBAL's realised loss stops every engine.
        let lost = (0.0, 0.0, 250.0, 0);
        check(
            ("CAPITAL", true),
            &[("GLOBAL", lost)],
            1.0,
            &["GLOBAL", "CAPITAL"],
            "denied: GLOBAL: max_daily_loss 250 already realised (250)",
            &[("GLOBAL", lost)],
        );
        // A disabled engine caps nothing, GLOBAL still does.
        let big = (900.0, 900.0, 0.0, 1);
        check(("OFF", true), &[], 900.0, &["GLOBAL", "OFF"], "booking", &[("GLOBAL", big), ("OFF", big)]);
        check(
            ("OFF", true),
            &[],
            1600.0,
            &["GLOBAL", "OFF"],
            "denied: GLOBAL: max_daily_exposure 1500 (used 0, asked 1600)",
            &[("GLOBAL", zero)],
        );
    }

    #[test]
    fn a_refusal_the_ledger_no_longer_explains_is_still_a_denial() {
        // CAPITAL refuses, but by the time its ledger is read a settlement released enough.
        let checked = checked(
            policy("CAPITAL", None, Some(300.0), None, None),
            Some(policy(GLOBAL, None, Some(1500.0), None, None)),
        );
        let outcome = reserve(&checked, 200.0, |p, _| {
            Ok::<_, ()>(if p.engine == GLOBAL {
                TryReserve::Reserved
            } else {
                TryReserve::Refused(ledger("CAPITAL", (0.0, 0.0, 0.0, 0)))
            })
        })
        .unwrap();
        assert_eq!(
            outcome,
            Reservation::Denied {
                give_back: vec![GLOBAL.to_owned()],
                broken: vec![BrokenCap { engine: "CAPITAL".to_owned(), cap: Cap::Changed }]
            }
        );
        let reason = outcome.reason("booking".into());
        assert_eq!(
            reason,
            "denied: CAPITAL: concurrent_change (a cap held when reserving; the ledger changed since)"
        );
        assert_eq!(denial::cause(&reason), "CAPITAL: concurrent_change");
    }

    #[test]
    fn a_settlement_releases_the_engine_and_global() {
        for (engine, global, expected) in [
            ("WHOLESALE", true, &["GLOBAL", "WHOLESALE"][..]),
            ("WHOLESALE", false, &["WHOLESALE"]),
            ("GLOBAL", true, &["GLOBAL"]),
        ] {
            assert_eq!(settled(engine, global), expected, "{engine} {global}");
        }
    }
}
