//! Incident engine of gov: how an incident is opened from a breach or a regression trip, and the lifecycle state
//! machine (acknowledge, escalate, resolve). Pure: no I/O, the caller passes the time.

mod lifecycle;
mod opening;
pub mod patterns;
mod tripwire;

pub use lifecycle::{Transition, TransitionError, apply};
pub use opening::{Breach, open};
pub use tripwire::{INCIDENT_TYPE as TRIPWIRE_INCIDENT_TYPE, Trip, open_trip};
