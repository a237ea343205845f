//! `/api/v1/policies/controls`, `/validate`, `/library`, `/violations/`: the tenant-wide
//! enforcement lever, checking a policy before saving it, templates, and the violation views.

use std::collections::BTreeMap;

use actix_web::{get, post, put, web};
use gov_facades::{EvidenceFilter, PolicyDraft};
use gov_model::{ConflictStrategy, EnforcementMode, PolicyId, RunId, SortDirection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Authed, Read};
use crate::blocking::blocking;
use crate::envelope::{ListResponse, filters};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{PageQuery, parse_field};
use crate::state::AppState;
use crate::wire::evidence::ViolationOut;
use crate::wire::policy::{ControlsOut, PolicyIn, PolicySpecOut};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlsIn {
    /// enforce or shadow.
    #[schema(value_type = Option<crate::schema::EnforcementMode>)]
    pub enforcement_mode: Option<EnforcementMode>,
    /// MOST_RESTRICTIVE, EXPLICIT_PRIORITY or FAIL_CLOSED.
    #[schema(value_type = Option<crate::schema::ConflictStrategy>)]
    pub conflict_strategy: Option<ConflictStrategy>,
    #[schema(exclusive_minimum = 0, exclusive_maximum = 100)]
    pub near_threshold_pct: Option<f64>,
}

/// The tenant's policy controls and the agents currently killed.
#[utoipa::path(operation_id = "show_policy_controls", tag = "policies", security(("bearer" = [])), responses((status = 200, body = ControlsOut)))]
#[get("/policies/controls")]
pub async fn controls(auth: Authed<Read>, state: web::Data<AppState>) -> ApiResult<web::Json<ControlsOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let (current, killed) =
        blocking(move || Ok((gov.policy_controls(tenant)?, gov.killed_agents(tenant)?))).await?;
    Ok(web::Json(ControlsOut::new(current, killed)))
}

/// Changes the controls (admin). `shadow` decides and records every step but never blocks;
/// the conflict strategy applies to runs started afterwards (it is frozen into their snapshots).
#[utoipa::path(operation_id = "set_policy_controls", tag = "policies", request_body = ControlsIn, security(("bearer" = [])),
    responses((status = 200, body = ControlsOut), (status = 422, body = ErrorBody)))]
#[put("/policies/controls")]
pub async fn set_controls(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: web::Json<ControlsIn>,
) -> ApiResult<web::Json<ControlsOut>> {
    let b = body.into_inner();
    let gov = state.gov.clone();
    let (saved, killed) = blocking(move || {
        let mut wanted = gov.policy_controls(auth.caller.tenant_id)?;
        if let Some(m) = b.enforcement_mode {
            wanted.enforcement_mode = m;
        }
        if let Some(s) = b.conflict_strategy {
            wanted.conflict_strategy = s;
        }
        if let Some(p) = b.near_threshold_pct {
            wanted.near_threshold_pct = p;
        }
        let saved = gov.set_policy_controls(&auth.caller, wanted)?;
        Ok((saved, gov.killed_agents(auth.caller.tenant_id)?))
    })
    .await?;
    Ok(web::Json(ControlsOut::new(saved, killed)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Validated {
    pub valid: bool,
    /// The definition as it would be saved, defaults filled in.
    pub policy: PolicySpecOut,
}

/// Checks a policy definition, CEL condition included, without saving it: 200 when valid;
/// 422 otherwise, with every problem in `details.errors` (CEL errors carry `position`).
#[utoipa::path(operation_id = "validate_policy", tag = "policies", request_body = PolicyIn, security(("bearer" = [])),
    responses((status = 200, body = Validated), (status = 422, body = ErrorBody)))]
#[post("/policies/validate")]
pub async fn validate(
    _auth: Authed<Read>,
    state: web::Data<AppState>,
    body: web::Json<PolicyIn>,
) -> ApiResult<web::Json<Validated>> {
    let (gov, draft) = (state.gov.clone(), PolicyDraft::from(body.into_inner()));
    let spec = blocking(move || gov.validate_policy(draft)).await?;
    Ok(web::Json(Validated { valid: true, policy: spec.into() }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    pub template_id: String,
    pub summary: String,
    pub policy: PolicySpecOut,
}

/// Built-in policy templates (POL-001 is the seed's token limit).
#[utoipa::path(operation_id = "policy_library", tag = "policies", security(("bearer" = [])), responses((status = 200, body = ListResponse<TemplateOut>)))]
#[get("/policies/library")]
pub async fn library(_auth: Authed<Read>) -> web::Json<ListResponse<TemplateOut>> {
    let templates = gov_facades::templates();
    let total = templates.len();
    let page = gov_model::Page::whole(
        templates,
        total as i64,
        gov_model::PageRequest::new(1, gov_model::MAX_PAGE_SIZE).unwrap_or_default(),
    );
    web::Json(ListResponse::new(
        page,
        |t| TemplateOut {
            template_id: t.template_id.to_owned(),
            summary: t.summary.to_owned(),
            policy: t.spec.into(),
        },
        Default::default(),
        "template_id",
        SortDirection::Asc,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page (keyset paging).
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub run_id: Option<String>,
    /// WARN, PAUSE, STOP or KILL.
    #[param(value_type = Option<crate::schema::BreachAction>, inline)]
    pub action: Option<String>,
}

/// Policy violations (prevention records), newest first.
#[utoipa::path(operation_id = "list_violations", tag = "policies", params(ViolationQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ViolationOut>), (status = 422, body = ErrorBody)))]
#[get("/policies/violations/")]
pub async fn violations(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    query: web::Query<ViolationQuery>,
) -> ApiResult<web::Json<ListResponse<ViolationOut>>> {
    let q = query.into_inner();
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let filter = EvidenceFilter {
        run_id: parse_field::<RunId>("run_id", q.run_id.as_deref())?,
        policy_id: parse_field::<PolicyId>("policy_id", q.policy_id.as_deref())?,
        kind: q
            .action
            .as_deref()
            .map(|a| {
                a.parse::<gov_model::BreachAction>()
                    .map(|a| a.as_str().to_owned())
                    .map_err(|e| ApiError::validation("action", e.to_string()))
            })
            .transpose()?,
        since: None,
    };
    let applied = filters([
        ("policy_id", q.policy_id.as_deref()),
        ("run_id", q.run_id.as_deref()),
        ("action", q.action.as_deref()),
    ]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let records = blocking(move || gov.list_violations(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(records, ViolationOut::from, applied, "created_at", SortDirection::Desc)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViolationStatsOut {
    pub total: i64,
    /// Violations that were enforced (not shadow mode, not outranked).
    pub enforced: i64,
    pub by_policy: BTreeMap<String, i64>,
    pub by_type: BTreeMap<String, i64>,
    pub by_action: BTreeMap<String, i64>,
}

/// Violation counts by policy, by violation type and by action.
#[utoipa::path(operation_id = "violation_stats", tag = "policies", security(("bearer" = [])), responses((status = 200, body = ViolationStatsOut)))]
#[get("/policies/violations/stats")]
pub async fn violation_stats(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<ViolationStatsOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let s = blocking(move || gov.violation_stats(tenant, None)).await?;
    Ok(web::Json(ViolationStatsOut {
        total: s.total,
        enforced: s.enforced,
        by_policy: s.by_policy,
        by_type: s.by_type,
        by_action: s.by_action,
    }))
}
