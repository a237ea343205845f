//! Persistence of gov on SQLite (embedded default) and PostgreSQL (production, scale-out).
//!
//! Every query is written once with diesel and compiled for both backends (see [`Conn`]). Every
//! function that touches tenant data takes the [`gov_model::TenantId`] and filters by it; rows are
//! converted into `gov_model` types before they leave this crate.

mod convert;
mod db;
mod error;
mod models;
mod schema;
mod writer;

pub mod api_keys;
pub mod audit;
pub mod bulk;
pub mod evidence;
pub mod exports;
pub mod heimdall;
pub mod incidents;
pub mod levers;
pub mod migrate;
pub mod policies;
pub mod regression;
pub mod risk;
pub mod runs;
pub mod signing_keys;
pub mod snapshots;
pub mod tenants;
pub mod traces;
pub mod users;

pub use db::{Backend, Conn, Db, DbOptions, SqliteSync};
pub use error::StoreError;
