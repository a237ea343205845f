//! Go-live and the kill switch (seed 004 "Go-Live Endpoints"): the tenant's production switch, the
//! emergency stop, the go-live checklist, and the cached view of the state that guards requests.
//!
//! The kill switch is always read inside the transaction that it would stop (starting a run,
//! reporting a step, reserving risk), so once an engage is acknowledged no replica executes
//! anything. Only the go-live guard of other requests (`GO_LIVE_ENFORCE`) reads the state through
//! a per-process cache refreshed at most `STALENESS` after it was read, so a go-live change made
//! on another replica takes effect here within that bound (changes made here at once).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gov_levers::{ChecklistItem, Lever};
use gov_model::{GoLiveState, LogSource, NewAuditEntry, PolicyStatus, TenantId};
use gov_store::policies::PolicyFilter;
use gov_store::{levers, policies};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, logs, validate};

/// How old a cached go-live state may be before it is read again.
pub const STALENESS: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(crate) struct GoLiveCache {
    entries: Mutex<HashMap<TenantId, (GoLiveState, Instant)>>,
}

impl GoLiveCache {
    fn get(&self, tenant: TenantId) -> Option<GoLiveState> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&tenant).filter(|(_, at)| at.elapsed() < STALENESS).map(|(s, _)| s.clone())
    }

    pub(crate) fn put(&self, state: &GoLiveState) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.insert(state.tenant_id, (state.clone(), Instant::now()));
    }
}

/// A lever change: who pulled it and why.
#[derive(Debug, Clone)]
pub struct LeverChange {
    /// The operator named in the request (`actor`); defaults to the calling key.
    pub actor: Option<String>,
    pub reason: String,
}

impl Gov {
    /// The state as of at most `STALENESS` ago, without I/O; `None` means: call [`Gov::go_live`].
    pub fn go_live_cached(&self, tenant: TenantId) -> Option<GoLiveState> {
        self.go_live_cache.get(tenant)
    }

    /// Reads the state from the database (and refreshes the cache).
    pub fn go_live(&self, tenant: TenantId) -> Result<GoLiveState> {
        let state = self.db.read(|c| levers::go_live(c, tenant))?;
        self.go_live_cache.put(&state);
        Ok(state)
    }

    pub fn enable_go_live(&self, caller: &Caller, change: LeverChange) -> Result<GoLiveState> {
        self.pull(caller, change, Lever::Enable)
    }

    pub fn disable_go_live(&self, caller: &Caller, change: LeverChange) -> Result<GoLiveState> {
        self.pull(caller, change, Lever::Disable)
    }

    /// Engages the kill switch: new runs and other production executions are refused, and every
    /// live run is stopped at its next step.
    pub fn engage_kill_switch(&self, caller: &Caller, change: LeverChange) -> Result<GoLiveState> {
        self.pull(caller, change, Lever::Engage)
    }

    pub fn release_kill_switch(&self, caller: &Caller, change: LeverChange) -> Result<GoLiveState> {
        self.pull(caller, change, Lever::Release)
    }

    fn pull(&self, caller: &Caller, change: LeverChange, lever: Lever) -> Result<GoLiveState> {
        let reason = validate::text("reason", &change.reason, 2000)?;
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let now = self.clock.now();
        let caller = caller.clone();
        let state = self.db.write(move |c| {
            let (live, kill) = lever.sets();
            let state = levers::set_go_live(c, caller.tenant_id, live, kill, &actor, &reason, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: lever.action(),
                    resource_type: "go_live_state",
                    resource_id: caller.tenant_id.to_string(),
                    details: json!({ "actor": actor, "reason": reason }),
                },
                now,
            )?;
            logs::record(
                c,
                logs::Event {
                    tenant: Some(caller.tenant_id),
                    level: lever.level(),
                    source: LogSource::GoLive,
                    event: lever.action(),
                    message: lever.message(&actor, &reason),
                    context: json!({ "actor": actor, "reason": reason }),
                },
                now,
            )?;
            Ok::<_, Error>(state)
        })?;
        self.go_live_cache.put(&state);
        Ok(state)
    }

    /// What must hold before a tenant goes live, and whether it does.
    pub fn go_live_checklist(&self, tenant: TenantId) -> Result<Vec<ChecklistItem>> {
        let state = self.go_live(tenant)?;
        let active = self.db.read(|c| {
            let filter = PolicyFilter { status: Some(PolicyStatus::Active), ..Default::default() };
            policies::list(c, tenant, &filter, gov_model::PageRequest::new(1, 1).unwrap_or_default())
        })?;
        let risk = self.risk_policies(tenant)?;
        Ok(gov_levers::checklist(&state, active.total, &risk))
    }
}
