//! The monitors a policy switches on, and which signals and rule types need which monitor.

use gov_model::{Monitors, RuleType};

/// One switch of [`Monitors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    Tokens,
    Cost,
    BurnRate,
    Steps,
    Rag,
}

impl Monitor {
    pub const fn name(self) -> &'static str {
        match self {
            Monitor::Tokens => "tokens",
            Monitor::Cost => "cost",
            Monitor::BurnRate => "burn_rate",
            Monitor::Steps => "steps",
            Monitor::Rag => "rag",
        }
    }

    pub const fn is_on(self, monitors: &Monitors) -> bool {
        match self {
            Monitor::Tokens => monitors.tokens,
            Monitor::Cost => monitors.cost,
            Monitor::BurnRate => monitors.burn_rate,
            Monitor::Steps => monitors.steps,
            Monitor::Rag => monitors.rag,
        }
    }

    /// The monitors a rule type reads; a custom rule's needs depend on its condition.
    pub const fn required_by(rule_type: RuleType) -> &'static [Monitor] {
        match rule_type {
            RuleType::TokenLimit => &[Monitor::Tokens],
            RuleType::CostLimit => &[Monitor::Cost],
            RuleType::StepLimit | RuleType::RateLimit => &[Monitor::Steps],
            RuleType::BurnRate => &[Monitor::BurnRate, Monitor::Cost],
            RuleType::ModelAllowlist | RuleType::Custom => &[],
        }
    }
}
