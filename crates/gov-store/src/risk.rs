//! The risk guard's tables: per-engine daily caps, the daily ledger (reserved with one
//! conditional update, so concurrent reservations never pass a cap) and the immutable event log.

use diesel::prelude::*;
use gov_model::{RiskAction, RiskCaps, RiskEvent, RiskLedgerDay, RiskPolicy, TenantId, Timestamp};
use time::{Date, PrimitiveDateTime};

use crate::convert::{from_db, json, parse, to_db};
use crate::db::dispatch;
use crate::schema::{risk_event, risk_ledger_day, risk_policy};
use crate::{Conn, StoreError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = risk_policy, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct PolicyRow {
    tenant_id: String,
    engine: String,
    max_daily_loss: Option<f64>,
    max_daily_exposure: Option<f64>,
    max_open_risk: Option<f64>,
    max_actions_per_day: Option<i64>,
    enabled: bool,
    changed_by: String,
    reason: String,
    updated_at: PrimitiveDateTime,
}

impl PolicyRow {
    fn into_model(self) -> Result<RiskPolicy, StoreError> {
        Ok(RiskPolicy {
            tenant_id: parse("risk_policy.tenant_id", &self.tenant_id)?,
            engine: self.engine,
            max_daily_loss: self.max_daily_loss,
            max_daily_exposure: self.max_daily_exposure,
            max_open_risk: self.max_open_risk,
            max_actions_per_day: self.max_actions_per_day,
            enabled: self.enabled,
            changed_by: self.changed_by,
            reason: self.reason,
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = risk_ledger_day, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct LedgerRow {
    day: Date,
    engine: String,
    exposure_used: f64,
    open_risk_reserved: f64,
    realized_loss: f64,
    actions_count: i64,
}

impl From<LedgerRow> for RiskLedgerDay {
    fn from(r: LedgerRow) -> Self {
        RiskLedgerDay {
            day: Some(r.day),
            engine: r.engine,
            exposure_used: r.exposure_used,
            open_risk_reserved: r.open_risk_reserved,
            realized_loss: r.realized_loss,
            actions_count: r.actions_count,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = risk_event, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct EventRow {
    id: String,
    tenant_id: String,
    engine: String,
    action: String,
    amount: f64,
    ok: bool,
    reason: String,
    actor: String,
    correlation_id: String,
    metadata_json: String,
    created_at: PrimitiveDateTime,
    /// Always true when written (only rows from before migration 000005 have false).
    one_decision: bool,
}

impl EventRow {
    fn into_model(self) -> Result<RiskEvent, StoreError> {
        Ok(RiskEvent {
            id: self.id,
            tenant_id: parse("risk_event.tenant_id", &self.tenant_id)?,
            engine: self.engine,
            action: parse("risk_event.action", &self.action)?,
            amount: self.amount,
            ok: self.ok,
            reason: self.reason,
            actor: self.actor,
            correlation_id: self.correlation_id,
            metadata: json("risk_event.metadata_json", &self.metadata_json)?,
            created_at: from_db(self.created_at),
        })
    }
}

pub fn policies(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<RiskPolicy>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<PolicyRow> = dispatch!(conn, |c| risk_policy::table
        .filter(risk_policy::tenant_id.eq(&t))
        .order(risk_policy::engine.asc())
        .select(PolicyRow::as_select())
        .load(c))?;
    rows.into_iter().map(PolicyRow::into_model).collect()
}

pub fn policy(conn: &mut Conn<'_>, tenant: TenantId, engine: &str) -> Result<Option<RiskPolicy>, StoreError> {
    let t = tenant.to_string();
    let row: Option<PolicyRow> = dispatch!(conn, |c| risk_policy::table
        .filter(risk_policy::tenant_id.eq(&t).and(risk_policy::engine.eq(engine)))
        .select(PolicyRow::as_select())
        .get_result(c)
        .optional())?;
    row.map(PolicyRow::into_model).transpose()
}

/// The caps of those of `engines` that have a policy, in one read.
pub fn policies_named(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    engines: &[&str],
) -> Result<Vec<RiskPolicy>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<PolicyRow> = dispatch!(conn, |c| risk_policy::table
        .filter(risk_policy::tenant_id.eq(&t).and(risk_policy::engine.eq_any(engines)))
        .select(PolicyRow::as_select())
        .load(c))?;
    rows.into_iter().map(PolicyRow::into_model).collect()
}

/// Creates or replaces an engine's caps.
pub fn upsert_policy(conn: &mut Conn<'_>, p: &RiskPolicy) -> Result<(), StoreError> {
    let t = p.tenant_id.to_string();
    let values = (
        risk_policy::id.eq(format!("{t}:{}", p.engine)),
        risk_policy::tenant_id.eq(&t),
        risk_policy::engine.eq(&p.engine),
        risk_policy::max_daily_loss.eq(p.max_daily_loss),
        risk_policy::max_daily_exposure.eq(p.max_daily_exposure),
        risk_policy::max_open_risk.eq(p.max_open_risk),
        risk_policy::max_actions_per_day.eq(p.max_actions_per_day),
        risk_policy::enabled.eq(p.enabled),
        risk_policy::changed_by.eq(&p.changed_by),
        risk_policy::reason.eq(&p.reason),
        risk_policy::updated_at.eq(to_db(p.updated_at)),
    );
    let id = format!("{t}:{}", p.engine);
    // Insert-or-nothing, then update: a bare ON CONFLICT DO NOTHING covers both unique indexes (the
    // derived id and (tenant, engine)), so two admins creating one engine at once cannot get a 409.
    dispatch!(conn, |c| {
        diesel::insert_into(risk_policy::table).values(values.clone()).on_conflict_do_nothing().execute(c)?;
        diesel::update(risk_policy::table.find(&id))
            .set((
                risk_policy::max_daily_loss.eq(p.max_daily_loss),
                risk_policy::max_daily_exposure.eq(p.max_daily_exposure),
                risk_policy::max_open_risk.eq(p.max_open_risk),
                risk_policy::max_actions_per_day.eq(p.max_actions_per_day),
                risk_policy::enabled.eq(p.enabled),
                risk_policy::changed_by.eq(&p.changed_by),
                risk_policy::reason.eq(&p.reason),
                risk_policy::updated_at.eq(to_db(p.updated_at)),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Makes sure each of `engines` has a ledger row for `day`, in one statement.
pub fn open_ledgers(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    day: Date,
    engines: &[&str],
) -> Result<(), StoreError> {
    let t = tenant.to_string();
    let rows: Vec<_> = engines
        .iter()
        .map(|engine| {
            (
                risk_ledger_day::id.eq(format!("{t}:{day}:{engine}")),
                risk_ledger_day::tenant_id.eq(t.clone()),
                risk_ledger_day::day.eq(day),
                risk_ledger_day::engine.eq(*engine),
            )
        })
        .collect();
    // The id is derived from (tenant, day, engine): any conflict means the row exists.
    dispatch!(conn, |c| diesel::insert_into(risk_ledger_day::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// Reserves `amount` on the engine's ledger for `day` if, and only if, it stays within every cap:
/// one conditional UPDATE, so concurrent reservations can never pass a cap together. Returns
/// whether it reserved. The condition is `gov_levers::caps::admits`, in SQL.
pub fn try_reserve(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    day: Date,
    engine: &str,
    amount: f64,
    caps: RiskCaps,
) -> Result<bool, StoreError> {
    use risk_ledger_day as l;
    let t = tenant.to_string();
    let n = dispatch!(conn, |c| diesel::update(
        l::table.filter(
            l::tenant_id
                .eq(&t)
                .and(l::day.eq(day))
                .and(l::engine.eq(engine))
                .and((l::exposure_used + amount).le(caps.max_daily_exposure))
                .and((l::open_risk_reserved + amount).le(caps.max_open_risk))
                .and((l::actions_count + 1_i64).le(caps.max_actions_per_day))
                .and(l::realized_loss.lt(caps.max_daily_loss))
        )
    )
    .set((
        l::exposure_used.eq(l::exposure_used + amount),
        l::open_risk_reserved.eq(l::open_risk_reserved + amount),
        l::actions_count.eq(l::actions_count + 1_i64),
    ))
    .execute(c))?;
    Ok(n == 1)
}

/// Adds to an engine's ledger for `day`: negative `reserved` releases a reservation (undoing
/// its exposure and action too when `undo` is set), `loss` is realised loss.
pub fn adjust(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    day: Date,
    engine: &str,
    open_risk: f64,
    loss: f64,
    undo: bool,
) -> Result<(), StoreError> {
    use risk_ledger_day as l;
    let t = tenant.to_string();
    let (exposure, actions) = if undo { (open_risk, -1_i64) } else { (0.0, 0_i64) };
    dispatch!(conn, |c| diesel::update(
        l::table.filter(l::tenant_id.eq(&t).and(l::day.eq(day)).and(l::engine.eq(engine)))
    )
    .set((
        l::open_risk_reserved.eq(l::open_risk_reserved + open_risk),
        l::exposure_used.eq(l::exposure_used + exposure),
        l::actions_count.eq(l::actions_count + actions),
        l::realized_loss.eq(l::realized_loss + loss),
    ))
    .execute(c))?;
    Ok(())
}

pub fn ledger(conn: &mut Conn<'_>, tenant: TenantId, day: Date) -> Result<Vec<RiskLedgerDay>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<LedgerRow> = dispatch!(conn, |c| risk_ledger_day::table
        .filter(risk_ledger_day::tenant_id.eq(&t).and(risk_ledger_day::day.eq(day)))
        .order(risk_ledger_day::engine.asc())
        .select(LedgerRow::as_select())
        .load(c))?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Records events, in one statement. A [`StoreError::Conflict`] means the correlation id has an
/// event of one of these actions already, or (RESERVE, DENY) a decision: the caller lost a race
/// it should replay.
pub fn insert_events(conn: &mut Conn<'_>, events: &[RiskEvent]) -> Result<(), StoreError> {
    let rows: Vec<EventRow> = events
        .iter()
        .map(|e| EventRow {
            id: e.id.clone(),
            tenant_id: e.tenant_id.to_string(),
            engine: e.engine.clone(),
            action: e.action.as_str().to_owned(),
            amount: e.amount,
            ok: e.ok,
            reason: e.reason.clone(),
            actor: e.actor.clone(),
            correlation_id: e.correlation_id.clone(),
            metadata_json: e.metadata.to_string(),
            created_at: to_db(e.created_at),
            one_decision: true,
        })
        .collect();
    dispatch!(conn, |c| diesel::insert_into(risk_event::table).values(&rows).execute(c))?;
    Ok(())
}

/// The event recorded for a correlation id under the first of `actions` that has one (each action
/// is recorded once per id; RESERVE and DENY together once, except in rows from before that rule,
/// where asking for RESERVE first finds the decision the ledger holds).
pub fn first_event(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    correlation_id: &str,
    actions: &[RiskAction],
) -> Result<Option<RiskEvent>, StoreError> {
    let t = tenant.to_string();
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let rows: Vec<EventRow> = dispatch!(conn, |c| risk_event::table
        .filter(
            risk_event::tenant_id
                .eq(&t)
                .and(risk_event::correlation_id.eq(correlation_id))
                .and(risk_event::action.eq_any(names.clone()))
        )
        // The order of `risk_event_correlation`: without it a plan made while the table was
        // small (PostgreSQL keeps a prepared statement's generic plan) may read the tenant's
        // every event through `risk_event_tenant_time` instead, slower with every event.
        .order((risk_event::correlation_id.asc(), risk_event::action.asc()))
        .select(EventRow::as_select())
        .load(c))?;
    let rank = |row: &EventRow| names.iter().position(|n| *n == row.action);
    rows.into_iter().min_by_key(rank).map(EventRow::into_model).transpose()
}

/// Every event recorded for a correlation id under one of `actions`, in one read.
pub fn events_of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    correlation_id: &str,
    actions: &[RiskAction],
) -> Result<Vec<RiskEvent>, StoreError> {
    let t = tenant.to_string();
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let rows: Vec<EventRow> = dispatch!(conn, |c| risk_event::table
        .filter(
            risk_event::tenant_id
                .eq(&t)
                .and(risk_event::correlation_id.eq(correlation_id))
                .and(risk_event::action.eq_any(names.clone()))
        )
        // The order of `risk_event_correlation`: without it a plan made while the table was
        // small (PostgreSQL keeps a prepared statement's generic plan) may read the tenant's
        // every event through `risk_event_tenant_time` instead, slower with every event.
        .order((risk_event::correlation_id.asc(), risk_event::action.asc()))
        .select(EventRow::as_select())
        .load(c))?;
    rows.into_iter().map(EventRow::into_model).collect()
}

/// Events since `since`, newest first (the day's denials for the review).
pub fn events_since(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    since: Timestamp,
) -> Result<Vec<RiskEvent>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<EventRow> = dispatch!(conn, |c| risk_event::table
        .filter(risk_event::tenant_id.eq(&t).and(risk_event::created_at.ge(to_db(since))))
        .order((risk_event::created_at.desc(), risk_event::id.desc()))
        .select(EventRow::as_select())
        .load(c))?;
    rows.into_iter().map(EventRow::into_model).collect()
}
