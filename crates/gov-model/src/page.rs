//! Paging of list queries: a validated request and the page that answers it.

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 200;
/// Page size when the client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A list's total is counted exactly up to this many matching rows; beyond it, the page says
/// the total is a lower bound (`Page::total_exact` false) instead of counting every row.
pub const COUNT_CAP: i64 = 10_000;

/// A 1-based page number and a page size within `1..=MAX_PAGE_SIZE`, and where the page starts:
/// after a [`Cursor`] (keyset paging: a deep page costs what page 1 costs) or at an offset.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
    after: Option<Cursor>,
}

/// Where the previous page ended: the last row's sort key and id, and that page's number.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The number of the page this cursor leads to.
    pub page: u32,
    pub key: SortKey,
    /// The last row's id (the tie-break of every list's order).
    pub id: String,
}

/// The value of a list's sort column in the last row of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Time(crate::Timestamp),
    Int(i64),
    Real(f64),
}

impl PageRequest {
    /// `None` when out of range: page 0, size 0 or size above the cap.
    pub fn new(page: u32, page_size: u32) -> Option<Self> {
        (page >= 1 && (1..=MAX_PAGE_SIZE).contains(&page_size)).then_some(Self {
            page,
            page_size,
            after: None,
        })
    }

    /// The page after `cursor`.
    pub fn after(cursor: Cursor, page_size: u32) -> Option<Self> {
        (cursor.page >= 1 && (1..=MAX_PAGE_SIZE).contains(&page_size)).then_some(Self {
            page: cursor.page,
            page_size,
            after: Some(cursor),
        })
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The cursor this page starts after, if it was asked for by cursor.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.after.as_ref()
    }

    /// Rows to skip: none after a cursor (the keyset predicate selects the page).
    pub fn offset(&self) -> i64 {
        if self.after.is_some() { 0 } else { i64::from(self.page - 1) * i64::from(self.page_size) }
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }

    /// One row more than the page holds: whether it comes back says if there is a next page.
    pub fn probe_limit(&self) -> i64 {
        self.limit() + 1
    }

    /// How many rows come before this page (exact for offset pages, derived for cursor pages).
    pub fn rows_before(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE, after: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Asc,
    #[default]
    Desc,
}

impl SortDirection {
    pub const fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }
}

/// One page of a list, the number of matching items, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Exact when `total_exact`; otherwise a lower bound (more than [`COUNT_CAP`] rows match).
    pub total: i64,
    pub total_exact: bool,
    pub request: PageRequest,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page with an exact total and no next cursor (lists that are never long).
    pub fn whole(items: Vec<T>, total: i64, request: PageRequest) -> Self {
        Page { items, total, total_exact: true, request, next: None }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            total_exact: self.total_exact,
            request: self.request,
            next: self.next,
        }
    }
}

/// A list's count as far as it was taken: `Exact(n)`, or `AtLeast(n)` when counting stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    Exact(i64),
    AtLeast(i64),
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with [`PageRequest::probe_limit`]: the extra row, if it
    /// came back, is dropped and the last kept row's key becomes the next cursor.
    pub fn from_probe(
        mut items: Vec<T>,
        total: Total,
        request: PageRequest,
        key_of: impl Fn(&T) -> (SortKey, String),
    ) -> Self {
        let more = items.len() as i64 > request.limit();
        items.truncate(request.page_size as usize);
        let next = if more {
            items.last().map(|last| {
                let (key, id) = key_of(last);
                Cursor { page: request.page + 1, key, id }
            })
        } else {
            None
        };
        // What this page shows is a floor for any total: rows before it, its rows, one more.
        let seen = request.rows_before() + items.len() as i64 + i64::from(more);
        let (total, total_exact) = match total {
            Total::Exact(n) => (n, true),
            Total::AtLeast(n) => (n.max(seen), false),
        };
        Page { items, total, total_exact, request, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &i64) -> (SortKey, String) {
        (SortKey::Int(*n), format!("{n:x}"))
    }

    /// `rows` fetched with the probe limit for `request`, the count taken → (total, exact, next).
    fn check(rows: Vec<i64>, total: Total, request: PageRequest, expected: (i64, bool, Option<i64>)) {
        let page = Page::from_probe(rows, total, request, key);
        let next = page.next.as_ref().map(|c| match c.key {
            SortKey::Int(n) => n,
            _ => unreachable!(),
        });
        assert_eq!((page.total, page.total_exact, next), expected);
        assert!(page.items.len() <= page.request.page_size() as usize);
    }

    #[test]
    fn pages_from_a_probe() {
        let p = |page, size| PageRequest::new(page, size).unwrap();
        // A full page and the probe row: a next cursor at the last kept row.
        check(vec![1, 2, 3], Total::Exact(7), p(1, 2), (7, true, Some(2)));
        // The last page: no probe row, no cursor.
        check(vec![7], Total::Exact(7), p(4, 2), (7, true, None));
        check(vec![], Total::Exact(0), p(1, 50), (0, true, None));
        // Past the cap: a lower bound, never below what the pages have shown.
        check(vec![1, 2, 3], Total::AtLeast(COUNT_CAP), p(1, 2), (COUNT_CAP, false, Some(2)));
        check(vec![1, 2, 3], Total::AtLeast(COUNT_CAP), p(6000, 2), (11_998 + 2 + 1, false, Some(2)));
    }

    #[test]
    fn a_cursor_page_has_no_offset_and_carries_its_number() {
        let c = Cursor { page: 3, key: SortKey::Int(9), id: "9".into() };
        let r = PageRequest::after(c, 10).unwrap();
        assert_eq!((r.page(), r.offset(), r.rows_before(), r.probe_limit()), (3, 0, 20, 11));
        assert!(
            PageRequest::after(Cursor { page: 0, key: SortKey::Int(0), id: String::new() }, 10).is_none()
        );
        assert!(PageRequest::after(Cursor { page: 2, key: SortKey::Int(0), id: String::new() }, 0).is_none());
    }
}
