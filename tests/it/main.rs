//! The end-to-end suite: every test drives a real `gov` server over HTTP on a fresh database.
//! SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set (one database per test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod analytics;
mod api_keys;
mod audit_integrity;
mod auditor;
mod auth;
mod bodies;
mod cli;
mod concurrency;
mod contract;
mod documented;
mod enforcement;
mod errors;
mod exports;
mod faults;
mod generator;
mod golive;
mod governed_run;
mod heimdall;
mod incident_insight;
mod incidents;
mod integrity;
mod isolation;
mod log_export;
mod migrations;
mod operations;
mod overview;
mod paging;
mod policies;
mod proposals;
mod regression;
mod review;
mod risk;
mod rollups;
mod run_input;
mod settings;
mod shutdown;
mod system_logs;
mod verify;
