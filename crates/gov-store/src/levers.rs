//! The governance levers of a tenant: writing the seed's defaults for a new tenant, and the
//! go-live / kill-switch state.

use diesel::prelude::*;
use gov_model::{GoLiveState, TenantId, Timestamp, defaults};
use time::PrimitiveDateTime;

use crate::convert::{from_db, parse, to_db};
use crate::db::dispatch;
use crate::schema::go_live_state;
use crate::{Conn, StoreError, heimdall, regression, risk};

#[derive(Queryable, Selectable)]
#[diesel(table_name = go_live_state, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct GoLiveRow {
    tenant_id: String,
    go_live_enabled: bool,
    kill_switch_engaged: bool,
    changed_by: String,
    reason: String,
    updated_at: PrimitiveDateTime,
}

impl GoLiveRow {
    fn into_model(self) -> Result<GoLiveState, StoreError> {
        Ok(GoLiveState {
            tenant_id: parse("go_live_state.tenant_id", &self.tenant_id)?,
            go_live_enabled: self.go_live_enabled,
            kill_switch_engaged: self.kill_switch_engaged,
            changed_by: self.changed_by,
            reason: self.reason,
            updated_at: from_db(self.updated_at),
        })
    }
}

/// Creates the seed's default rows (seed 004 "SEED DATA", `gov_model::defaults`) for a new
/// tenant, through the same writes as the lever endpoints: go-live disabled, the four risk
/// policies, and the four Heimdall and regression policies (all disabled; each tripwire with a
/// clear state).
pub fn seed_tenant(conn: &mut Conn<'_>, tenant: TenantId, now: Timestamp) -> Result<(), StoreError> {
    insert_go_live(conn, &defaults::go_live(tenant, now))?;
    for policy in defaults::risk_policies(tenant, now) {
        risk::upsert_policy(conn, &policy)?;
    }
    for policy in defaults::heimdall_policies(now) {
        heimdall::upsert_policy(conn, tenant, &policy)?;
    }
    for policy in defaults::regression_policies(now) {
        regression::upsert_policy(conn, tenant, &policy)?;
    }
    Ok(())
}

/// Writes a tenant's go-live state; a tenant has one, so a second is a [`StoreError::Conflict`].
pub fn insert_go_live(conn: &mut Conn<'_>, state: &GoLiveState) -> Result<(), StoreError> {
    let t = state.tenant_id.to_string();
    dispatch!(conn, |c| diesel::insert_into(go_live_state::table)
        .values((
            go_live_state::id.eq(format!("{t}:go_live")),
            go_live_state::tenant_id.eq(&t),
            go_live_state::go_live_enabled.eq(state.go_live_enabled),
            go_live_state::kill_switch_engaged.eq(state.kill_switch_engaged),
            go_live_state::changed_by.eq(&state.changed_by),
            go_live_state::reason.eq(&state.reason),
            go_live_state::updated_at.eq(to_db(state.updated_at)),
        ))
        .execute(c))?;
    Ok(())
}

/// The tenant's go-live state. Every tenant has one (seeded at creation), so a state that cannot
/// be read (row or table missing, a row that does not parse) is `Unavailable`: what guards
/// requests must fail closed with 503, never pass as "not found".
pub fn go_live(conn: &mut Conn<'_>, tenant: TenantId) -> Result<GoLiveState, StoreError> {
    let t = tenant.to_string();
    let row: Result<GoLiveRow, _> = dispatch!(conn, |c| go_live_state::table
        .filter(go_live_state::tenant_id.eq(&t))
        .select(GoLiveRow::as_select())
        .get_result(c));
    let unreadable = |why: String| {
        StoreError::Unavailable(format!("the go-live state of tenant {t} is unreadable: {why}"))
    };
    match row.map_err(StoreError::from) {
        Ok(row) => row.into_model().map_err(|e| unreadable(e.to_string())),
        Err(StoreError::NotFound) => Err(unreadable("no row".to_owned())),
        Err(e @ StoreError::Unavailable(_)) => Err(e),
        Err(e) => Err(unreadable(e.to_string())),
    }
}

/// Changes the go-live switch and/or the kill switch; returns the new state.
pub fn set_go_live(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    go_live_enabled: Option<bool>,
    kill_switch_engaged: Option<bool>,
    changed_by: &str,
    reason: &str,
    now: Timestamp,
) -> Result<GoLiveState, StoreError> {
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::update(go_live_state::table.filter(go_live_state::tenant_id.eq(&t)))
        .set((
            go_live_enabled.map(|v| go_live_state::go_live_enabled.eq(v)),
            kill_switch_engaged.map(|v| go_live_state::kill_switch_engaged.eq(v)),
            go_live_state::changed_by.eq(changed_by),
            go_live_state::reason.eq(reason),
            go_live_state::updated_at.eq(to_db(now)),
        ))
        .execute(c))?;
    go_live(conn, tenant)
}
