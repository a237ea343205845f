//! `/api/v1/policies/proposals/`: rule changes proposed by one key and approved or rejected by
//! another (seed 000 §12.4). Approval creates the policy or its next version; approved and
//! rejected proposals are final (409 `proposal_closed`), a proposer cannot review their own
//! proposal (403 `self_review`) and a proposal whose policy changed since cannot be approved
//! (409 `proposal_stale`).

use actix_web::{HttpResponse, get, post, put, web};
use gov_facades::{NewProposal, PolicyDraft, ProposalEdit, ProposalFilter, ProposalView};
use gov_model::{PolicyId, ProposalId, ProposalStatus, SortDirection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authed, Read, Write};
use crate::blocking::blocking;
use crate::envelope::{Action, Detail, ListResponse, filters};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{PageQuery, optional_json, parse_field};
use crate::state::AppState;
use crate::wire::policy::{PolicyIn, PolicySpecOut};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// The `pagination.next_cursor` of the previous page.
    #[param(value_type = Option<crate::schema::Cursor>)]
    pub cursor: Option<String>,
    /// pending, approved, rejected
    #[param(value_type = Option<crate::schema::ProposalStatus>, inline)]
    pub status: Option<String>,
    /// Proposals that change this policy.
    #[param(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
}

/// A proposed rule change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalIn {
    /// The policy to change (a new version of it); omit to propose a new policy.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<PolicyId>,
    /// The rule, exactly as `POST /api/v1/policies/rules/` takes it.
    pub proposed_rule: PolicyIn,
    /// Why.
    #[schema(value_type = Option<crate::schema::Text4000>)]
    pub rationale: Option<String>,
}

/// An edit of a pending proposal (its proposer only); an absent field stays as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalEditIn {
    pub proposed_rule: Option<PolicyIn>,
    #[schema(value_type = Option<crate::schema::Text4000>)]
    pub rationale: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// The reviewer's note. The reviewer is always the calling key.
    #[schema(value_type = Option<crate::schema::Text4000>)]
    pub note: Option<String>,
}

/// A policy proposal (PolicyProposal).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalOut {
    pub proposal_id: String,
    pub tenant_id: String,
    /// The policy it changes; null proposes a new policy.
    pub policy_id: Option<String>,
    /// The target policy's version when the proposal was made.
    pub base_version: Option<i32>,
    /// The rule with its defaults filled in (a valid body of `POST /api/v1/policies/rules/`).
    pub proposed_rule: PolicySpecOut,
    pub rationale: Option<String>,
    /// pending, approved, rejected
    #[schema(value_type = crate::schema::ProposalStatus)]
    pub status: String,
    /// The proposing key's actor id (`api_key:<id>`).
    pub proposer_id: String,
    pub reviewer_id: Option<String>,
    pub review_note: Option<String>,
    /// What approval created: the policy and its version.
    pub resulting_policy_id: Option<String>,
    pub resulting_version: Option<i32>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reviewed_at: Option<time::OffsetDateTime>,
}

impl From<ProposalView> for ProposalOut {
    fn from(v: ProposalView) -> Self {
        let p = v.proposal;
        ProposalOut {
            proposal_id: p.proposal_id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            policy_id: p.policy_id.map(|i| i.to_string()),
            base_version: p.base_version,
            proposed_rule: v.rule.into(),
            rationale: p.rationale,
            status: p.status.as_str().to_owned(),
            proposer_id: p.proposer_id,
            reviewer_id: p.reviewer_id,
            review_note: p.review_note,
            resulting_policy_id: p.resulting_policy_id.map(|i| i.to_string()),
            resulting_version: p.resulting_version,
            created_at: p.created_at,
            updated_at: p.updated_at,
            reviewed_at: p.reviewed_at,
        }
    }
}

/// O3 with the actions open in the proposal's state (whether the caller may take them is
/// checked when they are taken: the proposer edits, anyone else reviews).
fn detail(v: ProposalView) -> Detail<ProposalOut> {
    let pending = v.proposal.status == ProposalStatus::Pending;
    Detail {
        entity: v.into(),
        actions: vec![
            Action::new("approve", "Approve", pending),
            Action::new("reject", "Reject", pending),
            Action::new("edit", "Edit", pending),
        ],
    }
}

/// Lists the tenant's policy proposals, newest first.
#[utoipa::path(operation_id = "list_policy_proposals", tag = "policies", params(ProposalQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<ProposalOut>), (status = 422, body = ErrorBody)))]
#[get("/policies/proposals/")]
pub async fn list(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    q: web::Query<ProposalQuery>,
) -> ApiResult<web::Json<ListResponse<ProposalOut>>> {
    let page = PageQuery { page: q.page, page_size: q.page_size, cursor: q.cursor.clone() }.request()?;
    let filter = ProposalFilter {
        status: parse_field::<ProposalStatus>("status", q.status.as_deref())?,
        policy_id: parse_field::<PolicyId>("policy_id", q.policy_id.as_deref())?,
    };
    let applied = filters([("status", q.status.as_deref()), ("policy_id", q.policy_id.as_deref())]);
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.list_proposals(tenant, &filter, page)).await?;
    Ok(web::Json(ListResponse::new(found, ProposalOut::from, applied, "created_at", SortDirection::Desc)))
}

/// Proposes a new policy (no `policy_id`) or a new version of one. The rule is validated exactly
/// as `POST /api/v1/policies/rules/` validates it (CEL conditions with positions), its fields
/// named under `proposed_rule.`.
#[utoipa::path(operation_id = "create_policy_proposal", tag = "policies", request_body = ProposalIn, security(("bearer" = [])),
    responses((status = 201, body = Detail<ProposalOut>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/policies/proposals/")]
pub async fn create(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    body: web::Json<ProposalIn>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let input = NewProposal {
        policy_id: b.policy_id,
        rule: PolicyDraft::from(b.proposed_rule),
        rationale: b.rationale,
    };
    let gov = state.gov.clone();
    let created = blocking(move || gov.create_proposal(&auth.caller, input)).await?;
    Ok(HttpResponse::Created().json(detail(created)))
}

#[utoipa::path(operation_id = "show_policy_proposal", tag = "policies", params(("proposal_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Detail<ProposalOut>), (status = 404, body = ErrorBody)))]
#[get("/policies/proposals/{proposal_id}")]
pub async fn show(
    auth: Authed<Read>,
    state: web::Data<AppState>,
    path: web::Path<ProposalId>,
) -> ApiResult<web::Json<Detail<ProposalOut>>> {
    let (gov, tenant, id) = (state.gov.clone(), auth.caller.tenant_id, path.into_inner());
    let found = blocking(move || gov.get_proposal(tenant, id)).await?;
    Ok(web::Json(detail(found)))
}

/// Edits a pending proposal: its proposer only (403 `not_proposer`). `base_version` stays the
/// version it was proposed against.
#[utoipa::path(operation_id = "update_policy_proposal", tag = "policies", params(("proposal_id" = String, Path)), request_body = ProposalEditIn, security(("bearer" = [])),
    responses((status = 200, body = Detail<ProposalOut>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[put("/policies/proposals/{proposal_id}")]
pub async fn update(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<ProposalId>,
    body: web::Json<ProposalEditIn>,
) -> ApiResult<web::Json<Detail<ProposalOut>>> {
    let b = body.into_inner();
    let edit = ProposalEdit { rule: b.proposed_rule.map(PolicyDraft::from), rationale: b.rationale };
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let updated = blocking(move || gov.edit_proposal(&auth.caller, id, edit)).await?;
    Ok(web::Json(detail(updated)))
}

/// Approves a pending proposal of another key: creates the policy or its next version in the
/// same transaction.
#[utoipa::path(operation_id = "approve_policy_proposal", tag = "policies", params(("proposal_id" = String, Path)), request_body(content = Option<ReviewIn>, description = "Optional: an empty body is no note."),
    security(("bearer" = [])), responses((status = 200, body = Detail<ProposalOut>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/policies/proposals/{proposal_id}/approve")]
pub async fn approve(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<ProposalId>,
    body: web::Bytes,
) -> ApiResult<web::Json<Detail<ProposalOut>>> {
    let note = optional_json::<ReviewIn>(&body)?.and_then(|b| b.note);
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let approved = blocking(move || gov.approve_proposal(&auth.caller, id, note)).await?;
    Ok(web::Json(detail(approved)))
}

/// Rejects a pending proposal of another key.
#[utoipa::path(operation_id = "reject_policy_proposal", tag = "policies", params(("proposal_id" = String, Path)), request_body(content = Option<ReviewIn>, description = "Optional: an empty body is no note."),
    security(("bearer" = [])), responses((status = 200, body = Detail<ProposalOut>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/policies/proposals/{proposal_id}/reject")]
pub async fn reject(
    auth: Authed<Write>,
    state: web::Data<AppState>,
    path: web::Path<ProposalId>,
    body: web::Bytes,
) -> ApiResult<web::Json<Detail<ProposalOut>>> {
    let note = optional_json::<ReviewIn>(&body)?.and_then(|b| b.note);
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let rejected = blocking(move || gov.reject_proposal(&auth.caller, id, note)).await?;
    Ok(web::Json(detail(rejected)))
}
