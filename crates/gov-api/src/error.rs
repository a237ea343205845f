//! The one place errors become HTTP responses: `{"error": {"code", "message", "details"}}`.
//! Internal causes are logged with the request id (by the `observe` middleware), never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use gov_facades::{Error as FacadeError, Identity};
use gov_model::{Scope, ScopeSet};
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
    /// The key authenticated but lacks the scope the endpoint requires.
    #[error("this API key lacks the `{needed}` scope (it has: {granted})")]
    MissingScope { needed: Scope, granted: ScopeSet },
    /// The tenant's go-live switch is off and `GO_LIVE_ENFORCE` is on.
    #[error("this tenant is not live: POST /api/governance/go-live/enable to go live")]
    NotLive,
    /// `require-prod-eligible` was asked about a recommendation its gates did not clear (the
    /// check itself is recorded).
    #[error("recommendation {recommendation_id} is not eligible for production: {reason}")]
    NotProdEligible { recommendation_id: String, reason: String },
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
            ApiError::Facade(e) => facade_class(e),
            ApiError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::RouteNotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::MissingScope { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotLive => (StatusCode::FORBIDDEN, "go_live_disabled"),
            ApiError::NotProdEligible { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    fn message_and_details(&self) -> (String, Value) {
        match self {
            ApiError::Facade(e) => facade_words(e),
            ApiError::Validation { message, details } => (message.clone(), details.clone()),
            ApiError::TooLarge { limit } => (self.to_string(), json!({ "limit_bytes": limit })),
            other => (other.to_string(), Value::Null),
        }
    }
}

/// The status and code of a facade error: one code per condition.
fn facade_class(e: &FacadeError) -> (StatusCode, &'static str) {
    use FacadeError as E;
    match e {
        E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        E::OtherKeysRun { .. } => (StatusCode::FORBIDDEN, "forbidden"),
        E::SelfReview => (StatusCode::FORBIDDEN, "self_review"),
        E::NotProposer => (StatusCode::FORBIDDEN, "not_proposer"),
        E::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        E::KillSwitchEngaged { .. } => (StatusCode::CONFLICT, "kill_switch_engaged"),
        E::ProposalClosed { .. } => (StatusCode::CONFLICT, "proposal_closed"),
        E::ProposalStale { .. } => (StatusCode::CONFLICT, "proposal_stale"),
        E::PostmortemExists(_) => (StatusCode::CONFLICT, "postmortem_exists"),
        E::Duplicate(_)
        | E::MissingReference
        | E::RunClosed { .. }
        | E::RunPaused
        | E::RunNotPaused { .. }
        | E::SnapshotUntrusted { .. }
        | E::AgentKilled { .. }
        | E::PolicyArchived { .. }
        | E::KeyRevoked
        | E::KeyExpired
        | E::IncidentTransition(_)
        | E::ProposalChanged
        | E::Correlation(_)
        | E::NotEnforcing { .. }
        | E::Migration(_) => (StatusCode::CONFLICT, "conflict"),
        E::Invalid { .. } | E::InvalidSpec(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        E::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        E::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        E::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// What a client reads about a facade error: the message and the `details` its code promises.
fn facade_words(e: &FacadeError) -> (String, Value) {
    use FacadeError as E;
    let plain = |message: String| (message, Value::Null);
    match e {
        E::Unauthorized(failure) => plain(failure.to_string()),
        E::OtherKeysRun { run_id } => plain(format!(
            "run {run_id} was started by another API key: only that key (or the key that replaced it by \
             rotation) and admin keys may act on it"
        )),
        E::NotFound(what) => plain(format!("{what} not found")),
        E::Duplicate(identity) => plain(match identity {
            Identity::TenantName(name) => format!("a tenant named {name:?} exists"),
            Identity::UserEmail(email) => format!("a user with email {email:?} exists"),
            Identity::Record => "a record with the same identity exists already".to_owned(),
        }),
        E::MissingReference => plain("the record refers to one that does not exist".to_owned()),
        E::RunClosed { status } => plain(format!(
            "the run already ended ({status}): it takes no more steps and cannot be completed or cancelled"
        )),
        E::RunPaused => plain(
            "the run is paused by a policy breach: it takes no steps and cannot succeed until an \
             authorised override resumes it"
                .to_owned(),
        ),
        E::RunNotPaused { status } => {
            plain(format!("only a paused run can be overridden; this one is {status}"))
        }
        E::SnapshotUntrusted { detail } => plain(format!("the run cannot be resumed: {detail}")),
        E::AgentKilled { agent_id, reason } => plain(format!(
            "agent {agent_id} was killed ({reason}); an admin must release it before it starts runs"
        )),
        E::PolicyArchived { policy_id } => {
            plain(format!("policy {policy_id} is archived: an archived policy cannot be changed"))
        }
        E::KeyRevoked => plain("the API key is already revoked".to_owned()),
        E::KeyExpired => plain("an expired key cannot be rotated; create a new one".to_owned()),
        E::IncidentTransition(refused) => plain(format!(
            "cannot {} an incident that is {}",
            refused.transition.as_str(),
            refused.from.as_str()
        )),
        E::ProposalClosed { status } => (
            format!("the proposal is {status}: it cannot change again"),
            json!({ "status": status.as_str() }),
        ),
        E::SelfReview => plain("a proposal cannot be reviewed by its proposer".to_owned()),
        E::NotProposer => plain("only the proposer can edit a proposal".to_owned()),
        E::ProposalStale { base_version, current_version } => (
            format!(
                "the target policy changed since the proposal was made (proposed against version \
                 {}, now {}): make a new proposal against the current version",
                base_version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
                current_version.map_or_else(|| "none".to_owned(), |v| v.to_string()),
            ),
            json!({ "base_version": base_version, "current_version": current_version }),
        ),
        E::ProposalChanged => plain("the proposal changed during the request; retry".to_owned()),
        E::PostmortemExists(incident) => (
            "this incident has its postmortem already (one per incident, final once written)".to_owned(),
            json!({ "incident_id": incident.to_string() }),
        ),
        E::KillSwitchEngaged { by, reason } => (
            format!(
                "the kill switch is engaged: production execution is refused until it is released \
                 (last lever change: {by}: {reason})"
            ),
            json!({ "changed_by": by, "reason": reason }),
        ),
        // The engine's refusal names the id and what it recorded.
        E::Correlation(refusal) => plain(refusal.to_string()),
        E::Throttled { domain, metric, runs_per_window, window_secs, retry_after_secs } => (
            format!(
                "domain {domain} is throttled by the regression tripwire {domain}/{metric}: at most \
                 {runs_per_window} new run per {window_secs} s until an operator resets it"
            ),
            json!({ "retry_after_secs": retry_after_secs }),
        ),
        E::NotEnforcing { tenant, mode } => plain(format!(
            "tenant {tenant} is in {} mode: the generator writes enforced stops",
            mode.as_str()
        )),
        E::Migration(message) => plain(format!("the migration cannot be reverted: {message}")),
        E::Invalid { field, message } => (format!("invalid {field}: {message}"), json!({ "field": field })),
        E::InvalidSpec(errors) => match errors.first() {
            Some(first) => (
                format!("invalid {}: {}", first.field, first.message),
                json!({ "field": first.field, "errors": errors }),
            ),
            None => ("invalid policy".to_owned(), json!({ "field": "policy" })),
        },
        E::Unavailable(_) => {
            plain("the database is unavailable; nothing was changed, retry later".to_owned())
        }
        E::Internal(_) => plain("internal error".to_owned()),
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
            ApiError::Facade(FacadeError::Throttled { retry_after_secs, .. }) => {
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
