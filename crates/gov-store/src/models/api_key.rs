//! A row of `api_keys`. The hash never leaves the store except for the authentication check.

use diesel::prelude::*;
use gov_model::{ApiKey, ScopeSet};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, opt_from_db, opt_to_db, parse, to_db};
use crate::schema::api_keys;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ApiKeyRow {
    pub key_id: String,
    pub tenant_id: String,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub scopes: String,
    pub created_at: PrimitiveDateTime,
    pub expires_at: Option<PrimitiveDateTime>,
    pub last_used_at: Option<PrimitiveDateTime>,
    pub revoked: bool,
    pub revoked_at: Option<PrimitiveDateTime>,
}

impl ApiKeyRow {
    pub fn from_model(k: &ApiKey, key_hash: &str) -> Self {
        Self {
            key_id: k.id.to_string(),
            tenant_id: k.tenant_id.to_string(),
            name: k.name.clone(),
            key_hash: key_hash.to_owned(),
            prefix: k.prefix.clone(),
            scopes: k.scopes.to_string(),
            created_at: to_db(k.created_at),
            expires_at: opt_to_db(k.expires_at),
            last_used_at: opt_to_db(k.last_used_at),
            revoked: k.revoked,
            revoked_at: opt_to_db(k.revoked_at),
        }
    }

    pub fn into_model(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: parse("api_keys.key_id", &self.key_id)?,
            tenant_id: parse("api_keys.tenant_id", &self.tenant_id)?,
            name: self.name,
            prefix: self.prefix,
            scopes: ScopeSet::parse(self.scopes.split(',').filter(|s| !s.is_empty()))
                .map_err(|e| StoreError::Corrupt(format!("api_keys.scopes: {e}")))?,
            created_at: from_db(self.created_at),
            expires_at: opt_from_db(self.expires_at),
            last_used_at: opt_from_db(self.last_used_at),
            revoked: self.revoked,
            revoked_at: opt_from_db(self.revoked_at),
        })
    }
}
