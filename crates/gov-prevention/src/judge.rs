//! The verdict on one step, from what the step path read about its run: what stops it before
//! the policies are asked (the gate), else the policies' decision, shadowed when the tenant only
//! observes. Pure: the caller reads the gate, totals, rate counts and overrides, and writes what
//! the verdict implies.

use gov_model::{AgentKill, EnforcementMode, Outcome, PolicyId, PolicyViolationType, RunTerminationReason};
use gov_policy::CompiledSnapshot;

use crate::decision::Decision;
use crate::evaluate::evaluate_step;
use crate::signals::{PolicyOverride, RateCount, RunState, StepSignals};

/// What the step meets first, in the order the step path checks: the tenant's kill switch, a
/// kill of the run's agent, the verification of the run's snapshot; else the policies decide.
#[derive(Debug, Clone, Copy)]
pub enum Gate<'a> {
    /// The snapshot verified: its policies decide.
    Open(&'a CompiledSnapshot),
    /// The kill switch is engaged; `by` and `reason` are those of the last lever change.
    KillSwitch {
        by: &'a str,
        reason: &'a str,
    },
    AgentKilled(&'a AgentKill),
    /// The run's snapshot failed verification, for this reason.
    SnapshotFailed(&'a str),
}

/// Everything the judge needs about a step's run besides the step itself.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    pub gate: Gate<'a>,
    pub run: RunState<'a>,
    /// The counts of the snapshot's rate checks, this step included.
    pub rates: &'a [RateCount],
    pub overrides: &'a [PolicyOverride],
    pub enforcement: EnforcementMode,
}

/// A stop that does not come from evaluating the policies.
#[derive(Debug, Clone, PartialEq)]
pub struct ForcedStop {
    pub violation_type: PolicyViolationType,
    pub termination: RunTerminationReason,
    pub policy_id: Option<PolicyId>,
    pub reason: String,
    /// Whether this stop opens its own incident (a killed agent's incident is the kill's).
    pub opens_incident: bool,
}

/// What was decided about a step.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a verdict lives for one step, and the large variant is the common one: boxing it would allocate on every step"
)]
pub enum Verdict {
    /// The policies decided. `shadowed`: the decision blocks, but the tenant observes only
    /// (shadow mode), so the step is answered ALLOW and the block is recorded, not enforced.
    Judged { decision: Decision, shadowed: bool },
    /// The gate stopped the step.
    Forced(ForcedStop),
}

/// Judges one step.
pub fn judge(context: &StepContext<'_>, step: &StepSignals<'_>) -> Verdict {
    let snapshot = match context.gate {
        Gate::Open(snapshot) => snapshot,
        Gate::KillSwitch { by, reason } => {
            return Verdict::Forced(ForcedStop {
                violation_type: PolicyViolationType::KillSwitch,
                termination: RunTerminationReason::KillSwitch,
                policy_id: None,
                reason: format!(
                    "the kill switch is engaged (last lever change: {by}: {reason}): every run stops at its next step"
                ),
                opens_incident: true,
            });
        }
        Gate::AgentKilled(kill) => {
            return Verdict::Forced(ForcedStop {
                violation_type: PolicyViolationType::AgentKilled,
                termination: RunTerminationReason::AgentKilled,
                policy_id: kill.policy_id,
                reason: format!("agent {} was killed in run {}: {}", kill.agent_id, kill.run_id, kill.reason),
                opens_incident: false,
            });
        }
        Gate::SnapshotFailed(reason) => {
            return Verdict::Forced(ForcedStop {
                violation_type: PolicyViolationType::SnapshotIntegrity,
                termination: RunTerminationReason::SnapshotIntegrity,
                policy_id: None,
                reason: reason.to_owned(),
                opens_incident: true,
            });
        }
    };
    let decision = evaluate_step(snapshot, &context.run, step, context.rates, context.overrides);
    let shadowed = decision.outcome == Outcome::Block && context.enforcement != EnforcementMode::Enforce;
    Verdict::Judged { decision, shadowed }
}

impl Verdict {
    /// What the step is answered: ALLOW, WARN or BLOCK.
    pub fn outcome(&self) -> Outcome {
        match self {
            Verdict::Judged { shadowed: true, .. } => Outcome::Allow,
            Verdict::Judged { decision, .. } => decision.outcome,
            Verdict::Forced(_) => Outcome::Block,
        }
    }

    /// In shadow mode, what enforcement would have answered (when it differs).
    pub fn shadow_outcome(&self) -> Option<Outcome> {
        matches!(self, Verdict::Judged { shadowed: true, .. }).then_some(Outcome::Block)
    }

    /// Whether the answer is enforced (everything but a shadowed block).
    pub fn enforced(&self) -> bool {
        self.shadow_outcome().is_none()
    }

    /// The policies' decision, when they were asked.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Verdict::Judged { decision, .. } => Some(decision),
            Verdict::Forced(_) => None,
        }
    }

    pub fn forced(&self) -> Option<&ForcedStop> {
        match self {
            Verdict::Forced(stop) => Some(stop),
            Verdict::Judged { .. } => None,
        }
    }

    /// Why: the forced stop's reason, else the winning finding's, else the first NEAR's.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Forced(stop) => Some(&stop.reason),
            Verdict::Judged { decision, .. } => {
                decision.winner.as_ref().or(decision.near.first()).map(|f| f.reason.as_str())
            }
        }
    }

    /// The policy behind [`Verdict::reason`], when one is.
    pub fn policy_id(&self) -> Option<PolicyId> {
        match self {
            Verdict::Forced(stop) => stop.policy_id,
            Verdict::Judged { decision, .. } => {
                decision.winner.as_ref().or(decision.near.first()).map(|f| f.policy_id)
            }
        }
    }

    /// Whether the recorded step keeps the decision's detail (policy and reason): anything but a
    /// plain ALLOW, shadowed blocks included (they keep their evidence).
    pub fn noted(&self) -> bool {
        self.outcome() != Outcome::Allow || !self.enforced()
    }
}

#[cfg(test)]
mod tests {
    use gov_model::{
        AgentKill, BreachAction, EnforcementMode, Outcome, PolicyId, PolicyViolationType, RunId,
        RunTerminationReason, TenantId,
    };
    use gov_policy::CompiledSnapshot;

    use super::{Gate, StepContext, Verdict, judge};
    use crate::fixture::{policy, snapshot as compile, with};
    use crate::signals::{RunState, StepSignals};

    /// One token limit of 100 with `action`.
    fn snapshot(action: BreachAction) -> CompiledSnapshot {
        let limit = with(policy(1, gov_model::RuleType::TokenLimit, Some(100.0)), |s| s.action = action);
        compile(&[limit], gov_model::ConflictStrategy::MostRestrictive)
    }

    fn context<'a>(gate: Gate<'a>, enforcement: EnforcementMode) -> StepContext<'a> {
        StepContext {
            gate,
            run: RunState { agent_id: "a", tokens_used: 90, ..RunState::default() },
            rates: &[],
            overrides: &[],
            enforcement,
        }
    }

    #[test]
    fn verdicts() {
        let (stop, warn) = (snapshot(BreachAction::Stop), snapshot(BreachAction::Warn));
        let kill = AgentKill {
            tenant_id: TenantId::new(),
            agent_id: "a".into(),
            run_id: RunId::new(),
            policy_id: Some(PolicyId::new()),
            reason: "looped".into(),
            killed_at: gov_model::Timestamp::UNIX_EPOCH,
        };
        let (enforce, shadow) = (EnforcementMode::Enforce, EnforcementMode::Shadow);
        let breach = StepSignals { step_type: "llm_call", tokens: 20, ..StepSignals::default() };
        let small = StepSignals { step_type: "llm_call", tokens: 1, ..StepSignals::default() };
        // gate, enforcement, step -> outcome, shadow outcome, enforced, forced violation, opens incident
        type Row<'a> = (
            Gate<'a>,
            EnforcementMode,
            StepSignals<'a>,
            Outcome,
            Option<Outcome>,
            Option<PolicyViolationType>,
            bool,
        );
        let rows: [Row<'_>; 8] = [
            (Gate::Open(&stop), enforce, small, Outcome::Allow, None, None, false),
            (Gate::Open(&stop), enforce, breach, Outcome::Block, None, None, false),
            (Gate::Open(&stop), shadow, breach, Outcome::Allow, Some(Outcome::Block), None, false),
            (Gate::Open(&warn), enforce, breach, Outcome::Warn, None, None, false),
            // A WARN is answered WARN in shadow mode too: only blocks are shadowed.
            (Gate::Open(&warn), shadow, breach, Outcome::Warn, None, None, false),
            (
                Gate::KillSwitch { by: "ops", reason: "drill" },
                shadow,
                small,
                Outcome::Block,
                None,
                Some(PolicyViolationType::KillSwitch),
                true,
            ),
            (
                Gate::AgentKilled(&kill),
                enforce,
                small,
                Outcome::Block,
                None,
                Some(PolicyViolationType::AgentKilled),
                false,
            ),
            (
                Gate::SnapshotFailed("hash differs"),
                enforce,
                small,
                Outcome::Block,
                None,
                Some(PolicyViolationType::SnapshotIntegrity),
                true,
            ),
        ];
        for (i, (gate, enforcement, step, outcome, shadow_outcome, forced, opens)) in
            rows.into_iter().enumerate()
        {
            let verdict = judge(&context(gate, enforcement), &step);
            assert_eq!(verdict.outcome(), outcome, "row {i}");
            assert_eq!(verdict.shadow_outcome(), shadow_outcome, "row {i}");
            assert_eq!(verdict.enforced(), shadow_outcome.is_none(), "row {i}");
            assert_eq!(verdict.forced().map(|f| f.violation_type), forced, "row {i}");
            assert_eq!(verdict.forced().is_some_and(|f| f.opens_incident), opens, "row {i}");
            assert_eq!(verdict.decision().is_some(), forced.is_none(), "row {i}");
            assert_eq!(verdict.noted(), outcome != Outcome::Allow || shadow_outcome.is_some(), "row {i}");
        }
    }

    #[test]
    fn forced_stops_say_why_and_name_their_policy() {
        let kill = AgentKill {
            tenant_id: TenantId::new(),
            agent_id: "bot".into(),
            run_id: RunId::new(),
            policy_id: Some(PolicyId::new()),
            reason: "looped".into(),
            killed_at: gov_model::Timestamp::UNIX_EPOCH,
        };
        let small = StepSignals { step_type: "llm_call", tokens: 1, ..StepSignals::default() };
        let killed = judge(&context(Gate::AgentKilled(&kill), EnforcementMode::Enforce), &small);
        assert_eq!(killed.policy_id(), kill.policy_id);
        assert_eq!(
            killed.reason(),
            Some(format!("agent bot was killed in run {}: looped", kill.run_id).as_str())
        );
        assert_eq!(killed.forced().map(|f| f.termination), Some(RunTerminationReason::AgentKilled));
        let switched = judge(
            &context(Gate::KillSwitch { by: "ops", reason: "drill" }, EnforcementMode::Enforce),
            &small,
        );
        assert_eq!(
            switched.reason(),
            Some(
                "the kill switch is engaged (last lever change: ops: drill): every run stops at its next step"
            )
        );
        assert!(matches!(switched, Verdict::Forced(ref f) if f.policy_id.is_none()));
    }
}
