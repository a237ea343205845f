//! Row types: one per table, converted into `gov_model` types before leaving the crate.

pub(crate) mod api_key;
pub(crate) mod audit_log;
pub(crate) mod tenant;
pub(crate) mod user;
