//! The Monday control-plane review (seed 004 "Weekly operational cadence"): the four reads an
//! operator makes (go-live state, today's risk ledger and denials, the regression tripwires, the
//! sandbox scorecards) and the seed's decision, one finding per question (`gov-levers`' `findings`).

use gov_levers::{ReviewFinding, RiskDay, findings};
use gov_model::{
    GoLiveState, HeimdallPolicy, HeimdallScorecard, RegressionPolicy, RegressionState, Tenant, Timestamp,
};

use crate::{Gov, Result};

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
