//! Users of a tenant.

use diesel::prelude::*;
use gov_model::{Page, PageRequest, Role, SortDirection, TenantId, Total, User, UserId};

use crate::db::dispatch;
use crate::models::user::{UserRow, roles_to_db};
use crate::paging::position_only;
use crate::schema::users;
use crate::{Conn, StoreError};

/// Columns a user list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    #[default]
    CreatedAt,
    Email,
    Name,
}

/// Fields of a user that can change after creation.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub name: Option<String>,
}

pub fn insert(conn: &mut Conn<'_>, user: &User) -> Result<(), StoreError> {
    let row = UserRow::from_model(user);
    dispatch!(conn, |c| diesel::insert_into(users::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: UserId) -> Result<User, StoreError> {
    let (tenant, id) = (tenant.to_string(), id.to_string());
    let row: UserRow = dispatch!(conn, |c| users::table
        .filter(users::tenant_id.eq(&tenant).and(users::user_id.eq(&id)))
        .select(UserRow::as_select())
        .first(c))?;
    row.into_model()
}

pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    page: PageRequest,
    sort: UserSort,
    direction: SortDirection,
) -> Result<Page<User>, StoreError> {
    let tenant = tenant.to_string();
    let (rows, total): (Vec<UserRow>, i64) = dispatch!(conn, |c| {
        let total = users::table.filter(users::tenant_id.eq(&tenant)).count().get_result(c)?;
        let mut q = users::table.filter(users::tenant_id.eq(&tenant)).into_boxed();
        q = match (sort, direction) {
            (UserSort::CreatedAt, SortDirection::Asc) => {
                q.order((users::created_at.asc(), users::user_id.asc()))
            }
            (UserSort::CreatedAt, SortDirection::Desc) => {
                q.order((users::created_at.desc(), users::user_id.desc()))
            }
            (UserSort::Email, SortDirection::Asc) => q.order(users::email.asc()),
            (UserSort::Email, SortDirection::Desc) => q.order(users::email.desc()),
            (UserSort::Name, SortDirection::Asc) => q.order((users::name.asc(), users::user_id.asc())),
            (UserSort::Name, SortDirection::Desc) => q.order((users::name.desc(), users::user_id.desc())),
        };
        let rows =
            q.limit(page.probe_limit()).offset(page.rows_before()).select(UserRow::as_select()).load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(UserRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

/// Applies `changes`; returns the updated user.
pub fn update(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
    changes: &UserChanges,
) -> Result<User, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let n = dispatch!(conn, |c| {
        let target = users::table.filter(users::tenant_id.eq(&t).and(users::user_id.eq(&i)));
        diesel::update(target)
            .set((
                changes.email.as_ref().map(|e| users::email.eq(e)),
                changes.name.as_ref().map(|n| users::name.eq(n)),
            ))
            .execute(c)
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id)
}

pub fn set_roles(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
    roles: &[Role],
) -> Result<User, StoreError> {
    let (t, i, r) = (tenant.to_string(), id.to_string(), roles_to_db(roles));
    let n = dispatch!(conn, |c| diesel::update(
        users::table.filter(users::tenant_id.eq(&t).and(users::user_id.eq(&i)))
    )
    .set(users::roles.eq(&r))
    .execute(c))?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id)
}

pub fn delete(conn: &mut Conn<'_>, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let n = dispatch!(conn, |c| diesel::delete(
        users::table.filter(users::tenant_id.eq(&t).and(users::user_id.eq(&i)))
    )
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
