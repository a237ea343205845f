//! Shared domain vocabulary of gov: ids, enums and value types used by every layer.
//! Nothing here does I/O; types carry their own invariants so callers cannot build invalid ones.

mod account;
mod ids;
mod page;
mod principal;
mod scope;

pub use account::{ApiKey, AuditEntry, NewAuditEntry, Role, Tenant, User};
pub use ids::{ApiKeyId, AuditLogId, IdParseError, TenantId, UserId};
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest, SortDirection};
pub use principal::{Actor, Principal};
pub use scope::{Scope, ScopeSet, UnknownScope};

/// A point in time, always UTC.
pub type Timestamp = time::OffsetDateTime;
