//! The run lifecycle: start (resolving and freezing the policies), complete, cancel, override a
//! paused run, release a killed agent.

use gov_model::{
    AgentKill, ApiKeyId, NewAuditEntry, OverrideId, OverrideKind, OverrideRecord, PolicyId, PolicySnapshot,
    Principal, Run, RunId, RunStatus, RunTerminationReason, Scope, SnapshotId, TenantId, Timestamp, TraceId,
    TraceSummary,
};
use gov_store::{Conn, evidence, policies, runs, snapshots, traces};
use serde_json::json;

use crate::error::OrNotFound;
use gov_evidence::chain;

use crate::{Caller, Error, Gov, Result, audit, validate};

/// What a caller gives to start a run.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub agent_id: String,
    pub goal: Option<String>,
    pub human_actor_id: Option<String>,
    pub metadata: Option<serde_json::Value>,
    /// The business domain the run acts in; a tripped THROTTLE tripwire of it limits new runs.
    pub domain: Option<String>,
}

/// A run just started and the snapshot that governs it.
#[derive(Debug, Clone)]
pub struct StartedRun {
    pub run: Run,
    pub snapshot: PolicySnapshot,
}

/// How a run ends when its agent reports the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Succeeded,
    Failed,
}

/// An authorised decision to let a paused run go on.
#[derive(Debug, Clone)]
pub struct OverrideRequest {
    pub policy_id: Option<PolicyId>,
    pub reason: String,
    /// The policy's limits become this for the rest of the run; without it the policy is suspended.
    pub new_limit: Option<f64>,
}

/// Who may drive a run (report or check its steps, complete or cancel it): the key that started
/// it (a rotation hands its live runs to the replacement) or an admin key of the tenant. Another
/// key of the same tenant is refused (403: the run is no secret to it, any `read` key lists it).
pub(crate) fn may_drive(run: &Run, key: &Principal) -> Result<()> {
    if run.api_key_id == Some(key.api_key_id) || key.scopes.contains(Scope::Admin) {
        return Ok(());
    }
    Err(Error::OtherKeysRun { run_id: run.run_id })
}

fn run_audit(action: &'static str, run: &Run, details: serde_json::Value) -> NewAuditEntry {
    NewAuditEntry { action, resource_type: "run", resource_id: run.run_id.to_string(), details }
}

/// Ends a run: final status, cost attribution (CC-005) and the finalised trace.
pub(crate) fn finish(
    c: &mut Conn<'_>,
    run: &mut Run,
    status: RunStatus,
    reason: RunTerminationReason,
    now: Timestamp,
) -> Result<()> {
    run.status = status;
    run.termination_reason = Some(reason);
    run.completed_at = Some(now);
    let costs = evidence::attribute_costs(c, run.tenant_id, run.run_id, run.trace_id, now)?;
    traces::finalize(c, run.tenant_id, run.trace_id, status.as_str(), run.step_count, &run.head_hash, now)?;
    crate::rollups::run_ended(c, run, &costs)?;
    Ok(())
}

impl Gov {
    /// Starts a run: resolves the policies that apply to it, arbitrates them and freezes them
    /// into a hashed snapshot the run records.
    pub fn start_run(&self, caller: &Caller, api_key: Option<ApiKeyId>, input: NewRun) -> Result<StartedRun> {
        let agent_id = validate::identifier("agent_id", &input.agent_id)?;
        let goal = input.goal.as_deref().map(|g| validate::text("goal", g, 2000)).transpose()?;
        let human =
            input.human_actor_id.as_deref().map(|h| validate::identifier("human_actor_id", h)).transpose()?;
        let domain = input.domain.as_deref().map(crate::regression::domain_name).transpose()?;
        let metadata = match input.metadata {
            None => json!({}),
            Some(m @ serde_json::Value::Object(_)) if m.to_string().len() <= 16 * 1024 => m,
            Some(_) => return Err(Error::invalid("metadata", "must be a JSON object of at most 16 KiB")),
        };
        let now = self.clock.now();
        let caller = caller.clone();
        let gov = self.clone();
        let throttled_tenant = caller.tenant_id;
        let started = self.db.write(move |c| {
            let levers = gov_store::levers::go_live(c, caller.tenant_id)?;
            if levers.kill_switch_engaged {
                return Err(Error::KillSwitchEngaged { by: levers.changed_by, reason: levers.reason });
            }
            gov.refuse_killed_agent(c, caller.tenant_id, &agent_id)?;
            if let Some(domain) = &domain {
                crate::regression::admit_run(c, caller.tenant_id, domain, now)?;
            }
            let applicable = policies::active_with_limits(c, caller.tenant_id)?;
            let controls = policies::controls(c, caller.tenant_id)?;
            let attributes = gov_policy::RunAttributes {
                agent_id: agent_id.clone(),
                api_key_id: api_key.map(|k| k.to_string()),
                human_actor_id: human.clone(),
            };
            let content = gov_policy::build_snapshot(&applicable, &controls, &attributes);
            let frozen = PolicySnapshot {
                snapshot_id: SnapshotId::new(),
                tenant_id: caller.tenant_id,
                policies_json: content.policies_json,
                thresholds_json: content.thresholds_json,
                content_hash: content.content_hash,
                policy_count: content.policy_count,
                created_at: now,
            };
            let snapshot = snapshots::insert_or_get(c, &frozen)?;
            if (&snapshot.policies_json, &snapshot.thresholds_json)
                != (&frozen.policies_json, &frozen.thresholds_json)
            {
                // The stored snapshot of this hash holds other text: it was altered in place, in
                // a way its revision may not show (a file edit). Its next step here fails closed.
                tracing::error!(
                    snapshot_id = %snapshot.snapshot_id,
                    "a stored policy snapshot differs from the content of its hash"
                );
                gov.snapshots.forget(snapshot.snapshot_id);
            }
            let trace_id = TraceId::new();
            let run = Run {
                run_id: RunId::new(),
                tenant_id: caller.tenant_id,
                agent_id: agent_id.clone(),
                goal: goal.clone(),
                human_actor_id: human.clone(),
                domain: domain.clone(),
                api_key_id: api_key,
                status: RunStatus::Running,
                started_at: now,
                completed_at: None,
                tokens_used: 0,
                input_tokens: 0,
                output_tokens: 0,
                total_cost_cents: 0.0,
                step_count: 0,
                policy_snapshot_id: snapshot.snapshot_id,
                policy_snapshot_hash: snapshot.content_hash.clone(),
                termination_reason: None,
                stopped_at_step: None,
                violation_policy_id: None,
                incident_id: None,
                trace_id,
                head_hash: chain::genesis(trace_id),
                metadata: metadata.clone(),
            };
            runs::insert(c, &run)?;
            traces::insert(
                c,
                &TraceSummary {
                    trace_id,
                    run_id: run.run_id,
                    tenant_id: caller.tenant_id,
                    status: RunStatus::Running.as_str().to_owned(),
                    step_count: 0,
                    is_synthetic: false,
                    agent_id: agent_id.clone(),
                    started_at: now,
                    completed_at: None,
                    violation_step_index: None,
                    violation_timestamp: None,
                    violation_policy_id: None,
                    violation_reason: None,
                    incident_id: None,
                    head_hash: run.head_hash.clone(),
                },
            )?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                run_audit(
                    "run.started",
                    &run,
                    json!({
                        "agent_id": run.agent_id,
                        "policy_snapshot_id": snapshot.snapshot_id.to_string(),
                        "policy_count": snapshot.policy_count,
                    }),
                ),
                now,
            )?;
            Ok(StartedRun { run, snapshot })
        });
        if let Err(throttled @ Error::Throttled { domain, .. }) = &started {
            self.log_throttled(throttled_tenant, domain, &throttled.to_string(), now);
        }
        started
    }

    fn refuse_killed_agent(&self, c: &mut Conn<'_>, tenant: TenantId, agent_id: &str) -> Result<()> {
        match runs::agent_kill(c, tenant, agent_id)? {
            Some(kill) => Err(Error::AgentKilled { agent_id: agent_id.to_owned(), reason: kill.reason }),
            None => Ok(()),
        }
    }

    pub fn get_run(&self, tenant: TenantId, id: RunId) -> Result<Run> {
        self.db.read(|c| runs::get(c, tenant, id).or_not_found("run"))
    }

    pub fn get_snapshot(&self, tenant: TenantId, id: SnapshotId) -> Result<PolicySnapshot> {
        self.db.read(|c| snapshots::get(c, tenant, id).or_not_found("policy snapshot"))
    }

    /// The agent reports the end of its run.
    pub fn complete_run(
        &self,
        caller: &Caller,
        key: &Principal,
        id: RunId,
        outcome: Completion,
    ) -> Result<Run> {
        let now = self.clock.now();
        let (caller, key) = (caller.clone(), key.clone());
        self.db.write(move |c| {
            let locked = runs::get_for_update(c, caller.tenant_id, id).or_not_found("run")?;
            may_drive(&locked.run, &key)?;
            let mut run = locked.run;
            match (run.status, outcome) {
                (RunStatus::Running | RunStatus::Queued, _) | (RunStatus::Paused, Completion::Failed) => {}
                (RunStatus::Paused, Completion::Succeeded) => return Err(Error::RunPaused),
                (status, _) => return Err(Error::RunClosed { status }),
            }
            let (status, reason) = match outcome {
                Completion::Succeeded => (RunStatus::Succeeded, RunTerminationReason::Completed),
                Completion::Failed => (RunStatus::Failed, RunTerminationReason::Failed),
            };
            finish(c, &mut run, status, reason, now)?;
            runs::save(c, &run, locked.override_count)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                run_audit("run.completed", &run, json!({ "status": status.as_str() })),
                now,
            )?;
            Ok(run)
        })
    }

    pub fn cancel_run(&self, caller: &Caller, key: &Principal, id: RunId) -> Result<Run> {
        let now = self.clock.now();
        let (caller, key) = (caller.clone(), key.clone());
        self.db.write(move |c| {
            let locked = runs::get_for_update(c, caller.tenant_id, id).or_not_found("run")?;
            may_drive(&locked.run, &key)?;
            let mut run = locked.run;
            if run.status.is_terminal() {
                return Err(Error::RunClosed { status: run.status });
            }
            finish(c, &mut run, RunStatus::Cancelled, RunTerminationReason::Cancelled, now)?;
            runs::save(c, &run, locked.override_count)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                run_audit("run.cancelled", &run, json!({})),
                now,
            )?;
            Ok(run)
        })
    }

    /// Resumes a paused run, recording who allowed it and why (seed 000 §13.2 OverrideRecord).
    pub fn override_run(
        &self,
        caller: &Caller,
        id: RunId,
        request: OverrideRequest,
    ) -> Result<(Run, OverrideRecord)> {
        let reason = validate::text("reason", &request.reason, 2000)?;
        if request.new_limit.is_some_and(|limit| !limit.is_finite() || limit <= 0.0) {
            return Err(Error::invalid("new_limit", "must be a number above 0"));
        }
        let now = self.clock.now();
        let caller = caller.clone();
        let cache = self.snapshots.clone();
        self.db.write(move |c| {
            let locked = runs::get_for_update(c, caller.tenant_id, id).or_not_found("run")?;
            let mut run = locked.run;
            if run.status != RunStatus::Paused {
                return Err(Error::RunNotPaused { status: run.status });
            }
            let policy_id = request
                .policy_id
                .or(run.violation_policy_id)
                .ok_or_else(|| Error::invalid("policy_id", "name the policy to override"))?;
            let snapshot = snapshots::get(c, caller.tenant_id, run.policy_snapshot_id)?;
            let governing = cache
                .verified(&run, &snapshot, None)
                .map_err(|failure| Error::SnapshotUntrusted { detail: failure.0 })?;
            if !governing.policy_ids().contains(&policy_id) {
                return Err(Error::invalid("policy_id", "that policy does not govern this run"));
            }
            let record = OverrideRecord {
                override_id: OverrideId::new(),
                tenant_id: caller.tenant_id,
                run_id: run.run_id,
                policy_id,
                kind: if request.new_limit.is_some() { OverrideKind::RaiseLimit } else { OverrideKind::Suspend },
                new_limit: request.new_limit,
                actor: caller.actor.id.clone(),
                reason,
                created_at: now,
            };
            evidence::insert_override(c, &record)?;
            run.status = RunStatus::Running;
            run.violation_policy_id = None;
            runs::save(c, &run, locked.override_count + 1)?;
            if let Some(incident) = run.incident_id {
                let detail = format!("{} override of policy {policy_id}: {}", record.kind, record.reason);
                crate::rollups::record_incident_event(c, caller.tenant_id, incident, gov_model::IncidentEventKind::Overridden, &caller.actor.id, &detail, now)?;
            }
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                run_audit(
                    "run.overridden",
                    &run,
                    json!({ "policy_id": policy_id.to_string(), "kind": record.kind.as_str(), "new_limit": record.new_limit, "reason": record.reason }),
                ),
                now,
            )?;
            Ok((run, record))
        })
    }

    pub fn killed_agents(&self, tenant: TenantId) -> Result<Vec<AgentKill>> {
        Ok(self.db.read(|c| runs::killed_agents(c, tenant))?)
    }

    /// Lets a killed agent start runs again.
    pub fn release_agent(&self, caller: &Caller, agent_id: &str) -> Result<()> {
        let agent_id = agent_id.to_owned();
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            runs::release_agent(c, caller.tenant_id, &agent_id).or_not_found("killed agent")?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "agent.released",
                    resource_type: "agent",
                    resource_id: agent_id,
                    details: json!({}),
                },
                now,
            )?;
            Ok(())
        })
    }

    pub fn run_overrides(&self, tenant: TenantId, id: RunId) -> Result<Vec<OverrideRecord>> {
        Ok(self.db.read(|c| evidence::overrides_of(c, tenant, id))?)
    }
}
