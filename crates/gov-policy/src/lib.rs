//! Policy engine of gov: rule validation, scope resolution, arbitration and snapshots. Pure: it
//! takes plain data and returns decisions, with no I/O, clock or randomness.

mod arbitrate;
mod canonical;
mod check;
mod condition;
mod error;
mod monitor;
mod proposal;
mod scope;
mod signal;
mod snapshot;
mod spec;

#[cfg(test)]
mod testing;

pub use arbitrate::{Resolution, arbitrate, chain_order};
pub use check::{ChainEntry, Check, CheckKind, Metric};
pub use condition::{CompiledCondition, ConditionInput, MAX_CONDITION_CHARS, validate_condition};
pub use error::{ConditionError, Position, SnapshotError, SpecError};
pub use monitor::Monitor;
pub use proposal::{
    ProposalAction, ProposalCase, ProposalRefusal, ProposalTarget, decide as decide_proposal,
};
pub use scope::{RunAttributes, applies_to};
pub use signal::{Signal, SignalValue, SignalValues};
pub use snapshot::{CompiledSnapshot, SnapshotContent, build_snapshot, snapshot_hash};
pub use spec::{validate_limit, validate_spec};
