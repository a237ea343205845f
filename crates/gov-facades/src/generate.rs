//! The realistic-tenant generator behind `cargo xtask generate`: a tenant, its admin key, a token
//! limit policy and one real run are made through the facades (so the policy snapshot is real);
//! then the rows the step path and run completion write are bulk-written in batches, one
//! transaction per batch, while a producer thread builds the next batches: runs, traces, chained
//! steps, cost records, threshold signals, prevention records, incidents with their events, and
//! audit rows. Every step is judged by the prevention engine against the run's snapshot, so its
//! decision, NEAR and BREACH signals and prevention records are what the real path would write.
//! Everything is deterministic for a seed except the tenant, key, policy and snapshot ids.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use gov_evidence::chain;
use gov_incident::Transition;
use gov_model::{
    Actor, AuditLogId, BreachAction, CostRecord, CostRecordId, EnforcementMode, Incident, IncidentEvent,
    IncidentEventKind, IncidentId, PolicyId, PreventionRecord, PreventionRecordId, RuleType, Run, RunId,
    RunStatus, RunTerminationReason, Severity, SignalId, SignalType, StepId, TenantId, ThresholdSignal,
    Timestamp, TraceId, TraceStep, TraceSummary,
};
use gov_policy::{CompiledSnapshot, Metric};
use gov_prevention::{Finding, Outcome, RunState, StepSignals};
use gov_store::audit::NewAuditRow;
use gov_store::bulk::{self, NewIncidentEvent};
use serde_json::json;
use uuid::{Builder, Uuid};

use crate::audit_chain::{self, RowContent};
use crate::{Caller, Error, Gov, NewApiKey, NewRun, PolicyDraft, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The tenant's name: reused when it exists, created otherwise.
    pub tenant_name: String,
    pub runs: u64,
    pub steps_per_run: u32,
    pub incidents: u64,
    /// Runs start over the `days` days before `now`.
    pub days: u32,
    pub seed: u64,
    /// Runs per batch (one transaction each).
    pub batch_runs: u64,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            tenant_name: "bench".to_owned(),
            runs: 1_000_000,
            steps_per_run: 10,
            incidents: 100_000,
            days: 30,
            seed: 1,
            batch_runs: 5_000,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Generated {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    /// A new admin key of the tenant (its secret, shown once).
    pub admin_key: String,
    pub policy_id: PolicyId,
    pub runs: u64,
    pub steps: u64,
    pub incidents: u64,
    pub incident_events: u64,
    pub cost_records: u64,
    pub prevention_records: u64,
    pub signals: u64,
    pub audit_rows: u64,
}

/// One batch of rows, written in one transaction.
#[derive(Default)]
struct Batch {
    runs: Vec<Run>,
    traces: Vec<TraceSummary>,
    steps: Vec<TraceStep>,
    costs: Vec<CostRecord>,
    signals: Vec<ThresholdSignal>,
    prevention: Vec<PreventionRecord>,
    incidents: Vec<Incident>,
    events: Vec<NewIncidentEvent>,
    /// Per policy: breaches, and the incidents they opened (the policy's counts).
    violations: BTreeMap<PolicyId, (i64, i64)>,
    audit: Vec<NewAuditRow>,
}

/// splitmix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi].
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }
    /// A UUIDv7 whose time part is `at` (millisecond precision), with seeded random bits.
    fn uuid_at(&mut self, at: Timestamp) -> Uuid {
        let millis = (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }
}

const AGENTS: &[&str] =
    &["AGT-001", "AGT-002", "AGT-003", "AGT-004", "AGT-005", "AGT-006", "AGT-007", "AGT-008"];
const MODELS: &[&str] = &["claude-sonnet-4", "claude-haiku-4", "gpt-4o", "gpt-4o-mini"];
const STEP_TYPES: &[&str] = &["input", "llm_call", "tool_call", "retrieval", "policy_check", "output"];

/// Microsecond precision, as the databases keep it (the chain hashes what is read back).
fn micros(t: Timestamp) -> Timestamp {
    t.replace_nanosecond(t.microsecond() * 1000).unwrap_or(t)
}

struct Plan {
    tenant: TenantId,
    snapshot_id: gov_model::SnapshotId,
    snapshot_hash: String,
    policy_count: i32,
    /// The runs' frozen snapshot, which judges every generated step.
    compiled: Arc<CompiledSnapshot>,
    /// The snapshot's token limit: runs that are not to violate stay below it, the violating
    /// ones reach it at their breaching step.
    token_limit: i64,
    /// Who starts and completes runs (the generator's actor).
    actor: String,
    /// Who acknowledges and resolves incidents (the generator's admin key).
    responder: String,
    opts: GenerateOptions,
    now: Timestamp,
}

/// Runs started this close to the end of the span may still be live (microseconds).
const LIVE_WINDOW_US: i64 = 2 * 3_600_000_000;
/// Of the runs older than that, one in this many is left `running` (an agent that died).
const ABANDONED_EVERY: u64 = 10_007;

/// The breach that stopped a run, as the step path records it.
struct Stop {
    index: i64,
    at: Timestamp,
    winner: Finding,
    breaches: Vec<Finding>,
}

/// Why generating failed: the snapshot does not judge the planned steps as planned.
fn unplanned(what: String) -> Error {
    Error::Internal(format!(
        "the tenant's policies {what}; generate into a tenant whose only policies are generated token limits"
    ))
}

impl Plan {
    /// Builds the rows of runs `from..to`.
    fn batch(&self, rng: &mut Rng, ids: &mut Rng, from: u64, to: u64) -> Result<Batch> {
        let o = &self.opts;
        let span_us = i64::from(o.days.max(1)) * 86_400_000_000;
        // Leave the last hour free so every step of the most recent runs is in the past.
        let usable = (span_us - 3_600_000_000).max(1);
        let start = self.now - time::Duration::microseconds(span_us);
        let stride = if o.incidents == 0 { u64::MAX } else { (o.runs / o.incidents.min(o.runs)).max(1) };
        let mut b = Batch::default();
        for i in from..to {
            let offset = (i128::from(usable) * i128::from(i) / i128::from(o.runs.max(1))) as i64;
            let started = micros(start + time::Duration::microseconds(offset));
            let agent = AGENTS[rng.range(0, AGENTS.len() as i64 - 1) as usize];
            let violates = i % stride == 0 && i / stride < o.incidents;
            let r = rng.unit();
            // Runs of the last two hours may still be going; an older run is left `running` only
            // when its agent died without ending it (one in ABANDONED_EVERY).
            let status = if violates {
                RunStatus::FailedPolicy
            } else if i % ABANDONED_EVERY == 1 {
                RunStatus::Running
            } else if r < 0.90 {
                RunStatus::Succeeded
            } else if r < 0.95 {
                RunStatus::Failed
            } else if r < 0.98 {
                RunStatus::Cancelled
            } else if offset >= usable - LIVE_WINDOW_US {
                RunStatus::Running
            } else {
                RunStatus::Cancelled
            };
            let run_id = RunId::from_uuid(ids.uuid_at(started));
            let trace_id = TraceId::from_uuid(ids.uuid_at(started));
            let n_steps = i64::from(o.steps_per_run);
            let stop_at = if violates { rng.range(1, n_steps.max(1)) } else { n_steps };
            let mut prev = chain::genesis(trace_id);
            let (mut tokens, mut input, mut output, mut cost) = (0i64, 0i64, 0i64, 0.0f64);
            let mut at = started;
            let mut stop = None;
            let first_step = b.steps.len();
            for index in 1..=stop_at {
                at = micros(at + time::Duration::milliseconds(rng.range(200, 4_000)));
                let planned_block = violates && index == stop_at;
                // The breaching step is a large model call; every other step keeps the run below
                // the limit, as a run the policy did not stop must have stayed.
                let step_type = if planned_block {
                    "llm_call"
                } else {
                    STEP_TYPES[((index - 1) as usize) % STEP_TYPES.len()]
                };
                let is_llm = step_type == "llm_call" || step_type == "policy_check";
                let (mut inp, mut out) = if is_llm {
                    (rng.range(200, 2_200), rng.range(100, 1_500))
                } else {
                    (rng.range(0, 300), 0)
                };
                if planned_block {
                    inp = inp.max(self.token_limit - tokens - out) + rng.range(0, 2_000);
                } else {
                    let room = (self.token_limit - 1 - tokens).max(0);
                    if inp + out > room {
                        out = out.min(room / 2);
                        inp = room - out;
                    }
                }
                let step_cost =
                    if is_llm { ((inp + out) as f64 * 0.003 * 100.0).round() / 100.0 } else { 0.0 };
                let model = is_llm.then(|| MODELS[rng.range(0, MODELS.len() as i64 - 1) as usize]);
                let duration_ms = rng.range(20, 3_000);
                let retrieved_documents = if step_type == "retrieval" { rng.range(1, 12) } else { 0 };
                let state = RunState {
                    agent_id: agent,
                    human_actor_id: None,
                    tokens_used: tokens,
                    total_cost_cents: cost,
                    step_count: index - 1,
                    elapsed_seconds: (at - started).as_seconds_f64(),
                };
                let mut step = TraceStep {
                    step_id: StepId::from_uuid(ids.uuid_at(at)),
                    trace_id,
                    run_id,
                    tenant_id: self.tenant,
                    step_index: index,
                    step_type: step_type.to_owned(),
                    level: gov_model::StepLevel::Info,
                    source: "agent".to_owned(),
                    timestamp: at,
                    tokens: inp + out,
                    input_tokens: inp,
                    output_tokens: out,
                    cost_cents: step_cost,
                    duration_ms,
                    model: model.map(str::to_owned),
                    retrieved_documents,
                    content_hash: None,
                    decision: Outcome::Allow,
                    decision_policy_id: None,
                    decision_reason: None,
                    prev_hash: prev,
                    chain_hash: String::new(),
                };
                // Judged as the step path judges (a tenant that enforces, no rates, no overrides).
                let context = gov_prevention::StepContext {
                    gate: gov_prevention::Gate::Open(&self.compiled),
                    run: state,
                    rates: &[],
                    overrides: &[],
                    enforcement: gov_model::EnforcementMode::Enforce,
                };
                let verdict = gov_prevention::judge(&context, &StepSignals::of(&step));
                let blocks = verdict.outcome() == Outcome::Block;
                if blocks != planned_block {
                    return Err(unplanned(format!(
                        "answer {} to step {index} of a run planned to {} there",
                        verdict.outcome().as_str(),
                        if planned_block { "stop" } else { "continue" }
                    )));
                }
                step.decision = verdict.outcome();
                step.decision_policy_id = verdict.policy_id().filter(|_| verdict.noted());
                step.decision_reason = verdict.reason().filter(|_| verdict.noted()).map(str::to_owned);
                let gov_prevention::Verdict::Judged { decision, .. } = verdict else {
                    return Err(unplanned(format!(
                        "step {index} was stopped before its policies were asked"
                    )));
                };
                step.chain_hash = chain::chain_hash(&step);
                prev = step.chain_hash.clone();
                tokens += step.tokens;
                input += inp;
                output += out;
                cost += step_cost;
                b.steps.push(step);
                for near in &decision.near {
                    b.signals.push(self.signal(ids, run_id, near, SignalType::Near, index, at));
                }
                if let Some(winner) = decision.winner.filter(|_| blocks) {
                    if !matches!(winner.action, BreachAction::Stop) {
                        return Err(unplanned(format!("{} a run instead of stopping it", winner.action)));
                    }
                    stop = Some(Stop { index, at, winner, breaches: decision.breaches });
                } else if !decision.breaches.is_empty() {
                    return Err(unplanned("warn of a breach the generator did not plan".to_owned()));
                }
            }
            let last = at;
            let completed = match (&stop, status) {
                (Some(stop), _) => Some(stop.at),
                (None, RunStatus::Running) => None,
                (None, _) => Some(micros(last + time::Duration::milliseconds(500))),
            };
            let incident_id = stop.as_ref().map(|s| IncidentId::from_uuid(ids.uuid_at(s.at)));
            let termination = match status {
                RunStatus::Succeeded => Some(RunTerminationReason::Completed),
                RunStatus::Failed => Some(RunTerminationReason::Failed),
                RunStatus::FailedPolicy => Some(RunTerminationReason::PolicyBlock),
                RunStatus::Cancelled => Some(RunTerminationReason::Cancelled),
                _ => None,
            };
            let violation =
                stop.as_ref().map(|s| (s.index, s.at, s.winner.policy_id, s.winner.reason.clone()));
            let run = Run {
                run_id,
                tenant_id: self.tenant,
                agent_id: agent.to_owned(),
                goal: Some(format!("generated run {i}")),
                human_actor_id: None,
                domain: None,
                api_key_id: None,
                status,
                started_at: started,
                completed_at: completed,
                tokens_used: tokens,
                input_tokens: input,
                output_tokens: output,
                total_cost_cents: cost,
                step_count: stop_at,
                policy_snapshot_id: self.snapshot_id,
                policy_snapshot_hash: self.snapshot_hash.clone(),
                termination_reason: termination,
                stopped_at_step: violation.as_ref().map(|v| v.0),
                violation_policy_id: violation.as_ref().map(|v| v.2),
                incident_id,
                trace_id,
                head_hash: prev.clone(),
                metadata: json!({"generated": true}),
            };
            b.traces.push(TraceSummary {
                trace_id,
                run_id,
                tenant_id: self.tenant,
                status: status.as_str().to_owned(),
                step_count: stop_at,
                is_synthetic: false,
                agent_id: agent.to_owned(),
                started_at: started,
                completed_at: completed,
                violation_step_index: violation.as_ref().map(|v| v.0),
                violation_timestamp: violation.as_ref().map(|v| v.1),
                violation_policy_id: violation.as_ref().map(|v| v.2),
                violation_reason: violation.as_ref().map(|v| v.3.clone()),
                incident_id,
                head_hash: prev,
            });
            let actor = self.actor.clone();
            self.audit(
                ids,
                &mut b,
                &actor,
                started,
                "run.started",
                "run",
                run_id.to_string(),
                json!({"agent_id": agent, "policy_snapshot_id": self.snapshot_id.to_string(), "policy_count": self.policy_count}),
            );
            if let Some(done) = completed {
                self.attribute_costs(ids, &mut b, first_step, done);
            }
            match (stop, incident_id, completed) {
                (Some(stop), Some(incident_id), _) => {
                    self.stop_run(rng, ids, &mut b, &run, incident_id, stop);
                }
                (_, _, Some(done)) => {
                    let (action, details) = match status {
                        RunStatus::Cancelled => ("run.cancelled", json!({})),
                        _ => ("run.completed", json!({"status": status.as_str()})),
                    };
                    self.audit(ids, &mut b, &actor, done, action, "run", run_id.to_string(), details);
                }
                _ => {}
            }
            b.runs.push(run);
        }
        b.audit.sort_by_key(|a| a.timestamp);
        Ok(b)
    }

    fn signal(
        &self,
        ids: &mut Rng,
        run_id: RunId,
        finding: &Finding,
        kind: SignalType,
        index: i64,
        at: Timestamp,
    ) -> ThresholdSignal {
        let id = SignalId::from_uuid(ids.uuid_at(at));
        crate::steps::signal(id, self.tenant, run_id, finding, kind, index, at)
    }

    /// What run completion attributes: one cost record per model of the run's steps (from
    /// `first_step` in the batch), steps without a model under `unattributed`.
    fn attribute_costs(&self, ids: &mut Rng, b: &mut Batch, first_step: usize, done: Timestamp) {
        let mut by_model: BTreeMap<&str, CostRecord> = BTreeMap::new();
        for step in &b.steps[first_step..] {
            let model = step.model.as_deref().unwrap_or("unattributed");
            let record = by_model.entry(model).or_insert_with(|| CostRecord {
                cost_record_id: CostRecordId::from_uuid(ids.uuid_at(done)),
                tenant_id: self.tenant,
                run_id: step.run_id,
                model: model.to_owned(),
                input_tokens: 0,
                output_tokens: 0,
                tokens: 0,
                cost_cents: 0.0,
                step_count: 0,
                created_at: done,
            });
            record.input_tokens += step.input_tokens;
            record.output_tokens += step.output_tokens;
            record.tokens += step.tokens;
            record.cost_cents += step.cost_cents;
            record.step_count += 1;
        }
        b.costs.extend(by_model.into_values());
    }

    /// What a stopping breach writes besides the step: BREACH signals and prevention records,
    /// the policies' counts, the incident with its events (and the responder's acknowledgement
    /// and resolution, with their audit rows), and the `run.stopped` audit row.
    fn stop_run(
        &self,
        rng: &mut Rng,
        ids: &mut Rng,
        b: &mut Batch,
        run: &Run,
        incident_id: IncidentId,
        stop: Stop,
    ) {
        let Stop { index, at, winner, breaches } = stop;
        for breach in &breaches {
            b.signals.push(self.signal(ids, run.run_id, breach, SignalType::Breach, index, at));
            let is_winner = breach.check_id == winner.check_id;
            b.prevention.push(PreventionRecord {
                record_id: PreventionRecordId::from_uuid(ids.uuid_at(at)),
                tenant_id: self.tenant,
                run_id: run.run_id,
                policy_id: Some(breach.policy_id),
                incident_id: is_winner.then_some(incident_id),
                step_index: index,
                action: breach.action,
                decision: breach.action.outcome(),
                violation_type: breach.violation_type,
                metric: breach.metric.to_owned(),
                current_value: Some(breach.current_value),
                limit_value: breach.limit,
                enforced: is_winner || !breach.action.blocks(),
                reason: breach.reason.clone(),
                created_at: at,
            });
            let counts = b.violations.entry(breach.policy_id).or_default();
            counts.0 += 1;
            counts.1 += i64::from(is_winner);
        }
        let opened = gov_incident::open(
            incident_id,
            &gov_incident::Breach {
                tenant_id: self.tenant,
                run_id: run.run_id,
                trace_id: run.trace_id,
                agent_id: &run.agent_id,
                policy_id: Some(winner.policy_id),
                policy_name: Some(&winner.policy_name),
                violation_type: winner.violation_type,
                severity: winner.severity,
                action: winner.action,
                step_index: index,
                reason: &winner.reason,
            },
            at,
        );
        // One policy has one severity; a tenant's incidents are spread over several.
        let opened = Incident {
            severity: match rng.range(0, 9) {
                0 => Severity::Critical,
                1..=5 => Severity::High,
                6..=8 => Severity::Medium,
                _ => Severity::Low,
            },
            ..opened
        };
        self.event(ids, b, incident_id, IncidentEventKind::Created, "system", &opened.title, at);
        let (ack, resolve) = self.incident_response(rng, at);
        let mut incident = opened;
        let responder = self.responder.clone();
        for (transition, when, note) in [
            (Transition::Acknowledge, ack, None),
            (Transition::Resolve, resolve, Some("limit raised for the agent after review")),
        ] {
            let Some(when) = when else { continue };
            let Ok(next) = gov_incident::apply(&incident, transition, when, note) else { continue };
            let (event, action) = (transition.event_kind(), transition.audit_action());
            self.event(ids, b, incident_id, event, &responder, note.unwrap_or_default(), when);
            self.audit(
                ids,
                b,
                &responder,
                when,
                action,
                "incident",
                incident_id.to_string(),
                json!({ "from": incident.status.as_str(), "to": next.status.as_str(), "note": note }),
            );
            incident = next;
        }
        b.incidents.push(incident);
        self.audit(
            ids,
            b,
            "system",
            at,
            "run.stopped",
            "run",
            run.run_id.to_string(),
            json!({
                "step_index": index,
                "termination_reason": RunTerminationReason::PolicyBlock.as_str(),
                "policy_id": winner.policy_id.to_string(),
                "incident_id": incident_id.to_string(),
                "reason": winner.reason,
            }),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        ids: &mut Rng,
        b: &mut Batch,
        incident_id: IncidentId,
        event: IncidentEventKind,
        actor: &str,
        detail: &str,
        at: Timestamp,
    ) {
        b.events.push(NewIncidentEvent {
            event_id: ids.uuid_at(at),
            event: IncidentEvent {
                incident_id,
                event,
                actor: actor.to_owned(),
                detail: detail.to_owned(),
                timestamp: at,
            },
        });
    }

    /// When an incident opened at `created` is acknowledged and resolved, if it is: older
    /// incidents are mostly resolved, recent ones mostly open; nothing happens after `now`.
    fn incident_response(&self, rng: &mut Rng, created: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
        let age_days = (self.now - created).whole_days();
        let r = rng.unit();
        let (resolved_share, acked_share) = if age_days > 7 { (0.85, 0.95) } else { (0.40, 0.70) };
        let ack = micros(created + time::Duration::minutes(rng.range(1, 60)));
        let res = micros(ack + time::Duration::minutes(rng.range(10, 600)));
        let past = |t: Timestamp| (t <= self.now).then_some(t);
        if r < resolved_share {
            (past(ack), past(ack).and(past(res)))
        } else if r < acked_share {
            (past(ack), None)
        } else {
            (None, None)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        rng: &mut Rng,
        b: &mut Batch,
        actor: &str,
        at: Timestamp,
        action: &str,
        resource_type: &str,
        resource_id: String,
        details: serde_json::Value,
    ) {
        let id = AuditLogId::from_uuid(rng.uuid_at(at));
        let details = details.to_string();
        let log_id = id.to_string();
        let row_hash = audit_chain::row_hash(RowContent {
            tenant_id: self.tenant,
            log_id: &log_id,
            actor_id: actor,
            action,
            resource_type,
            resource_id: &resource_id,
            timestamp: at,
            details: &details,
        });
        b.audit.push(NewAuditRow {
            id,
            actor_id: actor.to_owned(),
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id,
            timestamp: at,
            details,
            row_hash,
        });
    }
}

/// Mixed into the id generator so that two generations into one tenant never share ids.
fn nanos_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl Gov {
    /// Generates a realistic tenant (see the module doc). `progress` is told the runs written so
    /// far after each batch.
    pub fn generate(&self, opts: &GenerateOptions, progress: &mut dyn FnMut(u64)) -> Result<Generated> {
        if opts.runs == 0 {
            return Err(Error::invalid("runs", "must be at least 1"));
        }
        let actor = Actor::cli();
        let tenant = match self.find_tenant(&opts.tenant_name) {
            Ok(t) => t,
            Err(Error::NotFound(_)) => self.create_tenant(&actor, &opts.tenant_name)?.tenant,
            Err(e) => return Err(e),
        };
        let caller = Caller { tenant_id: tenant.id, actor: actor.clone() };
        let key = self.create_api_key(
            &caller,
            NewApiKey {
                name: "generator admin".to_owned(),
                scopes: vec!["admin".to_owned()],
                expires_at: None,
            },
        )?;
        let policy = self.create_policy(
            &caller,
            PolicyDraft {
                name: format!("Token Limit Policy (generated, seed {})", opts.seed),
                rule_type: Some(RuleType::TokenLimit),
                threshold: Some(10_000.0),
                ..Default::default()
            },
        )?;
        let started =
            self.start_run(&caller, None, NewRun { agent_id: "AGT-001".to_owned(), ..Default::default() })?;
        let controls = self.db.read(|c| gov_store::policies::controls(c, tenant.id))?;
        if controls.enforcement_mode != EnforcementMode::Enforce {
            return Err(Error::NotEnforcing { tenant: tenant.name.clone(), mode: controls.enforcement_mode });
        }
        let compiled = self
            .snapshots
            .verified(&started.run, &started.snapshot, None)
            .map_err(|failure| Error::Internal(failure.0))?;
        let token_limit = compiled
            .checks()
            .iter()
            .filter(|c| c.metric() == Some(Metric::Tokens))
            .filter_map(|c| c.limit())
            .min_by(f64::total_cmp)
            .ok_or_else(|| {
                Error::Internal("the generated policy left no token check in the snapshot".into())
            })?;
        let plan = Plan {
            tenant: tenant.id,
            snapshot_id: started.snapshot.snapshot_id,
            snapshot_hash: started.snapshot.content_hash.clone(),
            policy_count: started.snapshot.policy_count,
            compiled,
            token_limit: token_limit.ceil() as i64,
            actor: actor.id.clone(),
            responder: Actor::api_key(
                &gov_model::Principal {
                    tenant_id: tenant.id,
                    api_key_id: key.key.id,
                    scopes: key.key.scopes,
                },
                None,
            )
            .id,
            opts: opts.clone(),
            now: self.clock.now(),
        };
        let (tx, rx) = sync_channel::<Result<Batch>>(2);
        let producer = std::thread::spawn(move || {
            // Contents follow the seed alone; ids also follow the tenant, so a reused tenant (or
            // another tenant of the same database) generated with the same seed gets fresh ids.
            let mut rng = Rng(plan.opts.seed);
            let tenant_bits = plan.tenant.as_uuid().as_u64_pair();
            let mut ids = Rng(plan.opts.seed ^ tenant_bits.0 ^ tenant_bits.1.rotate_left(17) ^ nanos_now());
            let step = plan.opts.batch_runs.max(1);
            let mut from = 0;
            while from < plan.opts.runs {
                let to = (from + step).min(plan.opts.runs);
                let batch = plan.batch(&mut rng, &mut ids, from, to);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
                from = to;
            }
        });
        let mut out = Generated {
            tenant_id: tenant.id,
            tenant_name: tenant.name.clone(),
            admin_key: key.secret.clone(),
            policy_id: policy.policy_id,
            runs: 0,
            steps: 0,
            incidents: 0,
            incident_events: 0,
            cost_records: 0,
            prevention_records: 0,
            signals: 0,
            audit_rows: 0,
        };
        let tenant_id = tenant.id;
        for batch in rx {
            let batch = batch?;
            out.runs += batch.runs.len() as u64;
            out.steps += batch.steps.len() as u64;
            out.incidents += batch.incidents.len() as u64;
            out.incident_events += batch.events.len() as u64;
            out.cost_records += batch.costs.len() as u64;
            out.prevention_records += batch.prevention.len() as u64;
            out.signals += batch.signals.len() as u64;
            out.audit_rows += batch.audit.len() as u64;
            self.db.write(move |c| -> Result<()> {
                bulk::insert_runs(c, &batch.runs)?;
                // Traces and prevention records name their incident (a foreign key): incidents first.
                bulk::insert_incidents(c, &batch.incidents)?;
                bulk::insert_incident_events(c, tenant_id, &batch.events)?;
                bulk::insert_traces(c, &batch.traces)?;
                bulk::insert_steps(c, &batch.steps)?;
                bulk::insert_costs(c, &batch.costs)?;
                bulk::insert_signals(c, &batch.signals)?;
                bulk::insert_prevention(c, &batch.prevention)?;
                for (policy, (violations, incidents)) in &batch.violations {
                    bulk::add_violations(c, tenant_id, *policy, *violations, *incidents)?;
                }
                bulk::append_audit(c, tenant_id, batch.audit)?;
                Ok(())
            })?;
            progress(out.runs);
        }
        producer.join().map_err(|_| Error::Internal("the generator's producer thread panicked".into()))?;
        // The rollups count what the bulk writes bypassed; fresh statistics let the planners
        // choose the indexes a large tenant needs.
        self.rebuild_rollups(tenant_id)?;
        match self.db.backend() {
            gov_store::Backend::Sqlite => self.db.write(|c| Ok::<_, Error>(bulk::analyze(c)?))?,
            gov_store::Backend::Postgres => self.db.read(|c| Ok::<_, Error>(bulk::analyze(c)?))?,
        }
        Ok(out)
    }
}
