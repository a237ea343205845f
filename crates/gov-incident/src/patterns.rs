//! Incident patterns: what keeps going wrong. Recurring (policy, agent) pairs, bursts of incidents
//! within a time window, and the same step type breaching the same policy again. Pure: the caller
//! reads the facts and passes them in.

use std::collections::BTreeMap;

use gov_model::{IncidentId, PolicyId, Severity, Timestamp};
use time::Duration;

/// What the engine knows about one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFact {
    pub incident_id: IncidentId,
    pub created_at: Timestamp,
    pub policy_id: Option<PolicyId>,
    /// The agent of the incident's run (`runs.agent_id`).
    pub agent_id: Option<String>,
    /// The type of the step that breached (`aos_trace_steps.step_type` at `incidents.step_index`).
    pub step_type: Option<String>,
    pub incident_type: String,
    pub severity: Severity,
}

/// The engine's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternConfig {
    /// Incidents a (policy, agent) pair or a (policy, step type) pair needs to be a pattern (≥ 2).
    pub min_count: usize,
    /// Incidents that make a burst when they fall within `burst_window`.
    pub burst_count: usize,
    pub burst_window: Duration,
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig { min_count: 2, burst_count: 5, burst_window: Duration::minutes(10) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PatternKind {
    /// The same agent breached the same policy again.
    RecurringPolicyAgent,
    /// Many incidents close together in time.
    Burst,
    /// The same step type breached the same policy again.
    RepeatedStepType,
}

impl PatternKind {
    pub const ALL: [PatternKind; 3] =
        [PatternKind::RecurringPolicyAgent, PatternKind::Burst, PatternKind::RepeatedStepType];

    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::RecurringPolicyAgent => "recurring_policy_agent",
            PatternKind::Burst => "burst",
            PatternKind::RepeatedStepType => "repeated_step_type",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Deterministic: a hash of the kind and its key (for a burst, its first incident), so the same
    /// facts give the same id on every call.
    pub pattern_id: String,
    pub kind: PatternKind,
    pub title: String,
    pub policy_id: Option<PolicyId>,
    pub agent_id: Option<String>,
    pub step_type: Option<String>,
    pub count: usize,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Oldest first.
    pub incident_ids: Vec<IncidentId>,
}

/// Every pattern in `facts`, most incidents first (then the most recent, then by kind and id).
pub fn find(facts: &[IncidentFact], config: PatternConfig) -> Vec<Pattern> {
    let mut sorted: Vec<&IncidentFact> = facts.iter().collect();
    sorted.sort_by_key(|f| (f.created_at, f.incident_id));
    let min_count = config.min_count.max(2);

    let mut patterns = Vec::new();
    let mut pairs: BTreeMap<(PolicyId, &str), Vec<&IncidentFact>> = BTreeMap::new();
    let mut steps: BTreeMap<(PolicyId, &str), Vec<&IncidentFact>> = BTreeMap::new();
    for fact in &sorted {
        if let (Some(policy), Some(agent)) = (fact.policy_id, fact.agent_id.as_deref()) {
            pairs.entry((policy, agent)).or_default().push(fact);
        }
        if let (Some(policy), Some(step)) = (fact.policy_id, fact.step_type.as_deref()) {
            steps.entry((policy, step)).or_default().push(fact);
        }
    }
    for ((policy, agent), group) in pairs.into_iter().filter(|(_, g)| g.len() >= min_count) {
        let key = format!("{policy}\0{agent}");
        let title = format!("Agent {agent} breached policy {policy} {} times", group.len());
        let mut p = pattern(PatternKind::RecurringPolicyAgent, &key, title, &group);
        (p.policy_id, p.agent_id) = (Some(policy), Some(agent.to_owned()));
        patterns.push(p);
    }
    for ((policy, step), group) in steps.into_iter().filter(|(_, g)| g.len() >= min_count) {
        let key = format!("{policy}\0{step}");
        let title = format!("Step type {step} breached policy {policy} {} times", group.len());
        let mut p = pattern(PatternKind::RepeatedStepType, &key, title, &group);
        (p.policy_id, p.step_type) = (Some(policy), Some(step.to_owned()));
        patterns.push(p);
    }
    for burst in bursts(&sorted, config) {
        let key = burst[0].incident_id.to_string();
        let title = format!(
            "{} incidents within {} minutes",
            burst.len(),
            (burst[burst.len() - 1].created_at - burst[0].created_at).whole_minutes().max(1)
        );
        patterns.push(pattern(PatternKind::Burst, &key, title, burst));
    }
    patterns.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.kind.cmp(&b.kind))
            .then(a.pattern_id.cmp(&b.pattern_id))
    });
    patterns
}

/// Maximal runs of incidents (sorted by time) covered by windows of `burst_window` that each hold
/// at least `burst_count` incidents; overlapping windows join into one burst.
fn bursts<'a>(sorted: &'a [&'a IncidentFact], config: PatternConfig) -> Vec<&'a [&'a IncidentFact]> {
    let need = config.burst_count.max(2);
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut end = 0;
    for start in 0..sorted.len() {
        end = end.max(start);
        while end < sorted.len() && sorted[end].created_at - sorted[start].created_at <= config.burst_window {
            end += 1;
        }
        if end - start >= need {
            match found.last_mut() {
                Some(last) if start < last.1 => last.1 = end,
                _ => found.push((start, end)),
            }
        }
    }
    found.into_iter().map(|(s, e)| &sorted[s..e]).collect()
}

fn pattern(kind: PatternKind, key: &str, title: String, group: &[&IncidentFact]) -> Pattern {
    let hash = blake3::hash(format!("{}\0{key}", kind.as_str()).as_bytes());
    Pattern {
        pattern_id: hash.to_hex()[..32].to_owned(),
        kind,
        title,
        policy_id: None,
        agent_id: None,
        step_type: None,
        count: group.len(),
        first_seen: group[0].created_at,
        last_seen: group[group.len() - 1].created_at,
        incident_ids: group.iter().map(|f| f.incident_id).collect(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: Timestamp = datetime!(2026-01-20 10:00:00 UTC);

    /// An incident `minutes` after T0, of `policy` (index into `policies`), `agent`, `step`.
    fn fact(
        ids: &[IncidentId],
        policies: &[PolicyId],
        n: usize,
        minutes: i64,
        policy: Option<usize>,
        agent: Option<&str>,
        step: Option<&str>,
    ) -> IncidentFact {
        IncidentFact {
            incident_id: ids[n],
            created_at: T0 + Duration::minutes(minutes),
            policy_id: policy.map(|p| policies[p]),
            agent_id: agent.map(str::to_owned),
            step_type: step.map(str::to_owned),
            incident_type: "token_limit_exceeded".to_owned(),
            severity: Severity::High,
        }
    }

    /// (kind, count, incident indexes) of each pattern, in the engine's order.
    fn check(
        ids: &[IncidentId],
        facts: &[IncidentFact],
        config: PatternConfig,
        expected: &[(PatternKind, &[usize])],
    ) {
        let got = find(facts, config);
        let summary: Vec<(PatternKind, Vec<IncidentId>)> =
            got.iter().map(|p| (p.kind, p.incident_ids.clone())).collect();
        let want: Vec<(PatternKind, Vec<IncidentId>)> =
            expected.iter().map(|(k, idx)| (*k, idx.iter().map(|i| ids[*i]).collect())).collect();
        assert_eq!(summary, want);
        for p in &got {
            assert_eq!(p.count, p.incident_ids.len());
            assert!(p.first_seen <= p.last_seen);
            assert_eq!(p.pattern_id.len(), 32);
        }
        assert_eq!(got, find(facts, config), "deterministic");
    }

    #[test]
    fn patterns_table() {
        use PatternKind::*;
        let ids: Vec<IncidentId> = (0..12).map(|_| IncidentId::new()).collect();
        let pol: Vec<PolicyId> = (0..2).map(|_| PolicyId::new()).collect();
        let f = |n, m, p, a, s| fact(&ids, &pol, n, m, p, a, s);
        let cfg = PatternConfig::default();

        // Nothing: no facts, or one incident.
        check(&ids, &[], cfg, &[]);
        check(&ids, &[f(0, 0, Some(0), Some("a"), Some("llm_call"))], cfg, &[]);

        // The same agent breaching the same policy at the same step type, an hour apart: a
        // recurring pair and a repeated step type (each of the two incidents).
        let twice =
            [f(0, 0, Some(0), Some("a"), Some("llm_call")), f(1, 60, Some(0), Some("a"), Some("llm_call"))];
        check(&ids, &twice, cfg, &[(RecurringPolicyAgent, &[0, 1]), (RepeatedStepType, &[0, 1])]);
        // The facts' order does not matter.
        let reversed = [twice[1].clone(), twice[0].clone()];
        check(&ids, &reversed, cfg, &[(RecurringPolicyAgent, &[0, 1]), (RepeatedStepType, &[0, 1])]);
        // min_count 3: two are not enough.
        check(&ids, &twice, PatternConfig { min_count: 3, ..cfg }, &[]);
        // min_count below 2 counts as 2: one incident is never a pattern.
        check(&ids, &twice[..1], PatternConfig { min_count: 0, ..cfg }, &[]);

        // Different agents, same policy and step: only the step type repeats.
        let agents = [f(0, 0, Some(0), Some("a"), Some("tool")), f(1, 60, Some(0), Some("b"), Some("tool"))];
        check(&ids, &agents, cfg, &[(RepeatedStepType, &[0, 1])]);
        // Same agent, different policies: nothing; no policy at all: nothing.
        let policies =
            [f(0, 0, Some(0), Some("a"), Some("tool")), f(1, 60, Some(1), Some("a"), Some("tool"))];
        check(&ids, &policies, cfg, &[]);
        let none = [f(0, 0, None, Some("a"), Some("tool")), f(1, 60, None, Some("a"), Some("tool"))];
        check(&ids, &none, cfg, &[]);
        // Same agent and policy, unknown step: only the pair.
        let nostep = [f(0, 0, Some(0), Some("a"), None), f(1, 60, Some(0), Some("a"), None)];
        check(&ids, &nostep, cfg, &[(RecurringPolicyAgent, &[0, 1])]);

        // Bursts: 5 incidents within 10 minutes (inclusive), unrelated otherwise.
        let agent = |n: usize| ["a", "b", "c", "d", "e", "f", "g", "h"][n];
        let spread = |minutes: &[i64]| -> Vec<IncidentFact> {
            minutes
                .iter()
                .enumerate()
                .map(|(n, m)| fact(&ids, &pol, n, *m, None, Some(agent(n)), None))
                .collect()
        };
        check(&ids, &spread(&[0, 2, 4, 6, 10]), cfg, &[(Burst, &[0, 1, 2, 3, 4])]);
        check(&ids, &spread(&[0, 2, 4, 6, 11]), cfg, &[]);
        check(&ids, &spread(&[0, 1, 2, 3]), cfg, &[]);
        // Overlapping windows join: 0..=10 holds 5, 5..=15 holds 5: one burst of 7.
        check(&ids, &spread(&[0, 3, 5, 8, 10, 12, 15]), cfg, &[(Burst, &[0, 1, 2, 3, 4, 5, 6])]);
        // Apart: two bursts, the most recent first on equal counts.
        check(
            &ids,
            &spread(&[0, 1, 2, 3, 4, 100, 101, 102]),
            PatternConfig { burst_count: 3, ..cfg },
            &[(Burst, &[0, 1, 2, 3, 4]), (Burst, &[5, 6, 7])],
        );
        check(
            &ids,
            &spread(&[0, 1, 2, 100, 101, 102]),
            PatternConfig { burst_count: 3, ..cfg },
            &[(Burst, &[3, 4, 5]), (Burst, &[0, 1, 2])],
        );

        // All three at once: more incidents first.
        let mixed = [
            f(0, 0, Some(0), Some("a"), Some("llm_call")),
            f(1, 1, Some(0), Some("a"), Some("llm_call")),
            f(2, 2, Some(0), Some("b"), Some("llm_call")),
            f(3, 3, Some(1), Some("c"), Some("tool")),
            f(4, 4, Some(1), Some("d"), Some("input")),
        ];
        check(
            &ids,
            &mixed,
            cfg,
            &[(Burst, &[0, 1, 2, 3, 4]), (RepeatedStepType, &[0, 1, 2]), (RecurringPolicyAgent, &[0, 1])],
        );
    }

    #[test]
    fn pattern_ids_depend_on_kind_and_key_only() {
        let ids: Vec<IncidentId> = (0..4).map(|_| IncidentId::new()).collect();
        let pol = [PolicyId::new()];
        let a = find(
            &[
                fact(&ids, &pol, 0, 0, Some(0), Some("a"), None),
                fact(&ids, &pol, 1, 60, Some(0), Some("a"), None),
            ],
            PatternConfig::default(),
        );
        let b = find(
            &[
                fact(&ids, &pol, 2, 0, Some(0), Some("a"), None),
                fact(&ids, &pol, 3, 90, Some(0), Some("a"), None),
                fact(&ids, &pol, 0, 120, Some(0), Some("a"), None),
            ],
            PatternConfig::default(),
        );
        assert_eq!(a[0].pattern_id, b[0].pattern_id);
        assert!(a[0].title.contains("2 times") && b[0].title.contains("3 times"));
    }
}
