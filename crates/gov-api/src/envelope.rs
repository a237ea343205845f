//! The response shapes of seed 000 §8: O2 lists and O3 details.

use std::collections::BTreeMap;

use gov_model::{Page, SortDirection};
use serde::Serialize;
use utoipa::ToSchema;

/// O2: one page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T: ToSchema> {
    pub items: Vec<T>,
    pub pagination: Pagination,
    /// The filters this page was selected with, by query parameter name.
    pub filters_applied: BTreeMap<String, String>,
    pub sort: SortInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// The number of matching items: exact when `total_exact`, otherwise a lower bound (more
    /// than 10,000 match, and gov does not count them all on every page).
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
    pub total_exact: bool,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl Pagination {
    /// A list computed whole and cut into pages by position (`total` exact): its cursor carries
    /// the next page's number.
    pub fn by_position(total: i64, page: &gov_model::PageRequest) -> Self {
        let more = page.rows_before() + page.limit() < total;
        let next = more.then(|| gov_model::Cursor {
            page: page.page() + 1,
            key: gov_model::SortKey::Int(0),
            id: String::new(),
        });
        Pagination {
            total,
            page: page.page(),
            page_size: page.page_size(),
            total_exact: true,
            next_cursor: next.as_ref().map(crate::cursor::encode),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SortInfo {
    pub field: String,
    /// `asc` or `desc`.
    pub direction: String,
}

impl<T: ToSchema> ListResponse<T> {
    pub fn new<M>(
        page: Page<M>,
        to_wire: impl FnMut(M) -> T,
        filters_applied: BTreeMap<String, String>,
        sort_field: &str,
        direction: SortDirection,
    ) -> Self {
        let pagination = Pagination {
            total: page.total,
            page: page.request.page(),
            page_size: page.request.page_size(),
            total_exact: page.total_exact,
            next_cursor: page.next.as_ref().map(crate::cursor::encode),
        };
        ListResponse {
            items: page.items.into_iter().map(to_wire).collect(),
            pagination,
            filters_applied,
            sort: SortInfo { field: sort_field.to_owned(), direction: direction.as_str().to_owned() },
        }
    }
}

/// O3: one entity and what can be done with it next.
#[derive(Debug, Serialize, ToSchema)]
pub struct Detail<T: ToSchema> {
    pub entity: T,
    pub actions: Vec<Action>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Action {
    pub action: &'static str,
    pub label: &'static str,
    pub enabled: bool,
}

impl Action {
    pub fn new(action: &'static str, label: &'static str, enabled: bool) -> Self {
        Action { action, label, enabled }
    }
}

/// Collects the filters that were given into `filters_applied`.
pub fn filters<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> BTreeMap<String, String> {
    pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))).collect()
}
