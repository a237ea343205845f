//! The per-step prevention path: judge a reported step against the run's frozen snapshot and
//! running totals, record it in the hash chain, and enforce a breach, all in one transaction.
//!
//! A stopping breach does, in order (seed 000 §5.2): the step is recorded; the run becomes
//! `failed_policy` with its termination fields; the incident is opened; the trace gets its
//! inflection point; the prevention record and the policy's counts are written; costs are
//! attributed and the trace is finalised. All of it commits together or not at all.

use std::sync::Arc;

use gov_model::{
    AgentKill, BreachAction, IncidentId, NewAuditEntry, PolicyId, PolicyViolationType, PreventionRecord,
    PreventionRecordId, Principal, Run, RunId, RunStatus, RunTerminationReason, Severity, SignalId,
    SignalType, StepId, StepLevel, ThresholdSignal, Timestamp, TraceStep,
};
use gov_policy::CompiledSnapshot;
use gov_prevention::{
    Decision, Finding, Outcome, OverrideKind, PolicyOverride, RateCount, RunState, StepSignals,
};
use gov_store::{Conn, evidence, policies, runs, snapshots, traces};
use serde_json::json;

use crate::error::OrNotFound;
use crate::runs::{finish, may_drive};
use crate::snapshot_cache::IntegrityFailure;
use gov_evidence::chain;

use crate::{Caller, Error, Gov, Result, audit};

/// The largest count (tokens, milliseconds, documents) one step may report.
const MAX_COUNT: i64 = 100_000_000;
/// The largest cost one step may report, in cents ($10M).
const MAX_COST_CENTS: f64 = 1e9;

/// A step as an agent reports it.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub step_type: String,
    /// Defaults to `input_tokens + output_tokens`.
    pub tokens: Option<i64>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_cents: Option<f64>,
    pub model: Option<String>,
    pub duration_ms: Option<i64>,
    pub retrieved_documents: Option<i64>,
    /// The step's content; only its blake3 hash is kept.
    pub content: Option<String>,
    pub content_hash: Option<String>,
    pub level: Option<String>,
    pub source: Option<String>,
}

/// A validated step.
#[derive(Debug, Clone)]
struct ValidStep {
    step_type: String,
    tokens: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_cents: f64,
    model: Option<String>,
    duration_ms: i64,
    retrieved_documents: i64,
    content_hash: Option<String>,
    level: StepLevel,
    source: String,
}

fn count(field: &str, value: Option<i64>) -> Result<i64> {
    match value.unwrap_or(0) {
        v @ 0..=MAX_COUNT => Ok(v),
        v if v < 0 => Err(Error::invalid(field, "must not be negative")),
        _ => Err(Error::invalid(field, format!("must be at most {MAX_COUNT}"))),
    }
}

fn word(field: &str, value: &str, max: usize) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(Error::invalid(field, format!("must be 1 to {max} characters of [A-Za-z0-9_-.:/]")))
    }
}

impl StepInput {
    fn validate(self) -> Result<ValidStep> {
        let step_type = word("step_type", self.step_type.trim(), 64)?;
        let input_tokens = count("input_tokens", self.input_tokens)?;
        let output_tokens = count("output_tokens", self.output_tokens)?;
        let tokens = match self.tokens {
            None => input_tokens + output_tokens,
            Some(t) => {
                let t = count("tokens", Some(t))?;
                if t < input_tokens + output_tokens {
                    return Err(Error::invalid("tokens", "must be at least input_tokens + output_tokens"));
                }
                t
            }
        };
        let cost_cents = self.cost_cents.unwrap_or(0.0);
        if !cost_cents.is_finite() || cost_cents < 0.0 {
            return Err(Error::invalid("cost_cents", "must be a number, not negative"));
        }
        if cost_cents > MAX_COST_CENTS {
            return Err(Error::invalid("cost_cents", format!("must be at most {MAX_COST_CENTS}")));
        }
        let model = self.model.map(|m| word("model", m.trim(), 200)).transpose()?;
        let content_hash = match (self.content, self.content_hash) {
            (None, None) => None,
            (Some(content), given) => {
                let actual = blake3::hash(content.as_bytes()).to_hex().to_string();
                if given.is_some_and(|g| !g.eq_ignore_ascii_case(&actual)) {
                    return Err(Error::invalid("content_hash", "does not match the blake3 hash of content"));
                }
                Some(actual)
            }
            (None, Some(given)) => {
                if given.len() != 64 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::invalid("content_hash", "must be 64 hex digits (blake3)"));
                }
                Some(given.to_ascii_lowercase())
            }
        };
        let level = match self.level.as_deref() {
            None => StepLevel::Info,
            Some(level) => {
                level.parse().map_err(|_| Error::invalid("level", "must be debug, info, warn or error"))?
            }
        };
        let source = word("source", self.source.as_deref().unwrap_or("agent"), 64)?;
        Ok(ValidStep {
            step_type,
            tokens,
            input_tokens,
            output_tokens,
            cost_cents,
            model,
            duration_ms: count("duration_ms", self.duration_ms)?,
            retrieved_documents: count("retrieved_documents", self.retrieved_documents)?,
            content_hash,
            level,
            source,
        })
    }
}

/// A stop that does not come from evaluating the policies.
#[derive(Debug, Clone)]
pub struct ForcedStop {
    pub violation_type: PolicyViolationType,
    pub termination: RunTerminationReason,
    pub policy_id: Option<PolicyId>,
    pub reason: String,
    /// Whether this stop opens its own incident.
    pub opens_incident: bool,
}

/// What was decided about a step.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// What the step is answered: ALLOW, WARN or BLOCK.
    pub outcome: Outcome,
    /// In shadow mode, what enforcement would have answered (when it differs).
    pub shadow_outcome: Option<Outcome>,
    /// The engine's decision, when the policies were evaluated.
    pub decision: Option<Decision>,
    pub forced: Option<ForcedStop>,
}

impl Verdict {
    pub fn reason(&self) -> Option<String> {
        match (&self.forced, &self.decision) {
            (Some(f), _) => Some(f.reason.clone()),
            (None, Some(d)) => d.winner.as_ref().or(d.near.first()).map(|f| f.reason.clone()),
            (None, None) => None,
        }
    }

    pub fn policy_id(&self) -> Option<PolicyId> {
        match (&self.forced, &self.decision) {
            (Some(f), _) => f.policy_id,
            (None, Some(d)) => d.winner.as_ref().or(d.near.first()).map(|f| f.policy_id),
            (None, None) => None,
        }
    }
}

/// A recorded step and what it did to its run.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub step: TraceStep,
    pub verdict: Verdict,
    pub run: Run,
    pub incident_id: Option<IncidentId>,
}

/// Whether rate counters are advanced (recording) or only read (pre-check).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Record,
    Peek,
}

fn refuse_if_closed(run: &Run) -> Result<()> {
    match run.status {
        RunStatus::Queued | RunStatus::Running => Ok(()),
        RunStatus::Paused => Err(Error::Conflict(
            "the run is paused by a policy breach: it takes no steps until an authorised override resumes it"
                .into(),
        )),
        status => Err(Error::Conflict(format!("the run has ended ({status}): it takes no more steps"))),
    }
}

fn signals(step: &ValidStep) -> StepSignals<'_> {
    StepSignals {
        step_type: &step.step_type,
        tokens: step.tokens,
        input_tokens: step.input_tokens,
        output_tokens: step.output_tokens,
        cost_cents: step.cost_cents,
        model: step.model.as_deref(),
        duration_ms: step.duration_ms,
        retrieved_documents: step.retrieved_documents,
    }
}

fn seconds_between(from: Timestamp, to: Timestamp) -> f64 {
    (to - from).as_seconds_f64().max(0.0)
}

impl Gov {
    /// Records a step and answers ALLOW, WARN or BLOCK. A blocking breach stops (or pauses) the
    /// run in the same transaction; later steps of a stopped run are refused with 409.
    pub fn record_step(
        &self,
        caller: &Caller,
        key: &Principal,
        run_id: RunId,
        input: StepInput,
    ) -> Result<StepOutcome> {
        let step = input.validate()?;
        let now = self.clock.now();
        let (caller, key) = (caller.clone(), key.clone());
        let gov = self.clone();
        self.db.write(move |c| {
            let locked = runs::get_for_update(c, caller.tenant_id, run_id).or_not_found("run")?;
            may_drive(&locked.run, &key)?;
            let before = locked.run;
            refuse_if_closed(&before)?;
            let verdict = gov.judge(c, &before, locked.override_count, &step, now, Mode::Record)?;
            let mut run = before.clone();
            let (step, incident_id) = gov.enforce(c, &caller, &mut run, &step, &verdict, now)?;
            if run.only_progressed_from(&before) {
                runs::save_progress(c, &run)?;
            } else {
                runs::save(c, &run, locked.override_count)?;
            }
            Ok(StepOutcome { step, verdict, run, incident_id })
        })
    }

    /// What a proposed step would get, without recording anything.
    pub fn check_step(
        &self,
        caller: &Caller,
        key: &Principal,
        run_id: RunId,
        input: StepInput,
    ) -> Result<(Verdict, Run)> {
        let step = input.validate()?;
        let now = self.clock.now();
        self.db.read(|c| {
            let locked = runs::get_with_overrides(c, caller.tenant_id, run_id).or_not_found("run")?;
            may_drive(&locked.run, key)?;
            refuse_if_closed(&locked.run)?;
            let verdict = self.judge(c, &locked.run, locked.override_count, &step, now, Mode::Peek)?;
            Ok((verdict, locked.run))
        })
    }

    fn judge(
        &self,
        c: &mut Conn<'_>,
        run: &Run,
        override_count: i32,
        step: &ValidStep,
        now: Timestamp,
        mode: Mode,
    ) -> Result<Verdict> {
        let levers = gov_store::levers::go_live(c, run.tenant_id)?;
        if levers.kill_switch_engaged {
            return Ok(forced(ForcedStop {
                violation_type: PolicyViolationType::KillSwitch,
                termination: RunTerminationReason::KillSwitch,
                policy_id: None,
                reason: format!(
                    "the kill switch is engaged (last lever change: {}: {}): every run stops at its next step",
                    levers.changed_by, levers.reason
                ),
                opens_incident: true,
            }));
        }
        if let Some(kill) = runs::agent_kill(c, run.tenant_id, &run.agent_id)? {
            return Ok(forced(killed(&kill)));
        }
        let snapshot = snapshots::get(c, run.tenant_id, run.policy_snapshot_id)?;
        let compiled = match self.snapshots.verified(run, &snapshot) {
            Ok(compiled) => compiled,
            Err(IntegrityFailure(reason)) => {
                tracing::error!(run_id = %run.run_id, %reason, "policy snapshot failed verification");
                if mode == Mode::Record {
                    crate::logs::record(
                        c,
                        crate::logs::Event {
                            tenant: Some(run.tenant_id),
                            level: gov_model::LogLevel::Critical,
                            source: gov_model::LogSource::Snapshots,
                            event: "snapshot.integrity_failed",
                            message: format!(
                                "policy snapshot of run {} failed verification: {reason}",
                                run.run_id
                            ),
                            context: serde_json::json!({
                                "run_id": run.run_id.to_string(),
                                "snapshot_id": run.policy_snapshot_id.to_string(),
                                "reason": reason,
                            }),
                        },
                        now,
                    )?;
                }
                return Ok(forced(ForcedStop {
                    violation_type: PolicyViolationType::SnapshotIntegrity,
                    termination: RunTerminationReason::SnapshotIntegrity,
                    policy_id: None,
                    reason,
                    opens_incident: true,
                }));
            }
        };
        let controls = policies::controls(c, run.tenant_id)?;
        let rates = rate_counts(c, run, &compiled, now, mode)?;
        let overrides = if override_count > 0 {
            evidence::overrides_of(c, run.tenant_id, run.run_id)?
                .into_iter()
                .map(|o| PolicyOverride {
                    policy_id: o.policy_id,
                    kind: match o.new_limit {
                        Some(limit) => OverrideKind::RaiseLimit(limit),
                        None => OverrideKind::Suspend,
                    },
                })
                .collect()
        } else {
            Vec::new()
        };
        let state = RunState {
            agent_id: &run.agent_id,
            human_actor_id: run.human_actor_id.as_deref(),
            tokens_used: run.tokens_used,
            total_cost_cents: run.total_cost_cents,
            step_count: run.step_count,
            elapsed_seconds: seconds_between(run.started_at, now),
        };
        let decision = gov_prevention::evaluate_step(&compiled, &state, &signals(step), &rates, &overrides);
        let enforce = controls.enforcement_mode == gov_model::EnforcementMode::Enforce;
        let (outcome, shadow_outcome) = match decision.outcome {
            Outcome::Block if !enforce => (Outcome::Allow, Some(Outcome::Block)),
            other => (other, None),
        };
        Ok(Verdict { outcome, shadow_outcome, decision: Some(decision), forced: None })
    }

    /// Records the step and everything its verdict implies. Returns the step and the incident opened.
    fn enforce(
        &self,
        c: &mut Conn<'_>,
        caller: &Caller,
        run: &mut Run,
        input: &ValidStep,
        verdict: &Verdict,
        now: Timestamp,
    ) -> Result<(TraceStep, Option<IncidentId>)> {
        let index = run.step_count + 1;
        // ALLOW steps carry no decision detail, except shadowed blocks, which keep their evidence.
        let noted = verdict.outcome != Outcome::Allow || verdict.shadow_outcome.is_some();
        let mut step = TraceStep {
            step_id: StepId::new(),
            trace_id: run.trace_id,
            run_id: run.run_id,
            tenant_id: run.tenant_id,
            step_index: index,
            step_type: input.step_type.clone(),
            level: input.level,
            source: input.source.clone(),
            timestamp: now,
            tokens: input.tokens,
            input_tokens: input.input_tokens,
            output_tokens: input.output_tokens,
            cost_cents: input.cost_cents,
            duration_ms: input.duration_ms,
            model: input.model.clone(),
            retrieved_documents: input.retrieved_documents,
            content_hash: input.content_hash.clone(),
            decision: verdict.outcome,
            decision_policy_id: verdict.policy_id().filter(|_| noted),
            decision_reason: verdict.reason().filter(|_| noted),
            prev_hash: run.head_hash.clone(),
            chain_hash: String::new(),
        };
        step.chain_hash = chain::chain_hash(&step);
        traces::insert_step(c, &step)?;
        run.step_count = index;
        run.tokens_used += input.tokens;
        run.input_tokens += input.input_tokens;
        run.output_tokens += input.output_tokens;
        run.total_cost_cents += input.cost_cents;
        run.head_hash = step.chain_hash.clone();

        let incident_id = match (&verdict.forced, &verdict.decision) {
            (Some(forced), _) => self.enforce_forced(c, caller, run, index, forced, now)?,
            (None, Some(decision)) => {
                let enforced = verdict.shadow_outcome.is_none();
                self.enforce_decision(c, caller, run, index, decision, enforced, now)?
            }
            (None, None) => None,
        };
        Ok((step, incident_id))
    }

    #[allow(clippy::too_many_arguments)]
    fn enforce_decision(
        &self,
        c: &mut Conn<'_>,
        caller: &Caller,
        run: &mut Run,
        index: i64,
        decision: &Decision,
        enforced: bool,
        now: Timestamp,
    ) -> Result<Option<IncidentId>> {
        for near in &decision.near {
            crate::rollups::insert_signal(
                c,
                &run.agent_id,
                &signal(SignalId::new(), run.tenant_id, run.run_id, near, SignalType::Near, index, now),
            )?;
        }
        if decision.breaches.is_empty() {
            return Ok(None);
        }
        let stops = enforced && decision.outcome == Outcome::Block;
        let winner = decision.winner.as_ref().filter(|_| stops);
        let incident_id = match winner {
            Some(w) => Some(self.open_incident(
                c,
                run,
                index,
                Some(w.policy_id),
                Some(&w.policy_name),
                w.violation_type,
                w.severity,
                w.action,
                &w.reason,
                now,
            )?),
            None => None,
        };
        for breach in &decision.breaches {
            crate::rollups::insert_signal(
                c,
                &run.agent_id,
                &signal(SignalId::new(), run.tenant_id, run.run_id, breach, SignalType::Breach, index, now),
            )?;
            let is_winner = winner.is_some_and(|w| w.check_id == breach.check_id);
            crate::rollups::insert_prevention(
                c,
                &run.agent_id,
                &PreventionRecord {
                    record_id: PreventionRecordId::new(),
                    tenant_id: run.tenant_id,
                    run_id: run.run_id,
                    policy_id: Some(breach.policy_id),
                    incident_id: if is_winner { incident_id } else { None },
                    step_index: index,
                    action: breach.action,
                    decision: breach.action.outcome(),
                    violation_type: breach.violation_type,
                    metric: breach.metric.to_owned(),
                    current_value: Some(breach.current_value),
                    limit_value: breach.limit,
                    enforced: enforced && (is_winner || !breach.action.blocks()),
                    reason: breach.reason.clone(),
                    created_at: now,
                },
            )?;
            policies::record_violation(c, run.tenant_id, breach.policy_id, i64::from(is_winner))?;
        }
        let Some(w) = winner else { return Ok(None) };
        run.violation_policy_id = Some(w.policy_id);
        run.incident_id = incident_id;
        match w.action {
            BreachAction::Warn => {}
            BreachAction::Pause => run.status = RunStatus::Paused,
            BreachAction::Stop | BreachAction::Kill => {
                let termination = if w.action == BreachAction::Kill {
                    RunTerminationReason::AgentKilled
                } else {
                    RunTerminationReason::PolicyBlock
                };
                self.stop(
                    c,
                    caller,
                    run,
                    index,
                    Some(w.policy_id),
                    &w.reason,
                    incident_id,
                    termination,
                    now,
                )?;
                if w.action == BreachAction::Kill {
                    runs::kill_agent(
                        c,
                        &AgentKill {
                            tenant_id: run.tenant_id,
                            agent_id: run.agent_id.clone(),
                            run_id: run.run_id,
                            policy_id: Some(w.policy_id),
                            reason: w.reason.clone(),
                            killed_at: now,
                        },
                    )?;
                }
            }
        }
        Ok(incident_id)
    }

    fn enforce_forced(
        &self,
        c: &mut Conn<'_>,
        caller: &Caller,
        run: &mut Run,
        index: i64,
        forced: &ForcedStop,
        now: Timestamp,
    ) -> Result<Option<IncidentId>> {
        let incident_id = if forced.opens_incident {
            Some(self.open_incident(
                c,
                run,
                index,
                forced.policy_id,
                None,
                forced.violation_type,
                Severity::Critical,
                BreachAction::Stop,
                &forced.reason,
                now,
            )?)
        } else {
            None
        };
        crate::rollups::insert_prevention(
            c,
            &run.agent_id,
            &PreventionRecord {
                record_id: PreventionRecordId::new(),
                tenant_id: run.tenant_id,
                run_id: run.run_id,
                policy_id: forced.policy_id,
                incident_id,
                step_index: index,
                action: BreachAction::Stop,
                decision: Outcome::Block,
                violation_type: forced.violation_type,
                metric: forced.violation_type.as_str().to_owned(),
                current_value: None,
                limit_value: None,
                enforced: true,
                reason: forced.reason.clone(),
                created_at: now,
            },
        )?;
        run.violation_policy_id = forced.policy_id;
        run.incident_id = incident_id;
        self.stop(
            c,
            caller,
            run,
            index,
            forced.policy_id,
            &forced.reason,
            incident_id,
            forced.termination,
            now,
        )?;
        Ok(incident_id)
    }

    #[allow(clippy::too_many_arguments)]
    fn open_incident(
        &self,
        c: &mut Conn<'_>,
        run: &Run,
        index: i64,
        policy_id: Option<PolicyId>,
        policy_name: Option<&str>,
        violation_type: PolicyViolationType,
        severity: Severity,
        action: BreachAction,
        reason: &str,
        now: Timestamp,
    ) -> Result<IncidentId> {
        let breach = gov_incident::Breach {
            tenant_id: run.tenant_id,
            run_id: run.run_id,
            trace_id: run.trace_id,
            agent_id: &run.agent_id,
            policy_id,
            policy_name,
            violation_type,
            severity,
            action,
            step_index: index,
            reason,
        };
        let incident = gov_incident::open(IncidentId::new(), &breach, now);
        crate::rollups::insert_incident(c, &run.agent_id, &incident)?;
        crate::rollups::record_incident_event(
            c,
            run.tenant_id,
            incident.incident_id,
            gov_model::IncidentEventKind::Created,
            "system",
            &incident.title,
            now,
        )?;
        Ok(incident.incident_id)
    }

    /// Ends the run as `failed_policy` at step `index`: termination fields, the trace's inflection
    /// point, costs, the finalised trace, and an audit row by `system`.
    #[allow(clippy::too_many_arguments)]
    fn stop(
        &self,
        c: &mut Conn<'_>,
        caller: &Caller,
        run: &mut Run,
        index: i64,
        policy_id: Option<PolicyId>,
        reason: &str,
        incident_id: Option<IncidentId>,
        termination: RunTerminationReason,
        now: Timestamp,
    ) -> Result<()> {
        run.stopped_at_step = Some(index);
        let inflection = traces::Inflection {
            step_index: index,
            timestamp: now,
            policy_id,
            reason: reason.to_owned(),
            incident_id,
        };
        traces::mark_inflection(c, run.tenant_id, run.trace_id, &inflection)?;
        finish(c, run, RunStatus::FailedPolicy, termination, now)?;
        audit::record(
            c,
            run.tenant_id,
            &gov_model::Actor { id: "system".to_owned(), request_id: caller.actor.request_id.clone() },
            NewAuditEntry {
                action: "run.stopped",
                resource_type: "run",
                resource_id: run.run_id.to_string(),
                details: json!({
                    "step_index": index,
                    "termination_reason": termination.as_str(),
                    "policy_id": policy_id.map(|p| p.to_string()),
                    "incident_id": incident_id.map(|i| i.to_string()),
                    "reason": reason,
                }),
            },
            now,
        )?;
        Ok(())
    }
}

fn forced(stop: ForcedStop) -> Verdict {
    Verdict { outcome: Outcome::Block, shadow_outcome: None, decision: None, forced: Some(stop) }
}

fn killed(kill: &AgentKill) -> ForcedStop {
    ForcedStop {
        violation_type: PolicyViolationType::AgentKilled,
        termination: RunTerminationReason::AgentKilled,
        policy_id: kill.policy_id,
        reason: format!("agent {} was killed in run {}: {}", kill.agent_id, kill.run_id, kill.reason),
        opens_incident: false,
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

/// The per-window counts of the snapshot's rate checks, advanced by this step when recording.
fn rate_counts(
    c: &mut Conn<'_>,
    run: &Run,
    compiled: &Arc<CompiledSnapshot>,
    now: Timestamp,
    mode: Mode,
) -> Result<Vec<RateCount>> {
    let mut counts = Vec::new();
    let now_secs = now.unix_timestamp();
    for (check_index, check) in compiled.rate_checks() {
        let gov_policy::CheckKind::Numeric { window_seconds, limit_scope, .. } = &check.kind else {
            continue;
        };
        let window = window_seconds.unwrap_or(60).max(1);
        let subject = match limit_scope {
            gov_model::LimitScope::ApiKey => {
                format!("api_key:{}", run.api_key_id.map(|k| k.to_string()).unwrap_or_default())
            }
            _ => format!("agent:{}", run.agent_id),
        };
        let key = format!("{}|{subject}", check.check_id);
        let window_start = now_secs - now_secs.rem_euclid(window);
        let count = match mode {
            Mode::Record => {
                let n = evidence::increment_rate(c, run.tenant_id, &key, window_start)?;
                if n == 1 {
                    evidence::prune_rate(c, run.tenant_id, &key, window_start)?;
                }
                n
            }
            Mode::Peek => evidence::peek_rate(c, run.tenant_id, &key, window_start)? + 1,
        };
        counts.push(RateCount { check_index, count, retry_after_secs: window_start + window - now_secs });
    }
    Ok(counts)
}
