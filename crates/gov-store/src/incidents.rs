//! Incidents, their comments and their timeline events.

use diesel::prelude::*;
use gov_model::{
    Incident, IncidentComment, IncidentEvent, IncidentId, IncidentStatus, Page, PageRequest, PolicyId, RunId,
    Severity, SortDirection, SortKey, TenantId, Timestamp, Total,
};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::incident::{CommentRow, EventRow, IncidentRow};
use crate::paging::position_only;
use crate::paging::{after_cursor, capped_total, time_cursor};
use crate::schema::{incident_comments, incident_events, incidents};
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
        let total = capped_total!(filtered, incidents::incident_id, c);
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
    event: &str,
    actor: &str,
    detail: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let row = EventRow {
        event_id: uuid::Uuid::now_v7().to_string(),
        incident_id: incident.to_string(),
        tenant_id: tenant.to_string(),
        event: event.to_owned(),
        actor: actor.to_owned(),
        detail: detail.to_owned(),
        timestamp: to_db(now),
    };
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
