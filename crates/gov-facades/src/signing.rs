//! The deployment's signing key: configured (`GOV_SIGNING_KEY`, `GOV_SIGNING_KEY_FILE`, read by
//! the command line and handed over with [`Gov::with_signing_key`]) or generated once and kept in
//! the database, where every replica on one PostgreSQL finds the same one.
//!
//! The key is read (or generated) on first use and then kept in memory: once stored it never
//! changes. Every key that signs is recorded in `signing_keys` (a configured one by its public
//! half only), so exports signed by an older key stay verifiable.

use std::sync::{Arc, Mutex};

use gov_evidence::SigningKey;
use gov_model::{KeySource, SigningKeyRecord};
use gov_store::signing_keys::{self, NewSigningKey};

use crate::{Error, Gov, Result};

/// The configured key, and the key in use once it has been resolved.
#[derive(Default)]
pub(crate) struct SigningState {
    configured: Option<SigningKey>,
    resolved: Mutex<Option<(SigningKey, KeySource)>>,
}

impl Gov {
    /// Signs with `key` (the operator's configuration) instead of the generated key.
    pub fn with_signing_key(mut self, key: SigningKey) -> Gov {
        self.signing = Arc::new(SigningState { configured: Some(key), resolved: Mutex::default() });
        self
    }

    /// The key exports are signed with, and where it came from. The first call records it
    /// (a configured key's public half) or generates it; later calls answer from memory.
    pub(crate) fn signing_key(&self) -> Result<(SigningKey, KeySource)> {
        let mut resolved = self.signing.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = resolved.as_ref() {
            return Ok(found.clone());
        }
        let found = match &self.signing.configured {
            Some(key) => {
                self.record_key(key, KeySource::Configured)?;
                (key.clone(), KeySource::Configured)
            }
            None => (self.generated_key()?, KeySource::Generated),
        };
        *resolved = Some(found.clone());
        Ok(found)
    }

    /// The generated key: read it, or generate one and insert it unless another replica did
    /// first, then read again (so every replica ends with the stored one).
    fn generated_key(&self) -> Result<SigningKey> {
        if let Some(key) = self.stored_generated_key()? {
            return Ok(key);
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        let key = SigningKey::from_seed(seed);
        self.record_key(&key, KeySource::Generated)?;
        self.stored_generated_key()?
            .ok_or_else(|| Error::Internal("the generated signing key was not stored".to_owned()))
    }

    fn stored_generated_key(&self) -> Result<Option<SigningKey>> {
        let Some((record, seed)) = self.db.read(signing_keys::generated)? else { return Ok(None) };
        let key = SigningKey::from_hex(&seed)
            .map_err(|e| Error::Internal(format!("signing key {}: {e}", record.key_id)))?;
        if key.public_key().key_id() != record.key_id {
            return Err(Error::Internal(format!(
                "signing key {}: its seed is of another key",
                record.key_id
            )));
        }
        Ok(Some(key))
    }

    fn record_key(&self, key: &SigningKey, source: KeySource) -> Result<()> {
        let public = key.public_key();
        let new = NewSigningKey {
            key_id: public.key_id(),
            public_key: public.to_hex(),
            private_key: (source == KeySource::Generated).then(|| key.seed_hex()),
            source,
            created_at: self.clock.now(),
        };
        self.db.write(move |c| {
            if signing_keys::insert_or_nothing(c, &new)? && new.source == KeySource::Generated {
                crate::logs::record(
                    c,
                    crate::logs::Event {
                        tenant: None,
                        level: gov_model::LogLevel::Info,
                        source: gov_model::LogSource::Signing,
                        event: "signing_key.generated",
                        message: format!("signing key {} generated", new.key_id),
                        context: serde_json::json!({ "key_id": new.key_id }),
                    },
                    new.created_at,
                )?;
            }
            Ok::<_, gov_store::StoreError>(())
        })?;
        Ok(())
    }

    /// The key in use (resolving it first, see [`Gov::signing_key`]) and every key that signed
    /// before it, oldest first; the current one is the first element of the pair.
    pub fn public_keys(&self) -> Result<(SigningKeyRecord, Vec<SigningKeyRecord>)> {
        let (key, _) = self.signing_key()?;
        let id = key.public_key().key_id();
        let all = self.db.read(signing_keys::list)?;
        let current = all
            .iter()
            .find(|k| k.key_id == id)
            .cloned()
            .ok_or_else(|| Error::Internal(format!("signing key {id} is not recorded")))?;
        let older = all.into_iter().filter(|k| k.key_id != id).collect();
        Ok((current, older))
    }
}
