//! Who is asking: the authenticated caller and the actor recorded in the audit trail.

use crate::{ApiKeyId, Scope, ScopeSet, TenantId};

/// A caller authenticated by an API key.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub api_key_id: ApiKeyId,
    pub scopes: ScopeSet,
}

impl Principal {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.allows(scope)
    }
}

/// Who performed a change, as written to `audit_logs.actor_id`, plus the request it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub id: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn api_key(principal: &Principal, request_id: Option<String>) -> Self {
        Self { id: format!("api_key:{}", principal.api_key_id), request_id }
    }

    /// An operator acting through the `gov` command line.
    pub fn cli() -> Self {
        Self { id: "cli".to_owned(), request_id: None }
    }

    /// gov itself (bootstrap, automatic actions).
    pub fn system() -> Self {
        Self { id: "system".to_owned(), request_id: None }
    }
}
