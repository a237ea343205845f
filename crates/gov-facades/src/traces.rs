//! Traces: listing, detail with chain integrity, steps, and replay of the recorded steps against
//! the recorded snapshot.

use gov_model::{
    Page, PageRequest, PolicyId, Run, SortDirection, TenantId, Timestamp, TraceId, TraceStep, TraceSummary,
};
use gov_prevention::{Outcome, PolicyOverride, RunState, StepSignals};
use gov_store::traces::{self, TraceFilter};
use gov_store::{Conn, evidence, runs, snapshots};

use crate::error::OrNotFound;
use crate::snapshot_cache::IntegrityFailure;
use crate::{Gov, Result};
use gov_evidence::chain::{self, ChainIntegrity, Depth};

/// A trace with its run and the result of re-walking its hash chain.
#[derive(Debug, Clone)]
pub struct TraceDetail {
    pub trace: TraceSummary,
    pub run: Run,
    pub integrity: ChainIntegrity,
}

/// One step of a replay.
#[derive(Debug, Clone)]
pub struct ReplayStep {
    pub step_index: i64,
    pub step_type: String,
    pub timestamp: Timestamp,
    /// Seconds since the run started.
    pub offset_seconds: f64,
    pub tokens: i64,
    pub cumulative_tokens: i64,
    pub cost_cents: f64,
    pub cumulative_cost_cents: f64,
    pub recorded_decision: Outcome,
    pub replayed_decision: Outcome,
    pub matches: bool,
    pub policy_id: Option<PolicyId>,
    pub reason: Option<String>,
}

/// Where the run was stopped, as recorded and as replayed.
#[derive(Debug, Clone)]
pub struct InflectionPoint {
    pub step_index: i64,
    pub timestamp: Timestamp,
    pub offset_seconds: f64,
    pub policy_id: Option<PolicyId>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Replay {
    pub trace: TraceSummary,
    pub run: Run,
    pub integrity: ChainIntegrity,
    /// Whether the snapshot still hashes to what the run recorded (replay is meaningless otherwise).
    pub snapshot_verified: bool,
    pub duration_seconds: f64,
    pub timeline: Vec<ReplayStep>,
    pub recorded_inflection: Option<InflectionPoint>,
    pub replayed_inflection: Option<InflectionPoint>,
    /// Every step's decision and the inflection point come out the same.
    pub verdict_reproduces: bool,
    pub notes: Vec<String>,
}

fn offset(run: &Run, t: Timestamp) -> f64 {
    (t - run.started_at).as_seconds_f64()
}

impl Gov {
    pub fn list_traces(
        &self,
        tenant: TenantId,
        filter: &TraceFilter,
        page: PageRequest,
        direction: SortDirection,
    ) -> Result<Page<TraceSummary>> {
        Ok(self.db.read(|c| traces::list(c, tenant, filter, page, direction))?)
    }

    /// The trace, its run, and whether its chain is intact up to the run's recorded head. For a
    /// live run the count and head come from the run (the trace row is finalised at the end).
    /// At `Depth::Incremental` only what the trace's verification marker leaves unverified, and
    /// the newest steps, are re-hashed (`gov_evidence::chain::verify_read`); a verified chain
    /// then moves the marker to its head.
    pub fn get_trace(&self, tenant: TenantId, id: TraceId, depth: Depth) -> Result<TraceDetail> {
        let (detail, marker) = self.db.read(|c| {
            // The marker first: it was written from a count read before it, and a run's count
            // only grows, so the run read next reaches at least as far (no false truncation).
            let marker = traces::verification(c, tenant, id)?;
            let (trace, run) = trace_and_run(c, tenant, id)?;
            let integrity =
                chain::verify_read(id, depth, marker.as_ref(), &run.head_hash, run.step_count, |from| {
                    traces::steps_from(c, tenant, id, from.unwrap_or(i64::MIN))
                })?;
            let advanced = chain::advance(marker.as_ref(), &integrity, self.clock.now());
            Ok::<_, crate::Error>((TraceDetail { trace, run, integrity }, advanced))
        })?;
        if let Some(marker) = marker {
            // An optimisation only: the answer stands if the marker cannot be written.
            if let Err(e) = self.db.write(move |c| traces::advance_verification(c, tenant, id, &marker)) {
                tracing::warn!(trace_id = %id, error = %e, "could not move the trace's verification marker");
            }
        }
        Ok(detail)
    }

    pub fn trace_steps(&self, tenant: TenantId, id: TraceId, page: PageRequest) -> Result<Page<TraceStep>> {
        self.db.read(|c| {
            traces::get(c, tenant, id).or_not_found("trace")?;
            Ok(traces::steps(c, tenant, id, page)?)
        })
    }

    /// Re-evaluates the recorded steps, in order, against the recorded snapshot and overrides.
    pub fn replay_trace(&self, tenant: TenantId, id: TraceId) -> Result<Replay> {
        let (detail, steps, snapshot, overrides) = self.db.read(|c| {
            let (detail, steps) = trace_detail(c, tenant, id)?;
            let snapshot = snapshots::get(c, tenant, detail.run.policy_snapshot_id)?;
            let overrides = evidence::overrides_of(c, tenant, detail.run.run_id)?;
            Ok::<_, crate::Error>((detail, steps, snapshot, overrides))
        })?;
        let TraceDetail { trace, run, integrity } = detail;
        let mut notes = Vec::new();
        let compiled = match self.snapshots.verified(&run, &snapshot, None) {
            Ok(compiled) => Some(compiled),
            Err(IntegrityFailure(reason)) => {
                notes.push(reason);
                None
            }
        };
        if compiled.as_ref().is_some_and(|c| c.rate_checks().next().is_some()) {
            notes.push(
                "rate_limit checks count steps of other runs too; they are replayed with this run's steps only".into(),
            );
        }
        let mut timeline = Vec::with_capacity(steps.len());
        let (mut tokens, mut cost) = (0_i64, 0.0_f64);
        for (i, step) in steps.iter().enumerate() {
            // The same inputs as the step path's, from the recorded step and the run's totals then.
            let state = RunState {
                tokens_used: tokens,
                total_cost_cents: cost,
                step_count: i as i64,
                ..RunState::of(&run, step.timestamp)
            };
            let active: Vec<PolicyOverride> = overrides
                .iter()
                .filter(|o| o.created_at <= step.timestamp)
                .map(PolicyOverride::from)
                .collect();
            let signals = StepSignals::of(step);
            let (replayed, policy_id, reason) = match &compiled {
                Some(compiled) => {
                    let d = gov_prevention::evaluate_step(compiled, &state, &signals, &[], &active);
                    let winner = d.winner.as_ref().or(d.near.first());
                    (d.outcome, winner.map(|w| w.policy_id), winner.map(|w| w.reason.clone()))
                }
                None => (Outcome::Block, None, Some("snapshot failed verification".to_owned())),
            };
            tokens += step.tokens;
            cost += step.cost_cents;
            // A shadow-mode step was answered ALLOW but recorded the policy that would have blocked.
            let shadow_block = step.decision == Outcome::Allow && step.decision_policy_id.is_some();
            let matches = replayed == step.decision || (shadow_block && replayed == Outcome::Block);
            timeline.push(ReplayStep {
                step_index: step.step_index,
                step_type: step.step_type.clone(),
                timestamp: step.timestamp,
                offset_seconds: offset(&run, step.timestamp),
                tokens: step.tokens,
                cumulative_tokens: tokens,
                cost_cents: step.cost_cents,
                cumulative_cost_cents: cost,
                recorded_decision: step.decision,
                replayed_decision: replayed,
                matches,
                policy_id,
                reason,
            });
        }
        let recorded_inflection = trace.violation_step_index.map(|index| InflectionPoint {
            step_index: index,
            timestamp: trace.violation_timestamp.unwrap_or(run.started_at),
            offset_seconds: trace.violation_timestamp.map_or(0.0, |t| offset(&run, t)),
            policy_id: trace.violation_policy_id,
            reason: trace.violation_reason.clone(),
        });
        let replayed_inflection =
            timeline.iter().find(|s| s.replayed_decision == Outcome::Block).map(|s| InflectionPoint {
                step_index: s.step_index,
                timestamp: s.timestamp,
                offset_seconds: s.offset_seconds,
                policy_id: s.policy_id,
                reason: s.reason.clone(),
            });
        let stopped_at = recorded_inflection.as_ref().map(|p| p.step_index);
        let verdict_reproduces = compiled.is_some()
            && timeline.iter().all(|s| s.matches)
            && (stopped_at.is_none() || stopped_at == replayed_inflection.as_ref().map(|p| p.step_index));
        let end = run.completed_at.or(steps.last().map(|s| s.timestamp)).unwrap_or(run.started_at);
        Ok(Replay {
            duration_seconds: offset(&run, end),
            trace,
            snapshot_verified: compiled.is_some(),
            run,
            integrity,
            timeline,
            recorded_inflection,
            replayed_inflection,
            verdict_reproduces,
            notes,
        })
    }
}

/// The trace with its run's count and head (the trace row is finalised only at the end).
fn trace_and_run(c: &mut Conn<'_>, tenant: TenantId, id: TraceId) -> Result<(TraceSummary, Run)> {
    let mut trace = traces::get(c, tenant, id).or_not_found("trace")?;
    let run = runs::get(c, tenant, trace.run_id)?;
    trace.step_count = run.step_count;
    trace.head_hash = run.head_hash.clone();
    Ok((trace, run))
}

/// A trace with its run, every step and the full walk of its chain, on one connection.
fn trace_detail(c: &mut Conn<'_>, tenant: TenantId, id: TraceId) -> Result<(TraceDetail, Vec<TraceStep>)> {
    let marker = traces::verification(c, tenant, id)?;
    let (trace, run) = trace_and_run(c, tenant, id)?;
    let steps = traces::all_steps(c, tenant, id)?;
    let integrity = chain::verify_marked(id, &steps, &run.head_hash, run.step_count, marker.as_ref());
    Ok((TraceDetail { trace, run, integrity }, steps))
}
