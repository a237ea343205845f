//! Liveness, readiness, metrics and the OpenAPI document. No authentication.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::blocking::blocking;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (alive) or `ready` (database reachable).
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(operation_id = "healthz", tag = "operations", responses((status = 200, body = Status)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Status> {
    web::Json(Status { status: "ok" })
}

/// The database answers; 503 otherwise.
#[utoipa::path(operation_id = "readyz", tag = "operations", responses((status = 200, body = Status), (status = 503, body = ErrorBody)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<web::Json<Status>> {
    let gov = state.gov.clone();
    blocking(move || gov.ping()).await?;
    Ok(web::Json(Status { status: "ready" }))
}

/// Prometheus text exposition: `gov_http_requests_total` and `gov_http_request_duration_seconds`.
#[utoipa::path(operation_id = "metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}

/// This API's OpenAPI 3.1 document, generated from the code.
#[utoipa::path(operation_id = "openapi_document", tag = "operations", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/api/openapi.json")]
pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(state.openapi_json.clone())
}
