//! Keys authenticated in the last second, so a burst of requests with one key costs one database
//! read. The bound on staleness is the point: a key revoked or rotated through this process is
//! forgotten at once; one revoked through another replica stops working here within `TTL`. Expiry
//! is checked on every use.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gov_model::{ApiKeyId, Principal, Timestamp};

/// How long an authentication is reused without asking the database again.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept before the cache starts over.
const CAPACITY: usize = 10_000;

struct Entry {
    principal: Principal,
    expires_at: Option<Timestamp>,
    cached: Instant,
}

#[derive(Default)]
pub(crate) struct AuthCache {
    /// By blake3 of the whole bearer token: holding a hash here proves knowledge of the secret.
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl AuthCache {
    pub fn get(&self, token_hash: &blake3::Hash, now: Timestamp) -> Option<Principal> {
        let entries = self.lock();
        let entry = entries.get(token_hash.as_bytes())?;
        let fresh = entry.cached.elapsed() < TTL && entry.expires_at.is_none_or(|at| at > now);
        fresh.then(|| entry.principal.clone())
    }

    pub fn put(&self, token_hash: &blake3::Hash, principal: Principal, expires_at: Option<Timestamp>) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(*token_hash.as_bytes(), Entry { principal, expires_at, cached: Instant::now() });
    }

    /// Drops every cached authentication of `key` (after it was revoked or rotated).
    pub fn forget(&self, key: ApiKeyId) {
        self.lock().retain(|_, e| e.principal.api_key_id != key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // Each operation leaves the map consistent, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
