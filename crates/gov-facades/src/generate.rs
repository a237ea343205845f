//! The realistic-tenant generator behind `cargo xtask generate`: a tenant, its admin key, a token
//! limit policy and one real run are made through the facades (so the policy snapshot is real);
//! then runs, traces, chained steps, incidents and audit rows are bulk-written in batches, one
//! transaction per batch, while a producer thread builds the next batches. Everything is
//! deterministic for a seed except the tenant, key, policy and snapshot ids.

use std::sync::mpsc::sync_channel;

use gov_evidence::chain;
use gov_model::{
    Actor, AuditLogId, Incident, IncidentId, IncidentStatus, PolicyId, RuleType, Run, RunId, RunStatus,
    RunTerminationReason, Severity, StepId, TenantId, Timestamp, TraceId, TraceStep, TraceSummary,
};
use gov_store::audit::NewAuditRow;
use gov_store::bulk;
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
    pub audit_rows: u64,
}

/// One batch of rows, written in one transaction.
#[derive(Default)]
struct Batch {
    runs: Vec<Run>,
    traces: Vec<TraceSummary>,
    steps: Vec<TraceStep>,
    incidents: Vec<Incident>,
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
    policy: PolicyId,
    snapshot_id: gov_model::SnapshotId,
    snapshot_hash: String,
    actor: String,
    opts: GenerateOptions,
    now: Timestamp,
}

impl Plan {
    /// Builds the rows of runs `from..to`.
    fn batch(&self, rng: &mut Rng, ids: &mut Rng, from: u64, to: u64) -> Batch {
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
            let status = if violates {
                RunStatus::FailedPolicy
            } else if r < 0.90 {
                RunStatus::Succeeded
            } else if r < 0.95 {
                RunStatus::Failed
            } else if r < 0.98 {
                RunStatus::Cancelled
            } else {
                RunStatus::Running
            };
            let run_id = RunId::from_uuid(ids.uuid_at(started));
            let trace_id = TraceId::from_uuid(ids.uuid_at(started));
            let n_steps = i64::from(o.steps_per_run);
            let stop_at = if violates { rng.range(1, n_steps.max(1)) } else { n_steps };
            let incident_id = violates.then(|| IncidentId::from_uuid(Uuid::nil()));
            let mut prev = chain::genesis(trace_id);
            let (mut tokens, mut input, mut output, mut cost) = (0i64, 0i64, 0i64, 0.0f64);
            let mut at = started;
            let mut last = started;
            let mut violation_at = None;
            for index in 1..=stop_at {
                at = micros(at + time::Duration::milliseconds(rng.range(200, 4_000)));
                last = at;
                let step_type = STEP_TYPES[((index - 1) as usize) % STEP_TYPES.len()];
                let is_llm = step_type == "llm_call" || step_type == "policy_check";
                let (inp, out) = if is_llm {
                    (rng.range(200, 2_000), rng.range(100, 1_500))
                } else {
                    (rng.range(0, 300), 0)
                };
                let step_cost =
                    if is_llm { ((inp + out) as f64 * 0.003 * 100.0).round() / 100.0 } else { 0.0 };
                let blocked = violates && index == stop_at;
                let mut step = TraceStep {
                    step_id: StepId::from_uuid(ids.uuid_at(at)),
                    trace_id,
                    run_id,
                    tenant_id: self.tenant,
                    step_index: index,
                    step_type: step_type.to_owned(),
                    level: "info".to_owned(),
                    source: "agent".to_owned(),
                    timestamp: at,
                    tokens: inp + out,
                    input_tokens: inp,
                    output_tokens: out,
                    cost_cents: step_cost,
                    duration_ms: rng.range(20, 3_000),
                    model: is_llm.then(|| MODELS[rng.range(0, MODELS.len() as i64 - 1) as usize].to_owned()),
                    retrieved_documents: if step_type == "retrieval" { rng.range(1, 12) } else { 0 },
                    content_hash: None,
                    decision: if blocked { "BLOCK" } else { "ALLOW" }.to_owned(),
                    decision_policy_id: blocked.then_some(self.policy),
                    decision_reason: blocked
                        .then(|| "token_limit exceeded: run tokens over 10000".to_owned()),
                    prev_hash: prev,
                    chain_hash: String::new(),
                };
                step.chain_hash = chain::chain_hash(&step);
                prev = step.chain_hash.clone();
                tokens += step.tokens;
                input += inp;
                output += out;
                cost += step_cost;
                if blocked {
                    violation_at = Some(at);
                }
                b.steps.push(step);
            }
            let completed =
                (status != RunStatus::Running).then(|| micros(last + time::Duration::milliseconds(500)));
            let incident_id =
                incident_id.map(|_| IncidentId::from_uuid(ids.uuid_at(violation_at.unwrap_or(last))));
            let termination = match status {
                RunStatus::Succeeded => Some(RunTerminationReason::Completed),
                RunStatus::Failed => Some(RunTerminationReason::Failed),
                RunStatus::FailedPolicy => Some(RunTerminationReason::BudgetExceeded),
                RunStatus::Cancelled => Some(RunTerminationReason::Cancelled),
                _ => None,
            };
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
                stopped_at_step: violates.then_some(stop_at),
                violation_policy_id: violates.then_some(self.policy),
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
                violation_step_index: violates.then_some(stop_at),
                violation_timestamp: violation_at,
                violation_policy_id: violates.then_some(self.policy),
                violation_reason: violates.then(|| "token_limit exceeded: run tokens over 10000".to_owned()),
                incident_id,
                head_hash: prev,
            });
            self.audit(
                ids,
                &mut b,
                started,
                "run.started",
                "run",
                run_id.to_string(),
                json!({"agent_id": agent, "policy_snapshot_id": self.snapshot_id.to_string(), "policy_count": 1}),
            );
            if let (Some(incident_id), Some(created)) = (incident_id, violation_at) {
                let (status, acked, resolved) = self.incident_status(rng, created);
                b.incidents.push(Incident {
                    incident_id,
                    tenant_id: self.tenant,
                    source_run_id: Some(run_id),
                    policy_id: Some(self.policy),
                    trace_id: Some(trace_id),
                    severity: match rng.range(0, 9) {
                        0 => Severity::Critical,
                        1..=5 => Severity::High,
                        6..=8 => Severity::Medium,
                        _ => Severity::Low,
                    },
                    status,
                    incident_type: "token_limit_exceeded".to_owned(),
                    title: format!("Token Limit Policy breached by {agent}"),
                    description: format!("run {run_id} exceeded the token limit at step {stop_at}"),
                    step_index: Some(stop_at),
                    escalation_level: 0,
                    created_at: created,
                    acknowledged_at: acked,
                    escalated_at: None,
                    resolved_at: resolved,
                    resolution: resolved.map(|_| "limit raised for the agent after review".to_owned()),
                });
                self.audit(
                    ids,
                    &mut b,
                    created,
                    "incident.created",
                    "incident",
                    incident_id.to_string(),
                    json!({"run_id": run_id.to_string(), "policy_id": self.policy.to_string()}),
                );
            }
            if let Some(done) = completed {
                self.audit(
                    ids,
                    &mut b,
                    done,
                    "run.completed",
                    "run",
                    run_id.to_string(),
                    json!({"status": status.as_str()}),
                );
            }
            b.runs.push(run);
        }
        b.audit.sort_by_key(|a| a.timestamp);
        b
    }

    /// Older incidents are mostly resolved, recent ones mostly open.
    fn incident_status(
        &self,
        rng: &mut Rng,
        created: Timestamp,
    ) -> (IncidentStatus, Option<Timestamp>, Option<Timestamp>) {
        let age_days = (self.now - created).whole_days();
        let r = rng.unit();
        let (resolved_share, acked_share) = if age_days > 7 { (0.85, 0.95) } else { (0.40, 0.70) };
        let ack = micros(created + time::Duration::minutes(rng.range(1, 60)));
        let res = micros(ack + time::Duration::minutes(rng.range(10, 600)));
        let clamp = |t: Timestamp| if t > self.now { micros(self.now) } else { t };
        if r < resolved_share {
            (IncidentStatus::Resolved, Some(clamp(ack)), Some(clamp(res)))
        } else if r < acked_share {
            (IncidentStatus::Acknowledged, Some(clamp(ack)), None)
        } else {
            (IncidentStatus::Active, None, None)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &self,
        rng: &mut Rng,
        b: &mut Batch,
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
            actor_id: &self.actor,
            action,
            resource_type,
            resource_id: &resource_id,
            timestamp: at,
            details: &details,
        });
        b.audit.push(NewAuditRow {
            id,
            actor_id: self.actor.clone(),
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
        let plan = Plan {
            tenant: tenant.id,
            policy: policy.policy_id,
            snapshot_id: started.snapshot.snapshot_id,
            snapshot_hash: started.snapshot.content_hash.clone(),
            actor: actor.id.clone(),
            opts: opts.clone(),
            now: self.clock.now(),
        };
        let (tx, rx) = sync_channel::<Batch>(2);
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
                if tx.send(plan.batch(&mut rng, &mut ids, from, to)).is_err() {
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
            audit_rows: 0,
        };
        let tenant_id = tenant.id;
        for batch in rx {
            out.runs += batch.runs.len() as u64;
            out.steps += batch.steps.len() as u64;
            out.incidents += batch.incidents.len() as u64;
            out.audit_rows += batch.audit.len() as u64;
            self.db.write(move |c| -> Result<()> {
                bulk::insert_runs(c, &batch.runs)?;
                // Traces name their incident (a foreign key): incidents first.
                bulk::insert_incidents(c, &batch.incidents)?;
                bulk::insert_traces(c, &batch.traces)?;
                bulk::insert_steps(c, &batch.steps)?;
                bulk::append_audit(c, tenant_id, batch.audit)?;
                Ok(())
            })?;
            progress(out.runs);
        }
        producer.join().map_err(|_| Error::Internal("the generator's producer thread panicked".into()))?;
        Ok(out)
    }
}
