//! The regression tripwire's tables: per-(domain, metric) thresholds, each tripwire's state
//! (tripped with one conditional update, so only one evaluation opens the incident) and the
//! append-only KPI events.

use diesel::prelude::*;
use gov_model::{
    IncidentId, KpiEvent, RegressionAction, RegressionPolicy, RegressionState, TenantId, Timestamp,
};
use time::PrimitiveDateTime;

use crate::convert::{from_db, opt_from_db, opt_to_db, parse, parse_opt, to_db};
use crate::db::{Inner, dispatch};
use crate::schema::{kpi_event, regression_policy, regression_state};
use crate::{Conn, StoreError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = regression_policy, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct PolicyRow {
    domain: String,
    metric: String,
    window_events: i64,
    baseline_events: i64,
    min_events_to_enforce: i64,
    max_drop_fraction: f64,
    action: String,
    enabled: bool,
    changed_by: String,
    reason: String,
    updated_at: PrimitiveDateTime,
}

impl PolicyRow {
    fn into_model(self) -> Result<RegressionPolicy, StoreError> {
        Ok(RegressionPolicy {
            action: parse("regression_policy.action", &self.action)?,
            domain: self.domain,
            metric: self.metric,
            window_events: self.window_events,
            baseline_events: self.baseline_events,
            min_events_to_enforce: self.min_events_to_enforce,
            max_drop_fraction: self.max_drop_fraction,
            enabled: self.enabled,
            changed_by: self.changed_by,
            reason: self.reason,
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regression_state, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct StateRow {
    domain: String,
    metric: String,
    triggered: bool,
    baseline: Option<f64>,
    current: Option<f64>,
    drop_fraction: Option<f64>,
    last_checked_at: Option<PrimitiveDateTime>,
    last_triggered_at: Option<PrimitiveDateTime>,
    note: String,
    incident_id: Option<String>,
    counting_since: Option<PrimitiveDateTime>,
}

impl StateRow {
    fn into_model(self) -> Result<RegressionState, StoreError> {
        Ok(RegressionState {
            incident_id: parse_opt("regression_state.incident_id", self.incident_id)?,
            domain: self.domain,
            metric: self.metric,
            triggered: self.triggered,
            baseline: self.baseline,
            current: self.current,
            drop_fraction: self.drop_fraction,
            last_checked_at: opt_from_db(self.last_checked_at),
            last_triggered_at: opt_from_db(self.last_triggered_at),
            note: self.note,
            counting_since: opt_from_db(self.counting_since),
        })
    }
}

/// The id of a tripwire's policy and state rows.
fn key(tenant: TenantId, domain: &str, metric: &str) -> String {
    format!("{tenant}:{domain}/{metric}")
}

/// Every tripwire of the tenant, by domain then metric.
pub fn policies(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<RegressionPolicy>, StoreError> {
    use regression_policy as r;
    let t = tenant.to_string();
    let rows: Vec<PolicyRow> = dispatch!(conn, |c| r::table
        .filter(r::tenant_id.eq(&t))
        .order((r::domain.asc(), r::metric.asc()))
        .select(PolicyRow::as_select())
        .load(c))?;
    rows.into_iter().map(PolicyRow::into_model).collect()
}

pub fn policy(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
) -> Result<Option<RegressionPolicy>, StoreError> {
    let id = key(tenant, domain, metric);
    let row: Option<PolicyRow> = dispatch!(conn, |c| regression_policy::table
        .find(&id)
        .select(PolicyRow::as_select())
        .get_result(c)
        .optional())?;
    row.map(PolicyRow::into_model).transpose()
}

/// Whether the tenant has any tripwire in `domain`.
pub fn domain_exists(conn: &mut Conn<'_>, tenant: TenantId, domain: &str) -> Result<bool, StoreError> {
    use regression_policy as r;
    let t = tenant.to_string();
    let found: Option<String> = dispatch!(conn, |c| r::table
        .filter(r::tenant_id.eq(&t).and(r::domain.eq(domain)))
        .select(r::id)
        .first(c)
        .optional())?;
    Ok(found.is_some())
}

/// Creates or replaces a tripwire's thresholds; a new tripwire gets a clear state.
pub fn upsert_policy(conn: &mut Conn<'_>, tenant: TenantId, p: &RegressionPolicy) -> Result<(), StoreError> {
    use regression_policy as r;
    use regression_state as s;
    let t = tenant.to_string();
    let id = key(tenant, &p.domain, &p.metric);
    let at = to_db(p.updated_at);
    let values = (
        r::window_events.eq(p.window_events),
        r::baseline_events.eq(p.baseline_events),
        r::min_events_to_enforce.eq(p.min_events_to_enforce),
        r::max_drop_fraction.eq(p.max_drop_fraction),
        r::action.eq(p.action.as_str()),
        r::enabled.eq(p.enabled),
        r::changed_by.eq(&p.changed_by),
        r::reason.eq(&p.reason),
        r::updated_at.eq(at),
    );
    dispatch!(conn, |c| {
        // Insert-or-nothing, then update: a bare ON CONFLICT DO NOTHING covers both unique indexes
        // (the derived id and (tenant, domain, metric)), so racing creations cannot get a 409.
        diesel::insert_into(r::table)
            .values((
                r::id.eq(&id),
                r::tenant_id.eq(&t),
                r::domain.eq(&p.domain),
                r::metric.eq(&p.metric),
                values,
            ))
            .on_conflict_do_nothing()
            .execute(c)?;
        diesel::update(r::table.find(&id)).set(values).execute(c)?;
        diesel::insert_into(s::table)
            .values((
                s::id.eq(&id),
                s::tenant_id.eq(&t),
                s::domain.eq(&p.domain),
                s::metric.eq(&p.metric),
                s::triggered.eq(false),
                s::note.eq(""),
            ))
            .on_conflict_do_nothing()
            .execute(c)
    })?;
    Ok(())
}

/// Locks the state rows of the given (domain, metric) tripwires, in id order, until the
/// transaction ends (PostgreSQL; SQLite's single writer serialises write transactions anyway).
/// Every evaluation and reset takes the lock before it reads the state or the events, so
/// concurrent ones on any replica run one after the other, each seeing what the others committed
/// (READ COMMITTED reads afresh per statement); one order for every caller means no deadlock.
pub fn lock_states(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    tripwires: &[(&str, &str)],
) -> Result<(), StoreError> {
    use regression_state as s;
    if let Inner::Pg(c) = &mut conn.0 {
        let ids: Vec<String> = tripwires.iter().map(|(d, m)| key(tenant, d, m)).collect();
        let _locked: Vec<String> = s::table
            .filter(s::id.eq_any(&ids))
            .order(s::id.asc())
            .select(s::id)
            .for_update()
            .load(&mut **c)?;
    }
    Ok(())
}

/// Every tripwire's state, by domain then metric.
pub fn states(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<RegressionState>, StoreError> {
    use regression_state as s;
    let t = tenant.to_string();
    let rows: Vec<StateRow> = dispatch!(conn, |c| s::table
        .filter(s::tenant_id.eq(&t))
        .order((s::domain.asc(), s::metric.asc()))
        .select(StateRow::as_select())
        .load(c))?;
    rows.into_iter().map(StateRow::into_model).collect()
}

/// A tripwire's state (every tripwire has one).
pub fn state(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
) -> Result<RegressionState, StoreError> {
    let id = key(tenant, domain, metric);
    let row: StateRow =
        dispatch!(conn, |c| regression_state::table.find(&id).select(StateRow::as_select()).get_result(c))?;
    row.into_model()
}

/// The numbers of an evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub drop_fraction: Option<f64>,
    pub note: &'a str,
    pub at: Timestamp,
}

/// Records an evaluation's numbers (whether or not it tripped).
pub fn record_check(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
    check: &Check<'_>,
) -> Result<(), StoreError> {
    use regression_state as s;
    let id = key(tenant, domain, metric);
    dispatch!(conn, |c| diesel::update(s::table.find(&id))
        .set((
            s::baseline.eq(check.baseline),
            s::current.eq(check.current),
            s::drop_fraction.eq(check.drop_fraction),
            s::note.eq(check.note),
            s::last_checked_at.eq(to_db(check.at)),
        ))
        .execute(c))?;
    Ok(())
}

/// Trips the tripwire unless it is tripped already; true for the one caller that tripped it
/// (concurrent evaluations on several replicas open one incident between them).
pub fn trip(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
    incident: IncidentId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    use regression_state as s;
    let id = key(tenant, domain, metric);
    let changed =
        dispatch!(conn, |c| diesel::update(s::table.filter(s::id.eq(&id).and(s::triggered.eq(false))))
            .set((
                s::triggered.eq(true),
                s::last_triggered_at.eq(to_db(at)),
                s::incident_id.eq(incident.to_string()),
            ))
            .execute(c))?;
    Ok(changed == 1)
}

/// Clears a trip and/or restarts counting: only events recorded at or after `since` count.
pub fn reset(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
    since: Timestamp,
    note: &str,
) -> Result<(), StoreError> {
    use regression_state as s;
    let id = key(tenant, domain, metric);
    dispatch!(conn, |c| diesel::update(s::table.find(&id))
        .set((
            s::triggered.eq(false),
            s::counting_since.eq(opt_to_db(Some(since))),
            s::baseline.eq(None::<f64>),
            s::current.eq(None::<f64>),
            s::drop_fraction.eq(None::<f64>),
            s::note.eq(note),
        ))
        .execute(c))?;
    Ok(())
}

/// The metric of a tripped, enabled THROTTLE tripwire of `domain`, if there is one.
pub fn throttling(conn: &mut Conn<'_>, tenant: TenantId, domain: &str) -> Result<Option<String>, StoreError> {
    use regression_policy as r;
    use regression_state as s;
    let t = tenant.to_string();
    dispatch!(conn, |c| {
        let tripped: Vec<String> = s::table
            .filter(s::tenant_id.eq(&t).and(s::domain.eq(domain)).and(s::triggered.eq(true)))
            .select(s::metric)
            .load(c)?;
        if tripped.is_empty() {
            return Ok(None);
        }
        r::table
            .filter(
                r::tenant_id
                    .eq(&t)
                    .and(r::domain.eq(domain))
                    .and(r::metric.eq_any(&tripped))
                    .and(r::enabled.eq(true))
                    .and(r::action.eq(RegressionAction::Throttle.as_str())),
            )
            .order(r::metric.asc())
            .select(r::metric)
            .first(c)
            .optional()
    })
    .map_err(Into::into)
}

pub fn insert_kpi(conn: &mut Conn<'_>, tenant: TenantId, e: &KpiEvent) -> Result<(), StoreError> {
    use kpi_event as k;
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::insert_into(k::table)
        .values((
            k::id.eq(&e.id),
            k::tenant_id.eq(&t),
            k::domain.eq(&e.domain),
            k::metric.eq(&e.metric),
            k::success.eq(e.success),
            k::value.eq(e.value),
            k::actor.eq(&e.actor),
            k::correlation_id.eq(&e.correlation_id),
            k::detail.eq(&e.detail),
            k::created_at.eq(to_db(e.created_at)),
        ))
        .execute(c))?;
    Ok(())
}

/// The outcomes of the most recent `limit` events of a metric recorded at or after `since`,
/// newest first.
pub fn recent_outcomes(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
    metric: &str,
    since: Option<Timestamp>,
    limit: i64,
) -> Result<Vec<bool>, StoreError> {
    use kpi_event as k;
    let t = tenant.to_string();
    // Before every event there is: the epoch stands for "no reset".
    let since = to_db(since.unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
    let outcomes = dispatch!(conn, |c| k::table
        .filter(
            k::tenant_id
                .eq(&t)
                .and(k::domain.eq(domain))
                .and(k::metric.eq(metric))
                .and(k::created_at.ge(since))
        )
        .order((k::created_at.desc(), k::id.desc()))
        .limit(limit)
        .select(k::success)
        .load(c))?;
    Ok(outcomes)
}

/// KPI events recorded since `since` per (domain, metric): how many and how many succeeded.
pub fn counts_since(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    since: Timestamp,
) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
    use diesel::dsl::count_star;
    use kpi_event as k;
    let t = tenant.to_string();
    let since = to_db(since);
    let rows: Vec<(String, String, bool, i64)> = dispatch!(conn, |c| k::table
        .filter(k::tenant_id.eq(&t).and(k::created_at.ge(since)))
        .group_by((k::domain, k::metric, k::success))
        .select((k::domain, k::metric, k::success, count_star()))
        .order((k::domain.asc(), k::metric.asc()))
        .load(c))?;
    let mut out: Vec<(String, String, i64, i64)> = Vec::new();
    for (domain, metric, success, n) in rows {
        match out.last_mut() {
            Some(last) if last.0 == domain && last.1 == metric => {
                last.2 += n;
                if success {
                    last.3 += n;
                }
            }
            _ => out.push((domain, metric, n, if success { n } else { 0 })),
        }
    }
    Ok(out)
}
