//! Row types: one per table, converted into `gov_model` types before leaving the crate.

pub(crate) mod api_key;
pub(crate) mod audit_log;
pub(crate) mod evidence;
pub(crate) mod export;
pub(crate) mod incident;
pub(crate) mod policy;
pub(crate) mod postmortem;
pub(crate) mod proposal;
pub(crate) mod run;
pub(crate) mod tenant;
pub(crate) mod trace;
pub(crate) mod user;
