//! The deployment's signing keys: every public key that has signed exports, and the seed of the
//! one gov generated itself (when no key is configured). Not tenant data: one deployment, one key.

use diesel::prelude::*;
use gov_model::{KeySource, SigningKeyRecord, Timestamp};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::export::SigningKeyRow;
use crate::schema::signing_keys;
use crate::{Conn, StoreError};

/// A key to record. `private_key` (the seed, hex) only for the generated key.
#[derive(Debug, Clone)]
pub struct NewSigningKey {
    pub key_id: String,
    pub public_key: String,
    pub private_key: Option<String>,
    pub source: KeySource,
    pub created_at: Timestamp,
}

/// Records `key` unless a row with its id, or (for a generated key) another generated key,
/// exists already: replicas generating at once end with the first one's key. Returns whether
/// this call wrote the row.
pub fn insert_or_nothing(conn: &mut Conn<'_>, key: &NewSigningKey) -> Result<bool, StoreError> {
    let row = SigningKeyRow {
        key_id: key.key_id.clone(),
        public_key: key.public_key.clone(),
        private_key: key.private_key.clone(),
        source: key.source.as_str().to_owned(),
        created_at: to_db(key.created_at),
    };
    let written = dispatch!(conn, |c| diesel::insert_into(signing_keys::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(written == 1)
}

/// The generated key's record and seed (hex), if gov has generated one.
pub fn generated(conn: &mut Conn<'_>) -> Result<Option<(SigningKeyRecord, String)>, StoreError> {
    let row: Option<SigningKeyRow> = dispatch!(conn, |c| signing_keys::table
        .filter(signing_keys::source.eq(KeySource::Generated.as_str()))
        .select(SigningKeyRow::as_select())
        .first(c)
        .optional())?;
    let Some(mut row) = row else { return Ok(None) };
    let seed = row.private_key.take().ok_or_else(|| {
        StoreError::Corrupt(format!("signing_keys {}: generated key without its seed", row.key_id))
    })?;
    Ok(Some((row.into_model()?, seed)))
}

/// Every recorded public key, oldest first.
pub fn list(conn: &mut Conn<'_>) -> Result<Vec<SigningKeyRecord>, StoreError> {
    let rows: Vec<SigningKeyRow> = dispatch!(conn, |c| signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::key_id.asc()))
        .select(SigningKeyRow::as_select())
        .load(c))?;
    rows.into_iter().map(SigningKeyRow::into_model).collect()
}
