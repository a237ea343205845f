//! `/api/v1/accounts/`: the caller's own tenant account.

use actix_web::{get, web};
use gov_model::Tenant;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::auth::{Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub tenant_id: String,
    pub name: String,
    pub plan: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// The key this request was made with.
    pub api_key_id: String,
    pub scopes: Vec<String>,
}

/// The account (tenant) the calling key belongs to.
#[utoipa::path(operation_id = "current_account", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Detail<AccountOut>), (status = 401, body = ErrorBody)))]
#[get("/accounts/")]
pub async fn current(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Detail<AccountOut>>> {
    let gov = state.gov.clone();
    let tenant_id = auth.caller.tenant_id;
    let tenant: Tenant = blocking(move || gov.get_tenant(tenant_id)).await?;
    let is_admin = auth.principal.allows(gov_model::Scope::Admin);
    Ok(web::Json(Detail {
        entity: AccountOut {
            tenant_id: tenant.id.to_string(),
            name: tenant.name,
            plan: tenant.plan,
            created_at: tenant.created_at,
            settings: tenant.settings,
            api_key_id: auth.principal.api_key_id.to_string(),
            scopes: auth.principal.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        },
        actions: vec![
            Action::new("manage_users", "Manage users", is_admin),
            Action::new("manage_api_keys", "Manage API keys", is_admin),
        ],
    }))
}
