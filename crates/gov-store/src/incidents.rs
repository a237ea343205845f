//! Incidents, their comments and their timeline events, and the reads of incident insight
//! (related incidents, the pattern engine's facts, aggregated stats).

use diesel::prelude::*;
use gov_model::{
    Incident, IncidentComment, IncidentEvent, IncidentEventKind, IncidentId, IncidentStatus, Page,
    PageRequest, PolicyId, RunId, Severity, SortDirection, SortKey, TenantId, Timestamp, Total,
};

use crate::audit::TimeRange;
use crate::convert::{from_db, parse, parse_opt, to_db};
use crate::db::dispatch;
use crate::models::incident::{CommentRow, EventRow, IncidentRow};
use crate::paging::position_only;
use crate::paging::{after_cursor, capped_total, time_cursor};
use crate::schema::{aos_trace_steps, incident_comments, incident_events, incidents, runs};
use crate::{Conn, StoreError};

/// Narrows an incident listing; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Option<Vec<IncidentStatus>>,
    pub severity: Option<Severity>,
    pub policy_id: Option<PolicyId>,
    pub run_id: Option<RunId>,
    pub incident_type: Option<String>,
}

pub fn insert(conn: &mut Conn<'_>, incident: &Incident) -> Result<(), StoreError> {
    let row = IncidentRow::from_model(incident);
    dispatch!(conn, |c| diesel::insert_into(incidents::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: IncidentId) -> Result<Incident, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: IncidentRow = dispatch!(conn, |c| incidents::table
        .filter(incidents::tenant_id.eq(&t).and(incidents::incident_id.eq(&i)))
        .select(IncidentRow::as_select())
        .first(c))?;
    row.into_model()
}

/// Holds the incident's row until the transaction ends (PostgreSQL; SQLite writes are serial), so
/// that two events written at once agree on which of them is the first response.
pub fn lock(conn: &mut Conn<'_>, tenant: TenantId, id: IncidentId) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    if let crate::db::Inner::Pg(c) = &mut conn.0 {
        incidents::table
            .filter(incidents::tenant_id.eq(&t).and(incidents::incident_id.eq(&i)))
            .select(incidents::incident_id)
            .for_update()
            .first::<String>(&mut **c)?;
    }
    Ok(())
}

/// Whether someone other than the system has already answered the incident (any event but
/// `created`).
pub fn answered(conn: &mut Conn<'_>, tenant: TenantId, id: IncidentId) -> Result<bool, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let n: i64 = dispatch!(conn, |c| incident_events::table
        .filter(incident_events::tenant_id.eq(&t).and(incident_events::incident_id.eq(&i)))
        .filter(
            incident_events::event
                .ne(IncidentEventKind::Created.as_str())
                .and(incident_events::actor.ne("system"))
        )
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

/// Writes the lifecycle fields of `incident`.
pub fn save(conn: &mut Conn<'_>, incident: &Incident) -> Result<(), StoreError> {
    let row = IncidentRow::from_model(incident);
    let n = dispatch!(conn, |c| diesel::update(
        incidents::table
            .filter(incidents::tenant_id.eq(&row.tenant_id).and(incidents::incident_id.eq(&row.incident_id)))
    )
    .set(&row)
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &IncidentFilter,
    page: PageRequest,
    direction: SortDirection,
) -> Result<Page<Incident>, StoreError> {
    let t = tenant.to_string();
    let statuses: Option<Vec<&str>> =
        filter.statuses.as_ref().map(|s| s.iter().map(|s| s.as_str()).collect());
    let severity = filter.severity.map(|s| s.as_str());
    let policy = filter.policy_id.map(|p| p.to_string());
    let run = filter.run_id.map(|r| r.to_string());
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<IncidentRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = incidents::table.filter(incidents::tenant_id.eq(&t)).into_boxed();
            if let Some(s) = &statuses {
                q = q.filter(incidents::status.eq_any(s.clone()));
            }
            if let Some(s) = severity {
                q = q.filter(incidents::severity.eq(s));
            }
            if let Some(p) = &policy {
                q = q.filter(incidents::policy_id.eq(p));
            }
            if let Some(r) = &run {
                q = q.filter(incidents::source_run_id.eq(r));
            }
            if let Some(ty) = &filter.incident_type {
                q = q.filter(incidents::incident_type.eq(ty));
            }
            q
        };
        let total = capped_total!(filtered, incidents::tenant_id, c);
        let q = after_cursor!(filtered(), &cursor, direction, incidents::created_at, incidents::incident_id);
        let q = match direction {
            SortDirection::Asc => q.order((incidents::created_at.asc(), incidents::incident_id.asc())),
            SortDirection::Desc => q.order((incidents::created_at.desc(), incidents::incident_id.desc())),
        };
        let rows =
            q.limit(page.probe_limit()).offset(page.offset()).select(IncidentRow::as_select()).load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(IncidentRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |i: &Incident| {
        (SortKey::Time(i.created_at), i.incident_id.to_string())
    }))
}

pub fn record_event(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    incident: IncidentId,
    event: IncidentEventKind,
    actor: &str,
    detail: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let event = IncidentEvent {
        incident_id: incident,
        event,
        actor: actor.to_owned(),
        detail: detail.to_owned(),
        timestamp: now,
    };
    let row = EventRow::from_model(uuid::Uuid::now_v7(), tenant, &event);
    dispatch!(conn, |c| diesel::insert_into(incident_events::table).values(&row).execute(c))?;
    Ok(())
}

/// The incident's events, oldest first.
pub fn events(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    incident: IncidentId,
) -> Result<Vec<IncidentEvent>, StoreError> {
    let (t, i) = (tenant.to_string(), incident.to_string());
    let rows: Vec<EventRow> = dispatch!(conn, |c| incident_events::table
        .filter(incident_events::tenant_id.eq(&t).and(incident_events::incident_id.eq(&i)))
        .order((incident_events::timestamp.asc(), incident_events::event_id.asc()))
        .select(EventRow::as_select())
        .load(c))?;
    rows.into_iter().map(EventRow::into_model).collect()
}

pub fn insert_comment(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    comment: &IncidentComment,
) -> Result<(), StoreError> {
    let row = CommentRow {
        comment_id: comment.comment_id.to_string(),
        incident_id: comment.incident_id.to_string(),
        tenant_id: tenant.to_string(),
        author: comment.author.clone(),
        content: comment.content.clone(),
        created_at: to_db(comment.created_at),
    };
    dispatch!(conn, |c| diesel::insert_into(incident_comments::table).values(&row).execute(c))?;
    Ok(())
}

/// An incident's comments, oldest first.
pub fn comments(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    incident: IncidentId,
    page: PageRequest,
) -> Result<Page<IncidentComment>, StoreError> {
    let (t, i) = (tenant.to_string(), incident.to_string());
    let (rows, total): (Vec<CommentRow>, i64) = dispatch!(conn, |c| {
        let filter = incident_comments::tenant_id.eq(&t).and(incident_comments::incident_id.eq(&i));
        let total = incident_comments::table.filter(filter).count().get_result(c)?;
        let rows = incident_comments::table
            .filter(filter)
            .order((incident_comments::created_at.asc(), incident_comments::comment_id.asc()))
            .limit(page.probe_limit())
            .offset(page.rows_before())
            .select(CommentRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(CommentRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

/// Every comment of an incident, oldest first (an export takes them all).
pub fn all_comments(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    incident: IncidentId,
) -> Result<Vec<IncidentComment>, StoreError> {
    let (t, i) = (tenant.to_string(), incident.to_string());
    let rows: Vec<CommentRow> = dispatch!(conn, |c| incident_comments::table
        .filter(incident_comments::tenant_id.eq(&t).and(incident_comments::incident_id.eq(&i)))
        .order((incident_comments::created_at.asc(), incident_comments::comment_id.asc()))
        .select(CommentRow::as_select())
        .load(c))?;
    rows.into_iter().map(CommentRow::into_model).collect()
}

/// What the pattern engine needs of one incident: its run's agent and its breaching step's type.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFacts {
    pub incident_id: IncidentId,
    pub created_at: Timestamp,
    pub policy_id: Option<PolicyId>,
    pub agent_id: Option<String>,
    pub step_type: Option<String>,
    pub incident_type: String,
    pub severity: Severity,
}

type FactRow =
    (String, time::PrimitiveDateTime, Option<String>, Option<String>, Option<String>, String, String);

/// The newest `limit` incidents created in `range`, newest first, with the agent of their run and
/// the type of the step that breached (one query: incidents ⟕ runs ⟕ aos_trace_steps).
pub fn facts(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    range: TimeRange,
    limit: i64,
) -> Result<Vec<IncidentFacts>, StoreError> {
    let t = tenant.to_string();
    let (from, to) = (range.from.map(to_db), range.to.map(to_db));
    let rows: Vec<FactRow> = dispatch!(conn, |c| {
        let mut q = incidents::table
            .left_join(
                runs::table.on(runs::run_id
                    .nullable()
                    .eq(incidents::source_run_id)
                    .and(runs::tenant_id.eq(incidents::tenant_id))),
            )
            .left_join(
                aos_trace_steps::table.on(aos_trace_steps::trace_id
                    .nullable()
                    .eq(incidents::trace_id)
                    .and(aos_trace_steps::step_index.nullable().eq(incidents::step_index))
                    .and(aos_trace_steps::tenant_id.eq(incidents::tenant_id))),
            )
            .filter(incidents::tenant_id.eq(&t))
            .into_boxed();
        if let Some(from) = from {
            q = q.filter(incidents::created_at.ge(from));
        }
        if let Some(to) = to {
            q = q.filter(incidents::created_at.le(to));
        }
        q.order((incidents::created_at.desc(), incidents::incident_id.desc()))
            .limit(limit)
            .select((
                incidents::incident_id,
                incidents::created_at,
                incidents::policy_id,
                runs::agent_id.nullable(),
                aos_trace_steps::step_type.nullable(),
                incidents::incident_type,
                incidents::severity,
            ))
            .load(c)
    })?;
    rows.into_iter()
        .map(|(id, created, policy, agent, step, ty, severity)| {
            Ok(IncidentFacts {
                incident_id: parse("incidents.incident_id", &id)?,
                created_at: from_db(created),
                policy_id: parse_opt("incidents.policy_id", policy)?,
                agent_id: agent,
                step_type: step,
                incident_type: ty,
                severity: parse("incidents.severity", &severity)?,
            })
        })
        .collect()
}

/// Counts and mean durations of the incidents created in a range, aggregated by the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentStats {
    pub total: i64,
    pub by_status: Vec<(String, i64)>,
    pub by_severity: Vec<(String, i64)>,
    pub by_type: Vec<(String, i64)>,
    /// Incidents with an `acknowledged_at`, and the mean seconds from creation to it.
    pub acknowledged: i64,
    pub mean_seconds_to_acknowledge: Option<f64>,
    /// Incidents with a `resolved_at`, and the mean seconds from creation to it.
    pub resolved: i64,
    pub mean_seconds_to_resolve: Option<f64>,
}

/// The incidents of one (status, severity, type): how many, how many were acknowledged and
/// resolved, and the summed seconds from creation to each.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct IncidentGroup {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub severity: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub incident_type: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub resolved: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub ack_seconds: f64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub resolve_seconds: f64,
}

/// One pass over the incidents created in `[from, to)`: GROUP BY (status, severity, type) with the
/// counts and summed lifecycle durations of each group. No row is loaded.
pub fn stat_groups(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<IncidentGroup>, StoreError> {
    use diesel::sql_types::{Text, Timestamp as SqlTimestamp};
    let d = crate::analytics::Dialect::of(conn);
    let ack = d.seconds_between("created_at", "acknowledged_at");
    let res = d.seconds_between("created_at", "resolved_at");
    let sql = d.sql(format!(
        "SELECT status, severity, type AS incident_type, COUNT(*) AS n, COUNT(acknowledged_at) AS acknowledged, \
           COUNT(resolved_at) AS resolved, COALESCE(SUM({ack}), 0.0) AS ack_seconds, \
           COALESCE(SUM({res}), 0.0) AS resolve_seconds \
         FROM incidents WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
         GROUP BY status, severity, type ORDER BY 1, 2, 3"
    ));
    let t = tenant.to_string();
    Ok(dispatch!(conn, |c| diesel::sql_query(&sql)
        .bind::<Text, _>(&t)
        .bind::<SqlTimestamp, _>(to_db(from))
        .bind::<SqlTimestamp, _>(to_db(to))
        .load(c))?)
}

impl IncidentStats {
    /// The three breakdowns and the two means of `groups` (of one range, possibly read in parts).
    pub fn fold(groups: impl IntoIterator<Item = IncidentGroup>) -> IncidentStats {
        let mut by =
            [std::collections::BTreeMap::<String, i64>::new(), Default::default(), Default::default()];
        let mut stats = IncidentStats::default();
        let (mut ack_seconds, mut res_seconds) = (0.0, 0.0);
        for g in groups {
            if g.n == 0 {
                continue;
            }
            for (map, key) in by.iter_mut().zip([g.status, g.severity, g.incident_type]) {
                *map.entry(key).or_default() += g.n;
            }
            stats.total += g.n;
            stats.acknowledged += g.acknowledged;
            stats.resolved += g.resolved;
            ack_seconds += g.ack_seconds;
            res_seconds += g.resolve_seconds;
        }
        let mean = |sum: f64, n: i64| (n > 0).then(|| sum / n as f64);
        stats.mean_seconds_to_acknowledge = mean(ack_seconds, stats.acknowledged);
        stats.mean_seconds_to_resolve = mean(res_seconds, stats.resolved);
        let [status, severity, ty] = by.map(|m| m.into_iter().collect());
        (stats.by_status, stats.by_severity, stats.by_type) = (status, severity, ty);
        stats
    }
}

/// What links another incident to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum RelatedBy {
    Run(RunId),
    Policy(PolicyId),
    /// Incidents of runs of this agent.
    Agent(String),
}

/// Up to `limit` incidents linked by `by`, newest first, without `exclude`.
pub fn related(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    by: &RelatedBy,
    exclude: IncidentId,
    limit: i64,
) -> Result<Vec<Incident>, StoreError> {
    let (t, x) = (tenant.to_string(), exclude.to_string());
    let rows: Vec<IncidentRow> = dispatch!(conn, |c| {
        let q = incidents::table
            .filter(incidents::tenant_id.eq(&t).and(incidents::incident_id.ne(&x)))
            .order((incidents::created_at.desc(), incidents::incident_id.desc()))
            .limit(limit)
            .select(IncidentRow::as_select());
        match by {
            RelatedBy::Run(run) => q.filter(incidents::source_run_id.eq(run.to_string())).load(c),
            RelatedBy::Policy(policy) => q.filter(incidents::policy_id.eq(policy.to_string())).load(c),
            RelatedBy::Agent(agent) => q
                .filter(
                    incidents::source_run_id.eq_any(
                        runs::table
                            .filter(runs::tenant_id.eq(&t).and(runs::agent_id.eq(agent)))
                            .select(runs::run_id.nullable()),
                    ),
                )
                .load(c),
        }
    })?;
    rows.into_iter().map(IncidentRow::into_model).collect()
}

/// The incidents among `ids` (of this tenant), newest first.
pub fn get_many(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    ids: &[IncidentId],
) -> Result<Vec<Incident>, StoreError> {
    let t = tenant.to_string();
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let rows: Vec<IncidentRow> = dispatch!(conn, |c| incidents::table
        .filter(incidents::tenant_id.eq(&t).and(incidents::incident_id.eq_any(&ids)))
        .order((incidents::created_at.desc(), incidents::incident_id.desc()))
        .select(IncidentRow::as_select())
        .load(c))?;
    rows.into_iter().map(IncidentRow::into_model).collect()
}
