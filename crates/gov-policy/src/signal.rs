//! The signals a custom condition may read (`step.*`, `run.*`), their CEL types and the monitor
//! each needs. Run signals are the run's values after the step is applied.

use crate::monitor::Monitor;

/// One CEL variable of a custom condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    StepType,
    StepTokens,
    StepInputTokens,
    StepOutputTokens,
    StepDurationMs,
    StepRetrievedDocuments,
    StepCostCents,
    StepModel,
    RunTokensUsed,
    RunStepCount,
    RunTotalCostCents,
    RunElapsedSeconds,
    RunBurnRate,
    RunAgentId,
    RunHumanActorId,
}

impl Signal {
    pub const ALL: [Signal; 15] = [
        Signal::StepType,
        Signal::StepTokens,
        Signal::StepInputTokens,
        Signal::StepOutputTokens,
        Signal::StepDurationMs,
        Signal::StepRetrievedDocuments,
        Signal::StepCostCents,
        Signal::StepModel,
        Signal::RunTokensUsed,
        Signal::RunStepCount,
        Signal::RunTotalCostCents,
        Signal::RunElapsedSeconds,
        Signal::RunBurnRate,
        Signal::RunAgentId,
        Signal::RunHumanActorId,
    ];

    /// The variable as written in CEL, e.g. `step.tokens`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::StepType => "step.step_type",
            Signal::StepTokens => "step.tokens",
            Signal::StepInputTokens => "step.input_tokens",
            Signal::StepOutputTokens => "step.output_tokens",
            Signal::StepDurationMs => "step.duration_ms",
            Signal::StepRetrievedDocuments => "step.retrieved_documents",
            Signal::StepCostCents => "step.cost_cents",
            Signal::StepModel => "step.model",
            Signal::RunTokensUsed => "run.tokens_used",
            Signal::RunStepCount => "run.step_count",
            Signal::RunTotalCostCents => "run.total_cost_cents",
            Signal::RunElapsedSeconds => "run.elapsed_seconds",
            Signal::RunBurnRate => "run.burn_rate",
            Signal::RunAgentId => "run.agent_id",
            Signal::RunHumanActorId => "run.human_actor_id",
        }
    }

    /// The field name within its object (`tokens` of `step.tokens`).
    pub fn field(self) -> &'static str {
        let name = self.name();
        name.split_once('.').map_or(name, |(_, field)| field)
    }

    pub fn is_step(self) -> bool {
        self.name().starts_with("step.")
    }

    /// The signal of this CEL name (`step.tokens`), if any.
    pub fn named(name: &str) -> Option<Signal> {
        Signal::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The signal `object.field` names, if any.
    pub fn find(object: &str, field: &str) -> Option<Signal> {
        Signal::ALL
            .iter()
            .copied()
            .find(|s| s.name().strip_prefix(object).and_then(|r| r.strip_prefix('.')) == Some(field))
    }

    /// The monitor that must be on for a condition to read this signal; `None`: always readable.
    pub const fn monitor(self) -> Option<Monitor> {
        match self {
            Signal::StepTokens
            | Signal::StepInputTokens
            | Signal::StepOutputTokens
            | Signal::RunTokensUsed => Some(Monitor::Tokens),
            Signal::StepCostCents | Signal::RunTotalCostCents => Some(Monitor::Cost),
            Signal::RunBurnRate => Some(Monitor::BurnRate),
            Signal::RunStepCount | Signal::StepType | Signal::StepDurationMs | Signal::RunElapsedSeconds => {
                Some(Monitor::Steps)
            }
            Signal::StepRetrievedDocuments => Some(Monitor::Rag),
            Signal::StepModel | Signal::RunAgentId | Signal::RunHumanActorId => None,
        }
    }
}

/// The values of every signal for one step. Absent strings are `""`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SignalValues<'a> {
    pub step_type: &'a str,
    pub step_tokens: i64,
    pub step_input_tokens: i64,
    pub step_output_tokens: i64,
    pub step_duration_ms: i64,
    pub step_retrieved_documents: i64,
    pub step_cost_cents: f64,
    pub step_model: &'a str,
    pub run_tokens_used: i64,
    pub run_step_count: i64,
    pub run_total_cost_cents: f64,
    pub run_elapsed_seconds: f64,
    pub run_burn_rate: f64,
    pub run_agent_id: &'a str,
    pub run_human_actor_id: &'a str,
}

/// A signal's value, typed as CEL sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalValue<'a> {
    Int(i64),
    Double(f64),
    String(&'a str),
}

impl<'a> SignalValues<'a> {
    pub fn get(&self, signal: Signal) -> SignalValue<'a> {
        use SignalValue::{Double, Int, String};
        match signal {
            Signal::StepType => String(self.step_type),
            Signal::StepTokens => Int(self.step_tokens),
            Signal::StepInputTokens => Int(self.step_input_tokens),
            Signal::StepOutputTokens => Int(self.step_output_tokens),
            Signal::StepDurationMs => Int(self.step_duration_ms),
            Signal::StepRetrievedDocuments => Int(self.step_retrieved_documents),
            Signal::StepCostCents => Double(self.step_cost_cents),
            Signal::StepModel => String(self.step_model),
            Signal::RunTokensUsed => Int(self.run_tokens_used),
            Signal::RunStepCount => Int(self.run_step_count),
            Signal::RunTotalCostCents => Double(self.run_total_cost_cents),
            Signal::RunElapsedSeconds => Double(self.run_elapsed_seconds),
            Signal::RunBurnRate => Double(self.run_burn_rate),
            Signal::RunAgentId => String(self.run_agent_id),
            Signal::RunHumanActorId => String(self.run_human_actor_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_is_found_by_its_own_name_and_no_other() {
        for signal in &Signal::ALL {
            let (object, field) = signal.name().split_once('.').unwrap();
            assert_eq!(Signal::find(object, field), Some(*signal));
            assert_eq!(Signal::named(signal.name()), Some(*signal));
            assert_eq!(Signal::ALL[*signal as usize], *signal, "ALL is in declaration order");
            assert_eq!(signal.field(), field);
            assert_eq!(signal.is_step(), object == "step");
        }
        for (object, field) in [("step", "nope"), ("run", "tokens"), ("stepx", "tokens"), ("ste", "p.tokens")]
        {
            assert_eq!(Signal::find(object, field), None, "{object}.{field}");
        }
    }
}
