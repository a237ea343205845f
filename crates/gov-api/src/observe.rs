//! The middleware every request passes: assigns the request id (echoed in `x-request-id`),
//! opens the tracing span that carries it, logs the outcome, and records metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::extract::RequestId;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a caller's id when it is short and plain; otherwise makes a fresh one.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = request_id_of(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);

    let mut res = next.call(req).instrument(span.clone()).await?;

    let status = res.status();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    if let Some(state) = state {
        state.metrics.observe(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            let cause = res.response().error().map(|e| format!("{e:?}")).unwrap_or_default();
            tracing::error!(status = status.as_u16(), route = %route, ms, cause = %cause, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), route = %route, ms, "request");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}
