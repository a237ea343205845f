//! System events (`system_logs`): what the deployment did. Append-only; a row with
//! `tenant_id` NULL is an event of the whole deployment and is shown to every tenant.

use diesel::prelude::*;
use gov_model::{
    LogLevel, Page, PageRequest, SortDirection, Source, SystemLog, SystemLogId, TenantId, TimeKey, merge,
};

use crate::audit::TimeRange;
use crate::convert::{from_db, json, parse, to_db};
use crate::db::dispatch;
use crate::log_search::{SCAN_ROWS, Slice, scanned_total};
use crate::paging::{after_cursor, capped_total, db_key, not_older, time_key};
use crate::schema::system_logs;
use crate::{Conn, StoreError};

diesel::define_sql_function! {
    /// SQL `lower(text)`, for case-insensitive substring matching on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = system_logs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct SystemLogRow {
    log_id: String,
    tenant_id: Option<String>,
    level: String,
    source: String,
    event: String,
    message: String,
    timestamp: time::PrimitiveDateTime,
    context: String,
}

impl SystemLogRow {
    fn from_model(l: &SystemLog) -> Self {
        SystemLogRow {
            log_id: l.log_id.to_string(),
            tenant_id: l.tenant_id.map(|t| t.to_string()),
            level: l.level.as_str().to_owned(),
            source: l.source.as_str().to_owned(),
            event: l.event.clone(),
            message: l.message.clone(),
            timestamp: to_db(l.timestamp),
            context: l.context.to_string(),
        }
    }

    fn into_model(self) -> Result<SystemLog, StoreError> {
        Ok(SystemLog {
            log_id: parse("system_logs.log_id", &self.log_id)?,
            tenant_id: self.tenant_id.map(|t| parse("system_logs.tenant_id", &t)).transpose()?,
            level: parse("system_logs.level", &self.level)?,
            source: parse("system_logs.source", &self.source)?,
            event: self.event,
            message: self.message,
            timestamp: from_db(self.timestamp),
            context: json("system_logs.context", &self.context)?,
        })
    }
}

/// Narrows a system-log listing or search; `None` fields match everything.
#[derive(Debug, Clone, Default)]
pub struct SystemLogFilter {
    pub level: Option<LogLevel>,
    /// A [`gov_model::LogSource`] name.
    pub source: Option<String>,
    pub event: Option<String>,
    pub range: TimeRange,
    /// Substrings the row's `context` must contain (ids: run, incident, resource).
    pub context_contains: Vec<String>,
    /// Case-insensitive substring of `message` or `context`.
    pub text: Option<String>,
}

/// A LIKE pattern matching `needle` anywhere, with `%`, `_` and `\` escaped (escape `\`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Appends one row inside the caller's transaction.
pub fn insert(conn: &mut Conn<'_>, log: &SystemLog) -> Result<(), StoreError> {
    let row = SystemLogRow::from_model(log);
    dispatch!(conn, |c| diesel::insert_into(system_logs::table).values(&row).execute(c))?;
    Ok(())
}

/// Appends one row unless a row with its id exists (a deterministic id makes this "once per
/// key"); whether it was written.
pub fn insert_if_absent(conn: &mut Conn<'_>, log: &SystemLog) -> Result<bool, StoreError> {
    let row = SystemLogRow::from_model(log);
    let n = dispatch!(conn, |c| diesel::insert_into(system_logs::table)
        .values(&row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n > 0)
}

/// One row the tenant may see (its own or deployment-wide); another tenant's is `NotFound`.
pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: SystemLogId) -> Result<SystemLog, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: SystemLogRow = dispatch!(conn, |c| system_logs::table
        .filter(system_logs::log_id.eq(&i))
        .filter(system_logs::tenant_id.eq(&t).or(system_logs::tenant_id.is_null()))
        .select(SystemLogRow::as_select())
        .first(c))?;
    row.into_model()
}

/// The rows the tenant may see matching `filter`, newest first (`timestamp`, then `log_id`),
/// by keyset after the page's cursor, with a capped total.
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &SystemLogFilter,
    page: PageRequest,
) -> Result<Page<SystemLog>, StoreError> {
    let after = page.cursor().map(|c| c.time_key().ok_or(StoreError::BadCursor)).transpose()?;
    let slice = Slice { after, offset: page.offset(), limit: page.probe_limit() };
    let source = search(conn, tenant, filter, slice)?;
    Ok(Page::from_source(source, page, key))
}

/// A row's place in the newest-first order.
pub fn key(l: &SystemLog) -> TimeKey {
    (l.timestamp, *l.log_id.as_uuid())
}

/// One page of the rows the tenant may see matching `filter`, newest first. The tenant's rows
/// and the deployment's (`tenant_id` NULL) are read as two ranges of the
/// `(tenant_id, timestamp, log_id)` index and merged: one query with `OR` would sort them.
pub fn search(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &SystemLogFilter,
    slice: Slice,
) -> Result<Source<SystemLog>, StoreError> {
    // Each range reads the rows before the page too, so the merge can skip them.
    let each = Slice { offset: 0, limit: slice.offset + slice.limit, ..slice };
    let ours = owned_by(conn, Some(tenant), filter, each)?;
    let deployment = owned_by(conn, None, filter, each)?;
    let mut merged = merge(vec![ours, deployment], key, usize::try_from(each.limit).unwrap_or(usize::MAX));
    merged.rows.drain(..usize::try_from(slice.offset).unwrap_or(usize::MAX).min(merged.rows.len()));
    Ok(merged)
}

/// One page of the tenant's rows (`Some`) or the deployment's (`None`) matching `filter`.
fn owned_by(
    conn: &mut Conn<'_>,
    owner: Option<TenantId>,
    filter: &SystemLogFilter,
    slice: Slice,
) -> Result<Source<SystemLog>, StoreError> {
    let t = owner.map(|t| t.to_string());
    let level = filter.level.map(|l| l.as_str());
    let from = filter.range.from.map(to_db);
    let to = filter.range.to.map(to_db);
    let after = slice.after.map(db_key);
    // No index serves these, and a tenant's events grow without bound: scan, do not count.
    let scan = !filter.context_contains.is_empty()
        || filter.text.is_some()
        || filter.level.is_some()
        || filter.source.is_some()
        || filter.event.is_some();
    let contains: Vec<String> = filter.context_contains.iter().map(|s| contains_pattern(s)).collect();
    let text = filter.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total, floor) = dispatch!(conn, |c| {
        let range = || {
            let mut q = system_logs::table.into_boxed();
            q = match &t {
                Some(t) => q.filter(system_logs::tenant_id.eq(t)),
                None => q.filter(system_logs::tenant_id.is_null()),
            };
            if let Some(v) = from {
                q = q.filter(system_logs::timestamp.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(system_logs::timestamp.le(v));
            }
            q
        };
        let floor: Option<(time::PrimitiveDateTime, String)> = if scan {
            after_cursor!(range(), &after, SortDirection::Desc, system_logs::timestamp, system_logs::log_id)
                .order((system_logs::timestamp.desc(), system_logs::log_id.desc()))
                .select((system_logs::timestamp, system_logs::log_id))
                .offset(SCAN_ROWS - 1)
                .first(c)
                .optional()?
        } else {
            None
        };
        let filtered = || {
            let mut q = range();
            if let Some(v) = level {
                q = q.filter(system_logs::level.eq(v));
            }
            if let Some(v) = &filter.source {
                q = q.filter(system_logs::source.eq(v));
            }
            if let Some(v) = &filter.event {
                q = q.filter(system_logs::event.eq(v));
            }
            for p in &contains {
                q = q.filter(system_logs::context.like(p.clone()).escape('\\'));
            }
            if let Some(p) = &text {
                q = q.filter(
                    lower(system_logs::message)
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(system_logs::context).like(p.clone()).escape('\\')),
                );
            }
            q
        };
        let total = if scan { None } else { Some(capped_total!(filtered, system_logs::log_id, c)) };
        let q = after_cursor!(
            filtered(),
            &after,
            SortDirection::Desc,
            system_logs::timestamp,
            system_logs::log_id
        );
        let rows: Vec<SystemLogRow> = not_older!(q, &floor, system_logs::timestamp, system_logs::log_id)
            .order((system_logs::timestamp.desc(), system_logs::log_id.desc()))
            .limit(slice.limit)
            .offset(slice.offset)
            .select(SystemLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total, floor))
    })?;
    let total = total.unwrap_or_else(|| scanned_total(&slice, floor.is_some(), rows.len()));
    let floor = floor.map(|k| time_key("system_logs.log_id", k)).transpose()?;
    let rows = rows.into_iter().map(SystemLogRow::into_model).collect::<Result<_, _>>()?;
    Ok(Source { rows, total, floor })
}
