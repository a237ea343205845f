//! API keys. Stored as blake3 hashes; the secret itself is never written.

use diesel::prelude::*;
use gov_model::{ApiKey, ApiKeyId, Page, PageRequest, TenantId, Timestamp, Total};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::api_key::ApiKeyRow;
use crate::paging::position_only;
use crate::schema::api_keys;
use crate::{Conn, StoreError};

/// A key found by its prefix, with the stored hash to compare against.
pub struct KeyForAuthentication {
    pub key: ApiKey,
    pub key_hash: String,
}

pub fn insert(conn: &mut Conn<'_>, key: &ApiKey, key_hash: &str) -> Result<(), StoreError> {
    let row = ApiKeyRow::from_model(key, key_hash);
    dispatch!(conn, |c| diesel::insert_into(api_keys::table).values(&row).execute(c))?;
    Ok(())
}

/// The one lookup without a tenant: authentication finds the key, and so the tenant, by the
/// key's public prefix. Callers must compare the hash before trusting the result.
pub fn find_for_authentication(
    conn: &mut Conn<'_>,
    prefix: &str,
) -> Result<Option<KeyForAuthentication>, StoreError> {
    let row: Option<ApiKeyRow> = dispatch!(conn, |c| api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKeyRow::as_select())
        .first(c)
        .optional())?;
    row.map(|row| {
        let key_hash = row.key_hash.clone();
        Ok(KeyForAuthentication { key: row.into_model()?, key_hash })
    })
    .transpose()
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: ApiKeyRow = dispatch!(conn, |c| api_keys::table
        .filter(api_keys::tenant_id.eq(&t).and(api_keys::key_id.eq(&i)))
        .select(ApiKeyRow::as_select())
        .first(c))?;
    row.into_model()
}

/// A tenant's keys, newest first.
pub fn list(conn: &mut Conn<'_>, tenant: TenantId, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
    let t = tenant.to_string();
    let (rows, total): (Vec<ApiKeyRow>, i64) = dispatch!(conn, |c| {
        let total = api_keys::table.filter(api_keys::tenant_id.eq(&t)).count().get_result(c)?;
        let rows = api_keys::table
            .filter(api_keys::tenant_id.eq(&t))
            .order((api_keys::created_at.desc(), api_keys::key_id.desc()))
            .limit(page.probe_limit())
            .offset(page.rows_before())
            .select(ApiKeyRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(ApiKeyRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

/// Marks a live key revoked and returns it; `None` when it was revoked already.
pub fn revoke(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ApiKeyId,
    now: Timestamp,
) -> Result<Option<ApiKey>, StoreError> {
    let (t, i, at) = (tenant.to_string(), id.to_string(), to_db(now));
    let n = dispatch!(conn, |c| diesel::update(
        api_keys::table
            .filter(api_keys::tenant_id.eq(&t).and(api_keys::key_id.eq(&i)).and(api_keys::revoked.eq(false)))
    )
    .set((api_keys::revoked.eq(true), api_keys::revoked_at.eq(Some(at))))
    .execute(c))?;
    if n == 0 {
        // Tell "no such key" from "already revoked".
        get(conn, tenant, id)?;
        return Ok(None);
    }
    get(conn, tenant, id).map(Some)
}

/// Records use of a key, at most once per `granularity` so authentication stays a read.
pub fn touch_last_used(
    conn: &mut Conn<'_>,
    id: ApiKeyId,
    now: Timestamp,
    granularity: time::Duration,
) -> Result<(), StoreError> {
    let (i, at, before) = (id.to_string(), to_db(now), to_db(now - granularity));
    dispatch!(conn, |c| diesel::update(api_keys::table.filter(
        api_keys::key_id.eq(&i).and(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(before)))
    ))
    .set(api_keys::last_used_at.eq(Some(at)))
    .execute(c))?;
    Ok(())
}
