//! Activity read models: runs (live, completed, detail), threshold signals and cost records.

use gov_model::{
    CostRecord, Incident, OverrideRecord, Page, PageRequest, PolicySnapshot, Run, RunId, SortDirection,
    TenantId, ThresholdSignal, TraceSummary,
};
use gov_store::evidence::{self, EvidenceFilter};
use gov_store::runs::{self, RunFilter, RunSort};
use gov_store::{incidents, snapshots, traces};

use crate::error::OrNotFound;
use crate::{Gov, Result};

/// Everything the console shows about one run, and what it links to.
#[derive(Debug, Clone)]
pub struct RunDetail {
    pub run: Run,
    pub snapshot: PolicySnapshot,
    pub trace: TraceSummary,
    pub incident: Option<Incident>,
    pub costs: Vec<CostRecord>,
    pub overrides: Vec<OverrideRecord>,
}

impl Gov {
    pub fn list_runs(
        &self,
        tenant: TenantId,
        filter: &RunFilter,
        page: PageRequest,
        sort: RunSort,
        direction: SortDirection,
    ) -> Result<Page<Run>> {
        Ok(self.db.read(|c| runs::list(c, tenant, filter, page, sort, direction))?)
    }

    pub fn run_detail(&self, tenant: TenantId, id: RunId) -> Result<RunDetail> {
        self.db.read(|c| {
            let run = runs::get(c, tenant, id).or_not_found("run")?;
            let snapshot = snapshots::get(c, tenant, run.policy_snapshot_id)?;
            let trace = traces::get(c, tenant, run.trace_id)?;
            let incident = run.incident_id.map(|i| incidents::get(c, tenant, i)).transpose()?;
            let all = PageRequest::new(1, gov_model::MAX_PAGE_SIZE).unwrap_or_default();
            let costs = evidence::list_costs(c, tenant, Some(id), None, all)?.items;
            let overrides = evidence::overrides_of(c, tenant, id)?;
            Ok(RunDetail { run, snapshot, trace, incident, costs, overrides })
        })
    }

    pub fn list_signals(
        &self,
        tenant: TenantId,
        filter: &EvidenceFilter,
        page: PageRequest,
    ) -> Result<Page<ThresholdSignal>> {
        Ok(self.db.read(|c| evidence::list_signals(c, tenant, filter, page))?)
    }

    pub fn list_costs(
        &self,
        tenant: TenantId,
        run: Option<RunId>,
        model: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<CostRecord>> {
        Ok(self.db.read(|c| evidence::list_costs(c, tenant, run, model, page))?)
    }
}
