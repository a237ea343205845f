//! `/api/governance/heimdall/`: the sandbox charter (seed 004): per-domain gates, today's sandbox
//! scorecards, recording trials, judging recommendations, and `require-prod-eligible`, the guard a
//! caller runs before using a recommendation in production. Bodies may be JSON or form data.

use actix_web::{HttpResponse, get, post, web};
use gov_facades::{Gate, HeimdallPolicyChange, Judged, NewRecommendation};
use gov_model::{HeimdallPolicy, HeimdallScorecard};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authed, Ingest, Read};
use crate::blocking::blocking;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Input;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HeimdallPolicyOut {
    pub domain: String,
    pub min_confidence_prod: f64,
    pub min_sandbox_trials: i64,
    pub min_sandbox_success_rate: f64,
    pub prod_use_enabled: bool,
    pub changed_by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<HeimdallPolicy> for HeimdallPolicyOut {
    fn from(p: HeimdallPolicy) -> Self {
        HeimdallPolicyOut {
            domain: p.domain,
            min_confidence_prod: p.min_confidence_prod,
            min_sandbox_trials: p.min_sandbox_trials,
            min_sandbox_success_rate: p.min_sandbox_success_rate,
            prod_use_enabled: p.prod_use_enabled,
            changed_by: p.changed_by,
            reason: p.reason,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScorecardOut {
    pub day: String,
    pub domain: String,
    pub trials: i64,
    pub successes: i64,
    pub success_rate: f64,
    pub avg_confidence: f64,
}

impl From<HeimdallScorecard> for ScorecardOut {
    fn from(s: HeimdallScorecard) -> Self {
        ScorecardOut {
            day: s.day.to_string(),
            domain: s.domain,
            trials: s.trials,
            successes: s.successes,
            success_rate: s.success_rate,
            avg_confidence: s.avg_confidence,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScorecardTodayOut {
    pub day: String,
    pub scorecards: Vec<ScorecardOut>,
}

/// Gates to set; absent fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeimdallUpsertIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub domain: String,
    #[schema(minimum = 0, maximum = 1)]
    pub min_confidence_prod: Option<f64>,
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub min_sandbox_trials: Option<i64>,
    #[schema(minimum = 0, maximum = 1)]
    pub min_sandbox_success_rate: Option<f64>,
    pub prod_use_enabled: Option<bool>,
    #[serde(alias = "changed_by")]
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub domain: String,
    pub success: bool,
    /// 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub domain: String,
    /// 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    /// Any JSON value, kept as sent.
    pub recommendation: Option<serde_json::Value>,
    /// Any JSON value, kept as sent.
    pub evidence: Option<serde_json::Value>,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GateOut {
    pub gate: String,
    pub ok: bool,
    pub required: f64,
    pub actual: f64,
}

impl From<Gate> for GateOut {
    fn from(g: Gate) -> Self {
        GateOut { gate: g.gate.to_owned(), ok: g.ok, required: g.required, actual: g.actual }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationOut {
    pub recommendation_id: String,
    pub domain: String,
    pub confidence: f64,
    /// Every gate held: the recommendation may be used in production.
    pub prod_eligible: bool,
    /// `eligible`, or every failed gate.
    pub gate_reason: String,
    pub gates: Vec<GateOut>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<Judged> for RecommendationOut {
    fn from(j: Judged) -> Self {
        RecommendationOut {
            recommendation_id: j.recommendation.id,
            domain: j.recommendation.domain,
            confidence: j.recommendation.confidence,
            prod_eligible: j.recommendation.prod_eligible,
            gate_reason: j.recommendation.gate_reason,
            gates: j.gates.into_iter().map(Into::into).collect(),
            created_at: j.recommendation.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub recommendation_id: String,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityOut {
    pub ok: bool,
    pub recommendation_id: String,
    pub reason: String,
}

#[utoipa::path(operation_id = "list_heimdall_policies", tag = "governance", security(("bearer" = [])), responses((status = 200, body = Vec<HeimdallPolicyOut>)))]
#[get("/heimdall/policies")]
pub async fn policies(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<HeimdallPolicyOut>>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let found = blocking(move || gov.heimdall_policies(tenant)).await?;
    Ok(web::Json(found.into_iter().map(Into::into).collect()))
}

/// Creates a domain's gates or changes some of them (admin). Confidence and rates are 0 to 1.
#[utoipa::path(operation_id = "upsert_heimdall_policy", tag = "governance", request_body = HeimdallUpsertIn, security(("bearer" = [])),
    responses((status = 200, body = HeimdallPolicyOut), (status = 422, body = ErrorBody)))]
#[post("/heimdall/policies/upsert")]
pub async fn upsert(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: Input<HeimdallUpsertIn>,
) -> ApiResult<web::Json<HeimdallPolicyOut>> {
    let b = body.0;
    let change = HeimdallPolicyChange {
        domain: b.domain,
        min_confidence_prod: b.min_confidence_prod,
        min_sandbox_trials: b.min_sandbox_trials,
        min_sandbox_success_rate: b.min_sandbox_success_rate,
        prod_use_enabled: b.prod_use_enabled,
        actor: b.actor,
        reason: b.reason,
    };
    let gov = state.gov.clone();
    let policy = blocking(move || gov.upsert_heimdall_policy(&auth.caller, change)).await?;
    Ok(web::Json(policy.into()))
}

#[utoipa::path(operation_id = "heimdall_scorecard_today", tag = "governance", security(("bearer" = [])), responses((status = 200, body = ScorecardTodayOut)))]
#[get("/heimdall/scorecard/today")]
pub async fn scorecard_today(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<ScorecardTodayOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let (day, cards) = blocking(move || gov.heimdall_scorecards_today(tenant)).await?;
    Ok(web::Json(ScorecardTodayOut {
        day: day.to_string(),
        scorecards: cards.into_iter().map(Into::into).collect(),
    }))
}

/// Records one sandbox trial in today's scorecard of its domain.
#[utoipa::path(operation_id = "heimdall_sandbox_trial", tag = "governance", request_body = TrialIn, security(("bearer" = [])),
    responses((status = 200, body = ScorecardOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/heimdall/sandbox/trial")]
pub async fn sandbox_trial(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<TrialIn>,
) -> ApiResult<web::Json<ScorecardOut>> {
    let (gov, b) = (state.gov.clone(), body.0);
    let card =
        blocking(move || gov.record_sandbox_trial(&auth.caller, &b.domain, b.success, b.confidence, b.actor))
            .await?;
    Ok(web::Json(card.into()))
}

/// Judges a recommendation against its domain's stacked gates and records it; the answer says
/// whether it is eligible for production and names every gate that failed.
#[utoipa::path(operation_id = "heimdall_recommend", tag = "governance", request_body = RecommendIn, security(("bearer" = [])),
    responses((status = 200, body = RecommendationOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/heimdall/recommend")]
pub async fn recommend(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<RecommendIn>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let input = NewRecommendation {
        domain: b.domain,
        confidence: b.confidence,
        recommendation: b.recommendation.unwrap_or(serde_json::Value::Null),
        evidence: b.evidence.unwrap_or(serde_json::Value::Null),
        actor: b.actor.unwrap_or_else(|| auth.caller.actor.id.clone()),
    };
    let gov = state.gov.clone();
    let judged = blocking(move || gov.recommend(&auth.caller, input)).await?;
    Ok(HttpResponse::Ok().json(RecommendationOut::from(judged)))
}

/// `require_prod_eligible(recommendation_id)`: 200 when the recommendation may be used in
/// production, 409 naming the failed gates otherwise. Every check is recorded.
#[utoipa::path(operation_id = "heimdall_require_prod_eligible", tag = "governance", request_body = EligibilityIn, security(("bearer" = [])),
    responses((status = 200, body = EligibilityOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/heimdall/require-prod-eligible")]
pub async fn require_prod_eligible(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<EligibilityIn>,
) -> ApiResult<web::Json<EligibilityOut>> {
    let (gov, b) = (state.gov.clone(), body.0);
    let r = blocking(move || {
        gov.require_prod_eligible(&auth.caller, &b.recommendation_id, b.actor, b.correlation_id)
    })
    .await?;
    if !r.prod_eligible {
        return Err(ApiError::NotProdEligible { recommendation_id: r.id, reason: r.gate_reason });
    }
    Ok(web::Json(EligibilityOut { ok: true, recommendation_id: r.id, reason: r.gate_reason }))
}
