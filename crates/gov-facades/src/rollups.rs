//! Keeps the hourly rollups (`gov_store::rollups`) in step with the rows they count, in the same
//! transaction: a run's end (its totals, duration bin, cost records and, for a run a breach
//! stopped, its cost-stopped terms), the first human answer to a stopping incident, and every
//! signal, enforced block and incident of a policy. The rebuild recomputes a tenant's rollups from
//! its rows (after the migration that added them, and after the generator's bulk writes).
//!
//! Invariant: for every whole hour, the rollups equal what the rows of that hour sum to; the
//! readers (`analytics.rs`, `overview.rs`) add the ragged ends of a range and the runs that have
//! not ended from the rows themselves.

use std::collections::BTreeMap;

use gov_insight::rollup::{self as calc, StopRate};
use gov_model::{
    CostRecord, Incident, IncidentEventKind, IncidentId, PreventionRecord, Run, RunStatus, SignalType,
    TenantId, ThresholdSignal, Timestamp,
};
use gov_store::analytics::{self as agg, Range};
use gov_store::rollups::{
    self as store, CostRollup, DurationRollup, IncidentRollup, PolicyRollup, RunRollup,
};
use gov_store::{Conn, evidence, incidents, runs};

use crate::{Gov, Result};

/// Folds a stopped run's cost-stopped terms into `row` (the row of the hour the run started).
fn add_stop(
    row: &mut RunRollup,
    cost_cents: f64,
    started_at: Timestamp,
    stop_at: Timestamp,
    first_response: Option<Timestamp>,
) {
    match first_response {
        Some(answer) => {
            row.stop_answered_cents +=
                gov_evidence::run_cost_stopped_cents(cost_cents, started_at, stop_at, answer);
        }
        None => {
            let rate = StopRate::new(cost_cents, started_at, stop_at);
            row.stop_open_rate += rate.cents_per_second;
            row.stop_open_rate_offset += rate.cents_per_second * rate.offset_in(row.hour);
        }
    }
}

fn run_row(run: &Run) -> RunRollup {
    RunRollup {
        hour: calc::hour_of(run.started_at),
        agent_id: run.agent_id.clone(),
        status: run.status.as_str().to_owned(),
        policy_snapshot_id: run.policy_snapshot_id.to_string(),
        ..RunRollup::default()
    }
}

/// A run has just ended (`run` holds its final fields; `costs` are its cost records).
pub(crate) fn run_ended(c: &mut Conn<'_>, run: &Run, costs: &[CostRecord]) -> Result<()> {
    let tenant = run.tenant_id;
    let duration = run.completed_at.map(|end| (end - run.started_at).as_seconds_f64());
    let mut row = run_row(run);
    row.runs = 1;
    row.steps = run.step_count;
    row.tokens = run.tokens_used;
    row.cost_cents = run.total_cost_cents;
    row.duration_seconds = duration.unwrap_or(0.0);
    row.timed = i64::from(duration.is_some());
    if run.status == RunStatus::FailedPolicy
        && let Some(incident) = run.incident_id
        && let (Some(stop_at), answer) = agg::stop_facts(c, tenant, run.run_id, incident)?
    {
        add_stop(&mut row, run.total_cost_cents, run.started_at, stop_at, answer);
    }
    store::add_runs(c, tenant, &[row])?;
    if let Some(seconds) = duration {
        let bin = DurationRollup {
            hour: calc::hour_of(run.started_at),
            agent_id: run.agent_id.clone(),
            bin: calc::duration_bin(seconds),
            runs: 1,
        };
        store::add_durations(c, tenant, &[bin])?;
    }
    let first = costs.iter().map(|r| r.model.as_str()).min();
    let rows: Vec<CostRollup> = costs
        .iter()
        .map(|r| CostRollup {
            hour: calc::hour_of(r.created_at),
            agent_id: run.agent_id.clone(),
            model: r.model.clone(),
            cost_cents: r.cost_cents,
            tokens: r.tokens,
            records: 1,
            runs: i64::from(Some(r.model.as_str()) == first),
        })
        .collect();
    store::add_costs(c, tenant, &rows)?;
    Ok(())
}

/// Writes an incident event. The first event by someone other than the system answers the
/// incident: a run it stopped stops counting as unanswered in the cost-stopped estimate.
pub(crate) fn record_incident_event(
    c: &mut Conn<'_>,
    tenant: TenantId,
    id: IncidentId,
    event: IncidentEventKind,
    actor: &str,
    detail: &str,
    now: Timestamp,
) -> Result<()> {
    let answers = event.answers(actor);
    let first = if answers {
        incidents::lock(c, tenant, id)?;
        !incidents::answered(c, tenant, id)?
    } else {
        false
    };
    incidents::record_event(c, tenant, id, event, actor, detail, now)?;
    if !first {
        return Ok(());
    }
    let incident = incidents::get(c, tenant, id)?;
    let Some(run_id) = incident.source_run_id else { return Ok(()) };
    let run = match runs::get_with_overrides(c, tenant, run_id) {
        Ok(locked) => locked.run,
        Err(gov_store::StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if run.status != RunStatus::FailedPolicy || run.incident_id != Some(id) {
        return Ok(());
    }
    let (Some(stop_at), Some(answer)) = agg::stop_facts(c, tenant, run_id, id)? else { return Ok(()) };
    // Out of the open terms, into the answered sum.
    let mut open = run_row(&run);
    add_stop(&mut open, run.total_cost_cents, run.started_at, stop_at, None);
    let mut row = run_row(&run);
    row.stop_open_rate = -open.stop_open_rate;
    row.stop_open_rate_offset = -open.stop_open_rate_offset;
    add_stop(&mut row, run.total_cost_cents, run.started_at, stop_at, Some(answer));
    store::add_runs(c, tenant, &[row])?;
    Ok(())
}

fn policy_row(policy_id: String, agent_id: &str, kind: &'static str, at: Timestamp) -> PolicyRollup {
    PolicyRollup {
        hour: calc::hour_of(at),
        policy_id,
        agent_id: agent_id.to_owned(),
        kind,
        n: 1,
        last_at: at,
    }
}

/// Writes a threshold signal of a run of `agent_id`.
pub(crate) fn insert_signal(c: &mut Conn<'_>, agent_id: &str, signal: &ThresholdSignal) -> Result<()> {
    evidence::insert_signal(c, signal)?;
    let kind = match signal.signal_type {
        SignalType::Near => "NEAR",
        SignalType::Breach => "BREACH",
    };
    let row = policy_row(signal.policy_id.to_string(), agent_id, kind, signal.created_at);
    store::add_policy(c, signal.tenant_id, &[row])?;
    Ok(())
}

/// Writes a prevention record of a run of `agent_id`; an enforced block of a policy counts.
pub(crate) fn insert_prevention(c: &mut Conn<'_>, agent_id: &str, record: &PreventionRecord) -> Result<()> {
    evidence::insert_prevention(c, record)?;
    if let Some(policy) = record.policy_id
        && record.decision == gov_model::Outcome::Block
        && record.enforced
    {
        let row = policy_row(policy.to_string(), agent_id, "BLOCK", record.created_at);
        store::add_policy(c, record.tenant_id, &[row])?;
    }
    Ok(())
}

/// What `incident` adds to its row of the incident rollups (`sign` 1), or takes from it (-1).
fn incident_row(incident: &Incident, sign: i64) -> IncidentRollup {
    let since = |t: Option<Timestamp>| t.map(|t| (t - incident.created_at).as_seconds_f64());
    let (ack, res) = (since(incident.acknowledged_at), since(incident.resolved_at));
    IncidentRollup {
        hour: calc::hour_of(incident.created_at),
        status: incident.status.as_str().to_owned(),
        severity: incident.severity.as_str().to_owned(),
        incident_type: incident.incident_type.clone(),
        n: sign,
        acknowledged: sign * i64::from(ack.is_some()),
        resolved: sign * i64::from(res.is_some()),
        ack_seconds: sign as f64 * ack.unwrap_or(0.0),
        resolve_seconds: sign as f64 * res.unwrap_or(0.0),
    }
}

/// Saves an incident after a lifecycle transition from `before` (read under its lock): its old
/// terms leave the incident rollups and its new ones enter.
pub(crate) fn save_incident(c: &mut Conn<'_>, before: &Incident, after: &Incident) -> Result<()> {
    incidents::save(c, after)?;
    store::add_incidents(c, after.tenant_id, &[incident_row(before, -1), incident_row(after, 1)])?;
    Ok(())
}

/// Writes an incident (of a run of `agent_id`, or `""` without a run); one naming a policy counts.
pub(crate) fn insert_incident(c: &mut Conn<'_>, agent_id: &str, incident: &Incident) -> Result<()> {
    incidents::insert(c, incident)?;
    // `policy_rollups` before `incident_rollups`: the rollup tables' lock order (gov-store rollups).
    if let Some(policy) = incident.policy_id {
        let row = policy_row(policy.to_string(), agent_id, "incident", incident.created_at);
        store::add_policy(c, incident.tenant_id, &[row])?;
    }
    store::add_incidents(c, incident.tenant_id, &[incident_row(incident, 1)])?;
    Ok(())
}

/// Recomputes every rollup of `tenant` from its rows.
pub(crate) fn rebuild(c: &mut Conn<'_>, tenant: TenantId, now: Timestamp) -> Result<()> {
    store::lock_for_rebuild(c)?;
    store::clear(c, tenant)?;
    store::rebuild_runs(c, tenant)?;
    let mut bins: BTreeMap<(i64, String, i32), i64> = BTreeMap::new();
    for d in store::ended_durations(c, tenant)? {
        *bins.entry((d.hour, d.agent_id, calc::duration_bin(d.seconds))).or_default() += 1;
    }
    let bins: Vec<DurationRollup> = bins
        .into_iter()
        .map(|((hour, agent_id, bin), runs)| DurationRollup { hour, agent_id, bin, runs })
        .collect();
    store::add_durations(c, tenant, &bins)?;
    let everything = Range {
        from: Timestamp::UNIX_EPOCH,
        to: now + time::Duration::days(36_500),
        agent_id: None,
        live_only: false,
    };
    let mut stops: BTreeMap<(i64, String, String), RunRollup> = BTreeMap::new();
    for run in agg::stopped_runs(c, tenant, &everything)? {
        let Some(stop_at) = run.stop_at() else { continue };
        let hour = calc::hour_of(run.started_at());
        let row =
            stops.entry((hour, run.agent_id.clone(), run.policy_snapshot_id.clone())).or_insert_with(|| {
                RunRollup {
                    hour,
                    agent_id: run.agent_id.clone(),
                    status: RunStatus::FailedPolicy.as_str().to_owned(),
                    policy_snapshot_id: run.policy_snapshot_id.clone(),
                    ..RunRollup::default()
                }
            });
        add_stop(row, run.cost_cents, run.started_at(), stop_at, run.first_response());
    }
    store::add_runs(c, tenant, &stops.into_values().collect::<Vec<_>>())?;
    store::rebuild_costs(c, tenant)?;
    store::rebuild_policy(c, tenant)?;
    store::rebuild_incidents(c, tenant)?;
    Ok(())
}

impl Gov {
    /// Recomputes the rollups of `tenant` from its rows (after bulk writes).
    pub fn rebuild_rollups(&self, tenant: TenantId) -> Result<()> {
        let now = self.clock.now();
        self.db.write(move |c| rebuild(c, tenant, now))
    }

    /// Builds the rollups of every tenant once, after the migration that added them; `true` when
    /// this call built them. Replicas starting together build them once: the others wait for the
    /// rollup tables' lock, then find nothing left to do.
    pub fn backfill_rollups(&self) -> Result<bool> {
        let now = self.clock.now();
        // Every start-up asks; only the first after the migration takes the lock.
        if !self.db.read(store::backfill_pending)? {
            return Ok(false);
        }
        self.db.write(move |c| {
            store::lock_for_rebuild(c)?;
            if !store::backfill_pending(c)? {
                return Ok(false);
            }
            for tenant in store::tenants_with_rows(c)? {
                rebuild(c, tenant, now)?;
            }
            store::backfill_done(c)?;
            Ok(true)
        })
    }
}

/// A range cut for reading: the ragged ends read from the rows (`raw`), the whole hours read from
/// the rollups (`hours`), and the same hours again as a range of rows (`span`), for the runs that
/// have not ended (which the rollups do not hold yet) and the rows the rollups do not count.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub raw: Vec<Range>,
    pub hours: Option<store::Hours>,
    pub span: Option<Range>,
}

impl Parts {
    pub(crate) fn of(range: &Range) -> Parts {
        let split = calc::split_hours(range.from, range.to);
        let part = |(from, to): (Timestamp, Timestamp), live_only: bool| Range {
            from,
            to,
            agent_id: range.agent_id.clone(),
            live_only,
        };
        Parts {
            raw: split.raw().map(|p| part(p, false)).collect(),
            hours: split.hours.clone().map(|h| store::Hours {
                from: h.start,
                to: h.end,
                agent_id: range.agent_id.clone(),
            }),
            span: split.hours.map(|h| part((calc::hour_start(h.start), calc::hour_start(h.end)), false)),
        }
    }

    /// `span` restricted to the runs that have not ended.
    pub(crate) fn live(&self) -> Option<Range> {
        self.span.clone().map(|r| Range { live_only: true, ..r })
    }
}

/// The cost-stopped estimate of a rollup group: the answered sum and the open terms at `now`.
pub(crate) fn cost_stopped(g: &store::RunRollupGroup, now: Timestamp) -> f64 {
    g.stop_answered_cents
        + calc::open_cost_stopped(g.stop_open_rate, g.stop_open_rate_hours, g.stop_open_rate_offset, now)
}
