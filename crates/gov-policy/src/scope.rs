//! Scope resolution: whether a policy governs a run, from the run's identity.

use gov_model::{PolicySpec, PolicyStatus, ScopeType};

/// Who a run is, as far as policy scopes care.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunAttributes {
    pub agent_id: String,
    pub api_key_id: Option<String>,
    pub human_actor_id: Option<String>,
}

/// Whether an active policy with this spec governs the run. Disabled and archived policies
/// govern nothing.
pub fn applies_to(spec: &PolicySpec, run: &RunAttributes) -> bool {
    if spec.status != PolicyStatus::Active {
        return false;
    }
    let listed =
        |ids: &[String], id: Option<&str>| id.is_some_and(|id| ids.iter().any(|listed| listed == id));
    match spec.scope.kind() {
        ScopeType::AllRuns => true,
        ScopeType::Agent => listed(&spec.scope.agent_ids, Some(&run.agent_id)),
        ScopeType::ApiKey => listed(&spec.scope.api_key_ids, run.api_key_id.as_deref()),
        ScopeType::HumanActor => listed(&spec.scope.human_actor_ids, run.human_actor_id.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use gov_model::PolicyScope;

    use super::*;
    use crate::testing::spec;

    fn check(status: PolicyStatus, scope: PolicyScope, expected: bool) {
        let run = RunAttributes {
            agent_id: "agent-1".into(),
            api_key_id: Some("key-1".into()),
            human_actor_id: Some("alice".into()),
        };
        let mut spec = spec(gov_model::RuleType::TokenLimit);
        spec.status = status;
        spec.scope = scope.clone();
        assert_eq!(applies_to(&spec, &run), expected, "{status} {scope:?}");
    }

    fn scope(kind: Option<ScopeType>, agents: &[&str], keys: &[&str], humans: &[&str]) -> PolicyScope {
        let owned = |ids: &[&str]| ids.iter().map(|id| id.to_string()).collect();
        PolicyScope {
            scope_type: kind,
            agent_ids: owned(agents),
            api_key_ids: owned(keys),
            human_actor_ids: owned(humans),
        }
    }

    #[test]
    fn resolves_scopes() {
        use PolicyStatus::*;
        use ScopeType::*;
        check(Active, scope(None, &[], &[], &[]), true);
        check(Active, scope(Some(AllRuns), &[], &[], &[]), true);
        check(Disabled, scope(Some(AllRuns), &[], &[], &[]), false);
        check(Archived, scope(Some(AllRuns), &[], &[], &[]), false);
        check(Active, scope(Some(Agent), &["agent-0", "agent-1"], &[], &[]), true);
        check(Active, scope(Some(Agent), &["agent-2"], &["key-1"], &["alice"]), false);
        check(Active, scope(Some(ApiKey), &[], &["key-1"], &[]), true);
        check(Active, scope(Some(ApiKey), &["agent-1"], &["key-2"], &[]), false);
        check(Active, scope(Some(HumanActor), &[], &[], &["alice"]), true);
        check(Active, scope(Some(HumanActor), &[], &[], &["bob"]), false);
    }

    #[test]
    fn a_run_without_a_key_or_human_matches_no_such_scope() {
        let run = RunAttributes { agent_id: "agent-1".into(), api_key_id: None, human_actor_id: None };
        let mut spec = spec(gov_model::RuleType::TokenLimit);
        spec.scope = scope(Some(ScopeType::ApiKey), &[], &[""], &[]);
        assert!(!applies_to(&spec, &run));
        spec.scope = scope(Some(ScopeType::HumanActor), &[], &[], &[""]);
        assert!(!applies_to(&spec, &run));
    }
}
