//! Analytics read models (seed 000 §2): cost intelligence, policies usage and productivity over
//! a time range. The store groups in the database; `gov_insight::analytics` does the arithmetic.

use std::collections::BTreeMap;

use gov_insight::analytics::{self as calc, Bucket, RangeError, RunTally, Window};
use gov_model::{RunStatus, TenantId, Timestamp};
use gov_store::analytics::{self as agg, Buckets, Range};
pub use gov_store::analytics::{CostGroup, RunCost};
use time::Duration;

use crate::{Error, Gov, Result};

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
        let range = Range { from: window.from, to: window.to, agent_id: q.agent_id.clone() };
        let buckets = Buckets { seconds: q.bucket.seconds(), origin: q.bucket.origin() };
        Ok((window, range, buckets, now))
    }

    pub fn cost_intelligence(&self, tenant: TenantId, q: &AnalyticsQuery) -> Result<CostIntelligence> {
        let (window, range, buckets, now) = self.analytics_frame(q)?;
        self.db.read(|c| {
            let by_model = agg::cost_by(c, tenant, &range, false)?;
            let by_agent = agg::cost_by(c, tenant, &range, true)?;
            let found = agg::cost_by_bucket(c, tenant, &range, buckets)?;
            let series = series(
                &window,
                found
                    .into_iter()
                    .map(|b| (b.bucket, CostAmount { cost_cents: b.cost_cents, tokens: b.tokens })),
                |acc, v| {
                    acc.cost_cents += v.cost_cents;
                    acc.tokens += v.tokens;
                },
            );
            let total = CostAmount {
                cost_cents: calc::round2(by_model.iter().map(|g| g.cost_cents).sum()),
                tokens: by_model.iter().map(|g| g.tokens).sum(),
            };
            let last = |span: Duration| Range {
                from: window.to - span,
                to: window.to,
                agent_id: q.agent_id.clone(),
            };
            let last_hour = agg::cost_total(c, tenant, &last(Duration::HOUR))?;
            let last_day = agg::cost_total(c, tenant, &last(Duration::DAY))?;
            let burn_rate = BurnRate {
                range_cents_per_hour: calc::burn_rate_per_hour(total.cost_cents, window.seconds()),
                last_hour_cents_per_hour: calc::burn_rate_per_hour(last_hour, 3_600.0),
                last_day_cents_per_hour: calc::burn_rate_per_hour(last_day, 86_400.0),
            };
            let top_runs = agg::top_runs(c, tenant, &range, TOP_RUNS)?;
            let mut stopped = CostStopped::default();
            for run in agg::stopped_runs(c, tenant, &range)? {
                stopped.runs += 1;
                stopped.cost_spent_cents += run.cost_cents;
                if let Some(stop) = run.stop_at() {
                    let to_stop = (stop - run.started_at()).as_seconds_f64();
                    let idle = (run.first_response().unwrap_or(now) - stop).as_seconds_f64();
                    stopped.cost_stopped_cents +=
                        gov_evidence::cost_stopped_cents(run.cost_cents, to_stop, idle);
                }
            }
            stopped.cost_spent_cents = calc::round2(stopped.cost_spent_cents);
            stopped.cost_stopped_cents = calc::round2(stopped.cost_stopped_cents);
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
            for snap in agg::snapshot_use(c, tenant, &range)? {
                let policies: Vec<serde_json::Value> = serde_json::from_str(&snap.policies_json)
                    .map_err(|e| Error::Internal(format!("snapshot {}: {e}", snap.snapshot_id)))?;
                for id in policies.iter().filter_map(|p| p.get("policy_id").and_then(|v| v.as_str())) {
                    let u = usage
                        .entry(id.to_owned())
                        .or_insert_with(|| PolicyUsage { policy_id: id.to_owned(), ..Default::default() });
                    u.runs += snap.runs;
                    u.evaluations += snap.steps;
                }
            }
            for n in agg::policy_counts(c, tenant, &range)? {
                let u = usage
                    .entry(n.policy_id.clone())
                    .or_insert_with(|| PolicyUsage { policy_id: n.policy_id.clone(), ..Default::default() });
                match n.kind.as_str() {
                    "NEAR" => u.near += n.n,
                    "BREACH" => u.breach += n.n,
                    "BLOCK" => u.blocks += n.n,
                    _ => u.incidents += n.n,
                }
                let last = n.last();
                u.last_triggered = Some(u.last_triggered.map_or(last, |t| t.max(last)));
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
            let found = agg::policy_activity_by_bucket(c, tenant, &range, buckets)?;
            let series = series(
                &window,
                found.into_iter().map(|k| {
                    let mut a = PolicyActivity::default();
                    match k.kind.as_str() {
                        "NEAR" => a.near = k.n,
                        "BREACH" => a.breach = k.n,
                        _ => a.blocks = k.n,
                    }
                    (k.bucket, a)
                }),
                |acc, v| {
                    acc.near += v.near;
                    acc.breach += v.breach;
                    acc.blocks += v.blocks;
                },
            );
            Ok(PoliciesUsage { window, as_of: now, policies, series })
        })
    }

    pub fn productivity(&self, tenant: TenantId, q: &AnalyticsQuery) -> Result<Productivity> {
        let (window, range, buckets, now) = self.analytics_frame(q)?;
        self.db.read(|c| {
            let mut total = RunTally::default();
            let mut agents: BTreeMap<String, RunTally> = BTreeMap::new();
            for g in agg::run_groups(c, tenant, &range, None)? {
                let s = status(&g.status)?;
                total.add(s, g.runs, g.tokens, g.cost_cents, g.duration_seconds, g.with_duration);
                agents.entry(g.key).or_default().add(
                    s,
                    g.runs,
                    g.tokens,
                    g.cost_cents,
                    g.duration_seconds,
                    g.with_duration,
                );
            }
            let mut found = Vec::new();
            for g in agg::run_groups(c, tenant, &range, Some(buckets))? {
                let s = status(&g.status)?;
                let i: i64 = g.key.parse().map_err(|_| Error::Internal(format!("bucket {:?}", g.key)))?;
                let mut t = RunTally::default();
                t.add(s, g.runs, g.tokens, g.cost_cents, g.duration_seconds, g.with_duration);
                found.push((i, t));
            }
            let series = series(&window, found, |acc, v| {
                acc.runs += v.runs;
                acc.succeeded += v.succeeded;
                acc.failed += v.failed;
                acc.stopped += v.stopped;
                acc.cancelled += v.cancelled;
                acc.in_progress += v.in_progress;
                acc.tokens += v.tokens;
                acc.cost_cents += v.cost_cents;
                acc.succeeded_tokens += v.succeeded_tokens;
                acc.succeeded_cost_cents += v.succeeded_cost_cents;
                acc.duration_seconds += v.duration_seconds;
                acc.timed += v.timed;
            });
            let p50 = match calc::nearest_rank(total.timed, 50) {
                Some(pos) => agg::duration_at(c, tenant, &range, pos)?.map(calc::round2),
                None => None,
            };
            let p95 = match calc::nearest_rank(total.timed, 95) {
                Some(pos) => agg::duration_at(c, tenant, &range, pos)?.map(calc::round2),
                None => None,
            };
            let total = RunFigures { tally: total, p50_duration_seconds: p50, p95_duration_seconds: p95 };
            Ok(Productivity { window, as_of: now, total, by_agent: agents.into_iter().collect(), series })
        })
    }
}
