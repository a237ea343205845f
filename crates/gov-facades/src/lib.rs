//! Use cases of gov. Each public method of [`Gov`] is one thing a caller can do: it validates
//! the request, runs the engines, and reads or writes the store in one transaction together
//! with its audit row.

mod accounts;
mod api_keys;
mod audit;
mod clock;
mod error;
mod gov;
mod validate;

pub use accounts::{NewUser, UserUpdate};
pub use api_keys::{AuthFailure, CreatedKey, NewApiKey};
pub use audit::AuditQuery;
pub use clock::{Clock, SystemClock};
pub use error::Error;
pub use gov::{Caller, CreatedTenant, Gov};
pub use gov_store::users::UserSort;
pub use gov_store::{Backend, DbOptions, SqliteSync, migrate::MigrationStatus};

pub type Result<T, E = Error> = std::result::Result<T, E>;
