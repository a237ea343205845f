//! Wire shapes shared by several endpoint groups: how runs, traces, policies, incidents and
//! evidence look in JSON. Field names are the seed's.

pub mod evidence;
pub mod export;
pub mod incident;
pub mod integer;
pub mod policy;
pub mod run;
pub mod trace;
