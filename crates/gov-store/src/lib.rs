//! Persistence of gov on SQLite (embedded default) and PostgreSQL (production, scale-out).
//!
//! Every query is written once with diesel and compiled for both backends (see [`Conn`]). Every
//! function that touches tenant data takes the [`gov_model::TenantId`] and filters by it; rows are
//! converted into `gov_model` types before they leave this crate.

mod convert;
mod db;
mod error;
mod lane;
mod models;
mod paging;
mod schema;
mod writer;

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod bulk;
pub mod evidence;
pub mod exports;
pub mod heimdall;
pub mod incidents;
pub mod levers;
pub mod log_search;
pub mod migrate;
pub mod overview;
pub mod policies;
pub mod postmortems;
pub mod proposals;
pub mod regression;
pub mod risk;
pub mod rollups;
pub mod runs;
pub mod signing_keys;
pub mod snapshots;
pub mod system_logs;
pub mod tenants;
pub mod traces;
pub mod users;

pub use db::{Backend, Conn, Db, DbOptions, Prepared, SqliteSync};
pub use error::{Conflict, StoreError};
