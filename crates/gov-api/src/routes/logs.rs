//! `/api/v1/logs/audit`: the tenant's audit trail (read).

use actix_web::{get, web};
use gov_facades::AuditQuery;
use gov_model::{AuditEntry, SortDirection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{ListResponse, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::PageQuery;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogOut {
    pub log_id: String,
    pub tenant_id: String,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditEntry> for AuditLogOut {
    fn from(e: AuditEntry) -> Self {
        AuditLogOut {
            log_id: e.id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            actor_id: e.actor_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            timestamp: e.timestamp,
            details: e.details,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// e.g. `api_key.created`.
    pub action: Option<String>,
    /// e.g. `api_key`, `user`, `tenant`.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_id: Option<String>,
}

/// Audit rows, newest first. Every change made through the API has one, written in the same
/// transaction as the change.
#[utoipa::path(operation_id = "list_audit_logs", tag = "logs", params(AuditListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<AuditLogOut>), (status = 422, body = ErrorBody)))]
#[get("/logs/audit")]
pub async fn audit(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<AuditListQuery>,
) -> ApiResult<web::Json<ListResponse<AuditLogOut>>> {
    let q = query.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size }.request()?;
    let applied = filters([
        ("action", q.action.as_deref()),
        ("resource_type", q.resource_type.as_deref()),
        ("resource_id", q.resource_id.as_deref()),
        ("actor_id", q.actor_id.as_deref()),
    ]);
    let filter = AuditQuery {
        action: q.action,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        actor_id: q.actor_id,
    };
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let entries = blocking(move || gov.list_audit_logs(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(entries, AuditLogOut::from, applied, "timestamp", SortDirection::Desc)))
}
