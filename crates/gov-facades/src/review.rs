//! The Monday control-plane review (seed 004 "Weekly operational cadence"): the four reads an
//! operator makes (go-live state, today's risk ledger and denials, the regression tripwires, the
//! sandbox scorecards) and the seed's decision, one finding per question.

use gov_model::{
    GoLiveState, HeimdallPolicy, HeimdallScorecard, RegressionPolicy, RegressionState, Tenant, Timestamp,
};

use crate::{Gov, Result, RiskDay};

/// Above this share of denied reservations, risk policies are limiting volume (seed: < 5%).
pub const MAX_HEALTHY_DENIAL_RATE: f64 = gov_insight::health::MAX_HEALTHY_DENIAL_RATE;

/// The answer to one of the review's questions.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFinding {
    /// `control_plane`, `risk_denials`, `regression_tripwires`, `sandbox_scorecards`.
    pub check: &'static str,
    pub healthy: bool,
    pub detail: String,
}

/// Everything the review shows for one tenant.
#[derive(Debug, Clone)]
pub struct ControlReview {
    pub tenant: Tenant,
    pub at: Timestamp,
    pub go_live: GoLiveState,
    pub risk: RiskDay,
    pub tripwires: Vec<(RegressionPolicy, RegressionState)>,
    /// KPI events recorded today (UTC): (domain, metric, events, successes).
    pub kpi_today: Vec<(String, String, i64, i64)>,
    pub scorecard_day: time::Date,
    pub scorecards: Vec<HeimdallScorecard>,
    pub heimdall: Vec<HeimdallPolicy>,
    pub findings: Vec<ReviewFinding>,
}

impl Gov {
    /// Reads the four levers of `tenant` and judges them as the seed's Monday review does.
    pub fn control_review(&self, tenant: &Tenant) -> Result<ControlReview> {
        let go_live = self.go_live(tenant.id)?;
        let risk = self.risk_today(tenant.id)?;
        let tripwires = self.regression_states(tenant.id)?;
        let midnight = self.clock.now().date().midnight().assume_utc();
        let kpi_today = self.db.read(|c| gov_store::regression::counts_since(c, tenant.id, midnight))?;
        let (scorecard_day, scorecards) = self.heimdall_scorecards_today(tenant.id)?;
        let heimdall = self.heimdall_policies(tenant.id)?;
        let findings = findings(&go_live, &risk, &tripwires, &scorecards, &heimdall);
        Ok(ControlReview {
            tenant: tenant.clone(),
            at: self.clock.now(),
            go_live,
            risk,
            tripwires,
            kpi_today,
            scorecard_day,
            scorecards,
            heimdall,
            findings,
        })
    }
}

/// The seed's decision: kill switch engaged -> check the reason (a tripwire?); denials high ->
/// risk policy limiting volume; tripwire triggered -> algorithm degraded, fix and re-enable;
/// scorecard drift -> AI success declining, retrain.
pub fn findings(
    go_live: &GoLiveState,
    risk: &RiskDay,
    tripwires: &[(RegressionPolicy, RegressionState)],
    scorecards: &[HeimdallScorecard],
    heimdall: &[HeimdallPolicy],
) -> Vec<ReviewFinding> {
    let control = if go_live.kill_switch_engaged {
        let cause = if go_live.changed_by == "regression_tripwire" {
            "a regression tripwire fired"
        } else {
            "engaged by hand"
        };
        ReviewFinding {
            check: "control_plane",
            healthy: false,
            detail: format!(
                "kill switch engaged ({cause}) by {}: {}; release it after the fix",
                go_live.changed_by, go_live.reason
            ),
        }
    } else if !go_live.go_live_enabled {
        ReviewFinding {
            check: "control_plane",
            healthy: false,
            detail: format!("not live ({}): enable go-live when the checklist holds", go_live.reason),
        }
    } else {
        ReviewFinding {
            check: "control_plane",
            healthy: true,
            detail: "live, kill switch released".to_owned(),
        }
    };
    let rate = risk.denial_rate();
    let top = risk.denial_reasons.iter().max_by_key(|(_, n)| **n).map(|(r, n)| format!("; most: {r} ({n})"));
    let denials = ReviewFinding {
        check: "risk_denials",
        healthy: rate <= MAX_HEALTHY_DENIAL_RATE,
        detail: if rate <= MAX_HEALTHY_DENIAL_RATE {
            format!(
                "{} of {} reservations denied ({:.1}%)",
                risk.denied(),
                risk.reservations + risk.denied(),
                rate * 100.0
            )
        } else {
            format!(
                "{} of {} reservations denied ({:.1}%, above {:.0}%): risk policy limiting volume, check if intentional{}",
                risk.denied(),
                risk.reservations + risk.denied(),
                rate * 100.0,
                MAX_HEALTHY_DENIAL_RATE * 100.0,
                top.unwrap_or_default()
            )
        },
    };
    let tripped: Vec<String> = tripwires
        .iter()
        .filter(|(_, s)| s.triggered)
        .map(|(p, s)| {
            let drop = s.drop_fraction.map(|d| format!(", drop {:.1}%", d * 100.0)).unwrap_or_default();
            format!("{}/{} ({}{drop})", p.domain, p.metric, p.action)
        })
        .collect();
    let regression = ReviewFinding {
        check: "regression_tripwires",
        healthy: tripped.is_empty(),
        detail: if tripped.is_empty() {
            let enabled = tripwires.iter().filter(|(p, _)| p.enabled).count();
            format!("none tripped ({enabled} of {} enabled)", tripwires.len())
        } else {
            format!(
                "tripped: {}: algorithm degraded, fix it, then upsert the tripwire to reset",
                tripped.join(", ")
            )
        },
    };
    let drifting: Vec<String> = scorecards
        .iter()
        .filter_map(|s| {
            let floor =
                heimdall.iter().find(|p| p.domain == s.domain).map_or(0.80, |p| p.min_sandbox_success_rate);
            (s.success_rate < floor)
                .then(|| format!("{} {:.1}% < {:.1}%", s.domain, s.success_rate * 100.0, floor * 100.0))
        })
        .collect();
    let sandbox = ReviewFinding {
        check: "sandbox_scorecards",
        healthy: drifting.is_empty(),
        detail: if drifting.is_empty() {
            format!("{} domains with trials today, none below its success floor", scorecards.len())
        } else {
            format!("drift: {}: AI success declining, retrain before promoting", drifting.join(", "))
        },
    };
    vec![control, denials, regression, sandbox]
}
