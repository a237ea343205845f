//! A row of `users`. Roles are stored comma-separated.

use diesel::prelude::*;
use gov_model::{Role, User};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, opt_from_db, opt_to_db, parse, to_db};
use crate::schema::users;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub created_at: PrimitiveDateTime,
    pub last_login: Option<PrimitiveDateTime>,
}

pub(crate) fn roles_to_db(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

impl UserRow {
    pub fn from_model(u: &User) -> Self {
        Self {
            user_id: u.id.to_string(),
            tenant_id: u.tenant_id.to_string(),
            email: u.email.clone(),
            name: u.name.clone(),
            roles: roles_to_db(&u.roles),
            created_at: to_db(u.created_at),
            last_login: opt_to_db(u.last_login),
        }
    }

    pub fn into_model(self) -> Result<User, StoreError> {
        let roles = self
            .roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(|r| parse("users.roles", r))
            .collect::<Result<Vec<Role>, _>>()?;
        Ok(User {
            id: parse("users.user_id", &self.user_id)?,
            tenant_id: parse("users.tenant_id", &self.tenant_id)?,
            email: self.email,
            name: self.name,
            roles,
            created_at: from_db(self.created_at),
            last_login: opt_from_db(self.last_login),
        })
    }
}
