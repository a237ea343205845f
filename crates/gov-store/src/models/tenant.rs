//! A row of `tenants`.

use diesel::prelude::*;
use gov_model::Tenant;
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, json, parse, to_db};
use crate::schema::tenants;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct TenantRow {
    pub tenant_id: String,
    pub name: String,
    pub plan: String,
    pub created_at: PrimitiveDateTime,
    pub settings: String,
}

impl TenantRow {
    pub fn from_model(t: &Tenant) -> Self {
        Self {
            tenant_id: t.id.to_string(),
            name: t.name.clone(),
            plan: t.plan.clone(),
            created_at: to_db(t.created_at),
            settings: t.settings.to_string(),
        }
    }

    pub fn into_model(self) -> Result<Tenant, StoreError> {
        Ok(Tenant {
            id: parse("tenants.tenant_id", &self.tenant_id)?,
            settings: json("tenants.settings", &self.settings)?,
            name: self.name,
            plan: self.plan,
            created_at: from_db(self.created_at),
        })
    }
}
