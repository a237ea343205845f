//! `/api/v1/analytics/`: cost intelligence, policies usage and productivity over a time range,
//! in UTC-aligned buckets (seed 000 §2). `/analytics/costs` (the cost records) is in `activity.rs`.

use actix_web::{get, web};
use gov_facades::{
    AnalyticsQuery, AnalyticsWindow, Bucket, CostAmount, CostGroup, Point, PolicyActivity, PolicyUsage,
    RunCost, RunTally,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Pagination, SortInfo, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::PageQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// RFC 3339: the range's start (inclusive). Default: 30 days before `to`.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// RFC 3339: the range's end (exclusive). Default: now. At most 366 days after `from`.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// hour, day (default) or week (ISO, from Monday 00:00 UTC); at most 1000 buckets.
    #[param(value_type = Option<crate::schema::AnalyticsBucket>, inline)]
    pub bucket: Option<String>,
    /// Only this agent's runs.
    pub agent_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// RFC 3339: the range's start (inclusive). Default: 30 days before `to`.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub from: Option<String>,
    /// RFC 3339: the range's end (exclusive). Default: now. At most 366 days after `from`.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub to: Option<String>,
    /// hour, day (default) or week (ISO, from Monday 00:00 UTC); at most 1000 buckets.
    #[param(value_type = Option<crate::schema::AnalyticsBucket>, inline)]
    pub bucket: Option<String>,
    /// Only this agent's runs.
    pub agent_id: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
}

fn time_param(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::validation(field, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

impl RangeQuery {
    fn parse(&self) -> Result<AnalyticsQuery, ApiError> {
        let bucket = self
            .bucket
            .as_deref()
            .map(|b| b.parse::<Bucket>().map_err(|e| ApiError::validation("bucket", e.to_string())))
            .transpose()?
            .unwrap_or_default();
        Ok(AnalyticsQuery {
            from: time_param("from", self.from.as_deref())?,
            to: time_param("to", self.to.as_deref())?,
            bucket,
            agent_id: self.agent_id.clone(),
        })
    }
}

/// The range an answer covers, and when it was computed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RangeOut {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// hour, day or week
    pub bucket: String,
    pub agent_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

impl RangeOut {
    fn new(w: &AnalyticsWindow, agent_id: Option<String>, as_of: OffsetDateTime) -> Self {
        RangeOut { from: w.from, to: w.to, bucket: w.bucket.as_str().to_owned(), agent_id, as_of }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostGroupOut {
    /// The model or the agent id.
    pub key: String,
    pub cost_cents: f64,
    pub tokens: i64,
    /// Runs with cost records of this group.
    pub runs: i64,
}

impl From<CostGroup> for CostGroupOut {
    fn from(g: CostGroup) -> Self {
        CostGroupOut { key: g.key, cost_cents: g.cost_cents, tokens: g.tokens, runs: g.runs }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostPointOut {
    /// The bucket's UTC start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub cost_cents: f64,
    pub tokens: i64,
}

impl From<Point<CostAmount>> for CostPointOut {
    fn from(p: Point<CostAmount>) -> Self {
        CostPointOut { start: p.start, cost_cents: p.value.cost_cents, tokens: p.value.tokens }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BurnRateOut {
    /// Cost in range per hour of the range.
    pub range_cents_per_hour: f64,
    /// Cost of the hour before `to`.
    pub last_hour_cents_per_hour: f64,
    /// Cost of the 24 hours before `to`, per hour.
    pub last_day_cents_per_hour: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopRunOut {
    pub run_id: String,
    pub agent_id: String,
    pub status: String,
    pub cost_cents: f64,
    pub tokens: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The run's detail: `/api/v1/activity/{run_id}`.
    pub link: String,
}

impl From<RunCost> for TopRunOut {
    fn from(r: RunCost) -> Self {
        let started_at = r.started_at();
        TopRunOut {
            link: format!("/api/v1/activity/{}", r.run_id),
            run_id: r.run_id,
            agent_id: r.agent_id,
            status: r.status,
            cost_cents: r.cost_cents,
            tokens: r.tokens,
            started_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostStoppedOut {
    /// Runs started in range that a breach stopped (failed_policy).
    pub runs: i64,
    /// What those runs spent up to the stop.
    pub cost_spent_cents: f64,
    /// The executive debrief's cost stopped, summed over those runs.
    pub cost_stopped_cents: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostIntelligenceOut {
    #[serde(flatten)]
    pub range: RangeOut,
    pub total_cost_cents: f64,
    pub total_tokens: i64,
    pub by_model: Vec<CostGroupOut>,
    pub by_agent: Vec<CostGroupOut>,
    pub series: Vec<CostPointOut>,
    pub burn_rate: BurnRateOut,
    pub top_runs: Vec<TopRunOut>,
    pub cost_stopped: CostStoppedOut,
}

/// Cost (cents) and tokens by model, agent and bucket, burn rate, the most expensive runs and
/// the cost stopped by prevention.
#[utoipa::path(operation_id = "analytics_cost_intelligence", tag = "analytics", params(RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = CostIntelligenceOut), (status = 422, body = ErrorBody)))]
#[get("/analytics/cost-intelligence")]
pub async fn cost_intelligence(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<RangeQuery>,
) -> ApiResult<web::Json<CostIntelligenceOut>> {
    let query = q.parse()?;
    let (gov, tenant, agent) = (state.gov.clone(), auth.caller.tenant_id, query.agent_id.clone());
    let r = blocking(move || gov.cost_intelligence(tenant, &query)).await?;
    Ok(web::Json(CostIntelligenceOut {
        range: RangeOut::new(&r.window, agent, r.as_of),
        total_cost_cents: r.total.cost_cents,
        total_tokens: r.total.tokens,
        by_model: r.by_model.into_iter().map(Into::into).collect(),
        by_agent: r.by_agent.into_iter().map(Into::into).collect(),
        series: r.series.into_iter().map(Into::into).collect(),
        burn_rate: BurnRateOut {
            range_cents_per_hour: r.burn_rate.range_cents_per_hour,
            last_hour_cents_per_hour: r.burn_rate.last_hour_cents_per_hour,
            last_day_cents_per_hour: r.burn_rate.last_day_cents_per_hour,
        },
        top_runs: r.top_runs.into_iter().map(Into::into).collect(),
        cost_stopped: CostStoppedOut {
            runs: r.stopped.runs,
            cost_spent_cents: r.stopped.cost_spent_cents,
            cost_stopped_cents: r.stopped.cost_stopped_cents,
        },
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyUsageOut {
    pub policy_id: String,
    /// Null for a policy id no longer among the tenant's policies.
    pub name: Option<String>,
    pub status: Option<String>,
    /// Runs started in range whose policy snapshot held the policy.
    pub runs: i64,
    /// Steps of those runs (each step is evaluated against every policy of its snapshot).
    pub evaluations: i64,
    pub near: i64,
    pub breach: i64,
    /// Enforced blocking decisions (PAUSE, STOP, KILL) the policy's breaches caused.
    pub blocks: i64,
    pub incidents: i64,
    /// The newest NEAR, BREACH, block or incident of the policy in range.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_triggered: Option<OffsetDateTime>,
}

impl From<PolicyUsage> for PolicyUsageOut {
    fn from(u: PolicyUsage) -> Self {
        PolicyUsageOut {
            policy_id: u.policy_id,
            name: u.name,
            status: u.status,
            runs: u.runs,
            evaluations: u.evaluations,
            near: u.near,
            breach: u.breach,
            blocks: u.blocks,
            incidents: u.incidents,
            last_triggered: u.last_triggered,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyPointOut {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub near: i64,
    pub breach: i64,
    pub blocks: i64,
}

impl From<Point<PolicyActivity>> for PolicyPointOut {
    fn from(p: Point<PolicyActivity>) -> Self {
        PolicyPointOut { start: p.start, near: p.value.near, breach: p.value.breach, blocks: p.value.blocks }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoliciesUsageOut {
    #[serde(flatten)]
    pub range: RangeOut,
    /// One page of the policies, most active first.
    pub items: Vec<PolicyUsageOut>,
    pub pagination: Pagination,
    pub filters_applied: std::collections::BTreeMap<String, String>,
    /// `activity` (NEAR + BREACH + blocks + incidents), `desc`.
    pub sort: SortInfo,
    pub series: Vec<PolicyPointOut>,
}

/// Per policy: evaluations, NEAR, BREACH, blocks, incidents and the last time it triggered.
#[utoipa::path(operation_id = "analytics_policies_usage", tag = "analytics", params(UsageQuery), security(("bearer" = [])),
    responses((status = 200, body = PoliciesUsageOut), (status = 422, body = ErrorBody)))]
#[get("/analytics/policies-usage")]
pub async fn policies_usage(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<UsageQuery>,
) -> ApiResult<web::Json<PoliciesUsageOut>> {
    let q = q.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let range = RangeQuery { from: q.from, to: q.to, bucket: q.bucket, agent_id: q.agent_id };
    let query = range.parse()?;
    let applied = filters([
        ("from", range.from.as_deref()),
        ("to", range.to.as_deref()),
        ("bucket", range.bucket.as_deref()),
        ("agent_id", range.agent_id.as_deref()),
    ]);
    let (gov, tenant, agent) = (state.gov.clone(), auth.caller.tenant_id, query.agent_id.clone());
    let r = blocking(move || gov.policies_usage(tenant, &query)).await?;
    let total = i64::try_from(r.policies.len()).unwrap_or(i64::MAX);
    let offset = usize::try_from(page.rows_before()).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
    Ok(web::Json(PoliciesUsageOut {
        range: RangeOut::new(&r.window, agent, r.as_of),
        items: r.policies.into_iter().skip(offset).take(limit).map(Into::into).collect(),
        pagination: Pagination::by_position(total, &page),
        filters_applied: applied,
        sort: SortInfo { field: "activity".to_owned(), direction: "desc".to_owned() },
        series: r.series.into_iter().map(Into::into).collect(),
    }))
}

/// Productivity of a group of runs (all, one agent, one bucket).
#[derive(Debug, Serialize, ToSchema)]
pub struct RunFiguresOut {
    /// Runs started in the group.
    pub runs: i64,
    /// Succeeded runs.
    pub completed: i64,
    /// Runs a breach stopped (failed_policy).
    pub stopped: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Queued, running or paused.
    pub in_progress: i64,
    /// completed / (completed + stopped + failed + cancelled); null without ended runs.
    pub success_rate: Option<f64>,
    pub tokens: i64,
    pub cost_cents: f64,
    /// Mean of completed_at - started_at over ended runs, in seconds.
    pub mean_duration_seconds: Option<f64>,
    /// Nearest-rank percentiles of the same durations (the total only; null elsewhere).
    pub p50_duration_seconds: Option<f64>,
    pub p95_duration_seconds: Option<f64>,
    pub tokens_per_successful_run: Option<f64>,
    pub cost_cents_per_successful_run: Option<f64>,
}

impl RunFiguresOut {
    fn new(t: &RunTally, p50: Option<f64>, p95: Option<f64>) -> Self {
        RunFiguresOut {
            runs: t.runs,
            completed: t.succeeded,
            stopped: t.stopped,
            failed: t.failed,
            cancelled: t.cancelled,
            in_progress: t.in_progress,
            success_rate: t.success_rate(),
            tokens: t.tokens,
            cost_cents: gov_insight_round(t.cost_cents),
            mean_duration_seconds: t.mean_duration_seconds(),
            p50_duration_seconds: p50,
            p95_duration_seconds: p95,
            tokens_per_successful_run: t.tokens_per_successful_run(),
            cost_cents_per_successful_run: t.cost_cents_per_successful_run(),
        }
    }
}

fn gov_insight_round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentFiguresOut {
    pub agent_id: String,
    #[serde(flatten)]
    pub figures: RunFiguresOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunPointOut {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(flatten)]
    pub figures: RunFiguresOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductivityOut {
    #[serde(flatten)]
    pub range: RangeOut,
    pub total: RunFiguresOut,
    /// True when the total's p50/p95 are estimated from the duration histogram (more than 20,000
    /// ended runs in range; bins about 19% wide), false when read from the runs themselves.
    pub percentiles_estimated: bool,
    pub by_agent: Vec<AgentFiguresOut>,
    pub series: Vec<RunPointOut>,
}

/// Runs completed versus stopped, failed and cancelled, success rate, durations, tokens and cost
/// per successful run: in total, per agent and per bucket (runs by their start).
#[utoipa::path(operation_id = "analytics_productivity", tag = "analytics", params(RangeQuery), security(("bearer" = [])),
    responses((status = 200, body = ProductivityOut), (status = 422, body = ErrorBody)))]
#[get("/analytics/productivity")]
pub async fn productivity(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<RangeQuery>,
) -> ApiResult<web::Json<ProductivityOut>> {
    let query = q.parse()?;
    let (gov, tenant, agent) = (state.gov.clone(), auth.caller.tenant_id, query.agent_id.clone());
    let r = blocking(move || gov.productivity(tenant, &query)).await?;
    Ok(web::Json(ProductivityOut {
        range: RangeOut::new(&r.window, agent, r.as_of),
        total: RunFiguresOut::new(&r.total.tally, r.total.p50_duration_seconds, r.total.p95_duration_seconds),
        percentiles_estimated: r.total.percentiles_estimated,
        by_agent: r
            .by_agent
            .iter()
            .map(|(a, t)| AgentFiguresOut { agent_id: a.clone(), figures: RunFiguresOut::new(t, None, None) })
            .collect(),
        series: r
            .series
            .iter()
            .map(|p| RunPointOut { start: p.start, figures: RunFiguresOut::new(&p.value, None, None) })
            .collect(),
    }))
}
