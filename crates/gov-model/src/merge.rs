//! One newest-first list merged from several sources, each read by keyset on `(time, id)`: the
//! Logs view's topics, and a tenant's own system events with the deployment's.

use uuid::Uuid;

use crate::Timestamp;
use crate::page::{Cursor, Page, PageRequest, SortKey, Total};

/// A row's place in a newest-first list: its time, then its id (unique across the sources).
pub type TimeKey = (Timestamp, Uuid);

impl Cursor {
    /// The `(time, id)` this cursor names; `None` for a cursor of a list ordered otherwise.
    pub fn time_key(&self) -> Option<TimeKey> {
        match self.key {
            SortKey::Time(t) => Some((t, self.id.parse().ok()?)),
            SortKey::Int(_) | SortKey::Real(_) => None,
        }
    }
}

/// What one source read for a page: its matching rows newest first (after the page's cursor, at
/// most what was asked), how many of its rows match, and `floor` when it stopped examining rows
/// before its range ended (a bounded scan): it has not looked at its rows older than the floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Source<T> {
    pub rows: Vec<T>,
    pub total: Total,
    pub floor: Option<TimeKey>,
}

impl<T> Source<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Source<U> {
        Source { rows: self.rows.into_iter().map(f).collect(), total: self.total, floor: self.floor }
    }
}

impl Total {
    /// The count of two disjoint sets of rows.
    pub fn plus(self, other: Total) -> Total {
        match (self, other) {
            (Total::Exact(a), Total::Exact(b)) => Total::Exact(a + b),
            (Total::Exact(a) | Total::AtLeast(a), Total::Exact(b) | Total::AtLeast(b)) => {
                Total::AtLeast(a + b)
            }
        }
    }
}

/// `sources` as one source, newest first, at most `take` rows, totals summed. Rows older than the
/// newest floor are left out: a source that stopped there may have unseen rows that come before
/// them, so the merged order is known only down to that floor (the next page starts there).
pub fn merge<T>(sources: Vec<Source<T>>, key: impl Fn(&T) -> TimeKey, take: usize) -> Source<T> {
    let floor = sources.iter().filter_map(|s| s.floor).max();
    let total = sources.iter().map(|s| s.total).reduce(Total::plus).unwrap_or(Total::Exact(0));
    let mut rows: Vec<T> = sources.into_iter().flat_map(|s| s.rows).collect();
    rows.retain(|r| floor.is_none_or(|f| key(r) >= f));
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    rows.truncate(take);
    Source { rows, total, floor }
}

impl<T> Page<T> {
    /// A page of a list ordered newest first by `(time, id)`, from a source read with
    /// [`PageRequest::probe_limit`] rows: as [`Page::from_probe`], and a page that ended at the
    /// source's floor (its scan stopped before the list did) leads on from the floor.
    pub fn from_source(source: Source<T>, request: PageRequest, key: impl Fn(&T) -> TimeKey) -> Self {
        let floor = source.floor;
        let mut page = Page::from_probe(source.rows, source.total, request, |r| {
            let (t, id) = key(r);
            (SortKey::Time(t), id.to_string())
        });
        if page.next.is_none()
            && let Some((t, id)) = floor
        {
            page.next =
                Some(Cursor { page: page.request.page() + 1, key: SortKey::Time(t), id: id.to_string() });
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(n: i64) -> TimeKey {
        (Timestamp::from_unix_timestamp(n).unwrap(), Uuid::from_u128(n as u128))
    }

    fn source(rows: &[i64], total: Total, floor: Option<i64>) -> Source<TimeKey> {
        Source { rows: rows.iter().map(|n| k(*n)).collect(), total, floor: floor.map(k) }
    }

    /// Sources merged taking `take` → (rows, total, floor).
    fn check(sources: Vec<Source<TimeKey>>, take: usize, expected: (Vec<i64>, Total, Option<i64>)) {
        let merged = merge(sources, |r| *r, take);
        let (rows, total, floor) = expected;
        assert_eq!(merged, source(&rows, total, floor));
    }

    #[test]
    fn sources_merge_newest_first_down_to_the_newest_floor() {
        let (e, a) = (Total::Exact, Total::AtLeast);
        check(
            vec![source(&[9, 5, 1], e(3), None), source(&[8, 7], e(2), None)],
            4,
            (vec![9, 8, 7, 5], e(5), None),
        );
        check(vec![], 10, (vec![], e(0), None));
        check(vec![source(&[9], a(10_000), None), source(&[], e(4), None)], 3, (vec![9], a(10_004), None));
        // A bounded scan stopped at 6: rows of the others below it wait for the next page.
        check(
            vec![source(&[9, 7], a(0), Some(6)), source(&[8, 5, 4], e(3), None), source(&[], a(0), Some(2))],
            10,
            (vec![9, 8, 7], a(3), Some(6)),
        );
    }

    #[test]
    fn a_page_that_ends_at_a_floor_leads_on_from_it() {
        let request = PageRequest::new(1, 2).unwrap();
        let ended = Page::from_source(source(&[9], Total::AtLeast(0), Some(6)), request.clone(), |r| *r);
        let next = ended.next.unwrap();
        assert_eq!((next.page, next.time_key()), (2, Some(k(6))));
        // A full page leads on from its last row, whatever the floor.
        let full = Page::from_source(source(&[9, 8, 7], Total::AtLeast(0), Some(6)), request.clone(), |r| *r);
        assert_eq!(full.next.unwrap().time_key(), Some(k(8)));
        let last = Page::from_source(source(&[9], Total::Exact(1), None), request, |r| *r);
        assert_eq!((last.next, last.total, last.total_exact), (None, 1, true));
    }
}
