//! Tenants. The tenant row itself is the one thing looked up without a tenant scope.

use diesel::prelude::*;
use gov_model::{Tenant, TenantId};

use crate::db::dispatch;
use crate::models::tenant::TenantRow;
use crate::schema::tenants;
use crate::{Conn, StoreError};

/// Inserts a tenant; a taken name is a [`StoreError::Conflict`].
pub fn insert(conn: &mut Conn<'_>, tenant: &Tenant) -> Result<(), StoreError> {
    let row = TenantRow::from_model(tenant);
    dispatch!(conn, |c| diesel::insert_into(tenants::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, id: TenantId) -> Result<Tenant, StoreError> {
    let id = id.to_string();
    let row: TenantRow =
        dispatch!(conn, |c| tenants::table.find(&id).select(TenantRow::as_select()).first(c))?;
    row.into_model()
}

pub fn find_by_name(conn: &mut Conn<'_>, name: &str) -> Result<Option<Tenant>, StoreError> {
    let row: Option<TenantRow> = dispatch!(conn, |c| tenants::table
        .filter(tenants::name.eq(name))
        .select(TenantRow::as_select())
        .first(c)
        .optional())?;
    row.map(TenantRow::into_model).transpose()
}

pub fn count(conn: &mut Conn<'_>) -> Result<i64, StoreError> {
    Ok(dispatch!(conn, |c| tenants::table.count().get_result(c))?)
}

/// Every tenant, oldest first (operator tooling only; the HTTP API never lists tenants).
pub fn list_all(conn: &mut Conn<'_>) -> Result<Vec<Tenant>, StoreError> {
    let rows: Vec<TenantRow> = dispatch!(conn, |c| tenants::table
        .order(tenants::created_at.asc())
        .select(TenantRow::as_select())
        .load(c))?;
    rows.into_iter().map(TenantRow::into_model).collect()
}
