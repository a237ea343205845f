//! The end-to-end suite: every test drives a real `gov` server over HTTP on a fresh database.
//! SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set (one database per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod api_keys;
mod auth;
mod errors;
mod isolation;
mod migrations;
mod operations;
