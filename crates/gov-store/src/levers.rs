//! The governance levers of a tenant: seeding the seed's default rows for a new tenant, and the
//! go-live / kill-switch state.

use diesel::prelude::*;
use gov_model::{GoLiveState, TenantId, Timestamp};
use time::PrimitiveDateTime;

use crate::convert::{from_db, parse, to_db};
use crate::db::dispatch;
use crate::schema::{go_live_state, heimdall_policy, regression_policy, regression_state, risk_policy};
use crate::{Conn, StoreError};

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

/// Creates the seed's default rows (seed 004 "SEED DATA") for a new tenant: go-live disabled,
/// the four risk policies, and the four Heimdall and regression policies (all disabled).
pub fn seed_tenant(conn: &mut Conn<'_>, tenant: TenantId, now: Timestamp) -> Result<(), StoreError> {
    let t = tenant.to_string();
    let at = to_db(now);
    let id = |suffix: &str| format!("{t}:{suffix}");
    type Risk<'a> = (&'a str, Option<f64>, Option<f64>, Option<f64>, bool, &'a str);
    let risks: [Risk<'_>; 4] = [
        ("GLOBAL", Some(250.0), Some(1500.0), None, true, "seed"),
        ("WHOLESALE", Some(200.0), Some(1000.0), Some(500.0), true, "seed"),
        ("CAPITAL", Some(150.0), Some(750.0), Some(300.0), true, "seed"),
        ("NOTIFY", None, None, None, false, "seed: disabled (logs only)"),
    ];
    let heimdall: [(&str, f64, i64, f64); 4] = [
        ("WHOLESALE_OFFER", 0.92, 75, 0.82),
        ("BUYER_MATCH", 0.90, 50, 0.80),
        ("CAPITAL_ROUTE", 0.95, 100, 0.85),
        ("FOLLOWUP_ACTION", 0.90, 60, 0.80),
    ];
    let regression: [(&str, &str, f64, &str); 4] = [
        ("WHOLESALE", "contract_rate", 0.20, "THROTTLE"),
        ("WHOLESALE", "offer_accept_rate", 0.15, "THROTTLE"),
        ("BUYER_MATCH", "match_success", 0.25, "THROTTLE"),
        ("CAPITAL", "roi_event", 0.30, "KILL_SWITCH"),
    ];
    dispatch!(conn, |c| {
        diesel::insert_into(go_live_state::table)
            .values((
                go_live_state::id.eq(id("go_live")),
                go_live_state::tenant_id.eq(&t),
                go_live_state::go_live_enabled.eq(false),
                go_live_state::kill_switch_engaged.eq(false),
                go_live_state::changed_by.eq("system"),
                go_live_state::reason.eq("seed: disabled is safest"),
                go_live_state::updated_at.eq(at),
            ))
            .execute(c)?;
        for (engine, loss, exposure, open, enabled, reason) in risks {
            diesel::insert_into(risk_policy::table)
                .values((
                    risk_policy::id.eq(id(engine)),
                    risk_policy::tenant_id.eq(&t),
                    risk_policy::engine.eq(engine),
                    risk_policy::max_daily_loss.eq(loss),
                    risk_policy::max_daily_exposure.eq(exposure),
                    risk_policy::max_open_risk.eq(open),
                    risk_policy::max_actions_per_day.eq(None::<i64>),
                    risk_policy::enabled.eq(enabled),
                    risk_policy::changed_by.eq("system"),
                    risk_policy::reason.eq(reason),
                    risk_policy::updated_at.eq(at),
                ))
                .execute(c)?;
        }
        for (domain, confidence, trials, rate) in heimdall {
            diesel::insert_into(heimdall_policy::table)
                .values((
                    heimdall_policy::id.eq(id(domain)),
                    heimdall_policy::tenant_id.eq(&t),
                    heimdall_policy::domain.eq(domain),
                    heimdall_policy::min_confidence_prod.eq(confidence),
                    heimdall_policy::min_sandbox_trials.eq(trials),
                    heimdall_policy::min_sandbox_success_rate.eq(rate),
                    heimdall_policy::prod_use_enabled.eq(false),
                    heimdall_policy::changed_by.eq("system"),
                    heimdall_policy::reason.eq("seed"),
                    heimdall_policy::updated_at.eq(at),
                ))
                .execute(c)?;
        }
        for (domain, metric, drop, action) in regression {
            let key = id(&format!("{domain}/{metric}"));
            diesel::insert_into(regression_policy::table)
                .values((
                    regression_policy::id.eq(&key),
                    regression_policy::tenant_id.eq(&t),
                    regression_policy::domain.eq(domain),
                    regression_policy::metric.eq(metric),
                    regression_policy::window_events.eq(50_i64),
                    regression_policy::baseline_events.eq(200_i64),
                    regression_policy::min_events_to_enforce.eq(250_i64),
                    regression_policy::max_drop_fraction.eq(drop),
                    regression_policy::action.eq(action),
                    regression_policy::enabled.eq(false),
                    regression_policy::changed_by.eq("system"),
                    regression_policy::reason.eq("seed"),
                    regression_policy::updated_at.eq(at),
                ))
                .execute(c)?;
            diesel::insert_into(regression_state::table)
                .values((
                    regression_state::id.eq(&key),
                    regression_state::tenant_id.eq(&t),
                    regression_state::domain.eq(domain),
                    regression_state::metric.eq(metric),
                    regression_state::triggered.eq(false),
                    regression_state::note.eq(""),
                ))
                .execute(c)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
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
