//! The store's error type: what went wrong, in terms a use case can act on.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant (also: the row belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule refused the write.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The database cannot be reached or is too busy to answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A deadlock or serialization failure (PostgreSQL 40P01, 40001) rolled the transaction (or
    /// its savepoint) back: nothing changed, and running it again can succeed.
    #[error("contention: {0}")]
    Contention(String),
    /// A stored value could not be read back into the domain type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A page cursor whose key does not fit the list's order (a cursor of another list).
    #[error("the cursor does not belong to this list")]
    BadCursor,
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(DieselError),
}

/// Which kind of rule refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A unique key: a record with the same identity exists already.
    #[error("a record with the same identity exists already")]
    Duplicate,
    /// A foreign key: the record refers to one that does not exist.
    #[error("the record refers to one that does not exist")]
    MissingReference,
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StoreError::NotFound,
            // Kept without the constraint's name or the database's words, which could reach
            // clients. A use case that knows which rule it hit says so itself.
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict(Conflict::Duplicate)
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                StoreError::Conflict(Conflict::MissingReference)
            }
            ref e if connection_lost(e) => StoreError::Unavailable(format!("connection lost: {e}")),
            // A connection whose state diesel no longer knows (it failed mid-transaction): the
            // transaction did not commit, and the pool discards the connection.
            DieselError::BrokenTransactionManager => {
                StoreError::Unavailable("the connection was left in an unknown state".to_owned())
            }
            // A serialization failure or deadlock (PostgreSQL 40001, 40P01) rolled the
            // transaction (or its savepoint) back: nothing changed, and a retry can succeed.
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Contention(info.message().to_owned())
            }
            DieselError::DatabaseError(_, ref info) if info.message().starts_with("deadlock detected") => {
                StoreError::Contention(info.message().to_owned())
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("database is locked") || info.message().contains("busy") =>
            {
                StoreError::Unavailable(info.message().to_owned())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(err.to_string())
    }
}

/// What libpq says when the server went away (restart, failover, `pg_terminate_backend`, a proxy
/// closing the socket). diesel reports some of these as `ClosedConnection`, others as
/// `UnableToSendCommand` or `Unknown`, so the message decides.
const LOST_CONNECTION: [&str; 9] = [
    "no connection to the server",
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "terminating connection due to idle-session timeout",
    "could not receive data from server",
    "could not send data to server",
    "connection to server was lost",
    "SSL connection has been closed unexpectedly",
    "the database system is shutting down",
];

/// Whether `err` means the connection is gone: the statement did not run (or its outcome is
/// unknown) and the connection must not be reused.
pub(crate) fn connection_lost(err: &DieselError) -> bool {
    match err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(_, info) => LOST_CONNECTION.iter().any(|m| info.message().contains(m)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_writes_do_not_name_the_rule_or_repeat_the_database() {
        for (kind, expected) in [
            (DatabaseErrorKind::UniqueViolation, Conflict::Duplicate),
            (DatabaseErrorKind::ForeignKeyViolation, Conflict::MissingReference),
        ] {
            let info = Box::new(
                r#"duplicate key value violates unique constraint "risk_event_correlation""#.to_owned(),
            );
            let refused = StoreError::from(DieselError::DatabaseError(kind, info));
            assert!(matches!(refused, StoreError::Conflict(c) if c == expected), "{refused:?}");
            let message = refused.to_string();
            assert!(!message.contains("risk_event") && !message.contains("Violation"), "{message}");
        }
    }
}
