//! `/api/v1/connectivity/api-keys/`: issue, list, show, revoke and rotate API keys (admin).

use actix_web::{HttpResponse, delete, get, post, web};
use gov_facades::{CreatedKey, NewApiKey};
use gov_model::{ApiKey, ApiKeyId, SortDirection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{Admin, Authed};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::PageQuery;
use crate::state::AppState;

/// An API key as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    /// The public start of the key, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        ApiKeyOut {
            key_id: k.id.to_string(),
            tenant_id: k.tenant_id.to_string(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked: k.revoked,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just issued. `key` is shown this once and cannot be recovered.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyOut {
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The secret: send it as `Authorization: Bearer <key>`.
    pub key: String,
    /// When the key replaced another (rotation), that key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotated_from: Option<String>,
}

impl CreatedKeyOut {
    pub fn new(created: CreatedKey, rotated_from: Option<ApiKeyId>) -> Self {
        CreatedKeyOut {
            api_key: created.key.into(),
            key: created.secret,
            rotated_from: rotated_from.map(|id| id.to_string()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(value_type = crate::schema::Text100)]
    pub name: String,
    /// Any of `read`, `write`, `admin`, `ingest`.
    #[schema(value_type = Vec<crate::schema::ScopeName>, min_items = 1)]
    pub scopes: Vec<String>,
    /// Optional expiry (RFC 3339, in the future).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

fn detail(key: ApiKey) -> Detail<ApiKeyOut> {
    let live = !key.revoked;
    Detail {
        entity: key.into(),
        actions: vec![Action::new("rotate", "Rotate key", live), Action::new("revoke", "Revoke key", live)],
    }
}

/// Lists the tenant's API keys, newest first.
#[utoipa::path(operation_id = "list_api_keys", tag = "connectivity", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ApiKeyOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
#[get("/connectivity/api-keys/")]
pub async fn list(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult<web::Json<ListResponse<ApiKeyOut>>> {
    let page = query.request()?;
    let gov = state.gov.clone();
    let tenant = auth.caller.tenant_id;
    let keys = blocking(move || gov.list_api_keys(tenant, page)).await?;
    Ok(web::Json(ListResponse::new(
        keys,
        ApiKeyOut::from,
        Default::default(),
        "created_at",
        SortDirection::Desc,
    )))
}

/// Issues a key; the response carries the secret once.
#[utoipa::path(operation_id = "create_api_key", tag = "connectivity", request_body = CreateApiKey, security(("bearer" = [])),
    responses((status = 201, body = CreatedKeyOut), (status = 422, body = ErrorBody)))]
#[post("/connectivity/api-keys/")]
pub async fn create(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKey>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let input = NewApiKey { name: body.name, scopes: body.scopes, expires_at: body.expires_at };
    let gov = state.gov.clone();
    let created = blocking(move || gov.create_api_key(&auth.caller, input)).await?;
    Ok(HttpResponse::Created().json(CreatedKeyOut::new(created, None)))
}

#[utoipa::path(operation_id = "show_api_key", tag = "connectivity", params(("key_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<ApiKeyOut>), (status = 404, body = ErrorBody)))]
#[get("/connectivity/api-keys/{key_id}")]
pub async fn show(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<ApiKeyId>,
) -> ApiResult<web::Json<Detail<ApiKeyOut>>> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let key = blocking(move || gov.get_api_key(auth.caller.tenant_id, id)).await?;
    Ok(web::Json(detail(key)))
}

/// Revokes the key: from now on it gets 401. Revoking twice is a 409.
#[utoipa::path(operation_id = "revoke_api_key", tag = "connectivity", params(("key_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<ApiKeyOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[delete("/connectivity/api-keys/{key_id}")]
pub async fn revoke(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<ApiKeyId>,
) -> ApiResult<web::Json<Detail<ApiKeyOut>>> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let key = blocking(move || gov.revoke_api_key(&auth.caller, id)).await?;
    Ok(web::Json(detail(key)))
}

/// Replaces the key with a new one (same name, scopes, expiry) and revokes it, atomically.
#[utoipa::path(operation_id = "rotate_api_key", tag = "connectivity", params(("key_id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = CreatedKeyOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/connectivity/api-keys/{key_id}/rotate")]
pub async fn rotate(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<ApiKeyId>,
) -> ApiResult<HttpResponse> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let (created, old) = blocking(move || gov.rotate_api_key(&auth.caller, id)).await?;
    Ok(HttpResponse::Created().json(CreatedKeyOut::new(created, Some(old.id))))
}
