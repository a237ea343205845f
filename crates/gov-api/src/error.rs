//! The one place errors become HTTP responses: `{"error": {"code", "message", "details"}}`.
//! Internal causes are logged with the request id (by the `observe` middleware), never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use gov_facades::Error as FacadeError;
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Facade(#[from] FacadeError),
    /// The body is not syntactically valid JSON (or form data).
    #[error("malformed request body: {0}")]
    Malformed(String),
    /// Well-formed, but a field is missing, unknown or of the wrong type.
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("unsupported content type: {0}")]
    UnsupportedMediaType(String),
    #[error("not found")]
    RouteNotFound,
    /// `allow` lists the methods the path serves (the `Allow` header).
    #[error("method not allowed for this path")]
    MethodNotAllowed { allow: String },
    /// The tenant's go-live switch is off and `GO_LIVE_ENFORCE` is on.
    #[error("this tenant is not live: POST /api/governance/go-live/enable to go live")]
    NotLive,
    /// The server is draining for shutdown and takes no new requests.
    #[error("this server is shutting down; nothing was changed, retry (another replica will answer)")]
    ShuttingDown,
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation { message: message.into(), details: json!({ "field": field }) }
    }

    /// Machine-readable code and HTTP status of this error.
    fn class(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Facade(e) => match e {
                FacadeError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
                FacadeError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                FacadeError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                FacadeError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                FacadeError::KillSwitchEngaged { .. } => (StatusCode::CONFLICT, "kill_switch_engaged"),
                FacadeError::ProposalClosed { .. } => (StatusCode::CONFLICT, "proposal_closed"),
                FacadeError::ProposalStale { .. } => (StatusCode::CONFLICT, "proposal_stale"),
                FacadeError::SelfReview => (StatusCode::FORBIDDEN, "self_review"),
                FacadeError::NotProposer => (StatusCode::FORBIDDEN, "not_proposer"),
                FacadeError::PostmortemExists(_) => (StatusCode::CONFLICT, "postmortem_exists"),
                FacadeError::Invalid { .. } | FacadeError::InvalidSpec { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                }
                FacadeError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
                FacadeError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                FacadeError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::NotLive => (StatusCode::FORBIDDEN, "go_live_disabled"),
            ApiError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    fn message_and_details(&self) -> (String, Value) {
        match self {
            ApiError::Facade(FacadeError::Invalid { field, message }) => {
                (format!("invalid {field}: {message}"), json!({ "field": field }))
            }
            ApiError::Facade(FacadeError::InvalidSpec { field, message, errors }) => {
                (format!("invalid {field}: {message}"), json!({ "field": field, "errors": errors }))
            }
            ApiError::Facade(FacadeError::Internal(_)) => ("internal error".to_owned(), Value::Null),
            ApiError::Facade(FacadeError::Unauthorized(failure)) => (failure.to_string(), Value::Null),
            ApiError::Facade(FacadeError::Forbidden(message) | FacadeError::Conflict(message)) => {
                (message.clone(), Value::Null)
            }
            ApiError::Facade(FacadeError::KillSwitchEngaged { by, reason }) => (
                format!(
                    "the kill switch is engaged: production execution is refused until it is released \
                     (last lever change: {by}: {reason})"
                ),
                json!({ "changed_by": by, "reason": reason }),
            ),
            ApiError::Facade(FacadeError::ProposalClosed { status }) => {
                (self.to_string(), json!({ "status": status.as_str() }))
            }
            ApiError::Facade(FacadeError::ProposalStale { base_version, current_version }) => (
                format!(
                    "the target policy changed since the proposal was made (proposed against version \
                     {}, now {}): make a new proposal against the current version",
                    base_version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                    current_version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                ),
                json!({ "base_version": base_version, "current_version": current_version }),
            ),
            ApiError::Facade(FacadeError::PostmortemExists(incident)) => (
                "this incident has its postmortem already (one per incident, final once written)".to_owned(),
                json!({ "incident_id": incident }),
            ),
            ApiError::Facade(FacadeError::Unavailable(_)) => {
                ("the database is unavailable; nothing was changed, retry later".to_owned(), Value::Null)
            }
            ApiError::Facade(FacadeError::RateLimited { message, retry_after_secs }) => {
                (message.clone(), json!({ "retry_after_secs": retry_after_secs }))
            }
            ApiError::Validation { message, details } => (message.clone(), details.clone()),
            ApiError::TooLarge { limit } => (self.to_string(), json!({ "limit_bytes": limit })),
            other => (other.to_string(), Value::Null),
        }
    }
}

/// The JSON error envelope.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: &'static str,
    pub message: String,
    /// What the code's documentation promises, e.g. `field`; `{}` when there is nothing to add
    /// (always an object, never null).
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

/// Error details as the object clients are promised: null is `{}`, and a bare value (which no
/// error builds today) is kept as `{"value": ...}` rather than breaking the shape.
fn details_object(details: Value) -> Map<String, Value> {
    match details {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => Map::from_iter([("value".to_owned(), other)]),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.class().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.class();
        let (message, details) = self.message_and_details();
        let mut res = HttpResponse::build(status);
        match self {
            ApiError::Facade(FacadeError::Unauthorized(_)) => {
                res.insert_header(("www-authenticate", "Bearer"));
            }
            ApiError::Facade(FacadeError::RateLimited { retry_after_secs, .. }) => {
                res.insert_header(("retry-after", retry_after_secs.to_string()));
            }
            ApiError::MethodNotAllowed { allow } => {
                res.insert_header(("allow", allow.as_str()));
            }
            _ => {}
        }
        res.json(ErrorBody { error: ErrorDetail { code, message, details: details_object(details) } })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
