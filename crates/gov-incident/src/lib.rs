//! Incident engine of gov: how an incident is opened from a breach, and the lifecycle state
//! machine (acknowledge, escalate, resolve). Pure: no I/O, the caller passes the time.

mod lifecycle;
mod opening;

pub use lifecycle::{Transition, TransitionError, apply};
pub use opening::{Breach, open};
