//! Paging of list queries: a validated request and the page that answers it.

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 200;
/// Page size when the client does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A 1-based page number and a page size within `1..=MAX_PAGE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl PageRequest {
    /// `None` when out of range: page 0, size 0 or size above the cap.
    pub fn new(page: u32, page_size: u32) -> Option<Self> {
        (page >= 1 && (1..=MAX_PAGE_SIZE).contains(&page_size)).then_some(Self { page, page_size })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn page_size(self) -> u32 {
        self.page_size
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE }
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

/// One page of a list and the total number of matching items.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, request: self.request }
    }
}
