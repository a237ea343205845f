//! `/api/governance/regression/`: the regression tripwire (seed 004): per-(domain, metric)
//! thresholds, each tripwire's state, on-demand evaluation, and KPI events (each evaluated as it
//! arrives). Bodies may be JSON or form data.

use actix_web::{HttpResponse, get, post, web};
use gov_facades::{NewKpiEvent, RegressionPolicyChange, TripwireCheck};
use gov_model::{KpiEvent, RegressionPolicy, RegressionState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authed, Ingest, Read, Write};
use crate::blocking::blocking;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Input;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RegressionPolicyOut {
    pub domain: String,
    pub metric: String,
    pub window_events: i64,
    pub baseline_events: i64,
    pub min_events_to_enforce: i64,
    pub max_drop_fraction: f64,
    /// THROTTLE or KILL_SWITCH
    pub action: String,
    pub enabled: bool,
    pub changed_by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<RegressionPolicy> for RegressionPolicyOut {
    fn from(p: RegressionPolicy) -> Self {
        RegressionPolicyOut {
            domain: p.domain,
            metric: p.metric,
            window_events: p.window_events,
            baseline_events: p.baseline_events,
            min_events_to_enforce: p.min_events_to_enforce,
            max_drop_fraction: p.max_drop_fraction,
            action: p.action.as_str().to_owned(),
            enabled: p.enabled,
            changed_by: p.changed_by,
            reason: p.reason,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegressionStateOut {
    pub domain: String,
    pub metric: String,
    /// Tripped (latched until an operator upserts the tripwire).
    pub triggered: bool,
    /// Success rate of the baseline events at the last evaluation.
    pub baseline: Option<f64>,
    /// Success rate of the window events at the last evaluation.
    pub current: Option<f64>,
    pub drop_fraction: Option<f64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_checked_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_triggered_at: Option<time::OffsetDateTime>,
    pub note: String,
    /// The incident the last trip opened.
    pub incident_id: Option<String>,
    /// Only events recorded from then on count (set by a reset).
    #[serde(with = "time::serde::rfc3339::option")]
    pub counting_since: Option<time::OffsetDateTime>,
    /// The tripwire's action and whether it is enabled.
    pub action: String,
    pub enabled: bool,
}

impl RegressionStateOut {
    pub(crate) fn new(p: &RegressionPolicy, s: RegressionState) -> Self {
        RegressionStateOut {
            domain: s.domain,
            metric: s.metric,
            triggered: s.triggered,
            baseline: s.baseline,
            current: s.current,
            drop_fraction: s.drop_fraction,
            last_checked_at: s.last_checked_at,
            last_triggered_at: s.last_triggered_at,
            note: s.note,
            incident_id: s.incident_id.map(|i| i.to_string()),
            counting_since: s.counting_since,
            action: p.action.as_str().to_owned(),
            enabled: p.enabled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationOut {
    pub domain: String,
    pub metric: String,
    /// Enough events (min_events_to_enforce) to act on.
    pub enforceable: bool,
    /// Events read (at most window_events + baseline_events).
    pub events: usize,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// (baseline - current) / baseline; negative when the metric improved.
    pub drop_fraction: Option<f64>,
    /// This evaluation's verdict: the drop exceeds max_drop_fraction.
    pub drop_exceeds_limit: bool,
    /// This evaluation tripped the tripwire (opened an incident and applied the action).
    pub tripped_now: bool,
    pub state: RegressionStateOut,
}

impl From<TripwireCheck> for EvaluationOut {
    fn from(c: TripwireCheck) -> Self {
        let e = c.evaluation;
        EvaluationOut {
            domain: c.policy.domain.clone(),
            metric: c.policy.metric.clone(),
            enforceable: e.enforceable,
            events: e.events,
            baseline: e.baseline,
            current: e.current,
            drop_fraction: e.drop_fraction,
            drop_exceeds_limit: e.triggered,
            tripped_now: c.tripped_now,
            state: RegressionStateOut::new(&c.policy, c.state),
        }
    }
}

/// A tripwire to create or change; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegressionUpsertIn {
    #[schema(value_type = crate::schema::Name64)]
    pub domain: String,
    #[schema(value_type = crate::schema::Name64)]
    pub metric: String,
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub window_events: Option<i64>,
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub baseline_events: Option<i64>,
    #[schema(minimum = 0, maximum = 20000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub min_events_to_enforce: Option<i64>,
    /// Above 0, at most 1.
    pub max_drop_fraction: Option<f64>,
    /// THROTTLE or KILL_SWITCH
    #[schema(value_type = Option<crate::schema::RegressionAction>)]
    pub action: Option<String>,
    pub enabled: Option<bool>,
    #[serde(alias = "changed_by")]
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub reason: Option<String>,
    /// Restart counting from now (a new baseline) even when not tripped.
    pub reset_baseline: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegressionUpsertOut {
    pub policy: RegressionPolicyOut,
    pub state: RegressionStateOut,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateIn {
    /// Only this domain's tripwires (all when absent).
    #[schema(value_type = Option<crate::schema::Name64>)]
    pub domain: Option<String>,
    /// Only this metric of `domain`.
    #[schema(value_type = Option<crate::schema::Name64>)]
    pub metric: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluateOut {
    pub evaluated: Vec<EvaluationOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiIn {
    #[schema(value_type = crate::schema::Name64)]
    pub domain: String,
    #[schema(value_type = crate::schema::Name64)]
    pub metric: String,
    pub success: bool,
    pub value: Option<f64>,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub correlation_id: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiEventOut {
    pub id: String,
    pub domain: String,
    pub metric: String,
    pub success: bool,
    pub value: Option<f64>,
    pub actor: String,
    pub correlation_id: Option<String>,
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<KpiEvent> for KpiEventOut {
    fn from(e: KpiEvent) -> Self {
        KpiEventOut {
            id: e.id,
            domain: e.domain,
            metric: e.metric,
            success: e.success,
            value: e.value,
            actor: e.actor,
            correlation_id: e.correlation_id,
            detail: e.detail,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiRecorded {
    pub ok: bool,
    pub event: KpiEventOut,
    /// The evaluation this event triggered.
    pub evaluation: EvaluationOut,
}

#[utoipa::path(operation_id = "list_regression_policies", tag = "governance", security(("bearer" = [])), responses((status = 200, body = Vec<RegressionPolicyOut>)))]
#[get("/regression/policies")]
pub async fn policies(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<RegressionPolicyOut>>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.regression_policies(tenant)).await?;
    Ok(web::Json(found.into_iter().map(Into::into).collect()))
}

/// Creates a tripwire or changes it (admin). Upserting a tripped tripwire resets it: the trip
/// clears (the action stops) and counting restarts from now.
#[utoipa::path(operation_id = "upsert_regression_policy", tag = "governance", request_body = RegressionUpsertIn, security(("bearer" = [])),
    responses((status = 200, body = RegressionUpsertOut), (status = 422, body = ErrorBody)))]
#[post("/regression/policies/upsert")]
pub async fn upsert(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: Input<RegressionUpsertIn>,
) -> ApiResult<web::Json<RegressionUpsertOut>> {
    let b = body.0;
    let change = RegressionPolicyChange {
        domain: b.domain,
        metric: b.metric,
        window_events: b.window_events,
        baseline_events: b.baseline_events,
        min_events_to_enforce: b.min_events_to_enforce,
        max_drop_fraction: b.max_drop_fraction,
        action: b.action,
        enabled: b.enabled,
        actor: b.actor,
        reason: b.reason,
        reset_baseline: b.reset_baseline.unwrap_or(false),
    };
    let gov = state.gov.clone();
    let (policy, st) = blocking(move || gov.upsert_regression_policy(&auth.caller, change)).await?;
    let state_out = RegressionStateOut::new(&policy, st);
    Ok(web::Json(RegressionUpsertOut { policy: policy.into(), state: state_out }))
}

/// Every tripwire's state: its last evaluation, whether it is tripped, and the incident it opened.
#[utoipa::path(operation_id = "regression_state", tag = "governance", security(("bearer" = [])), responses((status = 200, body = Vec<RegressionStateOut>)))]
#[get("/regression/state")]
pub async fn regression_state(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<RegressionStateOut>>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.regression_states(tenant)).await?;
    Ok(web::Json(found.into_iter().map(|(p, s)| RegressionStateOut::new(&p, s)).collect()))
}

/// Evaluates tripwires now: all, a domain's, or one (domain and metric). A drop beyond the limit
/// trips the tripwire as a KPI event would.
#[utoipa::path(operation_id = "regression_evaluate", tag = "governance", request_body(content = Option<EvaluateIn>, description = "Optional: an empty body evaluates every tripwire."), security(("bearer" = [])),
    responses((status = 200, body = EvaluateOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/regression/evaluate")]
pub async fn evaluate(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    body: Input<EvaluateIn>,
) -> ApiResult<web::Json<EvaluateOut>> {
    let (gov, b) = (state.gov.clone(), body.0);
    let checks =
        blocking(move || gov.evaluate_regression(&auth.caller, b.domain.as_deref(), b.metric.as_deref()))
            .await?;
    Ok(web::Json(EvaluateOut { evaluated: checks.into_iter().map(Into::into).collect() }))
}

/// Records one business outcome of a (domain, metric) and evaluates its tripwire.
#[utoipa::path(operation_id = "record_kpi_event", tag = "governance", request_body = KpiIn, security(("bearer" = [])),
    responses((status = 200, body = KpiRecorded), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/regression/kpi")]
pub async fn kpi(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<KpiIn>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let input = NewKpiEvent {
        domain: b.domain,
        metric: b.metric,
        success: b.success,
        value: b.value,
        actor: b.actor,
        correlation_id: b.correlation_id,
        detail: b.detail,
    };
    let gov = state.gov.clone();
    let (event, check) = blocking(move || gov.record_kpi(&auth.caller, input)).await?;
    Ok(HttpResponse::Ok().json(KpiRecorded { ok: true, event: event.into(), evaluation: check.into() }))
}
