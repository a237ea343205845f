//! `/api/v1/runs`: the governed run as agents drive it: start, report steps (each answered
//! ALLOW / WARN / BLOCK), ask before a step, end; and the operator's override and release.

use actix_web::{HttpResponse, post, web};
use gov_facades::{Completion, NewRun, OverrideRequest, StepInput};
use gov_model::{PolicyId, RunId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authed, Ingest};
use crate::blocking::blocking;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::parse_field;
use crate::state::AppState;
use crate::wire::evidence::{DecisionOut, OverrideOut};
use crate::wire::run::{RunOut, SnapshotOut};
use crate::wire::trace::StepOut;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    #[schema(value_type = crate::schema::Identifier)]
    pub agent_id: String,
    #[schema(value_type = Option<crate::schema::Text2000>)]
    pub goal: Option<String>,
    #[schema(value_type = Option<crate::schema::Identifier>)]
    pub human_actor_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// The business domain the run acts in (e.g. `WHOLESALE`); while a THROTTLE tripwire of that
    /// domain is tripped, such runs are limited (429 with Retry-After beyond the allowance).
    #[schema(value_type = Option<crate::schema::Name64>)]
    pub domain: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunStarted {
    pub run: RunOut,
    /// The policies frozen for this run.
    pub policy_snapshot: SnapshotOut,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepIn {
    /// e.g. input, llm_call, tool_call, retrieval, output.
    #[schema(value_type = crate::schema::Word64)]
    pub step_type: String,
    /// Total tokens (default input_tokens + output_tokens).
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub tokens: Option<i64>,
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub input_tokens: Option<i64>,
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub output_tokens: Option<i64>,
    #[schema(minimum = 0, maximum = 1e9)]
    pub cost_cents: Option<f64>,
    #[schema(value_type = Option<crate::schema::Word200>)]
    pub model: Option<String>,
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub duration_ms: Option<i64>,
    /// RAG: documents retrieved by this step.
    #[schema(minimum = 0, maximum = 100000000)]
    #[serde(default, deserialize_with = "crate::wire::integer::optional")]
    pub retrieved_documents: Option<i64>,
    /// The step's content; only its blake3 hash is kept.
    pub content: Option<String>,
    /// blake3 of the content, when the content itself is not sent.
    #[schema(value_type = Option<crate::schema::Blake3Hex>)]
    pub content_hash: Option<String>,
    /// debug, info (default), warn, error.
    #[schema(value_type = Option<crate::schema::StepLevel>)]
    pub level: Option<String>,
    /// Who produced the step (default `agent`).
    #[schema(value_type = Option<crate::schema::Word64>)]
    pub source: Option<String>,
}

impl From<StepIn> for StepInput {
    fn from(s: StepIn) -> Self {
        StepInput {
            step_type: s.step_type,
            tokens: s.tokens,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_cents: s.cost_cents,
            model: s.model,
            duration_ms: s.duration_ms,
            retrieved_documents: s.retrieved_documents,
            content: s.content,
            content_hash: s.content_hash,
            level: s.level,
            source: s.source,
        }
    }
}

/// The answer to a reported step.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepRecorded {
    /// ALLOW, WARN or BLOCK. On BLOCK the agent must stop (or wait, when the run is paused).
    pub decision: String,
    pub step: StepOut,
    pub run: RunOut,
    pub detail: DecisionOut,
    /// The incident the step opened, if it stopped or paused the run.
    pub incident_id: Option<String>,
}

/// The answer to a pre-check: nothing was recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepChecked {
    pub decision: String,
    pub run_id: String,
    pub run_status: String,
    pub detail: DecisionOut,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRun {
    /// succeeded or failed.
    #[schema(value_type = crate::schema::CompletionStatus)]
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideIn {
    /// The policy to override (default: the one that paused the run).
    #[schema(value_type = Option<uuid::Uuid>)]
    pub policy_id: Option<String>,
    #[schema(value_type = crate::schema::Text2000)]
    pub reason: String,
    /// The policy's limits for the rest of this run; without it the policy is suspended for it.
    #[schema(exclusive_minimum = 0)]
    pub new_limit: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Overridden {
    pub run: RunOut,
    #[serde(rename = "override")]
    pub override_record: OverrideOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    pub agent_id: String,
    pub released: bool,
}

/// Starts a governed run: resolves the policies that apply, arbitrates them and freezes a
/// hashed snapshot the run is judged against.
#[utoipa::path(operation_id = "start_run", tag = "runs", request_body = StartRun, security(("bearer" = [])),
    responses((status = 201, body = RunStarted), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/runs")]
pub async fn start(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    body: web::Json<StartRun>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let input = NewRun {
        agent_id: b.agent_id,
        goal: b.goal,
        human_actor_id: b.human_actor_id,
        metadata: b.metadata,
        domain: b.domain,
    };
    let gov = state.gov.clone();
    let key = Some(auth.principal.api_key_id);
    let started = blocking(move || gov.start_run(&auth.caller, key, input)).await?;
    Ok(HttpResponse::Created()
        .json(RunStarted { run: started.run.into(), policy_snapshot: started.snapshot.into() }))
}

/// Reports a step. The prevention engine judges it against the run's snapshot and totals; a
/// breach whose action stops the run stops it here, at this step.
#[utoipa::path(operation_id = "record_step", tag = "runs", params(("run_id" = String, Path)), request_body = StepIn, security(("bearer" = [])),
    responses((status = 201, body = StepRecorded), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
#[post("/runs/{run_id}/steps")]
pub async fn record_step(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
    body: web::Json<StepIn>,
) -> ApiResult<HttpResponse> {
    let (gov, id, input) = (state.gov.clone(), path.into_inner(), StepInput::from(body.into_inner()));
    let outcome = blocking(move || gov.record_step(&auth.caller, &auth.principal, id, input)).await?;
    Ok(HttpResponse::Created().json(StepRecorded {
        decision: outcome.verdict.outcome().as_str().to_owned(),
        detail: DecisionOut::from(&outcome.verdict),
        step: outcome.step.into(),
        run: outcome.run.into(),
        incident_id: outcome.incident_id.map(|i| i.to_string()),
    }))
}

/// What a proposed step would get, without recording it (for agents that ask before calling the model).
#[utoipa::path(operation_id = "check_step", tag = "runs", params(("run_id" = String, Path)), request_body = StepIn, security(("bearer" = [])),
    responses((status = 200, body = StepChecked), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/runs/{run_id}/steps/check")]
pub async fn check_step(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
    body: web::Json<StepIn>,
) -> ApiResult<web::Json<StepChecked>> {
    let (gov, id, input) = (state.gov.clone(), path.into_inner(), StepInput::from(body.into_inner()));
    let (verdict, run) = blocking(move || gov.check_step(&auth.caller, &auth.principal, id, input)).await?;
    Ok(web::Json(StepChecked {
        decision: verdict.outcome().as_str().to_owned(),
        detail: DecisionOut::from(&verdict),
        run_id: run.run_id.to_string(),
        run_status: run.status.as_str().to_owned(),
    }))
}

/// Ends the run as succeeded or failed; costs are attributed and the trace finalised.
#[utoipa::path(operation_id = "complete_run", tag = "runs", params(("run_id" = String, Path)), request_body = CompleteRun, security(("bearer" = [])),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/runs/{run_id}/complete")]
pub async fn complete(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
    body: web::Json<CompleteRun>,
) -> ApiResult<web::Json<RunOut>> {
    let outcome = match body.status.as_str() {
        "succeeded" => Completion::Succeeded,
        "failed" => Completion::Failed,
        other => {
            return Err(crate::error::ApiError::validation(
                "status",
                format!("{other:?} is not succeeded or failed"),
            ));
        }
    };
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let run = blocking(move || gov.complete_run(&auth.caller, &auth.principal, id, outcome)).await?;
    Ok(web::Json(run.into()))
}

#[utoipa::path(operation_id = "cancel_run", tag = "runs", params(("run_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
#[post("/runs/{run_id}/cancel")]
pub async fn cancel(
    auth: Authed<Ingest>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
) -> ApiResult<web::Json<RunOut>> {
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let run = blocking(move || gov.cancel_run(&auth.caller, &auth.principal, id)).await?;
    Ok(web::Json(run.into()))
}

/// Resumes a run a PAUSE breach parked, recording who allowed it and why (admin).
#[utoipa::path(operation_id = "override_run", tag = "runs", params(("run_id" = String, Path)), request_body = OverrideIn, security(("bearer" = [])),
    responses((status = 200, body = Overridden), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
#[post("/runs/{run_id}/override")]
pub async fn override_run(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<RunId>,
    body: web::Json<OverrideIn>,
) -> ApiResult<web::Json<Overridden>> {
    let b = body.into_inner();
    let policy_id = parse_field::<PolicyId>("policy_id", b.policy_id.as_deref())?;
    let request = OverrideRequest { policy_id, reason: b.reason, new_limit: b.new_limit };
    let (gov, id) = (state.gov.clone(), path.into_inner());
    let (run, record) = blocking(move || gov.override_run(&auth.caller, id, request)).await?;
    Ok(web::Json(Overridden { run: run.into(), override_record: record.into() }))
}

/// Lets an agent a KILL breach stopped start runs again (admin).
#[utoipa::path(operation_id = "release_agent", tag = "runs", params(("agent_id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Released), (status = 404, body = ErrorBody)))]
#[post("/runs/agents/{agent_id}/release")]
pub async fn release_agent(
    auth: Authed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<web::Json<Released>> {
    let (gov, agent) = (state.gov.clone(), path.into_inner());
    let agent_id = agent.clone();
    blocking(move || gov.release_agent(&auth.caller, &agent)).await?;
    Ok(web::Json(Released { agent_id, released: true }))
}
