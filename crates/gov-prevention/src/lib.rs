//! Prevention engine of gov: decides one run step against the run's frozen policy snapshot.
//! Pure: it takes plain data and returns a decision, with no I/O, clock or randomness.

mod decision;
mod evaluate;
#[cfg(test)]
mod fixture;
mod judge;
mod signals;

pub use decision::{Decision, Finding, Level, Outcome, violation_type};
pub use evaluate::evaluate_step;
pub use judge::{ForcedStop, Gate, StepContext, Verdict, judge};
pub use signals::{OverrideKind, PolicyOverride, RateCount, RunState, StepSignals};
