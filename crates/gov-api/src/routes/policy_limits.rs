//! `/api/v1/policies/limits/`: extra numeric limits of a policy. Changing a limit is changing its
//! policy: each change records a new policy version.

use actix_web::{HttpResponse, delete, get, post, put, web};
use gov_facades::LimitDraft;
use gov_model::{LimitId, LimitScope, PolicyId, RuleType, SortDirection};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read, Write};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, parse_field};
use crate::state::AppState;
use crate::wire::policy::LimitOut;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitIn {
    #[schema(value_type = uuid::Uuid)]
    pub policy_id: String,
    /// token_limit, cost_limit, step_limit, rate_limit or burn_rate.
    #[schema(value_type = crate::schema::RuleType)]
    pub limit_type: RuleType,
    pub value: f64,
    /// Rate limits only.
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub window_seconds: Option<i64>,
    /// RUN (default), or AGENT / API_KEY for rate limits (default AGENT).
    #[schema(value_type = Option<crate::schema::LimitScope>)]
    pub scope: Option<LimitScope>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitUpdate {
    pub value: f64,
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub window_seconds: Option<i64>,
    #[schema(value_type = Option<crate::schema::LimitScope>)]
    pub scope: Option<LimitScope>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
}

fn detail(limit: gov_model::PolicyLimit) -> Detail<LimitOut> {
    Detail {
        entity: limit.into(),
        actions: vec![Action::new("update", "Change the value", true), Action::new("delete", "Remove", true)],
    }
}

#[utoipa::path(operation_id = "list_policy_limits", tag = "policies", params(LimitListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<LimitOut>), (status = 422, body = ErrorBody)))]
#[get("/policies/limits/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<LimitListQuery>,
) -> ApiResult<web::Json<ListResponse<LimitOut>>> {
    let page =
        PageQuery { page: query.page, page_size: query.page_size, cursor: query.cursor.clone() }.request()?;
    let policy = parse_field::<PolicyId>("policy_id", query.policy_id.as_deref())?;
    let applied = filters([("policy_id", query.policy_id.as_deref())]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let limits = blocking(move || gov.list_limits(tenant, policy, page)).await?;
    Ok(web::Json(ListResponse::new(limits, LimitOut::from, applied, "created_at", SortDirection::Asc)))
}

#[utoipa::path(operation_id = "create_policy_limit", tag = "policies", request_body = LimitIn, security(("bearer" = [])),
    responses((status = 201, body = Detail<LimitOut>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/policies/limits/")]
pub async fn create(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    body: web::Json<LimitIn>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let policy_id = parse_field::<PolicyId>("policy_id", Some(&b.policy_id))?
        .ok_or_else(|| ApiError::validation("policy_id", "required"))?;
    let draft = LimitDraft {
        policy_id,
        limit_type: b.limit_type,
        value: b.value,
        window_seconds: b.window_seconds,
        scope: b.scope,
    };
    let gov = state.gov.clone();
    let limit = blocking(move || gov.create_limit(&auth.caller, draft)).await?;
    Ok(HttpResponse::Created().json(detail(limit)))
}

#[utoipa::path(operation_id = "show_policy_limit", tag = "policies", params(("limit_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<LimitOut>), (status = 404, body = ErrorBody)))]
#[get("/policies/limits/{limit_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<LimitId>,
) -> ApiResult<web::Json<Detail<LimitOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let limit = blocking(move || gov.get_limit(tenant, id)).await?;
    Ok(web::Json(detail(limit)))
}

#[utoipa::path(operation_id = "update_policy_limit", tag = "policies", params(("limit_id" = String, Path)), request_body = LimitUpdate, security(("bearer" = [])),
    responses((status = 200, body = Detail<LimitOut>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/policies/limits/{limit_id}")]
pub async fn update(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<LimitId>,
    body: web::Json<LimitUpdate>,
) -> ApiResult<web::Json<Detail<LimitOut>>> {
    let (gov, id, b) = (state.gov.clone(), path.into_inner(), body.into_inner());
    let limit =
        blocking(move || gov.update_limit(&auth.caller, id, b.value, b.window_seconds, b.scope)).await?;
    Ok(web::Json(detail(limit)))
}

#[utoipa::path(operation_id = "delete_policy_limit", tag = "policies", params(("limit_id" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
#[delete("/policies/limits/{limit_id}")]
pub async fn remove(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<LimitId>,
) -> ApiResult<HttpResponse> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    blocking(move || gov.delete_limit(&auth.caller, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
