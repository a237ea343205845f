//! `/api/v1/activity/`: what ran and is running (runs live and completed, one run's detail with
//! everything it links to, threshold signals), and `/api/v1/analytics/costs`.

use actix_web::{get, web};
use gov_facades::{EvidenceFilter, RunFilter, RunSort};
use gov_model::{PolicyId, RunId, RunStatus, SortDirection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, direction, parse_field};
use crate::state::AppState;
use crate::wire::evidence::{CostOut, OverrideOut, SignalOut};
use crate::wire::incident::IncidentOut;
use crate::wire::run::{RunOut, SnapshotOut};
use crate::wire::trace::TraceOut;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// queued, running, paused, succeeded, failed, failed_policy, cancelled
    #[param(value_type = Option<crate::schema::RunStatus>, inline)]
    pub status: Option<String>,
    pub agent_id: Option<String>,
    /// RFC 3339: runs started at or after.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub started_after: Option<String>,
    /// RFC 3339: runs started before.
    #[param(value_type = Option<crate::schema::DateTime>, inline)]
    pub started_before: Option<String>,
    /// started_at (default), tokens_used or total_cost_cents.
    #[param(value_type = Option<crate::schema::RunSort>, inline)]
    pub sort: Option<String>,
    /// asc or desc (default).
    #[param(value_type = Option<crate::schema::Direction>, inline)]
    pub direction: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetailOut {
    #[serde(flatten)]
    pub run: RunOut,
    pub policy_snapshot: SnapshotOut,
    pub trace: TraceOut,
    pub incident: Option<IncidentOut>,
    pub costs: Vec<CostOut>,
    pub overrides: Vec<OverrideOut>,
}

fn time_param(field: &str, value: Option<&str>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::validation(field, format!("{v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

async fn list_runs(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: RunQuery,
    statuses: Option<Vec<RunStatus>>,
) -> ApiResult<web::Json<ListResponse<RunOut>>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let dir = direction(q.direction.as_deref())?;
    let sort_field = q.sort.as_deref().unwrap_or("started_at");
    let sort = match sort_field {
        "started_at" => RunSort::StartedAt,
        "tokens_used" => RunSort::TokensUsed,
        "total_cost_cents" => RunSort::TotalCostCents,
        other => return Err(ApiError::validation("sort", format!("cannot sort runs by {other:?}"))),
    };
    let status = q
        .status
        .as_deref()
        .map(|s| s.parse::<RunStatus>().map_err(|e| ApiError::validation("status", e.to_string())))
        .transpose()?;
    let filter = RunFilter {
        statuses: match (status, statuses) {
            (Some(s), Some(allowed)) if !allowed.contains(&s) => Some(Vec::new()),
            (Some(s), _) => Some(vec![s]),
            (None, allowed) => allowed,
        },
        agent_id: q.agent_id.clone(),
        started_after: time_param("started_after", q.started_after.as_deref())?,
        started_before: time_param("started_before", q.started_before.as_deref())?,
    };
    let applied = filters([
        ("status", q.status.as_deref()),
        ("agent_id", q.agent_id.as_deref()),
        ("started_after", q.started_after.as_deref()),
        ("started_before", q.started_before.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_runs(tenant, &filter, page, sort, dir)).await?;
    Ok(web::Json(ListResponse::new(found, RunOut::from, applied, sort_field, dir)))
}

#[utoipa::path(operation_id = "list_activity", tag = "activity", params(RunQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<RunOut>), (status = 422, body = ErrorBody)))]
#[get("/activity/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<RunQuery>,
) -> ApiResult<web::Json<ListResponse<RunOut>>> {
    list_runs(auth, state, q.into_inner(), None).await
}

/// Runs that have not ended (queued, running, paused).
#[utoipa::path(operation_id = "list_live_activity", tag = "activity", params(RunQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<RunOut>), (status = 422, body = ErrorBody)))]
#[get("/activity/live")]
pub async fn live(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<RunQuery>,
) -> ApiResult<web::Json<ListResponse<RunOut>>> {
    let statuses = vec![RunStatus::Queued, RunStatus::Running, RunStatus::Paused];
    list_runs(auth, state, q.into_inner(), Some(statuses)).await
}

/// Runs that have ended (succeeded, failed, failed_policy, cancelled).
#[utoipa::path(operation_id = "list_completed_activity", tag = "activity", params(RunQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<RunOut>), (status = 422, body = ErrorBody)))]
#[get("/activity/completed")]
pub async fn completed(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<RunQuery>,
) -> ApiResult<web::Json<ListResponse<RunOut>>> {
    let statuses =
        vec![RunStatus::Succeeded, RunStatus::Failed, RunStatus::FailedPolicy, RunStatus::Cancelled];
    list_runs(auth, state, q.into_inner(), Some(statuses)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignalQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
    /// NEAR or BREACH.
    #[param(value_type = Option<crate::schema::SignalType>, inline)]
    pub signal_type: Option<String>,
}

/// Threshold signals (NEAR and BREACH), newest first.
#[utoipa::path(operation_id = "list_signals", tag = "activity", params(SignalQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<SignalOut>), (status = 422, body = ErrorBody)))]
#[get("/activity/signals")]
pub async fn signals(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<SignalQuery>,
) -> ApiResult<web::Json<ListResponse<SignalOut>>> {
    let q = q.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let kind = q
        .signal_type
        .as_deref()
        .map(|s| {
            s.parse::<gov_model::SignalType>()
                .map(|s| s.as_str().to_owned())
                .map_err(|e| ApiError::validation("signal_type", e.to_string()))
        })
        .transpose()?;
    let filter = EvidenceFilter {
        run_id: parse_field::<RunId>("run_id", q.run_id.as_deref())?,
        policy_id: parse_field::<PolicyId>("policy_id", q.policy_id.as_deref())?,
        kind,
        since: None,
    };
    let applied = filters([
        ("run_id", q.run_id.as_deref()),
        ("policy_id", q.policy_id.as_deref()),
        ("signal_type", q.signal_type.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_signals(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(found, SignalOut::from, applied, "created_at", SortDirection::Desc)))
}

/// One run with its snapshot, trace, incident, cost records and overrides.
#[utoipa::path(operation_id = "show_activity", tag = "activity", params(("run_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<RunDetailOut>), (status = 404, body = ErrorBody)))]
#[get("/activity/{run_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
) -> ApiResult<web::Json<Detail<RunDetailOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let d = blocking(move || gov.run_detail(tenant, id)).await?;
    let is_live = !d.run.status.is_terminal();
    let paused = d.run.status == RunStatus::Paused;
    Ok(web::Json(Detail {
        entity: RunDetailOut {
            run: d.run.into(),
            policy_snapshot: d.snapshot.into(),
            trace: d.trace.into(),
            incident: d.incident.map(Into::into),
            costs: d.costs.into_iter().map(Into::into).collect(),
            overrides: d.overrides.into_iter().map(Into::into).collect(),
        },
        actions: vec![
            Action::new("cancel", "Cancel run", is_live),
            Action::new("override", "Override and resume", paused),
            Action::new("replay", "Replay trace", true),
        ],
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CostQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    pub model: Option<String>,
}

/// Cost records: one per model per ended run (cost attribution at run completion).
#[utoipa::path(operation_id = "list_costs", tag = "analytics", params(CostQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<CostOut>), (status = 422, body = ErrorBody)))]
#[get("/analytics/costs")]
pub async fn costs(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<CostQuery>,
) -> ApiResult<web::Json<ListResponse<CostOut>>> {
    let q = q.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let run = parse_field::<RunId>("run_id", q.run_id.as_deref())?;
    let applied = filters([("run_id", q.run_id.as_deref()), ("model", q.model.as_deref())]);
    let (gov, tenant, model) = (state.gov.clone(), auth.caller.tenant_id, q.model.clone());
    let found = blocking(move || gov.list_costs(tenant, run, model.as_deref(), page)).await?;
    Ok(web::Json(ListResponse::new(found, CostOut::from, applied, "created_at", SortDirection::Desc)))
}
