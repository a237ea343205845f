//! `/api/v1/policies/` and `/api/v1/policies/rules/`: versioned policy rules. A policy and a rule
//! are the same object (`policy_id` = `rule_id`); every edit makes a new version and old versions
//! stay readable (`?version=N`, `/{policy_id}/versions`). DELETE archives.

use actix_web::{HttpResponse, delete, get, post, put, web};
use gov_facades::{PolicyDraft, PolicyFilter};
use gov_model::{PolicyId, PolicyStatus, PolicyVersion, RuleType, ScopeType, SortDirection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read, Write};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PageQuery, parse_field};
use crate::state::AppState;
use crate::wire::policy::{PolicyIn, PolicyOut, PolicySpecOut};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// active, disabled, archived
    #[param(value_type = Option<crate::schema::PolicyStatus>, inline)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::schema::RuleType>, inline)]
    pub rule_type: Option<String>,
    /// ALL_RUNS, AGENT, API_KEY, HUMAN_ACTOR
    #[param(value_type = Option<crate::schema::ScopeType>, inline)]
    pub scope_type: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Read this version instead of the current one.
    pub version: Option<i32>,
}

/// One version of a policy as it was.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyVersionOut {
    pub policy_id: String,
    pub version: i32,
    #[serde(flatten)]
    pub spec: PolicySpecOut,
    /// The policy's limits at this version.
    #[schema(value_type = Vec<Object>)]
    pub limits: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub created_by: String,
}

fn version_out((v, limits): (PolicyVersion, serde_json::Value)) -> PolicyVersionOut {
    PolicyVersionOut {
        policy_id: v.policy_id.to_string(),
        version: v.version,
        spec: v.spec.into(),
        limits,
        created_at: v.created_at,
        created_by: v.created_by,
    }
}

fn detail(policy: gov_model::PolicyRule) -> Detail<PolicyOut> {
    let live = policy.spec.status != PolicyStatus::Archived;
    Detail {
        entity: policy.into(),
        actions: vec![
            Action::new("update", "Edit (new version)", live),
            Action::new("add_limit", "Add a limit", live),
            Action::new("archive", "Archive", live),
        ],
    }
}

async fn list_policies(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: PolicyListQuery,
) -> ApiResult<web::Json<ListResponse<PolicyOut>>> {
    let page =
        PageQuery { page: query.page, page_size: query.page_size, cursor: query.cursor.clone() }.request()?;
    let filter = PolicyFilter {
        status: parse_field::<PolicyStatus>("status", query.status.as_deref())?,
        rule_type: parse_field::<RuleType>("rule_type", query.rule_type.as_deref())?,
        scope_type: parse_field::<ScopeType>("scope_type", query.scope_type.as_deref())?,
    };
    let applied = filters([
        ("status", query.status.as_deref()),
        ("rule_type", query.rule_type.as_deref()),
        ("scope_type", query.scope_type.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_policies(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(found, PolicyOut::from, applied, "priority", SortDirection::Asc)))
}

/// Lists policies, by precedence (priority, then age).
#[utoipa::path(operation_id = "list_policies", tag = "policies", params(PolicyListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<PolicyOut>), (status = 422, body = ErrorBody)))]
#[get("/policies/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<PolicyListQuery>,
) -> ApiResult<web::Json<ListResponse<PolicyOut>>> {
    list_policies(auth, state, query.into_inner()).await
}

/// Lists policy rules (the same objects as `/policies/`).
#[utoipa::path(operation_id = "list_policy_rules", tag = "policies", params(PolicyListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<PolicyOut>), (status = 422, body = ErrorBody)))]
#[get("/policies/rules/")]
pub async fn list_rules(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<PolicyListQuery>,
) -> ApiResult<web::Json<ListResponse<PolicyOut>>> {
    list_policies(auth, state, query.into_inner()).await
}

/// Creates a policy rule (version 1). Conditions are parsed and checked here: an invalid CEL
/// condition is 422 with its position.
#[utoipa::path(operation_id = "create_policy_rule", tag = "policies", request_body = PolicyIn, security(("bearer" = [])),
    responses((status = 201, body = Detail<PolicyOut>), (status = 422, body = ErrorBody)))]
#[post("/policies/rules/")]
pub async fn create_rule(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    body: web::Json<PolicyIn>,
) -> ApiResult<HttpResponse> {
    let (gov, draft) = (state.gov.clone(), PolicyDraft::from(body.into_inner()));
    let policy = blocking(move || gov.create_policy(&auth.caller, draft)).await?;
    Ok(HttpResponse::Created().json(detail(policy)))
}

async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    id: PolicyId,
    version: Option<i32>,
) -> ApiResult<HttpResponse> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    match version {
        None => {
            let policy = blocking(move || gov.get_policy(tenant, id)).await?;
            Ok(HttpResponse::Ok().json(detail(policy)))
        }
        Some(v) => {
            let version = blocking(move || gov.get_policy_version(tenant, id, v)).await?;
            Ok(HttpResponse::Ok().json(Detail { entity: version_out(version), actions: Vec::new() }))
        }
    }
}

async fn replace(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    id: PolicyId,
    body: PolicyIn,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    let (gov, draft) = (state.gov.clone(), PolicyDraft::from(body));
    let policy = blocking(move || gov.update_policy(&auth.caller, id, draft)).await?;
    Ok(web::Json(detail(policy)))
}

async fn archive(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    id: PolicyId,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    let gov = state.gov.clone();
    let policy = blocking(move || gov.archive_policy(&auth.caller, id)).await?;
    Ok(web::Json(detail(policy)))
}

/// A rule; `?version=N` reads an older version.
#[utoipa::path(operation_id = "show_policy_rule", tag = "policies", params(("rule_id" = String, Path), VersionQuery), security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody)))]
#[get("/policies/rules/{rule_id}")]
pub async fn show_rule(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
    q: web::Query<VersionQuery>,
) -> ApiResult<HttpResponse> {
    show(auth, state, path.into_inner(), q.version).await
}

/// Replaces a rule's definition: a new version.
#[utoipa::path(operation_id = "update_policy_rule", tag = "policies", params(("rule_id" = String, Path)), request_body = PolicyIn, security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/policies/rules/{rule_id}")]
pub async fn update_rule(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
    body: web::Json<PolicyIn>,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    replace(auth, state, path.into_inner(), body.into_inner()).await
}

/// Archives a rule: no new run applies it; evidence naming it stays readable.
#[utoipa::path(operation_id = "delete_policy_rule", tag = "policies", params(("rule_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/policies/rules/{rule_id}")]
pub async fn delete_rule(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    archive(auth, state, path.into_inner()).await
}

/// A policy; `?version=N` reads an older version.
#[utoipa::path(operation_id = "show_policy", tag = "policies", params(("policy_id" = String, Path), VersionQuery), security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody)))]
#[get("/policies/{policy_id}")]
pub async fn show_policy(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
    q: web::Query<VersionQuery>,
) -> ApiResult<HttpResponse> {
    show(auth, state, path.into_inner(), q.version).await
}

/// Replaces a policy's definition: a new version.
#[utoipa::path(operation_id = "update_policy", tag = "policies", params(("policy_id" = String, Path)), request_body = PolicyIn, security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/policies/{policy_id}")]
pub async fn update_policy(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
    body: web::Json<PolicyIn>,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    replace(auth, state, path.into_inner(), body.into_inner()).await
}

/// Archives a policy.
#[utoipa::path(operation_id = "delete_policy", tag = "policies", params(("policy_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<PolicyOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/policies/{policy_id}")]
pub async fn delete_policy(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
) -> ApiResult<web::Json<Detail<PolicyOut>>> {
    archive(auth, state, path.into_inner()).await
}

/// Every version of a policy, newest first.
#[utoipa::path(operation_id = "list_policy_versions", tag = "policies", params(("policy_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<PolicyVersionOut>), (status = 404, body = ErrorBody)))]
#[get("/policies/{policy_id}/versions")]
pub async fn versions(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<PolicyId>,
) -> ApiResult<web::Json<Vec<PolicyVersionOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let versions = blocking(move || gov.policy_versions(tenant, id)).await?;
    Ok(web::Json(versions.into_iter().map(version_out).collect()))
}
