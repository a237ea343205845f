//! What can go wrong in the policy engine: a spec or condition that does not validate, and a
//! snapshot that cannot be trusted or read.

use std::fmt;

use serde::Serialize;

/// A place in a CEL condition, both 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One reason a policy spec is invalid. `field` is the path of the offending field, e.g.
/// `threshold` or `scope.agent_ids[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: String,
    pub message: String,
    /// Where in the condition, for errors of a custom rule's CEL source.
    pub position: Option<Position>,
}

/// Why a CEL condition was rejected, or why evaluating it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ConditionError {
    pub message: String,
    /// `None` when the CEL crate gives no location (and for evaluation errors).
    pub position: Option<Position>,
}

impl ConditionError {
    pub(crate) fn new(message: impl Into<String>, position: Option<Position>) -> Self {
        ConditionError { message: message.into(), position }
    }
}

/// A frozen snapshot that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The content does not hash to the recorded hash: it was changed after it was frozen.
    #[error("snapshot content hash {actual} does not match the recorded {expected}")]
    Integrity { expected: String, actual: String },
    /// The content hashes correctly but is not a snapshot this engine can read.
    #[error("snapshot content is malformed: {0}")]
    Malformed(String),
}
