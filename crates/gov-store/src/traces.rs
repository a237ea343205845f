//! Trace summaries and their hash-chained steps.

use crate::paging::{after_cursor, capped_total, int_cursor, time_cursor};
use diesel::prelude::*;
use gov_model::{
    IncidentId, Page, PageRequest, PolicyId, RunId, SortDirection, SortKey, TenantId, Timestamp, Total,
    TraceId, TraceStep, TraceSummary, TraceVerification,
};

use crate::convert::{from_db, to_db};
use crate::db::dispatch;
use crate::models::trace::{StepRow, TraceRow};
use crate::schema::{aos_trace_steps, aos_traces, trace_verifications};
use crate::{Conn, StoreError};

/// The inflection point of a trace: where and why the run was stopped.
#[derive(Debug, Clone)]
pub struct Inflection {
    pub step_index: i64,
    pub timestamp: Timestamp,
    pub policy_id: Option<PolicyId>,
    pub reason: String,
    pub incident_id: Option<IncidentId>,
}

/// Narrows a trace listing.
#[derive(Debug, Clone, Default)]
pub struct TraceFilter {
    pub status: Option<String>,
    pub agent_id: Option<String>,
    pub run_id: Option<RunId>,
    pub has_violation: Option<bool>,
}

pub fn insert(conn: &mut Conn<'_>, trace: &TraceSummary) -> Result<(), StoreError> {
    let row = TraceRow::from_model(trace);
    dispatch!(conn, |c| diesel::insert_into(aos_traces::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: TraceId) -> Result<TraceSummary, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: TraceRow = dispatch!(conn, |c| aos_traces::table
        .filter(aos_traces::tenant_id.eq(&t).and(aos_traces::trace_id.eq(&i)))
        .select(TraceRow::as_select())
        .first(c))?;
    row.into_model()
}

pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &TraceFilter,
    page: PageRequest,
    direction: SortDirection,
) -> Result<Page<TraceSummary>, StoreError> {
    let t = tenant.to_string();
    let run = filter.run_id.map(|r| r.to_string());
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<TraceRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = aos_traces::table.filter(aos_traces::tenant_id.eq(&t)).into_boxed();
            if let Some(s) = &filter.status {
                q = q.filter(aos_traces::status.eq(s));
            }
            if let Some(a) = &filter.agent_id {
                q = q.filter(aos_traces::agent_id.eq(a));
            }
            if let Some(r) = &run {
                q = q.filter(aos_traces::run_id.eq(r));
            }
            match filter.has_violation {
                Some(true) => q = q.filter(aos_traces::violation_step_index.is_not_null()),
                Some(false) => q = q.filter(aos_traces::violation_step_index.is_null()),
                None => {}
            }
            q
        };
        let total = capped_total!(filtered, aos_traces::tenant_id, c);
        let q = after_cursor!(filtered(), &cursor, direction, aos_traces::started_at, aos_traces::trace_id);
        let q = match direction {
            SortDirection::Asc => q.order((aos_traces::started_at.asc(), aos_traces::trace_id.asc())),
            SortDirection::Desc => q.order((aos_traces::started_at.desc(), aos_traces::trace_id.desc())),
        };
        let rows = q.limit(page.probe_limit()).offset(page.offset()).select(TraceRow::as_select()).load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(TraceRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |t: &TraceSummary| {
        (SortKey::Time(t.started_at), t.trace_id.to_string())
    }))
}

/// Marks where the run was stopped. Set once: the database refuses to change it afterwards.
pub fn mark_inflection(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: TraceId,
    inflection: &Inflection,
) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let policy = inflection.policy_id.map(|p| p.to_string());
    let incident = inflection.incident_id.map(|p| p.to_string());
    dispatch!(conn, |c| diesel::update(
        aos_traces::table.filter(aos_traces::tenant_id.eq(&t).and(aos_traces::trace_id.eq(&i)))
    )
    .set((
        aos_traces::violation_step_index.eq(Some(inflection.step_index)),
        aos_traces::violation_timestamp.eq(Some(to_db(inflection.timestamp))),
        aos_traces::violation_policy_id.eq(&policy),
        aos_traces::violation_reason.eq(Some(&inflection.reason)),
        aos_traces::incident_id.eq(&incident),
    ))
    .execute(c))?;
    Ok(())
}

/// Closes a trace with the run's final status, step count and head hash. A finalised trace is
/// immutable (database trigger).
pub fn finalize(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: TraceId,
    status: &str,
    step_count: i64,
    head_hash: &str,
    completed_at: Timestamp,
) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    dispatch!(conn, |c| diesel::update(
        aos_traces::table.filter(aos_traces::tenant_id.eq(&t).and(aos_traces::trace_id.eq(&i)))
    )
    .set((
        aos_traces::status.eq(status),
        aos_traces::step_count.eq(step_count),
        aos_traces::head_hash.eq(head_hash),
        aos_traces::completed_at.eq(Some(to_db(completed_at))),
    ))
    .execute(c))?;
    Ok(())
}

pub fn insert_step(conn: &mut Conn<'_>, step: &TraceStep) -> Result<(), StoreError> {
    let row = StepRow::from_model(step);
    dispatch!(conn, |c| diesel::insert_into(aos_trace_steps::table).values(&row).execute(c))?;
    Ok(())
}

/// A page of a trace's steps, in order.
pub fn steps(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    trace: TraceId,
    page: PageRequest,
) -> Result<Page<TraceStep>, StoreError> {
    let (t, i) = (tenant.to_string(), trace.to_string());
    let cursor = int_cursor(&page)?;
    let (rows, total): (Vec<StepRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            aos_trace_steps::table
                .filter(aos_trace_steps::tenant_id.eq(&t).and(aos_trace_steps::trace_id.eq(&i)))
                .into_boxed()
        };
        let total = capped_total!(filtered, aos_trace_steps::tenant_id, c);
        // A trace's step index is unique: it orders the steps alone.
        let q = match &cursor {
            Some((after, _)) => filtered().filter(aos_trace_steps::step_index.gt(after)),
            None => filtered(),
        };
        let rows = q
            .order(aos_trace_steps::step_index.asc())
            .limit(page.probe_limit())
            .offset(page.offset())
            .select(StepRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(StepRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |s: &TraceStep| {
        (SortKey::Int(s.step_index), s.step_id.to_string())
    }))
}

/// Every step of a trace, in order (verification, replay, export).
pub fn all_steps(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    trace: TraceId,
) -> Result<Vec<TraceStep>, StoreError> {
    steps_from(conn, tenant, trace, i64::MIN)
}

/// A trace's steps from index `from` on, in order: the tail a read verifies beyond its marker.
/// Reads the `(trace_id, step_index)` index from `from`, however long the trace.
pub fn steps_from(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    trace: TraceId,
    from: i64,
) -> Result<Vec<TraceStep>, StoreError> {
    let (t, i) = (tenant.to_string(), trace.to_string());
    let rows: Vec<StepRow> = dispatch!(conn, |c| aos_trace_steps::table
        .filter(aos_trace_steps::trace_id.eq(&i).and(aos_trace_steps::step_index.ge(from)))
        .filter(aos_trace_steps::tenant_id.eq(&t))
        .order(aos_trace_steps::step_index.asc())
        .select(StepRow::as_select())
        .load(c))?;
    rows.into_iter().map(StepRow::into_model).collect()
}

/// How far the trace's chain has been verified, if a read verified it before.
pub fn verification(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    trace: TraceId,
) -> Result<Option<TraceVerification>, StoreError> {
    let (t, i) = (tenant.to_string(), trace.to_string());
    let row: Option<(i64, String, time::PrimitiveDateTime)> =
        dispatch!(conn, |c| trace_verifications::table
            .filter(trace_verifications::tenant_id.eq(&t).and(trace_verifications::trace_id.eq(&i)))
            .select((
                trace_verifications::verified_through_step,
                trace_verifications::head_hash,
                trace_verifications::verified_at,
            ))
            .first(c)
            .optional())?;
    Ok(row.map(|(verified_through_step, head_hash, at)| TraceVerification {
        verified_through_step,
        head_hash,
        verified_at: from_db(at),
    }))
}

/// Moves the trace's marker to `marker`, only forward: a marker already as far or further (another
/// reader's, on any replica) stays. True when it moved.
pub fn advance_verification(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    trace: TraceId,
    marker: &TraceVerification,
) -> Result<bool, StoreError> {
    // `ON CONFLICT ... DO UPDATE ... WHERE` is diesel's `FilterDsl` on the insert, not `QueryDsl`.
    use diesel::query_dsl::methods::FilterDsl;
    use diesel::upsert::excluded;
    let (t, i) = (tenant.to_string(), trace.to_string());
    let moved = dispatch!(conn, |c| diesel::insert_into(trace_verifications::table)
        .values((
            trace_verifications::tenant_id.eq(&t),
            trace_verifications::trace_id.eq(&i),
            trace_verifications::verified_through_step.eq(marker.verified_through_step),
            trace_verifications::head_hash.eq(&marker.head_hash),
            trace_verifications::verified_at.eq(to_db(marker.verified_at)),
        ))
        .on_conflict((trace_verifications::tenant_id, trace_verifications::trace_id))
        .do_update()
        .set((
            trace_verifications::verified_through_step
                .eq(excluded(trace_verifications::verified_through_step)),
            trace_verifications::head_hash.eq(excluded(trace_verifications::head_hash)),
            trace_verifications::verified_at.eq(excluded(trace_verifications::verified_at)),
        ))
        .filter(
            trace_verifications::verified_through_step
                .lt(excluded(trace_verifications::verified_through_step))
        )
        .execute(c))?;
    Ok(moved > 0)
}

/// A trace's place in a log export's order: `(started_at, trace_id)`.
pub type TraceKey = (Timestamp, TraceId);

/// The largest key of a tenant's traces (where an export that begins now ends).
pub fn last_key(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Option<TraceKey>, StoreError> {
    let t = tenant.to_string();
    let row: Option<(time::PrimitiveDateTime, String)> = dispatch!(conn, |c| aos_traces::table
        .filter(aos_traces::tenant_id.eq(&t))
        .order((aos_traces::started_at.desc(), aos_traces::trace_id.desc()))
        .select((aos_traces::started_at, aos_traces::trace_id))
        .first(c)
        .optional())?;
    row.map(|(at, id)| Ok((crate::convert::from_db(at), crate::convert::parse("aos_traces.trace_id", &id)?)))
        .transpose()
}

/// One keyset page of a log export: up to `limit` of a tenant's traces matching `filter` and
/// `range` (on `started_at`) with `after < (started_at, trace_id) <= upto`, oldest first. Uses
/// the `(tenant_id, started_at)` index, never OFFSET.
pub fn export_page(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &TraceFilter,
    range: crate::audit::TimeRange,
    after: Option<&TraceKey>,
    upto: &TraceKey,
    limit: i64,
) -> Result<Vec<TraceSummary>, StoreError> {
    let t = tenant.to_string();
    let run = filter.run_id.map(|r| r.to_string());
    let after = after.map(|(at, id)| (to_db(*at), id.to_string()));
    let (upto_at, upto_id) = (to_db(upto.0), upto.1.to_string());
    let rows: Vec<TraceRow> = dispatch!(conn, |c| {
        let mut q = aos_traces::table
            .filter(aos_traces::tenant_id.eq(&t))
            .filter(
                aos_traces::started_at
                    .lt(upto_at)
                    .or(aos_traces::started_at.eq(upto_at).and(aos_traces::trace_id.le(&upto_id))),
            )
            .into_boxed();
        if let Some((at, id)) = &after {
            q = q.filter(
                aos_traces::started_at
                    .gt(*at)
                    .or(aos_traces::started_at.eq(*at).and(aos_traces::trace_id.gt(id))),
            );
        }
        if let Some(s) = &filter.status {
            q = q.filter(aos_traces::status.eq(s));
        }
        if let Some(a) = &filter.agent_id {
            q = q.filter(aos_traces::agent_id.eq(a));
        }
        if let Some(r) = &run {
            q = q.filter(aos_traces::run_id.eq(r));
        }
        match filter.has_violation {
            Some(true) => q = q.filter(aos_traces::violation_step_index.is_not_null()),
            Some(false) => q = q.filter(aos_traces::violation_step_index.is_null()),
            None => {}
        }
        if let Some(from) = range.from {
            q = q.filter(aos_traces::started_at.ge(to_db(from)));
        }
        if let Some(to) = range.to {
            q = q.filter(aos_traces::started_at.le(to_db(to)));
        }
        q.order((aos_traces::started_at.asc(), aos_traces::trace_id.asc()))
            .limit(limit)
            .select(TraceRow::as_select())
            .load(c)
    })?;
    rows.into_iter().map(TraceRow::into_model).collect()
}
