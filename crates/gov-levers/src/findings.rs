//! The Monday control-plane review's findings (seed 004 "Weekly operational cadence"): one per
//! question, from the four levers' state. Kill switch engaged -> check the reason (a tripwire?);
//! denials high -> risk policy limiting volume; tripwire triggered -> algorithm degraded, fix and
//! re-enable; scorecard drift -> AI success declining, retrain.

use gov_model::{GoLiveState, HeimdallPolicy, HeimdallScorecard, RegressionPolicy, RegressionState};

use crate::RiskDay;

/// Above this share of denied reservations, risk policies are limiting volume (seed: < 5%).
pub use gov_insight::health::MAX_HEALTHY_DENIAL_RATE;

/// The actor a tripwire engages the kill switch as (the review tells such an engagement apart).
pub const TRIPWIRE_ACTOR: &str = "regression_tripwire";

/// The success floor of a domain with trials but no gates.
pub const DEFAULT_SUCCESS_FLOOR: f64 = 0.80;

/// The answer to one of the review's questions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFinding {
    /// `control_plane`, `risk_denials`, `regression_tripwires`, `sandbox_scorecards`.
    pub check: &'static str,
    pub healthy: bool,
    pub detail: String,
}

/// The four findings, in that order: control plane, risk denials, regression tripwires, sandbox
/// scorecards (today's, judged against each domain's `heimdall` success floor).
pub fn findings(
    go_live: &GoLiveState,
    risk: &RiskDay,
    tripwires: &[(RegressionPolicy, RegressionState)],
    scorecards: &[HeimdallScorecard],
    heimdall: &[HeimdallPolicy],
) -> Vec<ReviewFinding> {
    vec![control_plane(go_live), risk_denials(risk), regression(tripwires), sandbox(scorecards, heimdall)]
}

fn control_plane(go_live: &GoLiveState) -> ReviewFinding {
    let (healthy, detail) = if go_live.kill_switch_engaged {
        let cause = if go_live.changed_by == TRIPWIRE_ACTOR {
            "a regression tripwire fired"
        } else {
            "engaged by hand"
        };
        let detail = format!(
            "kill switch engaged ({cause}) by {}: {}; release it after the fix",
            go_live.changed_by, go_live.reason
        );
        (false, detail)
    } else if !go_live.go_live_enabled {
        (false, format!("not live ({}): enable go-live when the checklist holds", go_live.reason))
    } else {
        (true, "live, kill switch released".to_owned())
    };
    ReviewFinding { check: "control_plane", healthy, detail }
}

fn risk_denials(risk: &RiskDay) -> ReviewFinding {
    let rate = risk.denial_rate();
    let asked = risk.reservations + risk.denied();
    let healthy = rate <= MAX_HEALTHY_DENIAL_RATE;
    let detail = if healthy {
        format!("{} of {asked} reservations denied ({:.1}%)", risk.denied(), rate * 100.0)
    } else {
        let top =
            risk.denial_reasons.iter().max_by_key(|(_, n)| **n).map(|(r, n)| format!("; most: {r} ({n})"));
        format!(
            "{} of {asked} reservations denied ({:.1}%, above {:.0}%): risk policy limiting volume, check if intentional{}",
            risk.denied(),
            rate * 100.0,
            MAX_HEALTHY_DENIAL_RATE * 100.0,
            top.unwrap_or_default()
        )
    };
    ReviewFinding { check: "risk_denials", healthy, detail }
}

fn regression(tripwires: &[(RegressionPolicy, RegressionState)]) -> ReviewFinding {
    let tripped: Vec<String> = tripwires
        .iter()
        .filter(|(_, s)| s.triggered)
        .map(|(p, s)| {
            let drop = s.drop_fraction.map(|d| format!(", drop {:.1}%", d * 100.0)).unwrap_or_default();
            format!("{}/{} ({}{drop})", p.domain, p.metric, p.action)
        })
        .collect();
    let detail = if tripped.is_empty() {
        let enabled = tripwires.iter().filter(|(p, _)| p.enabled).count();
        format!("none tripped ({enabled} of {} enabled)", tripwires.len())
    } else {
        format!(
            "tripped: {}: algorithm degraded, fix it, then upsert the tripwire to reset",
            tripped.join(", ")
        )
    };
    ReviewFinding { check: "regression_tripwires", healthy: tripped.is_empty(), detail }
}

fn sandbox(scorecards: &[HeimdallScorecard], heimdall: &[HeimdallPolicy]) -> ReviewFinding {
    let drifting: Vec<String> = scorecards
        .iter()
        .filter_map(|s| {
            let floor = heimdall
                .iter()
                .find(|p| p.domain == s.domain)
                .map_or(DEFAULT_SUCCESS_FLOOR, |p| p.min_sandbox_success_rate);
            (s.success_rate < floor)
                .then(|| format!("{} {:.1}% < {:.1}%", s.domain, s.success_rate * 100.0, floor * 100.0))
        })
        .collect();
    let detail = if drifting.is_empty() {
        format!("{} domains with trials today, none below its success floor", scorecards.len())
    } else {
        format!("drift: {}: AI success declining, retrain before promoting", drifting.join(", "))
    };
    ReviewFinding { check: "sandbox_scorecards", healthy: drifting.is_empty(), detail }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gov_model::{RegressionAction, Timestamp};
    use time::macros::date;

    use super::*;
    use crate::caps::tests::tenant;

    fn go_live(live: bool, kill: bool, by: &str) -> GoLiveState {
        GoLiveState {
            tenant_id: tenant(),
            go_live_enabled: live,
            kill_switch_engaged: kill,
            changed_by: by.to_owned(),
            reason: "checked".to_owned(),
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn control_plane_findings() {
        #[rustfmt::skip]
        let rows = [
            (go_live(true, false, "ops"), true, "live, kill switch released"),
            (go_live(false, false, "ops"), false, "not live (checked): enable go-live when the checklist holds"),
            (go_live(true, true, "ops"), false, "kill switch engaged (engaged by hand) by ops: checked; release it after the fix"),
            (go_live(false, true, TRIPWIRE_ACTOR), false,
                "kill switch engaged (a regression tripwire fired) by regression_tripwire: checked; release it after the fix"),
        ];
        for (state, healthy, detail) in rows {
            assert_eq!(
                control_plane(&state),
                ReviewFinding { check: "control_plane", healthy, detail: detail.to_owned() },
                "{state:?}"
            );
        }
    }

    #[test]
    fn risk_denial_findings() {
        let day = |reservations, denials: &[(&str, i64)], reasons: &[(&str, i64)]| RiskDay {
            day: date!(2026 - 01 - 19),
            ledgers: Vec::new(),
            denials: denials.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<BTreeMap<_, _>>(),
            denial_reasons: reasons.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            reservations,
            settlements: 0,
        };
        #[rustfmt::skip]
        let rows = [
            (day(0, &[], &[]), true, "0 of 0 reservations denied (0.0%)"),
            (day(95, &[("WHOLESALE", 5)], &[("WHOLESALE: max_open_risk", 5)]), true, "5 of 100 reservations denied (5.0%)"),
            (day(94, &[("WHOLESALE", 4), ("GLOBAL", 2)], &[("WHOLESALE: max_open_risk", 4), ("GLOBAL: max_daily_exposure", 2)]),
                false, "6 of 100 reservations denied (6.0%, above 5%): risk policy limiting volume, check if intentional; most: WHOLESALE: max_open_risk (4)"),
            (day(0, &[("WHOLESALE", 1)], &[]), false,
                "1 of 1 reservations denied (100.0%, above 5%): risk policy limiting volume, check if intentional"),
        ];
        for (risk, healthy, detail) in rows {
            assert_eq!(
                risk_denials(&risk),
                ReviewFinding { check: "risk_denials", healthy, detail: detail.to_owned() },
                "{risk:?}"
            );
        }
    }

    fn tripwire(
        metric: &str,
        enabled: bool,
        triggered: bool,
        drop: Option<f64>,
    ) -> (RegressionPolicy, RegressionState) {
        let policy = RegressionPolicy {
            domain: "WHOLESALE".into(),
            metric: metric.into(),
            window_events: 50,
            baseline_events: 200,
            min_events_to_enforce: 250,
            max_drop_fraction: 0.2,
            action: RegressionAction::KillSwitch,
            enabled,
            changed_by: "seed".into(),
            reason: "seed".into(),
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let state = RegressionState {
            domain: "WHOLESALE".into(),
            metric: metric.into(),
            triggered,
            baseline: None,
            current: None,
            drop_fraction: drop,
            last_checked_at: None,
            last_triggered_at: None,
            note: String::new(),
            incident_id: None,
            counting_since: None,
        };
        (policy, state)
    }

    #[test]
    fn regression_findings() {
        #[rustfmt::skip]
        let rows = [
            (vec![], true, "none tripped (0 of 0 enabled)".to_owned()),
            (vec![tripwire("win_rate", true, false, None), tripwire("margin", false, false, None)], true,
                "none tripped (1 of 2 enabled)".to_owned()),
            (vec![tripwire("win_rate", true, true, Some(0.25)), tripwire("margin", true, true, None)], false,
                format!("tripped: WHOLESALE/win_rate ({a}, drop 25.0%), WHOLESALE/margin ({a}): algorithm degraded, fix it, then upsert the tripwire to reset",
                    a = RegressionAction::KillSwitch)),
        ];
        for (tripwires, healthy, detail) in rows {
            assert_eq!(
                regression(&tripwires),
                ReviewFinding { check: "regression_tripwires", healthy, detail }
            );
        }
    }

    #[test]
    fn sandbox_findings() {
        let card = |domain: &str, success_rate| HeimdallScorecard {
            day: date!(2026 - 01 - 19),
            domain: domain.to_owned(),
            trials: 10,
            successes: 0,
            success_rate,
            avg_confidence: 0.9,
        };
        let gates = HeimdallPolicy {
            domain: "WHOLESALE_OFFER".into(),
            min_confidence_prod: 0.92,
            min_sandbox_trials: 75,
            min_sandbox_success_rate: 0.82,
            prod_use_enabled: true,
            changed_by: "seed".into(),
            reason: "seed".into(),
            updated_at: Timestamp::UNIX_EPOCH,
        };
        #[rustfmt::skip]
        let rows = [
            (vec![], true, "0 domains with trials today, none below its success floor"),
            (vec![card("WHOLESALE_OFFER", 0.82), card("OTHER", 0.80)], true, "2 domains with trials today, none below its success floor"),
            (vec![card("WHOLESALE_OFFER", 0.81), card("OTHER", 0.79)], false,
                "drift: WHOLESALE_OFFER 81.0% < 82.0%, OTHER 79.0% < 80.0%: AI success declining, retrain before promoting"),
        ];
        for (cards, healthy, detail) in rows {
            assert_eq!(
                sandbox(&cards, std::slice::from_ref(&gates)),
                ReviewFinding { check: "sandbox_scorecards", healthy, detail: detail.to_owned() },
                "{cards:?}"
            );
        }
    }

    #[test]
    fn the_review_asks_four_questions_in_order() {
        let risk = RiskDay::tally(date!(2026 - 01 - 19), Vec::new(), &[]);
        let checks: Vec<_> = findings(&go_live(true, false, "ops"), &risk, &[], &[], &[])
            .into_iter()
            .map(|f| f.check)
            .collect();
        assert_eq!(checks, ["control_plane", "risk_denials", "regression_tripwires", "sandbox_scorecards"]);
    }
}
