//! The last two stages of the step path, in the step's transaction: record the step in its
//! chain, then enforce what the verdict implies. A stopping breach does, in order (seed 000
//! §5.2): the step is recorded; the NEAR signals; the incident is opened; the BREACH signals,
//! prevention records and the policies' counts are written; the run becomes `failed_policy`
//! with its termination fields, the trace gets its inflection point, costs are attributed and
//! the trace is finalised. The order of the writes is also the order of the locks every step
//! takes (see docs/ARCHITECTURE.md, "Rollups"), so it does not change lightly.

use gov_model::{
    AgentKill, BreachAction, IncidentEventKind, IncidentId, NewAuditEntry, Outcome, PolicyId,
    PolicyViolationType, PreventionRecord, PreventionRecordId, Run, RunId, RunStatus, RunTerminationReason,
    Severity, SignalId, SignalType, ThresholdSignal, Timestamp, TraceStep,
};
use gov_prevention::{Decision, Finding, ForcedStop, Verdict};
use gov_store::{Conn, policies, runs, traces};
use serde_json::json;

use crate::runs::finish;
use crate::{Caller, Result, audit};
use gov_evidence::chain;

/// One step's writes: its transaction, its run (changed in place) and where it sits.
pub(super) struct StepTx<'t, 'c> {
    pub c: &'t mut Conn<'c>,
    pub caller: &'t Caller,
    pub run: &'t mut Run,
    /// The step's index in the run.
    pub index: i64,
    pub now: Timestamp,
}

/// An incident to open at the step.
struct Opening<'a> {
    policy_id: Option<PolicyId>,
    policy_name: Option<&'a str>,
    violation_type: PolicyViolationType,
    severity: Severity,
    action: BreachAction,
    reason: &'a str,
}

/// How the run ends at the step.
struct Stop<'a> {
    policy_id: Option<PolicyId>,
    reason: &'a str,
    incident_id: Option<IncidentId>,
    termination: RunTerminationReason,
}

impl StepTx<'_, '_> {
    /// Record: the step, with its verdict, chained to the run's head; the run's totals move.
    pub fn record(&mut self, mut step: TraceStep, verdict: &Verdict) -> Result<TraceStep> {
        // ALLOW steps carry no decision detail, except shadowed blocks, which keep their evidence.
        let noted = verdict.noted();
        step.decision = verdict.outcome();
        step.decision_policy_id = verdict.policy_id().filter(|_| noted);
        step.decision_reason = verdict.reason().filter(|_| noted).map(str::to_owned);
        step.chain_hash = chain::chain_hash(&step);
        traces::insert_step(self.c, &step)?;
        let run = &mut *self.run;
        run.step_count = step.step_index;
        run.tokens_used += step.tokens;
        run.input_tokens += step.input_tokens;
        run.output_tokens += step.output_tokens;
        run.total_cost_cents += step.cost_cents;
        run.head_hash.clone_from(&step.chain_hash);
        if let Verdict::Forced(f) = verdict
            && f.violation_type == PolicyViolationType::SnapshotIntegrity
        {
            self.log_integrity_failure(&f.reason)?;
        }
        Ok(step)
    }

    /// Enforce: everything the verdict implies. Returns the incident opened.
    pub fn enforce(&mut self, verdict: &Verdict) -> Result<Option<IncidentId>> {
        match verdict {
            Verdict::Forced(forced) => self.forced(forced),
            Verdict::Judged { decision, .. } => self.decision(decision, verdict.enforced()),
        }
    }

    fn decision(&mut self, decision: &Decision, enforced: bool) -> Result<Option<IncidentId>> {
        for near in &decision.near {
            self.signal(near, SignalType::Near)?;
        }
        if decision.breaches.is_empty() {
            return Ok(None);
        }
        let stops = enforced && decision.outcome == Outcome::Block;
        let winner = decision.winner.as_ref().filter(|_| stops);
        let incident_id = match winner {
            Some(w) => Some(self.open_incident(&Opening {
                policy_id: Some(w.policy_id),
                policy_name: Some(&w.policy_name),
                violation_type: w.violation_type,
                severity: w.severity,
                action: w.action,
                reason: &w.reason,
            })?),
            None => None,
        };
        for breach in &decision.breaches {
            self.signal(breach, SignalType::Breach)?;
            let is_winner = winner.is_some_and(|w| w.check_id == breach.check_id);
            let record = PreventionRecord {
                record_id: PreventionRecordId::new(),
                tenant_id: self.run.tenant_id,
                run_id: self.run.run_id,
                policy_id: Some(breach.policy_id),
                incident_id: if is_winner { incident_id } else { None },
                step_index: self.index,
                action: breach.action,
                decision: breach.action.outcome(),
                violation_type: breach.violation_type,
                metric: breach.metric.to_owned(),
                current_value: Some(breach.current_value),
                limit_value: breach.limit,
                enforced: enforced && (is_winner || !breach.action.blocks()),
                reason: breach.reason.clone(),
                created_at: self.now,
            };
            crate::rollups::insert_prevention(self.c, &self.run.agent_id, &record)?;
            policies::record_violation(self.c, self.run.tenant_id, breach.policy_id, i64::from(is_winner))?;
        }
        let Some(w) = winner else { return Ok(None) };
        self.run.violation_policy_id = Some(w.policy_id);
        self.run.incident_id = incident_id;
        let termination = match w.action {
            BreachAction::Warn => return Ok(incident_id),
            BreachAction::Pause => {
                self.run.status = RunStatus::Paused;
                return Ok(incident_id);
            }
            BreachAction::Stop => RunTerminationReason::PolicyBlock,
            BreachAction::Kill => RunTerminationReason::AgentKilled,
        };
        self.stop(&Stop { policy_id: Some(w.policy_id), reason: &w.reason, incident_id, termination })?;
        if w.action == BreachAction::Kill {
            let kill = AgentKill {
                tenant_id: self.run.tenant_id,
                agent_id: self.run.agent_id.clone(),
                run_id: self.run.run_id,
                policy_id: Some(w.policy_id),
                reason: w.reason.clone(),
                killed_at: self.now,
            };
            runs::kill_agent(self.c, &kill)?;
        }
        Ok(incident_id)
    }

    fn forced(&mut self, forced: &ForcedStop) -> Result<Option<IncidentId>> {
        let incident_id = if forced.opens_incident {
            Some(self.open_incident(&Opening {
                policy_id: forced.policy_id,
                policy_name: None,
                violation_type: forced.violation_type,
                severity: Severity::Critical,
                action: BreachAction::Stop,
                reason: &forced.reason,
            })?)
        } else {
            None
        };
        let record = PreventionRecord {
            record_id: PreventionRecordId::new(),
            tenant_id: self.run.tenant_id,
            run_id: self.run.run_id,
            policy_id: forced.policy_id,
            incident_id,
            step_index: self.index,
            action: BreachAction::Stop,
            decision: Outcome::Block,
            violation_type: forced.violation_type,
            metric: forced.violation_type.as_str().to_owned(),
            current_value: None,
            limit_value: None,
            enforced: true,
            reason: forced.reason.clone(),
            created_at: self.now,
        };
        crate::rollups::insert_prevention(self.c, &self.run.agent_id, &record)?;
        self.run.violation_policy_id = forced.policy_id;
        self.run.incident_id = incident_id;
        self.stop(&Stop {
            policy_id: forced.policy_id,
            reason: &forced.reason,
            incident_id,
            termination: forced.termination,
        })?;
        Ok(incident_id)
    }

    fn signal(&mut self, finding: &Finding, kind: SignalType) -> Result<()> {
        let run = &*self.run;
        let signal = signal(SignalId::new(), run.tenant_id, run.run_id, finding, kind, self.index, self.now);
        crate::rollups::insert_signal(self.c, &run.agent_id, &signal)
    }

    fn open_incident(&mut self, o: &Opening<'_>) -> Result<IncidentId> {
        let run = &*self.run;
        let breach = gov_incident::Breach {
            tenant_id: run.tenant_id,
            run_id: run.run_id,
            trace_id: run.trace_id,
            agent_id: &run.agent_id,
            policy_id: o.policy_id,
            policy_name: o.policy_name,
            violation_type: o.violation_type,
            severity: o.severity,
            action: o.action,
            step_index: self.index,
            reason: o.reason,
        };
        let incident = gov_incident::open(IncidentId::new(), &breach, self.now);
        crate::rollups::insert_incident(self.c, &run.agent_id, &incident)?;
        crate::rollups::record_incident_event(
            self.c,
            run.tenant_id,
            incident.incident_id,
            IncidentEventKind::Created,
            "system",
            &incident.title,
            self.now,
        )?;
        Ok(incident.incident_id)
    }

    /// Ends the run as `failed_policy` at this step: termination fields, the trace's inflection
    /// point, costs, the finalised trace, and an audit row by `system`.
    fn stop(&mut self, stop: &Stop<'_>) -> Result<()> {
        self.run.stopped_at_step = Some(self.index);
        let inflection = traces::Inflection {
            step_index: self.index,
            timestamp: self.now,
            policy_id: stop.policy_id,
            reason: stop.reason.to_owned(),
            incident_id: stop.incident_id,
        };
        traces::mark_inflection(self.c, self.run.tenant_id, self.run.trace_id, &inflection)?;
        finish(self.c, self.run, RunStatus::FailedPolicy, stop.termination, self.now)?;
        audit::record(
            self.c,
            self.run.tenant_id,
            &gov_model::Actor { id: "system".to_owned(), request_id: self.caller.actor.request_id.clone() },
            NewAuditEntry {
                action: "run.stopped",
                resource_type: "run",
                resource_id: self.run.run_id.to_string(),
                details: json!({
                    "step_index": self.index,
                    "termination_reason": stop.termination.as_str(),
                    "policy_id": stop.policy_id.map(|p| p.to_string()),
                    "incident_id": stop.incident_id.map(|i| i.to_string()),
                    "reason": stop.reason,
                }),
            },
            self.now,
        )?;
        Ok(())
    }

    /// A snapshot that failed verification is a critical system log line, besides its incident.
    fn log_integrity_failure(&mut self, reason: &str) -> Result<()> {
        let run = &*self.run;
        crate::logs::record(
            self.c,
            crate::logs::Event {
                tenant: Some(run.tenant_id),
                level: gov_model::LogLevel::Critical,
                source: gov_model::LogSource::Snapshots,
                event: "snapshot.integrity_failed",
                message: format!("policy snapshot of run {} failed verification: {reason}", run.run_id),
                context: serde_json::json!({
                    "run_id": run.run_id.to_string(),
                    "snapshot_id": run.policy_snapshot_id.to_string(),
                    "reason": reason,
                }),
            },
            self.now,
        )?;
        Ok(())
    }
}

/// The signal a finding writes at step `index` of a run (the generator's, with its seeded ids, too).
pub(crate) fn signal(
    signal_id: SignalId,
    tenant_id: gov_model::TenantId,
    run_id: RunId,
    finding: &Finding,
    kind: SignalType,
    index: i64,
    now: Timestamp,
) -> ThresholdSignal {
    ThresholdSignal {
        signal_id,
        tenant_id,
        run_id,
        policy_id: finding.policy_id,
        check_id: finding.check_id.clone(),
        signal_type: kind,
        metric: finding.metric.to_owned(),
        value: finding.current_value,
        limit_value: finding.limit,
        percentage: finding.percentage,
        step_index: index,
        created_at: now,
    }
}
