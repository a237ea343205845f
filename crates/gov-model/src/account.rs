//! Accounts: tenants, their users, API keys and the audit trail.

use std::fmt;
use std::str::FromStr;

use crate::{ApiKeyId, AuditLogId, ScopeSet, TenantId, Timestamp, UserId};

/// A tenant: everything else belongs to exactly one.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub plan: String,
    pub created_at: Timestamp,
    pub settings: serde_json::Value,
}

/// What a user may do in the console. Stored as text; the API validates the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Operator,
    Auditor,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Auditor, Role::Viewer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (expected one of admin, operator, auditor, viewer)"))
    }
}

/// A user of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub created_at: Timestamp,
    pub last_login: Option<Timestamp>,
}

/// An API key as the system shows it: never the secret, never the hash.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    /// The recognisable, non-secret start of the key (e.g. `gov_3f9a0c1d2e4b`).
    pub prefix: String,
    pub scopes: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// One row of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: AuditLogId,
    pub tenant_id: TenantId,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: Timestamp,
    pub details: serde_json::Value,
}

/// What a mutating use case records about itself; the store adds id, tenant and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: String,
    pub details: serde_json::Value,
}

/// An audit row exactly as stored, for its tamper evidence: `log_id` and `details` are the column
/// text (not parsed), so an edited row can still be read and reported.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The row's place in the audit trail (increasing across all tenants).
    pub seq: i64,
    pub log_id: String,
    pub tenant_id: TenantId,
    pub actor_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub timestamp: Timestamp,
    pub details: String,
    /// The content hash written with the row; `None` for rows written before rows were hashed.
    pub row_hash: Option<String>,
}

/// A seal over a tenant's audit rows with `from_seq < seq <= to_seq`, chained to the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditCheckpoint {
    pub tenant_id: TenantId,
    /// 1, 2, ... per tenant.
    pub n: i64,
    pub from_seq: i64,
    pub to_seq: i64,
    pub row_count: i64,
    /// blake3 over the sealed rows' `(seq, row_hash)` in `seq` order.
    pub rows_digest: String,
    /// The previous checkpoint's `checkpoint_hash` (a genesis hash bound to the tenant for n = 1).
    pub prev_hash: String,
    pub checkpoint_hash: String,
    pub created_at: Timestamp,
}
