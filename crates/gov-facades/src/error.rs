//! The facades' error type: what went wrong, in domain terms and with its data. `gov-api` alone
//! turns each variant into a status, a code and the words a client reads; the messages here are
//! for logs and the command line.

use gov_incident::TransitionError;
use gov_levers::Refusal;
use gov_model::{EnforcementMode, IncidentId, PolicyId, ProposalStatus, RunId, RunStatus};
use gov_policy::SpecError;
use gov_store::{Conflict, StoreError};

use crate::AuthFailure;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller could not be authenticated.
    #[error("unauthorized: {0}")]
    Unauthorized(AuthFailure),
    /// The key may not drive this run: another key started it (see `runs::may_drive`).
    #[error("run {run_id} was started by another API key")]
    OtherKeysRun { run_id: RunId },
    /// No such object for this tenant (another tenant's objects are not found either).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A record with this identity exists already.
    #[error("{0} exists already")]
    Duplicate(Identity),
    /// The record refers to one that does not exist (a reference the store enforces).
    #[error("the record refers to one that does not exist")]
    MissingReference,
    /// The run ended: it takes no more steps and cannot be completed or cancelled.
    #[error("the run already ended ({status})")]
    RunClosed { status: RunStatus },
    /// A policy breach paused the run: it takes no steps and cannot succeed until an override.
    #[error("the run is paused by a policy breach")]
    RunPaused,
    /// Only a paused run can be overridden.
    #[error("the run is not paused ({status})")]
    RunNotPaused { status: RunStatus },
    /// The run's frozen snapshot failed its integrity check, so it cannot be resumed.
    #[error("the run's policy snapshot cannot be trusted: {detail}")]
    SnapshotUntrusted { detail: String },
    /// The agent was killed by a KILL breach: it starts no runs until an admin releases it.
    #[error("agent {agent_id} was killed ({reason})")]
    AgentKilled { agent_id: String, reason: String },
    /// The policy is archived: it cannot be changed, limited, proposed against or archived again.
    #[error("policy {policy_id} is archived")]
    PolicyArchived { policy_id: PolicyId },
    /// The API key is revoked already.
    #[error("the API key is revoked already")]
    KeyRevoked,
    /// An expired API key cannot be rotated.
    #[error("the API key expired")]
    KeyExpired,
    /// The incident's lifecycle does not allow this transition from its status.
    #[error(transparent)]
    IncidentTransition(TransitionError),
    /// A policy proposal is approved or rejected: it cannot change again.
    #[error("the proposal is {status}: it cannot change again")]
    ProposalClosed { status: ProposalStatus },
    /// The caller proposed this proposal and may not review it.
    #[error("a proposal cannot be reviewed by its proposer")]
    SelfReview,
    /// Only the proposer edits a proposal.
    #[error("only the proposer can edit a proposal")]
    NotProposer,
    /// The proposal's target policy changed (new version or archived) since it was proposed.
    #[error("the target policy changed since the proposal was made")]
    ProposalStale { base_version: Option<i32>, current_version: Option<i32> },
    /// Another request changed the proposal between its read and its conditional update.
    #[error("the proposal changed during the request")]
    ProposalChanged,
    /// The incident has its postmortem already: there is one per incident.
    #[error("incident {0} has a postmortem already")]
    PostmortemExists(IncidentId),
    /// The tenant's kill switch is engaged: nothing executes in production until it is released.
    /// `by` and `reason` are those of the last lever change.
    #[error("the kill switch is engaged (last lever change: {by}: {reason})")]
    KillSwitchEngaged { by: String, reason: String },
    /// The request contradicts what its correlation id recorded already (a risk reservation).
    #[error(transparent)]
    Correlation(Refusal),
    /// A domain's tripped THROTTLE tripwire admits no more new runs in this window.
    #[error(
        "domain {domain} is throttled by the regression tripwire {domain}/{metric}: at most \
         {runs_per_window} new run per {window_secs} s until an operator resets it"
    )]
    Throttled {
        domain: String,
        metric: String,
        runs_per_window: i64,
        window_secs: i64,
        retry_after_secs: u64,
    },
    /// The generator writes enforced stops, so it needs a tenant in enforce mode.
    #[error("tenant {tenant} is in {} mode: the generator writes enforced stops", mode.as_str())]
    NotEnforcing { tenant: String, mode: EnforcementMode },
    /// The migration cannot be reverted.
    #[error("migration refused: {0}")]
    Migration(String),
    /// A policy definition the engine refuses: every problem, in order (never empty).
    #[error("invalid policy: {}", first(.0))]
    InvalidSpec(Vec<SpecError>),
    /// A field's value is not acceptable.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// The database cannot be reached right now; the request changed nothing.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect or a broken invariant; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What identifies a record that exists already.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Identity {
    #[error("a tenant named {0:?}")]
    TenantName(String),
    #[error("a user with email {0:?}")]
    UserEmail(String),
    /// A unique key the store enforced where no use case names the record.
    #[error("a record with the same identity")]
    Record,
}

fn first(errors: &[SpecError]) -> String {
    errors.first().map_or_else(|| "invalid".to_owned(), SpecError::to_string)
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), message: message.into() }
    }

    /// The engine's refusal of a spec; `errors` as `gov_policy` returns them (never empty there).
    pub(crate) fn invalid_spec(errors: Vec<SpecError>) -> Self {
        if errors.is_empty() { Error::invalid("policy", "invalid") } else { Error::InvalidSpec(errors) }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Error::NotFound("resource"),
            StoreError::Conflict(Conflict::Duplicate) => Error::Duplicate(Identity::Record),
            StoreError::Conflict(Conflict::MissingReference) => Error::MissingReference,
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
