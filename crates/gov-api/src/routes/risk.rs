//! `/api/governance/risk/`: the risk guard (seed 004): per-engine daily caps, today's ledger,
//! reserve-before-execute and settle-after. Bodies may be JSON or form data.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use gov_facades::{Reservation, RiskDay, RiskDecision, RiskPolicyChange, Settlement};
use gov_model::{RiskLedgerDay, RiskPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authed, Ingest, Read};
use crate::blocking::blocking;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Input;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskPolicyOut {
    pub engine: String,
    pub max_daily_loss: Option<f64>,
    pub max_daily_exposure: Option<f64>,
    pub max_open_risk: Option<f64>,
    pub max_actions_per_day: Option<i64>,
    pub enabled: bool,
    pub changed_by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

impl From<RiskPolicy> for RiskPolicyOut {
    fn from(p: RiskPolicy) -> Self {
        RiskPolicyOut {
            engine: p.engine,
            max_daily_loss: p.max_daily_loss,
            max_daily_exposure: p.max_daily_exposure,
            max_open_risk: p.max_open_risk,
            max_actions_per_day: p.max_actions_per_day,
            enabled: p.enabled,
            changed_by: p.changed_by,
            reason: p.reason,
            updated_at: p.updated_at,
        }
    }
}

/// Caps to set; absent fields keep their value (a new engine starts uncapped and enabled).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskUpsertIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub engine: String,
    #[schema(minimum = 0, maximum = 1e15)]
    pub max_daily_loss: Option<f64>,
    #[schema(minimum = 0, maximum = 1e15)]
    pub max_daily_exposure: Option<f64>,
    #[schema(minimum = 0, maximum = 1e15)]
    pub max_open_risk: Option<f64>,
    #[schema(minimum = 0)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub max_actions_per_day: Option<i64>,
    pub enabled: Option<bool>,
    #[serde(alias = "changed_by")]
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub engine: String,
    #[schema(minimum = 0, maximum = 1e15)]
    pub amount: f64,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub reason: Option<String>,
    /// Makes retries safe: the same id gets the first answer. Generated when absent.
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub correlation_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettleIn {
    #[schema(value_type = crate::schema::Identifier)]
    pub correlation_id: String,
    /// Informational: must match the reservation when given.
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub engine: Option<String>,
    #[schema(minimum = 0, maximum = 1e15)]
    pub reserved_amount: Option<f64>,
    #[schema(minimum = 0, maximum = 1e15)]
    pub realized_loss: f64,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub actor: Option<String>,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RiskDecisionOut {
    /// Whether the reservation was granted (always true for a settlement).
    pub ok: bool,
    pub engine: String,
    pub amount: f64,
    pub reason: String,
    pub correlation_id: String,
    /// This answer was recorded by an earlier request with the same correlation id.
    pub replayed: bool,
}

impl From<RiskDecision> for RiskDecisionOut {
    fn from(d: RiskDecision) -> Self {
        RiskDecisionOut {
            ok: d.ok,
            engine: d.engine,
            amount: d.amount,
            reason: d.reason,
            correlation_id: d.correlation_id,
            replayed: d.replayed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerOut {
    pub engine: String,
    pub exposure_used: f64,
    pub open_risk_reserved: f64,
    pub realized_loss: f64,
    pub actions_count: i64,
}

impl From<RiskLedgerDay> for LedgerOut {
    fn from(l: RiskLedgerDay) -> Self {
        LedgerOut {
            engine: l.engine,
            exposure_used: l.exposure_used,
            open_risk_reserved: l.open_risk_reserved,
            realized_loss: l.realized_loss,
            actions_count: l.actions_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerTodayOut {
    /// The UTC day.
    pub day: String,
    pub ledgers: Vec<LedgerOut>,
    /// Denials today, by engine.
    pub denials: BTreeMap<String, i64>,
    /// Denials today, by reason.
    pub denial_reasons: BTreeMap<String, i64>,
    pub reservations: i64,
    pub settlements: i64,
}

impl From<RiskDay> for LedgerTodayOut {
    fn from(d: RiskDay) -> Self {
        LedgerTodayOut {
            day: d.day.to_string(),
            ledgers: d.ledgers.into_iter().map(Into::into).collect(),
            denials: d.denials,
            denial_reasons: d.denial_reasons,
            reservations: d.reservations,
            settlements: d.settlements,
        }
    }
}

#[utoipa::path(operation_id = "list_risk_policies", tag = "governance", security(("bearer" = [])), responses((status = 200, body = Vec<RiskPolicyOut>)))]
#[get("/risk/policies")]
pub async fn policies(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<Vec<RiskPolicyOut>>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let list = blocking(move || gov.risk_policies(tenant)).await?;
    Ok(web::Json(list.into_iter().map(Into::into).collect()))
}

/// Creates an engine's caps or changes some of them (admin).
#[utoipa::path(operation_id = "upsert_risk_policy", tag = "governance", request_body = RiskUpsertIn, security(("bearer" = [])),
    responses((status = 200, body = RiskPolicyOut), (status = 422, body = ErrorBody)))]
#[post("/risk/policies/upsert")]
pub async fn upsert(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    body: Input<RiskUpsertIn>,
) -> ApiResult<web::Json<RiskPolicyOut>> {
    let b = body.0;
    let change = RiskPolicyChange {
        engine: b.engine,
        max_daily_loss: b.max_daily_loss.map(Some),
        max_daily_exposure: b.max_daily_exposure.map(Some),
        max_open_risk: b.max_open_risk.map(Some),
        max_actions_per_day: b.max_actions_per_day.map(Some),
        enabled: b.enabled,
        actor: b.actor,
        reason: b.reason,
    };
    let gov = state.gov.clone();
    let policy = blocking(move || gov.upsert_risk_policy(&auth.caller, change)).await?;
    Ok(web::Json(policy.into()))
}

/// Today's ledger (UTC) and denials: the Monday review's second question.
#[utoipa::path(operation_id = "risk_ledger_today", tag = "governance", security(("bearer" = [])), responses((status = 200, body = LedgerTodayOut)))]
#[get("/risk/ledger/today")]
pub async fn ledger_today(
    auth: Authed<Read>,
    state: web::Data<AppState>,
) -> ApiResult<web::Json<LedgerTodayOut>> {
    let (gov, tenant) = (state.gov.clone(), auth.caller.tenant_id);
    let today = blocking(move || gov.risk_today(tenant)).await?;
    Ok(web::Json(today.into()))
}

/// Reserves before executing an action: the engine's caps and GLOBAL's must both hold. A denial
/// is an answer (`ok: false` with the caps that failed), not an error. Refused while the kill
/// switch is engaged.
#[utoipa::path(operation_id = "risk_check_and_reserve", tag = "governance", request_body = ReserveIn, security(("bearer" = [])),
    responses((status = 200, body = RiskDecisionOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/risk/check-and-reserve")]
pub async fn check_and_reserve(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<ReserveIn>,
) -> ApiResult<web::Json<RiskDecisionOut>> {
    let b = body.0;
    let reservation = Reservation {
        engine: b.engine,
        amount: b.amount,
        actor: b.actor.unwrap_or_else(|| auth.caller.actor.id.clone()),
        reason: b.reason.unwrap_or_else(|| "reserve".to_owned()),
        correlation_id: b.correlation_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
    };
    let gov = state.gov.clone();
    let decision = blocking(move || gov.check_and_reserve(&auth.caller, reservation)).await?;
    Ok(web::Json(decision.into()))
}

/// Settles a reservation: releases it and applies the realised loss (once per reservation).
#[utoipa::path(operation_id = "risk_settle", tag = "governance", request_body = SettleIn, security(("bearer" = [])),
    responses((status = 200, body = RiskDecisionOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[post("/risk/settle")]
pub async fn settle(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: Input<SettleIn>,
) -> ApiResult<web::Json<RiskDecisionOut>> {
    let b = body.0;
    let settlement = Settlement {
        correlation_id: b.correlation_id,
        engine: b.engine,
        reserved_amount: b.reserved_amount,
        realized_loss: b.realized_loss,
        actor: b.actor.unwrap_or_else(|| auth.caller.actor.id.clone()),
        reason: b.reason.unwrap_or_else(|| "settle".to_owned()),
    };
    let gov = state.gov.clone();
    let decision = blocking(move || gov.settle(&auth.caller, settlement)).await?;
    Ok(web::Json(decision.into()))
}
