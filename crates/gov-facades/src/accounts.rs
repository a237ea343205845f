//! Tenants (created by operators, with their first admin key) and the users of a tenant.

use gov_model::{
    Actor, NewAuditEntry, Page, PageRequest, Role, Scope, ScopeSet, SortDirection, Tenant, TenantId, User,
    UserId,
};
use gov_store::users::{UserChanges, UserSort};
use gov_store::{Conn, StoreError, tenants, users};
use serde_json::json;

use crate::error::{Identity, OrNotFound};
use crate::{Caller, CreatedTenant, Error, Gov, Result, api_keys, audit, validate};

/// Name of the tenant `gov serve` creates on an empty database.
pub const DEFAULT_TENANT: &str = "default";

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// Defaults to `viewer` when empty.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
}

fn parse_roles(roles: &[String]) -> Result<Vec<Role>> {
    let mut parsed = roles
        .iter()
        .map(|r| r.trim().parse::<Role>().map_err(|e| Error::invalid("roles", e)))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

fn user_audit(action: &'static str, user: &User) -> NewAuditEntry {
    NewAuditEntry {
        action,
        resource_type: "user",
        resource_id: user.id.to_string(),
        details: json!({
            "email": user.email,
            "roles": user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        }),
    }
}

impl Gov {
    /// Creates a tenant and its first admin key, in one transaction.
    pub fn create_tenant(&self, actor: &Actor, name: &str) -> Result<CreatedTenant> {
        let name = validate::text("name", name, 100)?;
        let now = self.clock.now();
        let actor = actor.clone();
        let gov = self.clone();
        self.db.write(move |c| gov.create_tenant_in(c, &actor, name, now))
    }

    fn create_tenant_in(
        &self,
        c: &mut Conn<'_>,
        actor: &Actor,
        name: String,
        now: gov_model::Timestamp,
    ) -> Result<CreatedTenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            name,
            plan: "self_hosted".to_owned(),
            created_at: now,
            settings: json!({}),
        };
        tenants::insert(c, &tenant).map_err(|e| match e {
            StoreError::Conflict(_) => Error::Duplicate(Identity::TenantName(tenant.name.clone())),
            other => other.into(),
        })?;
        audit::record(
            c,
            tenant.id,
            actor,
            NewAuditEntry {
                action: "tenant.created",
                resource_type: "tenant",
                resource_id: tenant.id.to_string(),
                details: json!({ "name": tenant.name }),
            },
            now,
        )?;
        gov_store::levers::seed_tenant(c, tenant.id, now)?;
        let admin_key = api_keys::issue(
            c,
            tenant.id,
            actor,
            "admin".to_owned(),
            ScopeSet::from_iter([Scope::Admin]),
            None,
            now,
        )?;
        Ok(CreatedTenant { tenant, admin_key })
    }

    /// On an empty database, creates the `default` tenant and its admin key. Returns `None` when
    /// any tenant exists (or another replica created it first).
    pub fn bootstrap(&self) -> Result<Option<CreatedTenant>> {
        let now = self.clock.now();
        let gov = self.clone();
        let created = self.db.write(move |c| {
            if tenants::count(c)? > 0 {
                return Ok(None);
            }
            gov.create_tenant_in(c, &Actor::system(), DEFAULT_TENANT.to_owned(), now).map(Some)
        });
        match created {
            Err(Error::Duplicate(_)) => Ok(None),
            other => other,
        }
    }

    pub fn find_tenant(&self, name_or_id: &str) -> Result<Tenant> {
        self.db.read(|c| {
            if let Ok(id) = name_or_id.parse::<TenantId>() {
                return tenants::get(c, id).or_not_found("tenant");
            }
            tenants::find_by_name(c, name_or_id)?.ok_or(Error::NotFound("tenant"))
        })
    }

    pub fn list_tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self.db.read(tenants::list_all)?)
    }

    pub fn get_tenant(&self, tenant: TenantId) -> Result<Tenant> {
        self.db.read(|c| tenants::get(c, tenant).or_not_found("tenant"))
    }

    pub fn create_user(&self, caller: &Caller, input: NewUser) -> Result<User> {
        let email = validate::email("email", &input.email)?;
        let name = validate::text("name", &input.name, 200)?;
        let mut roles = parse_roles(&input.roles)?;
        if roles.is_empty() {
            roles.push(Role::Viewer);
        }
        let now = self.clock.now();
        let user = User {
            id: UserId::new(),
            tenant_id: caller.tenant_id,
            email,
            name,
            roles,
            created_at: now,
            last_login: None,
        };
        let caller = caller.clone();
        self.db.write(move |c| {
            users::insert(c, &user).map_err(|e| match e {
                StoreError::Conflict(_) => Error::Duplicate(Identity::UserEmail(user.email.clone())),
                other => other.into(),
            })?;
            audit::record(c, caller.tenant_id, &caller.actor, user_audit("user.created", &user), now)?;
            Ok(user.clone())
        })
    }

    pub fn list_users(
        &self,
        tenant: TenantId,
        page: PageRequest,
        sort: UserSort,
        direction: SortDirection,
    ) -> Result<Page<User>> {
        Ok(self.db.read(|c| users::list(c, tenant, page, sort, direction))?)
    }

    pub fn get_user(&self, tenant: TenantId, id: UserId) -> Result<User> {
        self.db.read(|c| users::get(c, tenant, id).or_not_found("user"))
    }

    pub fn update_user(&self, caller: &Caller, id: UserId, update: UserUpdate) -> Result<User> {
        let changes = UserChanges {
            email: update.email.as_deref().map(|e| validate::email("email", e)).transpose()?,
            name: update.name.as_deref().map(|n| validate::text("name", n, 200)).transpose()?,
        };
        if changes.email.is_none() && changes.name.is_none() {
            return Err(Error::invalid("body", "nothing to change: give email and/or name"));
        }
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let user = users::update(c, caller.tenant_id, id, &changes).map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("user"),
                StoreError::Conflict(_) => {
                    Error::Duplicate(Identity::UserEmail(changes.email.clone().unwrap_or_default()))
                }
                other => other.into(),
            })?;
            audit::record(c, caller.tenant_id, &caller.actor, user_audit("user.updated", &user), now)?;
            Ok(user)
        })
    }

    pub fn delete_user(&self, caller: &Caller, id: UserId) -> Result<()> {
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let user = users::get(c, caller.tenant_id, id).or_not_found("user")?;
            users::delete(c, caller.tenant_id, id).or_not_found("user")?;
            audit::record(c, caller.tenant_id, &caller.actor, user_audit("user.deleted", &user), now)?;
            Ok(())
        })
    }

    pub fn set_user_roles(&self, caller: &Caller, id: UserId, roles: &[String]) -> Result<User> {
        let roles = parse_roles(roles)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let user = users::set_roles(c, caller.tenant_id, id, &roles).or_not_found("user")?;
            audit::record(c, caller.tenant_id, &caller.actor, user_audit("user.roles_changed", &user), now)?;
            Ok(user)
        })
    }
}
