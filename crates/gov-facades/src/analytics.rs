//! Analytics read models (seed 000 §2): cost intelligence, policies usage and productivity over
//! a time range. The store groups in the database; `gov_insight::analytics` does the arithmetic.

use std::collections::BTreeMap;

use gov_insight::analytics::{self as calc, Bucket, RangeError, RunTally, Window};
use gov_insight::rollup as hours;
use gov_model::{RunStatus, TenantId, Timestamp};
use gov_store::analytics::{self as agg, Buckets, Range, RunGroup};
use gov_store::analytics::{CostCell, PolicyCell};
pub use gov_store::analytics::{CostGroup, RunCost};
use gov_store::rollups::{self as rollup, RunKey};
use gov_store::{Conn, StoreError};
use time::Duration;

use crate::rollups::{Parts, cost_stopped as rollup_cost_stopped};
use crate::{Error, Gov, Result};

/// Up to this many ended runs in range, p50/p95 durations are read exactly from the runs; above
/// it they are estimated from the rollups' duration histogram (bins about 19% wide).
pub const EXACT_PERCENTILES_UP_TO: i64 = 20_000;

/// Cost records in range per (bucket, agent, model): the whole hours from the rollups, the ragged
/// ends from the records, each in one pass.
fn cost_cells(c: &mut Conn<'_>, tenant: TenantId, range: &Range, buckets: Buckets) -> Result<Vec<CostCell>> {
    in_parts(
        c,
        range,
        false,
        |c, r| agg::cost_cells(c, tenant, r, buckets),
        |c, h| rollup::cost_cells(c, tenant, h, buckets),
    )
}

/// A range read in its parts (`Parts::of`): `raw` over its ragged ends (and, with `live`, over
/// the runs of its whole hours that have not ended), `hours` over its whole hours' rollups.
fn in_parts<T>(
    c: &mut Conn<'_>,
    range: &Range,
    live: bool,
    raw: impl Fn(&mut Conn<'_>, &Range) -> std::result::Result<Vec<T>, StoreError>,
    hours: impl Fn(&mut Conn<'_>, &rollup::Hours) -> std::result::Result<Vec<T>, StoreError>,
) -> Result<Vec<T>> {
    let parts = Parts::of(range);
    let live = if live { parts.live() } else { None };
    let mut found = Vec::new();
    for r in parts.raw.iter().chain(live.iter()) {
        found.extend(raw(c, r)?);
    }
    if let Some(h) = &parts.hours {
        found.extend(hours(c, h)?);
    }
    Ok(found)
}

/// Cells folded into groups by `key`, most expensive first (ties by key); `runs` as `runs_of` counts.
fn fold_costs(
    cells: &[CostCell],
    key: impl Fn(&CostCell) -> &str,
    runs_of: impl Fn(&CostCell) -> i64,
) -> Vec<CostGroup> {
    let mut merged: BTreeMap<&str, CostGroup> = BTreeMap::new();
    for cell in cells {
        let k = key(cell);
        let g = merged.entry(k).or_insert_with(|| CostGroup {
            key: k.to_owned(),
            cost_cents: 0.0,
            tokens: 0,
            runs: 0,
        });
        g.cost_cents += cell.cost_cents;
        g.tokens += cell.tokens;
        g.runs += runs_of(cell);
    }
    let mut groups: Vec<CostGroup> = merged.into_values().collect();
    groups.sort_by(|a, b| b.cost_cents.total_cmp(&a.cost_cents).then_with(|| a.key.cmp(&b.key)));
    groups
}

/// Runs started in range that a breach stopped: what they spent and the cost-stopped estimate.
fn cost_stopped(c: &mut Conn<'_>, tenant: TenantId, range: &Range, now: Timestamp) -> Result<CostStopped> {
    let parts = Parts::of(range);
    let mut stopped = CostStopped::default();
    for r in &parts.raw {
        for run in agg::stopped_runs(c, tenant, r)? {
            stopped.runs += 1;
            stopped.cost_spent_cents += run.cost_cents;
            if let Some(stop) = run.stop_at() {
                let answer = run.first_response().unwrap_or(now);
                stopped.cost_stopped_cents +=
                    gov_evidence::run_cost_stopped_cents(run.cost_cents, run.started_at(), stop, answer);
            }
        }
    }
    if let Some(h) = &parts.hours {
        for g in rollup::run_groups(c, tenant, h, RunKey::Stopped)? {
            if g.status == RunStatus::FailedPolicy.as_str() {
                stopped.runs += g.runs;
                stopped.cost_spent_cents += g.cost_cents;
                stopped.cost_stopped_cents += rollup_cost_stopped(&g, now);
            }
        }
    }
    stopped.cost_spent_cents = calc::round2(stopped.cost_spent_cents);
    stopped.cost_stopped_cents = calc::round2(stopped.cost_stopped_cents);
    Ok(stopped)
}

/// Runs started in range per (bucket, agent, status): the ended runs of whole hours from the
/// rollups, the rest from the runs, each in one pass.
fn run_groups(c: &mut Conn<'_>, tenant: TenantId, range: &Range, buckets: Buckets) -> Result<Vec<RunGroup>> {
    in_parts(
        c,
        range,
        true,
        |c, r| agg::run_groups(c, tenant, r, buckets),
        |c, h| rollup::run_tallies(c, tenant, h, buckets),
    )
}

/// Runs started in range and their steps per snapshot: (snapshot id, policies JSON, runs, steps).
fn snapshot_use(
    c: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
) -> Result<Vec<(String, String, i64, i64)>> {
    let parts = Parts::of(range);
    let mut json: BTreeMap<String, String> = BTreeMap::new();
    let mut counts: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in parts.raw.iter().chain(parts.live().iter()) {
        for u in agg::snapshot_use(c, tenant, r)? {
            let n = counts.entry(u.snapshot_id.clone()).or_default();
            n.0 += u.runs;
            n.1 += u.steps;
            json.insert(u.snapshot_id, u.policies_json);
        }
    }
    if let Some(h) = &parts.hours {
        for g in rollup::run_groups(c, tenant, h, RunKey::Snapshot)? {
            let n = counts.entry(g.key).or_default();
            n.0 += g.runs;
            n.1 += g.steps;
        }
    }
    let mut out = Vec::with_capacity(counts.len());
    for (id, (runs, steps)) in counts {
        let policies = match json.remove(&id) {
            Some(p) => p,
            None => {
                let sid = id.parse().map_err(|_| Error::Internal(format!("snapshot id {id:?}")))?;
                gov_store::snapshots::get(c, tenant, sid)?.policies_json
            }
        };
        out.push((id, policies, runs, steps));
    }
    Ok(out)
}

/// Policy activity in range per (bucket, policy, kind): the whole hours from the rollups, the
/// ragged ends from the rows, each in one pass.
fn policy_cells(
    c: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    buckets: Buckets,
) -> Result<Vec<PolicyCell>> {
    in_parts(
        c,
        range,
        false,
        |c, r| agg::policy_cells(c, tenant, r, buckets),
        |c, h| rollup::policy_cells(c, tenant, h, buckets),
    )
}

/// The p50 and p95 durations of the ended runs started in range (`timed` of them), and whether
/// they are estimates.
fn duration_percentiles(
    c: &mut Conn<'_>,
    tenant: TenantId,
    range: &Range,
    timed: i64,
) -> Result<(Option<f64>, Option<f64>, bool)> {
    let ranks = (calc::nearest_rank(timed, 50), calc::nearest_rank(timed, 95));
    if timed <= EXACT_PERCENTILES_UP_TO {
        let at = |c: &mut Conn<'_>, pos: Option<i64>| match pos {
            Some(pos) => Ok::<_, Error>(agg::duration_at(c, tenant, range, pos)?.map(calc::round2)),
            None => Ok(None),
        };
        return Ok((at(c, ranks.0)?, at(c, ranks.1)?, false));
    }
    let parts = Parts::of(range);
    let mut bins: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &parts.raw {
        for seconds in agg::durations(c, tenant, r)? {
            *bins.entry(hours::duration_bin(seconds)).or_default() += 1;
        }
    }
    if let Some(h) = &parts.hours {
        for b in rollup::durations(c, tenant, h)? {
            *bins.entry(b.bin).or_default() += b.runs;
        }
    }
    let bins: Vec<(i32, i64)> = bins.into_iter().collect();
    let at = |pos: Option<i64>| pos.and_then(|p| hours::position_in_histogram(&bins, p)).map(calc::round2);
    Ok((at(ranks.0), at(ranks.1), true))
}

/// How many of the most expensive runs cost intelligence lists.
pub const TOP_RUNS: i64 = 10;

/// The range, bucket width and agent of an analytics request.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsQuery {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub bucket: Bucket,
    pub agent_id: Option<String>,
}

/// One bucket of a series: its UTC start and the values of the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Point<T> {
    pub start: Timestamp,
    pub value: T,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostAmount {
    pub cost_cents: f64,
    pub tokens: i64,
}

/// Cents per hour over the range, its last hour and its last 24 hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRate {
    pub range_cents_per_hour: f64,
    pub last_hour_cents_per_hour: f64,
    pub last_day_cents_per_hour: f64,
}

/// Runs a breach stopped: what they spent up to the stop and the executive debrief's cost stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostStopped {
    pub runs: i64,
    pub cost_spent_cents: f64,
    pub cost_stopped_cents: f64,
}

#[derive(Debug, Clone)]
pub struct CostIntelligence {
    pub window: Window,
    pub as_of: Timestamp,
    pub total: CostAmount,
    pub by_model: Vec<CostGroup>,
    pub by_agent: Vec<CostGroup>,
    pub series: Vec<Point<CostAmount>>,
    pub burn_rate: BurnRate,
    pub top_runs: Vec<RunCost>,
    pub stopped: CostStopped,
}

/// One policy's activity in the range.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyUsage {
    pub policy_id: String,
    /// `None` for a policy id that is no longer among the tenant's policies.
    pub name: Option<String>,
    pub status: Option<String>,
    /// Runs started in range whose snapshot held the policy.
    pub runs: i64,
    /// Steps of those runs: each step is evaluated against every policy of its run's snapshot.
    pub evaluations: i64,
    pub near: i64,
    pub breach: i64,
    pub blocks: i64,
    pub incidents: i64,
    pub last_triggered: Option<Timestamp>,
}

impl PolicyUsage {
    pub fn activity(&self) -> i64 {
        self.near + self.breach + self.blocks + self.incidents
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PolicyActivity {
    pub near: i64,
    pub breach: i64,
    pub blocks: i64,
}

#[derive(Debug, Clone)]
pub struct PoliciesUsage {
    pub window: Window,
    pub as_of: Timestamp,
    /// Every policy of the tenant (and any other policy id with activity), most active first.
    pub policies: Vec<PolicyUsage>,
    pub series: Vec<Point<PolicyActivity>>,
}

/// Productivity of a group of runs; p50/p95 are computed for the total only.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunFigures {
    pub tally: RunTally,
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    /// Whether p50/p95 come from the duration histogram (more than [`EXACT_PERCENTILES_UP_TO`]
    /// ended runs) rather than from the runs themselves.
    pub percentiles_estimated: bool,
}

#[derive(Debug, Clone)]
pub struct Productivity {
    pub window: Window,
    pub as_of: Timestamp,
    pub total: RunFigures,
    pub by_agent: Vec<(String, RunTally)>,
    pub series: Vec<Point<RunTally>>,
}

fn range_error(e: RangeError) -> Error {
    let field = match e {
        RangeError::Reversed | RangeError::TooLong => "from",
        RangeError::TooManyBuckets(..) => "bucket",
    };
    Error::invalid(field, e.to_string())
}

/// Fills every bucket of the window, from the groups the store found.
fn series<T: Default + Clone>(
    window: &Window,
    found: impl IntoIterator<Item = (i64, T)>,
    mut merge: impl FnMut(&mut T, T),
) -> Vec<Point<T>> {
    let idx = window.indexes();
    let mut points: Vec<Point<T>> =
        idx.clone().map(|i| Point { start: window.bucket.start(i), value: T::default() }).collect();
    for (i, v) in found {
        if idx.contains(&i) {
            let at = usize::try_from(i - idx.start).unwrap_or(usize::MAX);
            if let Some(p) = points.get_mut(at) {
                merge(&mut p.value, v);
            }
        }
    }
    points
}

fn status(text: &str) -> Result<RunStatus> {
    text.parse().map_err(|_| Error::Internal(format!("run status {text:?}")))
}

impl Gov {
    fn analytics_frame(&self, q: &AnalyticsQuery) -> Result<(Window, Range, Buckets, Timestamp)> {
        let now = self.clock.now();
        let window = Window::new(q.from, q.to, q.bucket, now).map_err(range_error)?;
        let range =
            Range { from: window.from, to: window.to, agent_id: q.agent_id.clone(), live_only: false };
        let buckets = Buckets { seconds: q.bucket.seconds(), origin: q.bucket.origin() };
        Ok((window, range, buckets, now))
    }

    pub fn cost_intelligence(&self, tenant: TenantId, q: &AnalyticsQuery) -> Result<CostIntelligence> {
        let (window, range, buckets, now) = self.analytics_frame(q)?;
        self.db.read(|c| {
            let cells = cost_cells(c, tenant, &range, buckets)?;
            // A model's runs are its records (one per run that used it); an agent's, its runs.
            let by_model = fold_costs(&cells, |x| &x.model, |x| x.records);
            let by_agent = fold_costs(&cells, |x| &x.agent_id, |x| x.runs);
            let points =
                cells.iter().map(|x| (x.bucket, CostAmount { cost_cents: x.cost_cents, tokens: x.tokens }));
            let series = series(&window, points, |acc, v| {
                acc.cost_cents += v.cost_cents;
                acc.tokens += v.tokens;
            });
            let total = CostAmount {
                cost_cents: calc::round2(cells.iter().map(|x| x.cost_cents).sum()),
                tokens: cells.iter().map(|x| x.tokens).sum(),
            };
            let last = |span: Duration| Range {
                from: window.to - span,
                to: window.to,
                agent_id: q.agent_id.clone(),
                live_only: false,
            };
            let spent = |c: &mut Conn<'_>, span: Duration| {
                Ok::<_, Error>(
                    cost_cells(c, tenant, &last(span), buckets)?.iter().map(|x| x.cost_cents).sum::<f64>(),
                )
            };
            let last_hour = spent(c, Duration::HOUR)?;
            let last_day = spent(c, Duration::DAY)?;
            let burn_rate = BurnRate {
                range_cents_per_hour: calc::burn_rate_per_hour(total.cost_cents, window.seconds()),
                last_hour_cents_per_hour: calc::burn_rate_per_hour(last_hour, 3_600.0),
                last_day_cents_per_hour: calc::burn_rate_per_hour(last_day, 86_400.0),
            };
            let top_runs = agg::top_runs(c, tenant, &range, TOP_RUNS)?;
            let stopped = cost_stopped(c, tenant, &range, now)?;
            Ok(CostIntelligence {
                window,
                as_of: now,
                total,
                by_model,
                by_agent,
                series,
                burn_rate,
                top_runs,
                stopped,
            })
        })
    }

    pub fn policies_usage(&self, tenant: TenantId, q: &AnalyticsQuery) -> Result<PoliciesUsage> {
        let (window, range, buckets, now) = self.analytics_frame(q)?;
        self.db.read(|c| {
            let mut usage: BTreeMap<String, PolicyUsage> = BTreeMap::new();
            for (policy_id, name, status) in agg::policy_names(c, tenant)? {
                let u = PolicyUsage {
                    policy_id: policy_id.clone(),
                    name: Some(name),
                    status: Some(status),
                    ..Default::default()
                };
                usage.insert(policy_id, u);
            }
            for (snapshot_id, policies_json, runs, steps) in snapshot_use(c, tenant, &range)? {
                let policies: Vec<serde_json::Value> = serde_json::from_str(&policies_json)
                    .map_err(|e| Error::Internal(format!("snapshot {snapshot_id}: {e}")))?;
                for id in policies.iter().filter_map(|p| p.get("policy_id").and_then(|v| v.as_str())) {
                    let u = usage
                        .entry(id.to_owned())
                        .or_insert_with(|| PolicyUsage { policy_id: id.to_owned(), ..Default::default() });
                    u.runs += runs;
                    u.evaluations += steps;
                }
            }
            let cells = policy_cells(c, tenant, &range, buckets)?;
            let mut found = Vec::with_capacity(cells.len());
            for cell in &cells {
                let u = usage.entry(cell.policy_id.clone()).or_insert_with(|| PolicyUsage {
                    policy_id: cell.policy_id.clone(),
                    ..Default::default()
                });
                let mut a = PolicyActivity::default();
                match cell.kind.as_str() {
                    "NEAR" => (u.near, a.near) = (u.near + cell.n, cell.n),
                    "BREACH" => (u.breach, a.breach) = (u.breach + cell.n, cell.n),
                    "BLOCK" => (u.blocks, a.blocks) = (u.blocks + cell.n, cell.n),
                    // Incidents count per policy; the series shows signals and blocks.
                    _ => u.incidents += cell.n,
                }
                let last = cell.last();
                u.last_triggered = Some(u.last_triggered.map_or(last, |t| t.max(last)));
                found.push((cell.bucket, a));
            }
            let mut policies: Vec<PolicyUsage> = usage.into_values().collect();
            policies.sort_by(|a, b| {
                b.activity()
                    .cmp(&a.activity())
                    .then(b.evaluations.cmp(&a.evaluations))
                    .then(b.last_triggered.cmp(&a.last_triggered))
                    .then(a.name.cmp(&b.name))
                    .then(a.policy_id.cmp(&b.policy_id))
            });
            let series = series(&window, found, |acc, v| {
                acc.near += v.near;
                acc.breach += v.breach;
                acc.blocks += v.blocks;
            });
            Ok(PoliciesUsage { window, as_of: now, policies, series })
        })
    }

    pub fn productivity(&self, tenant: TenantId, q: &AnalyticsQuery) -> Result<Productivity> {
        let (window, range, buckets, now) = self.analytics_frame(q)?;
        self.db.read(|c| {
            let mut total = RunTally::default();
            let mut agents: BTreeMap<String, RunTally> = BTreeMap::new();
            let mut found = Vec::new();
            for g in run_groups(c, tenant, &range, buckets)? {
                let mut t = RunTally::default();
                t.add(
                    status(&g.status)?,
                    g.runs,
                    g.tokens,
                    g.cost_cents,
                    g.duration_seconds,
                    g.with_duration,
                );
                total.merge(&t);
                agents.entry(g.agent_id).or_default().merge(&t);
                found.push((g.bucket, t));
            }
            let series = series(&window, found, |acc, v| acc.merge(&v));
            let (p50, p95, estimated) = duration_percentiles(c, tenant, &range, total.timed)?;
            let total = RunFigures {
                tally: total,
                p50_duration_seconds: p50,
                p95_duration_seconds: p95,
                percentiles_estimated: estimated,
            };
            Ok(Productivity { window, as_of: now, total, by_agent: agents.into_iter().collect(), series })
        })
    }
}
