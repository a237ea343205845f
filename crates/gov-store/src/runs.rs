//! Runs and killed agents.

use diesel::prelude::*;
use gov_model::{
    AgentKill, ApiKeyId, Page, PageRequest, Run, RunId, RunStatus, SortDirection, SortKey, TenantId,
    Timestamp, Total,
};

use crate::convert::to_db;
use crate::db::{Inner, dispatch};
use crate::models::run::{AgentKillRow, RunRow};
use crate::paging::{after_cursor, capped_total, int_cursor, real_cursor, time_cursor};
use crate::schema::{agent_kills, runs};
use crate::{Conn, StoreError};

/// Narrows a run listing; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub statuses: Option<Vec<RunStatus>>,
    pub agent_id: Option<String>,
    pub started_after: Option<Timestamp>,
    pub started_before: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunSort {
    #[default]
    StartedAt,
    TokensUsed,
    TotalCostCents,
}

/// A run with how many overrides it has (so the step path only reads overrides when there are any).
pub struct LockedRun {
    pub run: Run,
    pub override_count: i32,
}

pub fn insert(conn: &mut Conn<'_>, run: &Run) -> Result<(), StoreError> {
    let row = RunRow::from_model(run, 0);
    dispatch!(conn, |c| diesel::insert_into(runs::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: RunId) -> Result<Run, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: RunRow = dispatch!(conn, |c| runs::table
        .filter(runs::tenant_id.eq(&t).and(runs::run_id.eq(&i)))
        .select(RunRow::as_select())
        .first(c))?;
    row.into_model()
}

/// Reads a run and, on PostgreSQL, locks its row until the transaction ends, so concurrent steps
/// of one run are serialised (SQLite serialises every write transaction anyway).
pub fn get_for_update(conn: &mut Conn<'_>, tenant: TenantId, id: RunId) -> Result<LockedRun, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let filter = runs::tenant_id.eq(&t).and(runs::run_id.eq(&i));
    let row: RunRow = match &mut conn.0 {
        Inner::Sqlite(c) => runs::table.filter(filter).select(RunRow::as_select()).first(&mut **c)?,
        Inner::Pg(c) => {
            runs::table.filter(filter).select(RunRow::as_select()).for_update().first(&mut **c)?
        }
    };
    let override_count = row.override_count;
    Ok(LockedRun { run: row.into_model()?, override_count })
}

/// Reads a run and its override count without locking (read-only paths).
pub fn get_with_overrides(conn: &mut Conn<'_>, tenant: TenantId, id: RunId) -> Result<LockedRun, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: RunRow = dispatch!(conn, |c| runs::table
        .filter(runs::tenant_id.eq(&t).and(runs::run_id.eq(&i)))
        .select(RunRow::as_select())
        .first(c))?;
    let override_count = row.override_count;
    Ok(LockedRun { run: row.into_model()?, override_count })
}

/// Writes every mutable field of `run`.
pub fn save(conn: &mut Conn<'_>, run: &Run, override_count: i32) -> Result<(), StoreError> {
    let row = RunRow::from_model(run, override_count);
    let n = dispatch!(conn, |c| diesel::update(
        runs::table.filter(runs::tenant_id.eq(&row.tenant_id).and(runs::run_id.eq(&row.run_id)))
    )
    .set(&row)
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Writes what every recorded step changes, and nothing else: the counters and the chain head.
/// None of these columns is indexed, so the write updates no index (and on PostgreSQL can be a
/// HOT update); use [`save`] when anything else about the run changed.
pub fn save_progress(conn: &mut Conn<'_>, run: &Run) -> Result<(), StoreError> {
    let (t, i) = (run.tenant_id.to_string(), run.run_id.to_string());
    let n = dispatch!(conn, |c| diesel::update(
        runs::table.filter(runs::tenant_id.eq(&t).and(runs::run_id.eq(&i)))
    )
    .set((
        runs::step_count.eq(run.step_count),
        runs::tokens_used.eq(run.tokens_used),
        runs::input_tokens.eq(run.input_tokens),
        runs::output_tokens.eq(run.output_tokens),
        runs::total_cost_cents.eq(run.total_cost_cents),
        runs::head_hash.eq(&run.head_hash),
    ))
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Gives the live (queued, running, paused) runs of API key `from` to key `to`, when a rotation
/// replaces `from`; returns how many. Ended runs keep the key that drove them.
pub fn hand_over_live_runs(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    from: ApiKeyId,
    to: ApiKeyId,
) -> Result<usize, StoreError> {
    let (t, from, to) = (tenant.to_string(), from.to_string(), to.to_string());
    let live = crate::overview::LIVE_RUN.map(RunStatus::as_str);
    Ok(dispatch!(conn, |c| diesel::update(
        runs::table
            .filter(runs::tenant_id.eq(&t).and(runs::api_key_id.eq(&from)).and(runs::status.eq_any(live)))
    )
    .set(runs::api_key_id.eq(&to))
    .execute(c))?)
}

pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &RunFilter,
    page: PageRequest,
    sort: RunSort,
    direction: SortDirection,
) -> Result<Page<Run>, StoreError> {
    let t = tenant.to_string();
    let statuses: Option<Vec<&str>> =
        filter.statuses.as_ref().map(|s| s.iter().map(|s| s.as_str()).collect());
    let after = filter.started_after.map(to_db);
    let before = filter.started_before.map(to_db);
    let (time_after, int_after, real_after) = match sort {
        RunSort::StartedAt => (time_cursor(&page)?, None, None),
        RunSort::TokensUsed => (None, int_cursor(&page)?, None),
        RunSort::TotalCostCents => (None, None, real_cursor(&page)?),
    };
    let live = crate::overview::LIVE_RUN.map(RunStatus::as_str);
    // Runs that have not ended are few: a list of only those reads the status index and sorts
    // them. SQLite, without statistics, would rather walk every run by start time (which serves
    // the order), so there the start time is spelled `+started_at`, which no index serves.
    let live_only = statuses.as_ref().is_some_and(|s| s.iter().all(|x| live.contains(x)));
    let started = if live_only && conn.backend() == crate::Backend::Sqlite {
        "+runs.started_at"
    } else {
        "runs.started_at"
    };
    let started = || diesel::dsl::sql::<diesel::sql_types::Timestamp>(started);
    let (rows, total): (Vec<RunRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = runs::table.filter(runs::tenant_id.eq(&t)).into_boxed();
            if let Some(s) = &statuses {
                q = q.filter(runs::status.eq_any(s.clone()));
            }
            if let Some(a) = &filter.agent_id {
                q = q.filter(runs::agent_id.eq(a));
            }
            if let Some(a) = after {
                q = q.filter(runs::started_at.ge(a));
            }
            if let Some(b) = before {
                q = q.filter(runs::started_at.lt(b));
            }
            q
        };
        let total = capped_total!(filtered, runs::tenant_id, c);
        let rows: Vec<RunRow> = match sort {
            RunSort::StartedAt => {
                let q = after_cursor!(filtered(), &time_after, direction, started(), runs::run_id);
                let q = match direction {
                    SortDirection::Asc => q.order((started().asc(), runs::run_id.asc())),
                    SortDirection::Desc => q.order((started().desc(), runs::run_id.desc())),
                };
                q.limit(page.probe_limit()).offset(page.offset()).select(RunRow::as_select()).load(c)?
            }
            RunSort::TokensUsed => {
                let q = after_cursor!(filtered(), &int_after, direction, runs::tokens_used, runs::run_id);
                let q = match direction {
                    SortDirection::Asc => q.order((runs::tokens_used.asc(), runs::run_id.asc())),
                    SortDirection::Desc => q.order((runs::tokens_used.desc(), runs::run_id.desc())),
                };
                q.limit(page.probe_limit()).offset(page.offset()).select(RunRow::as_select()).load(c)?
            }
            RunSort::TotalCostCents => {
                // The ended runs in order on their final cost's index, the live ones (few) from
                // their status, each up to the page's end; merged, then the page cut out.
                let n = page.offset() + page.probe_limit();
                let ended = filtered().filter(runs::final_cost_cents.is_not_null());
                let ended =
                    after_cursor!(ended, &real_after, direction, runs::final_cost_cents, runs::run_id);
                let ended = match direction {
                    SortDirection::Asc => ended.order((runs::final_cost_cents.asc(), runs::run_id.asc())),
                    SortDirection::Desc => ended.order((runs::final_cost_cents.desc(), runs::run_id.desc())),
                };
                let mut rows = ended.limit(n).select(RunRow::as_select()).load(c)?;
                let live = filtered().filter(runs::status.eq_any(live));
                let live = after_cursor!(live, &real_after, direction, runs::total_cost_cents, runs::run_id);
                let live = match direction {
                    SortDirection::Asc => live.order((runs::total_cost_cents.asc(), runs::run_id.asc())),
                    SortDirection::Desc => live.order((runs::total_cost_cents.desc(), runs::run_id.desc())),
                };
                rows.extend(live.limit(n).select(RunRow::as_select()).load(c)?);
                rows.sort_by(|a, b| {
                    let ascending = a
                        .total_cost_cents
                        .total_cmp(&b.total_cost_cents)
                        .then_with(|| a.run_id.cmp(&b.run_id));
                    if direction == SortDirection::Asc { ascending } else { ascending.reverse() }
                });
                rows.into_iter()
                    .skip(usize::try_from(page.offset()).unwrap_or(0))
                    .take(usize::try_from(page.probe_limit()).unwrap_or(0))
                    .collect()
            }
        };
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(RunRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |r: &Run| {
        let key = match sort {
            RunSort::StartedAt => SortKey::Time(r.started_at),
            RunSort::TokensUsed => SortKey::Int(r.tokens_used),
            RunSort::TotalCostCents => SortKey::Real(r.total_cost_cents),
        };
        (key, r.run_id.to_string())
    }))
}

/// Records that `kill.agent_id` is killed; an agent already killed stays killed by the first.
pub fn kill_agent(conn: &mut Conn<'_>, kill: &AgentKill) -> Result<(), StoreError> {
    let row = AgentKillRow::from_model(kill);
    dispatch!(conn, |c| diesel::insert_into(agent_kills::table)
        .values(&row)
        .on_conflict((agent_kills::tenant_id, agent_kills::agent_id))
        .do_nothing()
        .execute(c))?;
    Ok(())
}

pub fn agent_kill(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    agent_id: &str,
) -> Result<Option<AgentKill>, StoreError> {
    let t = tenant.to_string();
    let row: Option<AgentKillRow> = dispatch!(conn, |c| agent_kills::table
        .filter(agent_kills::tenant_id.eq(&t).and(agent_kills::agent_id.eq(agent_id)))
        .select(AgentKillRow::as_select())
        .first(c)
        .optional())?;
    row.map(AgentKillRow::into_model).transpose()
}

pub fn killed_agents(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<AgentKill>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<AgentKillRow> = dispatch!(conn, |c| agent_kills::table
        .filter(agent_kills::tenant_id.eq(&t))
        .order(agent_kills::killed_at.desc())
        .select(AgentKillRow::as_select())
        .load(c))?;
    rows.into_iter().map(AgentKillRow::into_model).collect()
}

/// Lets a killed agent start runs again. Not killed is [`StoreError::NotFound`].
pub fn release_agent(conn: &mut Conn<'_>, tenant: TenantId, agent_id: &str) -> Result<(), StoreError> {
    let t = tenant.to_string();
    let n = dispatch!(conn, |c| diesel::delete(
        agent_kills::table.filter(agent_kills::tenant_id.eq(&t).and(agent_kills::agent_id.eq(agent_id)))
    )
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
