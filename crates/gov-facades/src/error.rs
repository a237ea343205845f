//! The facades' error type: the outcome classes the API turns into status codes.

use gov_store::StoreError;

use crate::AuthFailure;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller could not be authenticated.
    #[error("unauthorized: {0}")]
    Unauthorized(AuthFailure),
    /// Authenticated, but the key lacks the scope this needs.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such object for this tenant (another tenant's objects are not found either).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well-formed but contradicts the current state (duplicate, illegal transition).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A policy proposal is approved or rejected: it cannot change again.
    #[error("the proposal is {status}: it cannot change again")]
    ProposalClosed { status: gov_model::ProposalStatus },
    /// The caller proposed this proposal and may not review it.
    #[error("a proposal cannot be reviewed by its proposer")]
    SelfReview,
    /// Only the proposer edits a proposal.
    #[error("only the proposer can edit a proposal")]
    NotProposer,
    /// The proposal's target policy changed (new version or archived) since it was proposed.
    #[error("the target policy changed since the proposal was made")]
    ProposalStale { base_version: Option<i32>, current_version: Option<i32> },
    /// The incident (its id) has its postmortem already: there is one per incident.
    #[error("incident {0} has a postmortem already")]
    PostmortemExists(String),
    /// The tenant's kill switch is engaged: nothing executes in production until it is released.
    /// `by` and `reason` are those of the last lever change.
    #[error("the kill switch is engaged (last lever change: {by}: {reason})")]
    KillSwitchEngaged { by: String, reason: String },
    /// A policy definition the engine refuses; `errors` lists every problem (with CEL positions).
    #[error("invalid {field}: {message}")]
    InvalidSpec { field: String, message: String, errors: Vec<serde_json::Value> },
    /// A field's value is not acceptable.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// A rate limit refused the request; it may be retried after the given number of seconds.
    #[error("rate limited: {message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// The database cannot be reached right now; the request changed nothing.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect or a broken invariant; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::NotFound("resource"),
            StoreError::Conflict(msg) => Error::Conflict(msg),
            StoreError::Unavailable(msg) | StoreError::Contention(msg) => Error::Unavailable(msg),
            StoreError::BadCursor => Error::invalid("cursor", "the cursor does not belong to this list"),
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Names the missing object in a store "not found".
pub(crate) trait OrNotFound<T> {
    fn or_not_found(self, what: &'static str) -> Result<T, Error>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, what: &'static str) -> Result<T, Error> {
        self.map_err(|e| match e {
            StoreError::NotFound => Error::NotFound(what),
            other => other.into(),
        })
    }
}
