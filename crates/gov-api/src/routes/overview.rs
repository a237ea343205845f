//! `/api/v1/overview/`: "is the system okay right now?" Health with its reasons, period metrics
//! with trends, recent highlights, what waits for a human, and all of it in one summary (O1).

use actix_web::{get, web};
use gov_facades::{
    DEFAULT_OVERVIEW_ITEMS, DecisionsView, HealthView, MAX_OVERVIEW_ITEMS, MetricsView, OpenIncidents,
    OverviewItem, Period, trend,
};
use gov_model::{Page, PageRequest, SortDirection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::parse_field;
use crate::state::AppState;

/// One rule that decided the status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    /// e.g. kill_switch_engaged, critical_incident_open, tripwire_tripped, high_incident_open,
    /// near_threshold, risk_denials_high, runs_paused
    pub code: String,
    /// warning or critical
    pub status: String,
    pub message: String,
    /// The API path of the object to look at.
    pub link: String,
}

/// One figure (O1 `metrics[]`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricOut {
    /// Stable name of the figure, e.g. runs_started.
    pub key: &'static str,
    pub label: &'static str,
    #[schema(value_type = f64)]
    pub value: serde_json::Value,
    /// The previous period's value (metrics only; absent for a figure of this instant).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub previous: Option<serde_json::Value>,
    /// up, down or flat against `previous` (absent when there is no previous value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<&'static str>,
}

/// `GET /overview/health` (O1): `total` open incidents, `active` live runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub total: i64,
    pub active: i64,
    /// healthy, warning or critical
    pub status: &'static str,
    pub reasons: Vec<ReasonOut>,
    pub metrics: Vec<MetricOut>,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

/// `GET /overview/metrics` (O1): `total` runs started in the period, `active` live runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsOut {
    pub total: i64,
    pub active: i64,
    /// The health status (as `/overview/health` answers it).
    pub status: &'static str,
    /// 1h, 24h or 7d
    pub period: &'static str,
    /// The period is `[from, to)`; the previous one has the same length and ends at `from`.
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub metrics: Vec<MetricOut>,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

/// A notable event or a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemOut {
    pub id: String,
    /// e.g. incident_opened, run_stopped, regression_tripped, kill_switch_engaged, run_overridden,
    /// evidence_exported, policy_proposal, unacknowledged_incident, paused_run, review_finding
    pub kind: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// low, medium, high, critical (incidents only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    /// The API path of the object.
    pub link: String,
    /// Who took the decision (audit rows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

impl From<OverviewItem> for ItemOut {
    fn from(i: OverviewItem) -> Self {
        ItemOut {
            id: i.id,
            kind: i.kind,
            title: i.title,
            timestamp: i.timestamp,
            severity: i.severity.map(|s| s.as_str()),
            link: i.link,
            actor: i.actor,
        }
    }
}

/// How many of each thing waits for a human.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingCountsOut {
    pub policy_proposals: i64,
    pub unacknowledged_incidents: i64,
    pub paused_runs: i64,
    pub review_findings: i64,
}

/// `GET /overview/decisions`: `total` things waiting, `pending` the newest of them, `recent` the
/// decisions taken (newest first).
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionsOut {
    pub total: i64,
    pub pending_counts: PendingCountsOut,
    pub pending: Vec<ItemOut>,
    pub recent: Vec<ItemOut>,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
}

/// `GET /overview/summary`: the four answers at once (O1 at the top: the health's fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    pub total: i64,
    pub active: i64,
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
    pub health: HealthOut,
    pub metrics: MetricsOut,
    pub highlights: Vec<ItemOut>,
    pub decisions: DecisionsOut,
}

fn int(v: i64) -> serde_json::Value {
    serde_json::Value::from(v)
}

fn cents(v: f64) -> serde_json::Value {
    serde_json::Value::from((v * 100.0).round() / 100.0)
}

fn now_metric(key: &'static str, label: &'static str, value: serde_json::Value) -> MetricOut {
    MetricOut { key, label, value, previous: None, trend: None }
}

fn health_out(h: HealthView) -> HealthOut {
    let f = &h.facts;
    let count = |o: &Option<OpenIncidents>| o.as_ref().map_or(0, |o| o.count);
    let asked = f.risk_reserved_today + f.risk_denied_today;
    #[allow(clippy::cast_precision_loss)]
    let rate = if asked == 0 { 0.0 } else { f.risk_denied_today as f64 / asked as f64 * 100.0 };
    HealthOut {
        total: h.open_incidents,
        active: h.live_runs,
        status: h.health.status.as_str(),
        reasons: h
            .health
            .reasons
            .into_iter()
            .map(|r| ReasonOut {
                code: r.code.to_owned(),
                status: r.status.as_str().to_owned(),
                message: r.message,
                link: r.link,
            })
            .collect(),
        metrics: vec![
            now_metric("open_incidents", "Open incidents", int(h.open_incidents)),
            now_metric(
                "open_critical_incidents",
                "Open critical incidents",
                int(count(&f.critical_incidents)),
            ),
            now_metric("open_high_incidents", "Open high incidents", int(count(&f.high_incidents))),
            now_metric(
                "tripped_tripwires",
                "Tripped tripwires",
                int(i64::try_from(f.tripped.len()).unwrap_or(0)),
            ),
            now_metric("near_signals_last_hour", "NEAR signals (last hour)", int(f.near_last_hour)),
            now_metric("risk_denial_rate_today", "Risk denials today (%)", cents(rate)),
            now_metric("paused_runs", "Paused runs", int(f.paused_runs)),
            now_metric("live_runs", "Live runs", int(h.live_runs)),
        ],
        as_of: h.as_of,
    }
}

#[allow(clippy::cast_precision_loss)]
fn metrics_out(status: &'static str, m: MetricsView, as_of: OffsetDateTime) -> MetricsOut {
    let (c, p) = (m.current, m.previous);
    let with_trend = |key, label, value: f64, previous: f64, wire: fn(f64) -> serde_json::Value| MetricOut {
        key,
        label,
        value: wire(value),
        previous: Some(wire(previous)),
        trend: Some(trend(value, previous).as_str()),
    };
    #[allow(clippy::cast_possible_truncation)]
    let whole = |v: f64| int(v as i64);
    MetricsOut {
        total: c.runs_started,
        active: m.live_runs,
        status,
        period: m.period.as_str(),
        from: m.from,
        to: m.to,
        metrics: vec![
            with_trend("runs_started", "Runs started", c.runs_started as f64, p.runs_started as f64, whole),
            now_metric("live_runs", "Live runs", int(m.live_runs)),
            with_trend("tokens", "Tokens", c.tokens as f64, p.tokens as f64, whole),
            with_trend("cost_cents", "Cost (cents)", c.cost_cents, p.cost_cents, cents),
            with_trend(
                "incidents_opened",
                "Incidents opened",
                c.incidents_opened as f64,
                p.incidents_opened as f64,
                whole,
            ),
            with_trend("violations", "Violations", c.violations as f64, p.violations as f64, whole),
            with_trend("stopped_runs", "Stopped runs", c.stopped_runs as f64, p.stopped_runs as f64, whole),
        ],
        as_of,
    }
}

fn decisions_out(d: DecisionsView) -> DecisionsOut {
    DecisionsOut {
        total: d.counts.total(),
        pending_counts: PendingCountsOut {
            policy_proposals: d.counts.policy_proposals,
            unacknowledged_incidents: d.counts.unacknowledged_incidents,
            paused_runs: d.counts.paused_runs,
            review_findings: d.counts.review_findings,
        },
        pending: d.pending.into_iter().map(Into::into).collect(),
        recent: d.recent.into_iter().map(Into::into).collect(),
        as_of: d.as_of,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// 1h, 24h (default) or 7d.
    #[param(value_type = Option<crate::schema::OverviewPeriod>, inline)]
    pub period: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// 1 to 100 (default 20).
    #[param(value_type = Option<crate::schema::OverviewLimit>, inline)]
    pub limit: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// 1h, 24h (default) or 7d.
    #[param(value_type = Option<crate::schema::OverviewPeriod>, inline)]
    pub period: Option<String>,
    /// 1 to 100 (default 20): the most highlights and pending and recent decisions shown.
    #[param(value_type = Option<crate::schema::OverviewLimit>, inline)]
    pub limit: Option<String>,
}

fn period(value: Option<&str>) -> Result<Period, ApiError> {
    Ok(parse_field::<Period>("period", value)?.unwrap_or_default())
}

fn limit(value: Option<&str>) -> Result<u32, ApiError> {
    let n = parse_field::<u32>("limit", value)
        .map_err(|_| {
            ApiError::validation("limit", format!("must be an integer within 1..={MAX_OVERVIEW_ITEMS}"))
        })?
        .unwrap_or(DEFAULT_OVERVIEW_ITEMS);
    if (1..=MAX_OVERVIEW_ITEMS).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::validation("limit", format!("must be an integer within 1..={MAX_OVERVIEW_ITEMS}")))
    }
}

/// The health status (healthy, warning, critical) and the rules that decided it.
#[utoipa::path(operation_id = "overview_health", tag = "overview", security(("bearer" = [])),
    responses((status = 200, body = HealthOut)))]
#[get("/overview/health")]
pub async fn health(auth: Authed<Read>, state: web::Data<AppState>) -> ApiResult<web::Json<HealthOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let h = blocking(move || gov.overview_health(tenant)).await?;
    Ok(web::Json(health_out(h)))
}

/// Runs, live runs, tokens, cost, incidents, violations and stopped runs in the period, each with
/// its trend against the previous period of the same length.
#[utoipa::path(operation_id = "overview_metrics", tag = "overview", params(PeriodQuery), security(("bearer" = [])),
    responses((status = 200, body = MetricsOut), (status = 422, body = ErrorBody)))]
#[get("/overview/metrics")]
pub async fn metrics(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<PeriodQuery>,
) -> ApiResult<web::Json<MetricsOut>> {
    let period = period(q.period.as_deref())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let (h, m) = blocking(move || gov.overview_metrics(tenant, period)).await?;
    Ok(web::Json(metrics_out(h.health.status.as_str(), m, h.as_of)))
}

/// Notable recent events, newest first, each linking to its object.
#[utoipa::path(operation_id = "overview_highlights", tag = "overview", params(LimitQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ItemOut>), (status = 422, body = ErrorBody)))]
#[get("/overview/highlights")]
pub async fn highlights(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<LimitQuery>,
) -> ApiResult<web::Json<ListResponse<ItemOut>>> {
    let n = limit(q.limit.as_deref())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let items = blocking(move || gov.overview_highlights(tenant, n)).await?;
    let total = i64::try_from(items.len()).unwrap_or(0);
    let page = Page::whole(items, total, PageRequest::new(1, n).unwrap_or_default());
    let applied = filters([("limit", q.limit.as_deref())]);
    Ok(web::Json(ListResponse::new(page, ItemOut::from, applied, "timestamp", SortDirection::Desc)))
}

/// What waits for a human, and the decisions recently taken.
#[utoipa::path(operation_id = "overview_decisions", tag = "overview", params(LimitQuery), security(("bearer" = [])),
    responses((status = 200, body = DecisionsOut), (status = 422, body = ErrorBody)))]
#[get("/overview/decisions")]
pub async fn decisions(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<LimitQuery>,
) -> ApiResult<web::Json<DecisionsOut>> {
    let n = limit(q.limit.as_deref())?;
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let d = blocking(move || gov.overview_decisions(tenant, n)).await?;
    Ok(web::Json(decisions_out(d)))
}

/// Health, metrics, highlights and decisions in one answer.
#[utoipa::path(operation_id = "overview_summary", tag = "overview", params(SummaryQuery), security(("bearer" = [])),
    responses((status = 200, body = SummaryOut), (status = 422, body = ErrorBody)))]
#[get("/overview/summary")]
pub async fn summary(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<SummaryQuery>,
) -> ApiResult<web::Json<SummaryOut>> {
    let (period, n) = (period(q.period.as_deref())?, limit(q.limit.as_deref())?);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let s = blocking(move || gov.overview_summary(tenant, period, n)).await?;
    let h = health_out(s.health);
    let m = metrics_out(h.status, s.metrics, h.as_of);
    Ok(web::Json(SummaryOut {
        total: h.total,
        active: h.active,
        status: h.status,
        as_of: h.as_of,
        highlights: s.highlights.into_iter().map(Into::into).collect(),
        decisions: decisions_out(s.decisions),
        health: h,
        metrics: m,
    }))
}
