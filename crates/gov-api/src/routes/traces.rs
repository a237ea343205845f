//! `/api/v1/traces/` and `/api/v1/logs/llm-runs`: the hash-chained evidence of runs, with chain
//! integrity, steps, and replay against the recorded snapshot.

use actix_web::{get, post, web};
use gov_facades::{ChainDepth, InflectionPoint, TraceFilter};
use gov_model::{RunId, TraceId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, direction, parse_field};
use crate::state::AppState;
use crate::wire::run::RunOut;
use crate::wire::trace::{IntegrityOut, StepOut, TraceOut};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// running, succeeded, failed, failed_policy, cancelled
    pub status: Option<String>,
    pub agent_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    /// true: only traces with an inflection point.
    pub has_violation: Option<bool>,
    /// asc or desc (default) by started_at.
    #[param(value_type = Option<crate::schema::Direction>, inline)]
    pub direction: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowTraceQuery {
    /// `incremental` (default): re-hash the steps after the trace's verified-through marker,
    /// the marker's own step and the newest 50 steps, each linked to the one before; any doubt
    /// re-walks the whole chain. `full`: re-walk the whole chain from its genesis.
    #[param(value_type = Option<crate::schema::ChainDepth>, inline)]
    pub verify: Option<String>,
}

impl ShowTraceQuery {
    fn depth(&self) -> Result<ChainDepth, ApiError> {
        match self.verify.as_deref() {
            None => Ok(ChainDepth::default()),
            Some(v) => ChainDepth::parse(v)
                .ok_or_else(|| ApiError::validation("verify", format!("{v:?} is not incremental or full"))),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TraceDetailOut {
    #[serde(flatten)]
    pub trace: TraceOut,
    pub run: RunOut,
    /// Whether every step links to the one before and the chain ends at the recorded head.
    pub integrity: IntegrityOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InflectionOut {
    pub step_index: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: time::OffsetDateTime,
    /// Seconds since the run started.
    pub offset_seconds: f64,
    pub policy_id: Option<String>,
    pub reason: Option<String>,
}

impl From<InflectionPoint> for InflectionOut {
    fn from(p: InflectionPoint) -> Self {
        InflectionOut {
            step_index: p.step_index,
            timestamp: p.timestamp,
            offset_seconds: p.offset_seconds,
            policy_id: p.policy_id.map(|p| p.to_string()),
            reason: p.reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayStepOut {
    pub step_index: i64,
    pub step_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: time::OffsetDateTime,
    pub offset_seconds: f64,
    pub tokens: i64,
    pub cumulative_tokens: i64,
    pub cost_cents: f64,
    pub cumulative_cost_cents: f64,
    pub recorded_decision: String,
    pub replayed_decision: String,
    pub matches: bool,
    pub policy_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayOut {
    pub trace_id: String,
    pub run_id: String,
    pub run_status: String,
    pub snapshot_verified: bool,
    pub integrity: IntegrityOut,
    /// The run's length in seconds (the timeline's extent).
    pub duration_seconds: f64,
    pub timeline: Vec<ReplayStepOut>,
    pub inflection_point: Option<InflectionOut>,
    pub replayed_inflection_point: Option<InflectionOut>,
    pub verdict_reproduces: bool,
    pub notes: Vec<String>,
}

pub(crate) async fn list_traces(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: TraceQuery,
) -> ApiResult<web::Json<ListResponse<TraceOut>>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let dir = direction(q.direction.as_deref())?;
    let run_id = parse_field::<RunId>("run_id", q.run_id.as_deref())?;
    let has_violation = q.has_violation.map(|b| b.to_string());
    let applied = filters([
        ("status", q.status.as_deref()),
        ("agent_id", q.agent_id.as_deref()),
        ("run_id", q.run_id.as_deref()),
        ("has_violation", has_violation.as_deref()),
    ]);
    let filter =
        TraceFilter { status: q.status, agent_id: q.agent_id, run_id, has_violation: q.has_violation };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_traces(tenant, &filter, page, dir)).await?;
    Ok(web::Json(ListResponse::new(found, TraceOut::from, applied, "started_at", dir)))
}

#[utoipa::path(operation_id = "list_traces", tag = "traces", params(TraceQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<TraceOut>), (status = 422, body = ErrorBody)))]
#[get("/traces/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<TraceQuery>,
) -> ApiResult<web::Json<ListResponse<TraceOut>>> {
    list_traces(auth, state, q.into_inner()).await
}

/// LLM run logs: the traces of runs (seed 000 §12.5, topic LLM_RUNS).
#[utoipa::path(operation_id = "list_llm_runs", tag = "logs", params(TraceQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<TraceOut>), (status = 422, body = ErrorBody)))]
#[get("/logs/llm-runs")]
pub async fn llm_runs(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<TraceQuery>,
) -> ApiResult<web::Json<ListResponse<TraceOut>>> {
    list_traces(auth, state, q.into_inner()).await
}

/// A trace, its run, and its chain integrity: verified incrementally from the trace's
/// verified-through marker, or whole with `?verify=full`.
#[utoipa::path(operation_id = "show_trace", tag = "traces", params(("trace_id" = String, Path), ShowTraceQuery), security(("bearer" = [])),
    responses((status = 200, body = Detail<TraceDetailOut>), (status = 404, body = ErrorBody)))]
#[get("/traces/{trace_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<TraceId>,
    q: web::Query<ShowTraceQuery>,
) -> ApiResult<web::Json<Detail<TraceDetailOut>>> {
    let depth = q.depth()?;
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let d = blocking(move || gov.get_trace(tenant, id, depth)).await?;
    Ok(web::Json(Detail {
        entity: TraceDetailOut { trace: d.trace.into(), run: d.run.into(), integrity: d.integrity.into() },
        actions: vec![Action::new("replay", "Replay", true)],
    }))
}

#[utoipa::path(operation_id = "list_trace_steps", tag = "traces", params(("trace_id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<StepOut>), (status = 404, body = ErrorBody)))]
#[get("/traces/{trace_id}/steps")]
pub async fn steps(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<TraceId>,
    q: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListResponse<StepOut>>> {
    let page = q.request()?;
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let found = blocking(move || gov.trace_steps(tenant, id, page)).await?;
    Ok(web::Json(ListResponse::new(
        found,
        StepOut::from,
        Default::default(),
        "step_index",
        gov_model::SortDirection::Asc,
    )))
}

/// Re-evaluates the recorded steps against the recorded snapshot: the timeline, the inflection
/// point, and whether the verdict reproduces.
#[utoipa::path(operation_id = "replay_trace", tag = "traces", params(("trace_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReplayOut), (status = 404, body = ErrorBody)))]
#[post("/traces/{trace_id}/replay")]
pub async fn replay(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<TraceId>,
) -> ApiResult<web::Json<ReplayOut>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let r = blocking(move || gov.replay_trace(tenant, id)).await?;
    Ok(web::Json(ReplayOut {
        trace_id: r.trace.trace_id.to_string(),
        run_id: r.run.run_id.to_string(),
        run_status: r.run.status.as_str().to_owned(),
        snapshot_verified: r.snapshot_verified,
        integrity: r.integrity.into(),
        duration_seconds: r.duration_seconds,
        timeline: r
            .timeline
            .into_iter()
            .map(|s| ReplayStepOut {
                step_index: s.step_index,
                step_type: s.step_type,
                timestamp: s.timestamp,
                offset_seconds: s.offset_seconds,
                tokens: s.tokens,
                cumulative_tokens: s.cumulative_tokens,
                cost_cents: s.cost_cents,
                cumulative_cost_cents: s.cumulative_cost_cents,
                recorded_decision: s.recorded_decision.as_str().to_owned(),
                replayed_decision: s.replayed_decision.as_str().to_owned(),
                matches: s.matches,
                policy_id: s.policy_id.map(|p| p.to_string()),
                reason: s.reason,
            })
            .collect(),
        inflection_point: r.recorded_inflection.map(Into::into),
        replayed_inflection_point: r.replayed_inflection.map(Into::into),
        verdict_reproduces: r.verdict_reproduces,
        notes: r.notes,
    }))
}
