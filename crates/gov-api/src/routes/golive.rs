//! `/api/governance/go-live/`: the tenant's production switch and kill switch (seed 004). Reads need
//! `read`; every change needs `admin`, names an actor and a reason, and is audited. Bodies may be
//! JSON or form data (`curl -d "actor=...&reason=..."`).

use actix_web::{get, post, web};
use gov_facades::LeverChange;
use gov_model::GoLiveState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authed, Read};
use crate::blocking::blocking;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Input;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct GoLiveStateOut {
    pub go_live_enabled: bool,
    pub kill_switch_engaged: bool,
    pub changed_by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
    /// Whether this server refuses guarded requests of tenants that are not live.
    pub enforced: bool,
}

impl GoLiveStateOut {
    pub(crate) fn new(s: GoLiveState, enforced: bool) -> Self {
        GoLiveStateOut {
            go_live_enabled: s.go_live_enabled,
            kill_switch_engaged: s.kill_switch_engaged,
            changed_by: s.changed_by,
            reason: s.reason,
            updated_at: s.updated_at,
            enforced,
        }
    }
}

/// Who pulls a lever and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToggleIn {
    /// The operator (default: the calling key).
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = crate::schema::Text2000)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistOut {
    /// Every item holds.
    pub ready: bool,
    pub items: Vec<ChecklistItemOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItemOut {
    pub item: String,
    pub ok: bool,
    pub detail: String,
}

#[utoipa::path(operation_id = "go_live_state", tag = "governance", security(("bearer" = [])), responses((status = 200, body = GoLiveStateOut)))]
#[get("/go-live/state")]
pub async fn go_live_state(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<GoLiveStateOut>> {
    let (gov, tenant, enforced) = (state.gov.clone(), auth.caller.tenant_id, state.go_live_enforce);
    let s = blocking(move || gov.go_live(tenant)).await?;
    Ok(web::Json(GoLiveStateOut::new(s, enforced)))
}

#[utoipa::path(operation_id = "go_live_checklist", tag = "governance", security(("bearer" = [])), responses((status = 200, body = ChecklistOut)))]
#[get("/go-live/checklist")]
pub async fn checklist(auth: Authed<Read>, state: web::Data<AppState>) -> ApiResult<web::Json<ChecklistOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let items = blocking(move || gov.go_live_checklist(tenant)).await?;
    Ok(web::Json(ChecklistOut {
        ready: items.iter().all(|i| i.ok),
        items: items
            .into_iter()
            .map(|i| ChecklistItemOut { item: i.item.to_owned(), ok: i.ok, detail: i.detail })
            .collect(),
    }))
}

macro_rules! lever {
    ($name:ident, $operation_id:literal, $path:literal, $method:ident, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(operation_id = $operation_id, tag = "governance", request_body = ToggleIn, security(("bearer" = [])),
                    responses((status = 200, body = GoLiveStateOut), (status = 422, body = ErrorBody)))]
        #[post($path)]
        pub async fn $name(
            auth: Authed<Admin>,
            state: web::Data<AppState>,
            body: Input<ToggleIn>,
        ) -> ApiResult<web::Json<GoLiveStateOut>> {
            let (gov, enforced, b) = (state.gov.clone(), state.go_live_enforce, body.0);
            let change = LeverChange { actor: b.actor, reason: b.reason };
            let s = blocking(move || gov.$method(&auth.caller, change)).await?;
            Ok(web::Json(GoLiveStateOut::new(s, enforced)))
        }
    };
}

lever!(enable, "enable_go_live", "/go-live/enable", enable_go_live, "Puts the tenant live.");
lever!(
    disable,
    "disable_go_live",
    "/go-live/disable",
    disable_go_live,
    "Takes the tenant out of production."
);
lever!(
    engage,
    "engage_kill_switch",
    "/go-live/kill-switch/engage",
    engage_kill_switch,
    "Engages the kill switch: new runs are refused and every live run stops at its next step."
);
lever!(
    release,
    "release_kill_switch",
    "/go-live/kill-switch/release",
    release_kill_switch,
    "Releases the kill switch."
);
