//! System events (`system_logs`): what the deployment did. Append-only; a row with
//! `tenant_id` NULL is an event of the whole deployment and is shown to every tenant.

use diesel::prelude::*;
use gov_model::{LogLevel, Page, PageRequest, SystemLog, SystemLogId, TenantId, Total};

use crate::paging::position_only;

use crate::audit::TimeRange;
use crate::convert::{from_db, json, parse, to_db};
use crate::db::dispatch;
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

/// The rows the tenant may see matching `filter`, newest first (`timestamp`, then `log_id`).
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &SystemLogFilter,
    page: PageRequest,
) -> Result<Page<SystemLog>, StoreError> {
    let (items, total) = search(conn, tenant, filter, page.rows_before(), page.probe_limit())?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

/// The rows the tenant may see matching `filter`, newest first, `offset`/`limit` applied, with
/// the number of matching rows. Bounded by tenant (or NULL) and the `(tenant_id, timestamp)`
/// index; text is matched within that range.
pub fn search(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &SystemLogFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SystemLog>, i64), StoreError> {
    let t = tenant.to_string();
    let level = filter.level.map(|l| l.as_str());
    let from = filter.range.from.map(to_db);
    let to = filter.range.to.map(to_db);
    let contains: Vec<String> = filter.context_contains.iter().map(|s| contains_pattern(s)).collect();
    let text = filter.text.as_deref().map(|s| contains_pattern(&s.to_lowercase()));
    let (rows, total): (Vec<SystemLogRow>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = system_logs::table
                .filter(system_logs::tenant_id.eq(&t).or(system_logs::tenant_id.is_null()))
                .into_boxed();
            if let Some(v) = level {
                q = q.filter(system_logs::level.eq(v));
            }
            if let Some(v) = &filter.source {
                q = q.filter(system_logs::source.eq(v));
            }
            if let Some(v) = &filter.event {
                q = q.filter(system_logs::event.eq(v));
            }
            if let Some(v) = from {
                q = q.filter(system_logs::timestamp.ge(v));
            }
            if let Some(v) = to {
                q = q.filter(system_logs::timestamp.le(v));
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
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((system_logs::timestamp.desc(), system_logs::log_id.desc()))
            .limit(limit)
            .offset(offset)
            .select(SystemLogRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(SystemLogRow::into_model).collect::<Result<_, _>>()?;
    Ok((items, total))
}
