//! Keyset paging and capped counts, shared by every list query.
//!
//! A list orders by `(column, id)` and a page after a cursor selects the rows past the cursor's
//! `(key, id)`: `column <= key` bounds the index range, and the tie-break on `id` keeps rows with
//! an equal key in order, so a deep page costs what page 1 costs. Totals are counted only up to
//! [`COUNT_CAP`] rows: past it, the page says its total is a lower bound.

use gov_model::{COUNT_CAP, PageRequest, SortKey, TimeKey};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, parse, to_db};

/// The cursor of a list ordered by a time column, as column values.
pub(crate) fn time_cursor(page: &PageRequest) -> Result<Option<(PrimitiveDateTime, String)>, StoreError> {
    page.cursor()
        .map(|c| match c.key {
            SortKey::Time(t) => Ok((to_db(t), c.id.clone())),
            SortKey::Int(_) | SortKey::Real(_) => Err(StoreError::BadCursor),
        })
        .transpose()
}

/// A `(time, id)` position as column values.
pub(crate) fn db_key((t, id): TimeKey) -> (PrimitiveDateTime, String) {
    (to_db(t), id.to_string())
}

/// Column values of a `(time, id)` position read back.
pub(crate) fn time_key(column: &str, (t, id): (PrimitiveDateTime, String)) -> Result<TimeKey, StoreError> {
    Ok((from_db(t), parse(column, &id)?))
}

/// The cursor of a list ordered by an integer column.
pub(crate) fn int_cursor(page: &PageRequest) -> Result<Option<(i64, String)>, StoreError> {
    page.cursor()
        .map(|c| match c.key {
            SortKey::Int(n) => Ok((n, c.id.clone())),
            SortKey::Time(_) | SortKey::Real(_) => Err(StoreError::BadCursor),
        })
        .transpose()
}

/// The cursor of a list ordered by a floating-point column.
pub(crate) fn real_cursor(page: &PageRequest) -> Result<Option<(f64, String)>, StoreError> {
    page.cursor()
        .map(|c| match c.key {
            SortKey::Real(x) => Ok((x, c.id.clone())),
            SortKey::Time(_) | SortKey::Int(_) => Err(StoreError::BadCursor),
        })
        .transpose()
}

/// Rows to look at when counting: one past the cap says "more than the cap".
pub(crate) const COUNT_PROBE_OFFSET: i64 = COUNT_CAP;

/// Keeps the rows after `cursor` (`Option<(key, id)>`) in `(col, id)` order `dir`.
macro_rules! after_cursor {
    ($q:expr, $cursor:expr, $dir:expr, $col:expr, $id:expr) => {
        match $cursor {
            None => $q,
            Some((k, i)) => match $dir {
                gov_model::SortDirection::Desc => $q
                    .filter($col.le(k.clone()))
                    .filter($col.lt(k.clone()).or($col.eq(k.clone()).and($id.lt(i.clone())))),
                gov_model::SortDirection::Asc => $q
                    .filter($col.ge(k.clone()))
                    .filter($col.gt(k.clone()).or($col.eq(k.clone()).and($id.gt(i.clone())))),
            },
        }
    };
}
pub(crate) use after_cursor;

/// Keeps the rows at or newer than `floor` (`Option<(key, id)>`) in `(col, id)` order: the
/// stretch a bounded scan examined, down to its last row.
macro_rules! not_older {
    ($q:expr, $floor:expr, $col:expr, $id:expr) => {
        match $floor {
            None => $q,
            Some((k, i)) => $q
                .filter($col.ge(k.clone()))
                .filter($col.gt(k.clone()).or($col.eq(k.clone()).and($id.ge(i.clone())))),
        }
    };
}
pub(crate) use not_older;

/// The count of `filtered()` (a closure building the boxed query), exact up to the cap:
/// first whether a row exists past the cap (an index walk of at most the cap's rows), then,
/// only if not, the exact count. The probe selects `$tenant`, the table's `tenant_id` (`system_logs`,
/// whose tenant is optional, passes its id), which every index of
/// a tenant's rows holds, so the index that serves the filter also covers the probe: selecting
/// the row id instead let SQLite, with `ANALYZE` statistics that call a status unselective, scan
/// the whole table for it (the live runs of a million-run tenant: 250 ms instead of 1).
macro_rules! capped_total {
    ($filtered:expr, $tenant:expr, $c:expr) => {{
        let past_cap: Option<String> = $filtered()
            .select($tenant)
            .offset($crate::paging::COUNT_PROBE_OFFSET)
            .limit(1)
            .first($c)
            .optional()?;
        match past_cap {
            Some(_) => gov_model::Total::AtLeast(gov_model::COUNT_CAP),
            None => gov_model::Total::Exact($filtered().count().get_result($c)?),
        }
    }};
}
pub(crate) use capped_total;

/// The cursor key of a short list paged by position (users, keys, policies, limits,
/// comments): its cursor carries only the page number, and the page is read at its offset.
pub(crate) fn position_only<T>(_: &T) -> (SortKey, String) {
    (SortKey::Int(0), String::new())
}
