//! Prevention records, threshold signals, overrides, rate counters and cost records.

use std::collections::BTreeMap;

use crate::paging::{after_cursor, capped_total, time_cursor};
use diesel::prelude::*;
use gov_model::{
    CostRecord, CostRecordId, IncidentId, OverrideRecord, Page, PageRequest, PolicyId, PreventionRecord,
    RunId, SignalType, SortDirection, SortKey, TenantId, ThresholdSignal, Timestamp, Total, TraceId,
};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::evidence::{CostRow, OverrideRow, PreventionRow, SignalRow};
use crate::schema::{
    aos_trace_steps, cost_records, policy_override_records, prevention_records, rate_counters,
    threshold_signals,
};
use crate::{Conn, StoreError};

/// Narrows a listing of prevention records or signals; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct EvidenceFilter {
    pub run_id: Option<RunId>,
    pub policy_id: Option<PolicyId>,
    /// Prevention records: the action (`WARN`, ...). Signals: the type (`NEAR`, `BREACH`).
    pub kind: Option<String>,
    pub since: Option<Timestamp>,
}

pub fn insert_prevention(conn: &mut Conn<'_>, record: &PreventionRecord) -> Result<(), StoreError> {
    let row = PreventionRow::from_model(record);
    dispatch!(conn, |c| diesel::insert_into(prevention_records::table).values(&row).execute(c))?;
    Ok(())
}

/// Prevention records (policy violations), newest first.
pub fn list_prevention(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &EvidenceFilter,
    page: PageRequest,
) -> Result<Page<PreventionRecord>, StoreError> {
    let t = tenant.to_string();
    let run = filter.run_id.map(|r| r.to_string());
    let policy = filter.policy_id.map(|p| p.to_string());
    let since = filter.since.map(to_db);
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<PreventionRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = prevention_records::table.filter(prevention_records::tenant_id.eq(&t)).into_boxed();
            if let Some(r) = &run {
                q = q.filter(prevention_records::run_id.eq(r));
            }
            if let Some(p) = &policy {
                q = q.filter(prevention_records::policy_id.eq(p));
            }
            if let Some(k) = &filter.kind {
                q = q.filter(prevention_records::action.eq(k));
            }
            if let Some(s) = since {
                q = q.filter(prevention_records::created_at.ge(s));
            }
            q
        };
        let total = capped_total!(filtered, prevention_records::tenant_id, c);
        let rows = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            prevention_records::created_at,
            prevention_records::record_id
        )
        .order((prevention_records::created_at.desc(), prevention_records::record_id.desc()))
        .limit(page.probe_limit())
        .offset(page.offset())
        .select(PreventionRow::as_select())
        .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(PreventionRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |r: &PreventionRecord| {
        (SortKey::Time(r.created_at), r.record_id.to_string())
    }))
}

/// Counts of prevention records, grouped.
#[derive(Debug, Clone, Default)]
pub struct ViolationStats {
    pub total: i64,
    pub enforced: i64,
    pub by_policy: BTreeMap<String, i64>,
    pub by_type: BTreeMap<String, i64>,
    pub by_action: BTreeMap<String, i64>,
}

pub fn prevention_stats(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    since: Option<Timestamp>,
) -> Result<ViolationStats, StoreError> {
    let t = tenant.to_string();
    let since = to_db(since.unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
    type Key = (Option<String>, String, String, bool);
    let groups: Vec<(Key, i64)> = dispatch!(conn, |c| {
        prevention_records::table
            .filter(prevention_records::tenant_id.eq(&t).and(prevention_records::created_at.ge(since)))
            .group_by((
                prevention_records::policy_id,
                prevention_records::violation_type,
                prevention_records::action,
                prevention_records::enforced,
            ))
            .select((
                (
                    prevention_records::policy_id,
                    prevention_records::violation_type,
                    prevention_records::action,
                    prevention_records::enforced,
                ),
                diesel::dsl::count_star(),
            ))
            .load(c)
    })?;
    let mut stats = ViolationStats::default();
    for ((policy, violation_type, action, enforced), n) in groups {
        stats.total += n;
        if enforced {
            stats.enforced += n;
        }
        *stats.by_policy.entry(policy.unwrap_or_else(|| "none".to_owned())).or_default() += n;
        *stats.by_type.entry(violation_type).or_default() += n;
        *stats.by_action.entry(action).or_default() += n;
    }
    Ok(stats)
}

/// Records a signal; a NEAR or BREACH already recorded for the same run and check is kept as is.
pub fn insert_signal(conn: &mut Conn<'_>, signal: &ThresholdSignal) -> Result<(), StoreError> {
    let row = SignalRow::from_model(signal);
    dispatch!(conn, |c| diesel::insert_into(threshold_signals::table)
        .values(&row)
        .on_conflict((threshold_signals::run_id, threshold_signals::check_id, threshold_signals::signal_type))
        .do_nothing()
        .execute(c))?;
    Ok(())
}

/// Threshold signals, newest first.
pub fn list_signals(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &EvidenceFilter,
    page: PageRequest,
) -> Result<Page<ThresholdSignal>, StoreError> {
    let t = tenant.to_string();
    let run = filter.run_id.map(|r| r.to_string());
    let policy = filter.policy_id.map(|p| p.to_string());
    let since = filter.since.map(to_db);
    let kind = filter.kind.as_deref().map(|k| k.parse::<SignalType>().map(|s| s.as_str()));
    let kind = match kind {
        Some(Err(_)) => return Ok(Page::whole(Vec::new(), 0, page)),
        Some(Ok(k)) => Some(k),
        None => None,
    };
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<SignalRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = threshold_signals::table.filter(threshold_signals::tenant_id.eq(&t)).into_boxed();
            if let Some(r) = &run {
                q = q.filter(threshold_signals::run_id.eq(r));
            }
            if let Some(p) = &policy {
                q = q.filter(threshold_signals::policy_id.eq(p));
            }
            if let Some(k) = kind {
                q = q.filter(threshold_signals::signal_type.eq(k));
            }
            if let Some(s) = since {
                q = q.filter(threshold_signals::created_at.ge(s));
            }
            q
        };
        let total = capped_total!(filtered, threshold_signals::tenant_id, c);
        let rows = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            threshold_signals::created_at,
            threshold_signals::signal_id
        )
        .order((threshold_signals::created_at.desc(), threshold_signals::signal_id.desc()))
        .limit(page.probe_limit())
        .offset(page.offset())
        .select(SignalRow::as_select())
        .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(SignalRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |r: &ThresholdSignal| {
        (SortKey::Time(r.created_at), r.signal_id.to_string())
    }))
}

pub fn insert_override(conn: &mut Conn<'_>, record: &OverrideRecord) -> Result<(), StoreError> {
    let row = OverrideRow::from_model(record);
    dispatch!(conn, |c| diesel::insert_into(policy_override_records::table).values(&row).execute(c))?;
    Ok(())
}

/// A run's overrides, oldest first.
pub fn overrides_of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: RunId,
) -> Result<Vec<OverrideRecord>, StoreError> {
    let (t, r) = (tenant.to_string(), run.to_string());
    let rows: Vec<OverrideRow> = dispatch!(conn, |c| policy_override_records::table
        .filter(policy_override_records::tenant_id.eq(&t).and(policy_override_records::run_id.eq(&r)))
        .order((policy_override_records::created_at.asc(), policy_override_records::override_id.asc()))
        .select(OverrideRow::as_select())
        .load(c))?;
    rows.into_iter().map(OverrideRow::into_model).collect()
}

/// Adds one to a fixed-window counter and returns the new count, atomically on both backends.
pub fn increment_rate(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    key: &str,
    window_start: i64,
) -> Result<i64, StoreError> {
    let t = tenant.to_string();
    let count = dispatch!(conn, |c| diesel::insert_into(rate_counters::table)
        .values((
            rate_counters::tenant_id.eq(&t),
            rate_counters::counter_key.eq(key),
            rate_counters::window_start.eq(window_start),
            rate_counters::count.eq(1_i64),
        ))
        .on_conflict((rate_counters::tenant_id, rate_counters::counter_key, rate_counters::window_start))
        .do_update()
        .set(rate_counters::count.eq(rate_counters::count + 1))
        .returning(rate_counters::count)
        .get_result::<i64>(c))?;
    Ok(count)
}

/// The current count of a window, without changing it.
pub fn peek_rate(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    key: &str,
    window_start: i64,
) -> Result<i64, StoreError> {
    let t = tenant.to_string();
    let count: Option<i64> = dispatch!(conn, |c| rate_counters::table
        .filter(
            rate_counters::tenant_id
                .eq(&t)
                .and(rate_counters::counter_key.eq(key))
                .and(rate_counters::window_start.eq(window_start))
        )
        .select(rate_counters::count)
        .first(c)
        .optional())?;
    Ok(count.unwrap_or(0))
}

/// Drops a counter's windows that ended before `before` (they can never be read again).
pub fn prune_rate(conn: &mut Conn<'_>, tenant: TenantId, key: &str, before: i64) -> Result<(), StoreError> {
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::delete(
        rate_counters::table.filter(
            rate_counters::tenant_id
                .eq(&t)
                .and(rate_counters::counter_key.eq(key))
                .and(rate_counters::window_start.lt(before))
        )
    )
    .execute(c))?;
    Ok(())
}

/// Attributes a finished run's usage: one cost record per model (steps without a model under
/// `unattributed`). Returns the records written.
pub fn attribute_costs(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: RunId,
    trace: TraceId,
    now: Timestamp,
) -> Result<Vec<CostRecord>, StoreError> {
    let (t, tr) = (tenant.to_string(), trace.to_string());
    let steps: Vec<(Option<String>, i64, i64, i64, f64)> = dispatch!(conn, |c| aos_trace_steps::table
        .filter(aos_trace_steps::tenant_id.eq(&t).and(aos_trace_steps::trace_id.eq(&tr)))
        .select((
            aos_trace_steps::model,
            aos_trace_steps::input_tokens,
            aos_trace_steps::output_tokens,
            aos_trace_steps::tokens,
            aos_trace_steps::cost_cents,
        ))
        .load(c))?;
    let mut by_model: BTreeMap<String, CostRecord> = BTreeMap::new();
    for (model, input, output, tokens, cost) in steps {
        let model = model.unwrap_or_else(|| "unattributed".to_owned());
        let record = by_model.entry(model.clone()).or_insert_with(|| CostRecord {
            cost_record_id: CostRecordId::new(),
            tenant_id: tenant,
            run_id: run,
            model,
            input_tokens: 0,
            output_tokens: 0,
            tokens: 0,
            cost_cents: 0.0,
            step_count: 0,
            created_at: now,
        });
        record.input_tokens += input;
        record.output_tokens += output;
        record.tokens += tokens;
        record.cost_cents += cost;
        record.step_count += 1;
    }
    let records: Vec<CostRecord> = by_model.into_values().collect();
    let rows: Vec<CostRow> = records.iter().map(CostRow::from_model).collect();
    if !rows.is_empty() {
        dispatch!(conn, |c| diesel::insert_into(cost_records::table).values(&rows).execute(c))?;
    }
    Ok(records)
}

/// Cost records, newest first.
pub fn list_costs(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: Option<RunId>,
    model: Option<&str>,
    page: PageRequest,
) -> Result<Page<CostRecord>, StoreError> {
    let t = tenant.to_string();
    let r = run.map(|r| r.to_string());
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<CostRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = cost_records::table.filter(cost_records::tenant_id.eq(&t)).into_boxed();
            if let Some(r) = &r {
                q = q.filter(cost_records::run_id.eq(r));
            }
            if let Some(m) = model {
                q = q.filter(cost_records::model.eq(m));
            }
            q
        };
        let total = capped_total!(filtered, cost_records::tenant_id, c);
        let rows = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            cost_records::created_at,
            cost_records::cost_record_id
        )
        .order((cost_records::created_at.desc(), cost_records::cost_record_id.desc()))
        .limit(page.probe_limit())
        .offset(page.offset())
        .select(CostRow::as_select())
        .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(CostRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |r: &CostRecord| {
        (SortKey::Time(r.created_at), r.cost_record_id.to_string())
    }))
}

/// The prevention records of a run or of an incident (an incident without a run has only its
/// own), oldest first.
pub fn prevention_of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: Option<RunId>,
    incident: IncidentId,
) -> Result<Vec<PreventionRecord>, StoreError> {
    let (t, i) = (tenant.to_string(), incident.to_string());
    let r = run.map(|r| r.to_string());
    let rows: Vec<PreventionRow> = dispatch!(conn, |c| {
        let mut q = prevention_records::table.filter(prevention_records::tenant_id.eq(&t)).into_boxed();
        q = match &r {
            Some(r) => q.filter(prevention_records::run_id.eq(r).or(prevention_records::incident_id.eq(&i))),
            None => q.filter(prevention_records::incident_id.eq(&i)),
        };
        q.order((prevention_records::created_at.asc(), prevention_records::record_id.asc()))
            .select(PreventionRow::as_select())
            .load(c)
    })?;
    rows.into_iter().map(PreventionRow::into_model).collect()
}

/// A run's threshold signals, oldest first.
pub fn signals_of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    run: RunId,
) -> Result<Vec<ThresholdSignal>, StoreError> {
    let (t, r) = (tenant.to_string(), run.to_string());
    let rows: Vec<SignalRow> = dispatch!(conn, |c| threshold_signals::table
        .filter(threshold_signals::tenant_id.eq(&t).and(threshold_signals::run_id.eq(&r)))
        .order((threshold_signals::created_at.asc(), threshold_signals::signal_id.asc()))
        .select(SignalRow::as_select())
        .load(c))?;
    rows.into_iter().map(SignalRow::into_model).collect()
}

/// A run's cost records, by model.
pub fn costs_of(conn: &mut Conn<'_>, tenant: TenantId, run: RunId) -> Result<Vec<CostRecord>, StoreError> {
    let (t, r) = (tenant.to_string(), run.to_string());
    let rows: Vec<CostRow> = dispatch!(conn, |c| cost_records::table
        .filter(cost_records::tenant_id.eq(&t).and(cost_records::run_id.eq(&r)))
        .order((cost_records::model.asc(), cost_records::cost_record_id.asc()))
        .select(CostRow::as_select())
        .load(c))?;
    rows.into_iter().map(CostRow::into_model).collect()
}
