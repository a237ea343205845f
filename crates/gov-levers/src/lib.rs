//! Lever engine of gov (seed 004): the decisions of the risk guard (which caps apply, dual control
//! with GLOBAL, why a reservation was denied, when a repeated correlation id replays), of the
//! Heimdall sandbox charter (its gates), of go-live (the levers, the checklist) and of the Monday
//! review (its findings). Pure: no I/O, no clock; the facade reads, asks, and writes what it gets.

pub mod caps;
pub mod checklist;
pub mod correlation;
pub mod denial;
pub mod dual_control;
pub mod findings;
pub mod gates;
pub mod lever;
pub mod policy_change;
pub mod risk_day;
pub mod values;

pub use caps::{BrokenCap, Cap, admits, broken_caps, caps};
pub use checklist::{ChecklistItem, checklist};
pub use correlation::{Refusal, Settle, SettleRequest, repeat_reservation, settlement};
pub use dual_control::{GLOBAL, Reservation, TryReserve, checked, reserve, settled};
pub use findings::{MAX_HEALTHY_DENIAL_RATE, ReviewFinding, TRIPWIRE_ACTOR, findings};
pub use gates::{Gate, TRIAL_WINDOW_DAYS, eligible, gate_reason, gates};
pub use lever::Lever;
pub use policy_change::{CapsChange, GatesChange, Stamp};
pub use risk_day::RiskDay;
pub use values::Invalid;
