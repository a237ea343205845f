//! API keys: issuing (shown once), listing, revoking, rotating, and authenticating requests.
//!
//! A key reads `gov_<12 hex>_<64 hex>`: the first part is the public prefix used to find the
//! key, the rest 256 random bits. Only the blake3 hash of the whole key is stored, and hashes
//! are compared in constant time.

use gov_model::{
    Actor, ApiKey, ApiKeyId, NewAuditEntry, Page, PageRequest, Principal, ScopeSet, TenantId, Timestamp,
};
use gov_store::{Conn, api_keys, runs};
use serde_json::json;

use crate::error::OrNotFound;
use crate::{Caller, Error, Gov, Result, audit, validate};

const KEY_TAG: &str = "gov_";
const PREFIX_HEX: usize = 12;
const SECRET_BYTES: usize = 32;
/// `last_used_at` is refreshed at most this often, so authenticating stays a read.
const LAST_USED_GRANULARITY: time::Duration = time::Duration::seconds(60);

/// Why a request could not be authenticated. All of them answer 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("missing bearer token: send `Authorization: Bearer <api key>`")]
    Missing,
    #[error("API keys are not accepted in the query string; send `Authorization: Bearer <api key>`")]
    KeyInQuery,
    #[error("invalid API key")]
    Invalid,
    #[error("API key revoked")]
    Revoked,
    #[error("API key expired")]
    Expired,
}

/// What a caller asks for when creating a key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// A key just issued: the only time its secret exists outside the caller.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: String,
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn hash(secret: &str) -> blake3::Hash {
    blake3::hash(secret.as_bytes())
}

/// The public prefix of a well-formed key, or `None`.
fn prefix_of(token: &str) -> Option<&str> {
    let prefix_len = KEY_TAG.len() + PREFIX_HEX;
    let well_formed = token.len() == prefix_len + 1 + SECRET_BYTES * 2
        && token.starts_with(KEY_TAG)
        && token.as_bytes()[prefix_len] == b'_'
        && token[KEY_TAG.len()..].bytes().all(|b| b == b'_' || b.is_ascii_hexdigit());
    well_formed.then(|| &token[..prefix_len])
}

/// Issues a key inside the caller's transaction and audits it.
pub(crate) fn issue(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    actor: &Actor,
    name: String,
    scopes: ScopeSet,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<CreatedKey> {
    let prefix = format!("{KEY_TAG}{}", random_hex(PREFIX_HEX / 2)?);
    let secret = format!("{prefix}_{}", random_hex(SECRET_BYTES)?);
    let key = ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name,
        prefix,
        scopes,
        created_at: now,
        expires_at,
        last_used_at: None,
        revoked: false,
        revoked_at: None,
    };
    api_keys::insert(conn, &key, hash(&secret).to_hex().as_str())?;
    audit::record(
        conn,
        tenant,
        actor,
        NewAuditEntry {
            action: "api_key.created",
            resource_type: "api_key",
            resource_id: key.id.to_string(),
            details: json!({ "name": key.name, "prefix": key.prefix, "scopes": key.scopes.to_string() }),
        },
        now,
    )?;
    Ok(CreatedKey { key, secret })
}

impl Gov {
    /// The principal behind a bearer token if it was authenticated within the last second (see
    /// `auth_cache.rs`); `None` means: call [`Gov::authenticate`]. Does no I/O.
    pub fn authenticate_cached(&self, token: &str) -> Option<Principal> {
        prefix_of(token)?;
        self.auth_cache.get(&hash(token), self.clock.now())
    }

    /// Finds the principal behind a bearer token.
    pub fn authenticate(&self, token: &str) -> Result<Principal> {
        let prefix = prefix_of(token).ok_or(Error::Unauthorized(AuthFailure::Invalid))?;
        let found = self.db.read(|c| api_keys::find_for_authentication(c, prefix))?;
        let found = found.ok_or(Error::Unauthorized(AuthFailure::Invalid))?;
        let stored = blake3::Hash::from_hex(&found.key_hash)
            .map_err(|_| Error::Internal(format!("stored hash of key {} is not hex", found.key.id)))?;
        // `blake3::Hash` equality is constant-time.
        if stored != hash(token) {
            return Err(Error::Unauthorized(AuthFailure::Invalid));
        }
        let now = self.clock.now();
        let key = found.key;
        if key.revoked {
            return Err(Error::Unauthorized(AuthFailure::Revoked));
        }
        if key.is_expired(now) {
            return Err(Error::Unauthorized(AuthFailure::Expired));
        }
        if key.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
            // Best effort: a busy database must not turn a valid key away.
            let key_id = key.id;
            if let Err(err) =
                self.db.write(move |c| api_keys::touch_last_used(c, key_id, now, LAST_USED_GRANULARITY))
            {
                tracing::warn!(key_id = %key.id, error = %err, "could not record API key use");
            }
        }
        let principal = Principal { tenant_id: key.tenant_id, api_key_id: key.id, scopes: key.scopes };
        self.auth_cache.put(&hash(token), principal.clone(), key.expires_at);
        Ok(principal)
    }

    pub fn create_api_key(&self, caller: &Caller, input: NewApiKey) -> Result<CreatedKey> {
        let name = validate::text("name", &input.name, 100)?;
        let scopes = ScopeSet::parse(input.scopes.iter().map(String::as_str))
            .map_err(|e| Error::invalid("scopes", e.to_string()))?;
        if scopes.is_empty() {
            return Err(Error::invalid("scopes", "at least one scope is required"));
        }
        let now = self.clock.now();
        if input.expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        let caller = caller.clone();
        self.db.write(move |c| issue(c, caller.tenant_id, &caller.actor, name, scopes, input.expires_at, now))
    }

    pub fn list_api_keys(&self, tenant: TenantId, page: PageRequest) -> Result<Page<ApiKey>> {
        Ok(self.db.read(|c| api_keys::list(c, tenant, page))?)
    }

    pub fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<ApiKey> {
        self.db.read(|c| api_keys::get(c, tenant, id).or_not_found("api key"))
    }

    /// Revokes a key at once: the next request with it gets 401 (on another replica, within
    /// one second).
    pub fn revoke_api_key(&self, caller: &Caller, id: ApiKeyId) -> Result<ApiKey> {
        let revoked = self.revoke_api_key_in_db(caller, id);
        self.auth_cache.forget(id);
        revoked
    }

    fn revoke_api_key_in_db(&self, caller: &Caller, id: ApiKeyId) -> Result<ApiKey> {
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let key = api_keys::revoke(c, caller.tenant_id, id, now)
                .or_not_found("api key")?
                .ok_or(Error::KeyRevoked)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "api_key.revoked",
                    resource_type: "api_key",
                    resource_id: id.to_string(),
                    details: json!({ "prefix": key.prefix }),
                },
                now,
            )?;
            crate::logs::record(
                c,
                crate::logs::Event {
                    tenant: Some(caller.tenant_id),
                    level: gov_model::LogLevel::Info,
                    source: gov_model::LogSource::Keys,
                    event: "api_key.revoked",
                    message: format!("API key {} ({}) revoked by {}", id, key.prefix, caller.actor.id),
                    context: json!({ "api_key_id": id.to_string(), "prefix": key.prefix }),
                },
                now,
            )?;
            Ok(key)
        })
    }

    /// Issues a replacement with the same name, scopes and expiry, and revokes the old key in the
    /// same transaction: from the response on, only the new key works.
    pub fn rotate_api_key(&self, caller: &Caller, id: ApiKeyId) -> Result<(CreatedKey, ApiKey)> {
        let rotated = self.rotate_api_key_in_db(caller, id);
        self.auth_cache.forget(id);
        rotated
    }

    fn rotate_api_key_in_db(&self, caller: &Caller, id: ApiKeyId) -> Result<(CreatedKey, ApiKey)> {
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let old = api_keys::revoke(c, caller.tenant_id, id, now)
                .or_not_found("api key")?
                .ok_or(Error::KeyRevoked)?;
            if old.is_expired(now) {
                return Err(Error::KeyExpired);
            }
            let new =
                issue(c, caller.tenant_id, &caller.actor, old.name.clone(), old.scopes, old.expires_at, now)?;
            // The old key stops working now: its live runs go on with the replacement.
            let handed_over = runs::hand_over_live_runs(c, caller.tenant_id, id, new.key.id)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "api_key.rotated",
                    resource_type: "api_key",
                    resource_id: id.to_string(),
                    details: json!({
                        "replaced_by": new.key.id.to_string(),
                        "prefix": old.prefix,
                        "live_runs_handed_over": handed_over,
                    }),
                },
                now,
            )?;
            crate::logs::record(
                c,
                crate::logs::Event {
                    tenant: Some(caller.tenant_id),
                    level: gov_model::LogLevel::Info,
                    source: gov_model::LogSource::Keys,
                    event: "api_key.rotated",
                    message: format!(
                        "API key {} rotated by {}: replaced by {}",
                        id, caller.actor.id, new.key.id
                    ),
                    context: json!({
                        "api_key_id": id.to_string(),
                        "replaced_by": new.key.id.to_string(),
                        "live_runs_handed_over": handed_over,
                    }),
                },
                now,
            )?;
            Ok((new, old))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_of_accepts_only_well_formed_keys() {
        let key = format!("gov_{}_{}", "a1".repeat(6), "0f".repeat(32));
        assert_eq!(prefix_of(&key), Some(&key[..16]));
        assert_eq!(prefix_of(&key[1..]), None);
        assert_eq!(prefix_of(&key.replace("gov_", "vog_")), None);
        assert_eq!(prefix_of(&format!("{key}0")), None);
        assert_eq!(prefix_of(&key.replacen('0', "z", 1)), None);
        assert_eq!(prefix_of(""), None);
        assert_eq!(prefix_of("gov_ü"), None);
    }
}
