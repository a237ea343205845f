//! Arbitration: numeric checks of the same signal (metric, window, limit scope) are one conflict
//! group, reconciled into one effective check by the tenant's conflict strategy.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use gov_model::{BreachAction, ConflictStrategy, LimitScope, PolicyId, Severity};

use crate::check::{ChainEntry, Check, CheckKind, Metric};

/// How a conflict group resolves: which entry wins and the values that apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    /// Index of the winning entry; the effective check reports its policy.
    pub winner: usize,
    pub limit: f64,
    pub action: BreachAction,
    pub severity: Severity,
    pub near_pct: f64,
    pub ambiguous: bool,
}

/// Resolves a conflict group; `None` when it is empty.
///
/// - MOST_RESTRICTIVE: the smallest limit, the harshest action, the highest severity and the
///   lowest NEAR percentage of the group apply; the winner is the entry with the smallest limit
///   (ties: lower priority number, then check id).
/// - EXPLICIT_PRIORITY: the entry with the lowest priority number applies as it is (ties: smaller
///   limit, then check id).
/// - FAIL_CLOSED: like EXPLICIT_PRIORITY, unless entries of two or more policies share the lowest
///   priority number and differ in limit or action. Then nobody decided, so the strictest reading
///   holds: the smallest tied limit, and at least STOP.
///
/// Checks of one policy never conflict with each other: a policy's own smaller limit simply wins.
pub fn arbitrate(strategy: ConflictStrategy, entries: &[ChainEntry]) -> Option<Resolution> {
    let first = (0..entries.len()).min_by(|a, b| by_priority(&entries[*a], &entries[*b]))?;
    match strategy {
        ConflictStrategy::ExplicitPriority => Some(alone(entries, first)),
        ConflictStrategy::MostRestrictive => {
            let all: Vec<usize> = (0..entries.len()).collect();
            Some(strictest(entries, &all, false))
        }
        ConflictStrategy::FailClosed => {
            let lead = &entries[first];
            let tied: Vec<usize> =
                (0..entries.len()).filter(|i| entries[*i].priority == lead.priority).collect();
            let disagree = tied.iter().any(|i| entries[*i].policy_id != lead.policy_id)
                && tied
                    .iter()
                    .any(|i| limit_of(&entries[*i]) != limit_of(lead) || entries[*i].action != lead.action);
            if disagree { Some(strictest(entries, &tied, true)) } else { Some(alone(entries, first)) }
        }
    }
}

/// The strictest reading of `members`: smallest limit (its entry wins), harshest action, highest
/// severity, lowest NEAR percentage; an ambiguous tie is also at least STOP.
fn strictest(entries: &[ChainEntry], members: &[usize], ambiguous: bool) -> Resolution {
    let pick = |i: &usize| &entries[*i];
    let winner =
        members.iter().copied().min_by(|a, b| by_limit(&entries[*a], &entries[*b])).unwrap_or_default();
    let action = members.iter().map(|i| pick(i).action).max().unwrap_or(BreachAction::Stop);
    Resolution {
        winner,
        limit: limit_of(&entries[winner]),
        action: if ambiguous { action.max(BreachAction::Stop) } else { action },
        severity: members.iter().map(|i| pick(i).severity).max().unwrap_or(Severity::Critical),
        near_pct: members.iter().map(|i| pick(i).near_pct).min_by(f64::total_cmp).unwrap_or_default(),
        ambiguous,
    }
}

fn alone(entries: &[ChainEntry], winner: usize) -> Resolution {
    let entry = &entries[winner];
    Resolution {
        winner,
        limit: limit_of(entry),
        action: entry.action,
        severity: entry.severity,
        near_pct: entry.near_pct,
        ambiguous: false,
    }
}

fn by_limit(a: &ChainEntry, b: &ChainEntry) -> Ordering {
    limit_of(a).total_cmp(&limit_of(b)).then(a.priority.cmp(&b.priority)).then(a.check_id.cmp(&b.check_id))
}

fn by_priority(a: &ChainEntry, b: &ChainEntry) -> Ordering {
    a.priority.cmp(&b.priority).then(limit_of(a).total_cmp(&limit_of(b))).then(a.check_id.cmp(&b.check_id))
}

/// The group as the precedence chain lists it: winner first, then by (priority, limit, check id).
pub fn chain_order(entries: &[ChainEntry], winner: usize) -> Vec<ChainEntry> {
    let mut chain = entries.to_vec();
    let first = chain.remove(winner);
    chain.sort_by(by_priority);
    chain.insert(0, first);
    chain
}

/// Merges the numeric checks into one effective check per conflict group; allowlist and custom
/// checks stand alone. The result is sorted by check id.
pub(crate) fn effective_checks(strategy: ConflictStrategy, checks: Vec<Check>) -> Vec<Check> {
    let mut groups: BTreeMap<(Metric, Option<i64>, LimitScope), Vec<Check>> = BTreeMap::new();
    let mut effective = Vec::new();
    for check in checks {
        match check.kind {
            CheckKind::Numeric { metric, window_seconds, limit_scope, .. } => {
                groups.entry((metric, window_seconds, limit_scope)).or_default().push(check);
            }
            CheckKind::Allowlist { .. } | CheckKind::Custom { .. } => effective.push(check),
        }
    }
    effective.extend(groups.into_values().filter_map(|group| merge(strategy, group)));
    effective.sort_by(|a, b| a.check_id.cmp(&b.check_id));
    effective
}

fn merge(strategy: ConflictStrategy, mut group: Vec<Check>) -> Option<Check> {
    let entries: Vec<ChainEntry> = group.iter().map(Check::entry).collect();
    let resolution = arbitrate(strategy, &entries)?;
    let chain = chain_order(&entries, resolution.winner);
    let mut winner = group.swap_remove(resolution.winner);
    if let CheckKind::Numeric { limit, .. } = &mut winner.kind {
        *limit = resolution.limit;
    }
    winner.action = resolution.action;
    winner.severity = resolution.severity;
    winner.near_pct = resolution.near_pct;
    winner.ambiguous = resolution.ambiguous;
    winner.shadowed = shadowed(&chain);
    winner.precedence_chain = chain;
    Some(winner)
}

/// The policies of a chain other than its winner's, sorted, each once.
pub(crate) fn shadowed(chain: &[ChainEntry]) -> Vec<PolicyId> {
    let Some(winner) = chain.first() else { return Vec::new() };
    let mut ids: Vec<PolicyId> =
        chain.iter().map(|e| e.policy_id).filter(|id| *id != winner.policy_id).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Entries without a limit (never in a numeric group) sort last.
fn limit_of(entry: &ChainEntry) -> f64 {
    entry.limit.unwrap_or(f64::INFINITY)
}

#[cfg(test)]
mod tests {
    use gov_model::{BreachAction::*, ConflictStrategy::*, Severity::*};

    use super::*;
    use crate::testing::policy_id;

    /// `(check id, policy number, priority, limit, action, severity, near pct)`
    type Row = (&'static str, u64, i32, f64, BreachAction, Severity, f64);

    fn entries(rows: &[Row]) -> Vec<ChainEntry> {
        rows.iter()
            .map(|&(check_id, policy, priority, limit, action, severity, near_pct)| ChainEntry {
                check_id: check_id.to_owned(),
                policy_id: policy_id(policy),
                policy_name: format!("policy {policy}"),
                policy_version: 1,
                scope_type: gov_model::ScopeType::AllRuns,
                priority,
                limit: Some(limit),
                action,
                severity,
                near_pct,
            })
            .collect()
    }

    /// Expects `(winner check id, limit, action, severity, near pct, ambiguous)`.
    fn check(
        strategy: ConflictStrategy,
        rows: &[Row],
        expected: (&str, f64, BreachAction, Severity, f64, bool),
    ) {
        let entries = entries(rows);
        let r = arbitrate(strategy, &entries).unwrap();
        let actual =
            (entries[r.winner].check_id.as_str(), r.limit, r.action, r.severity, r.near_pct, r.ambiguous);
        assert_eq!(actual, expected, "{strategy} {rows:?}");
    }

    const A: Row = ("a", 1, 100, 1000.0, Warn, Low, 80.0);
    const B: Row = ("b", 2, 50, 500.0, Stop, Medium, 90.0);
    const C: Row = ("c", 3, 10, 2000.0, Kill, High, 70.0);

    #[test]
    fn most_restrictive_takes_the_smallest_limit_and_the_harshest_of_everything() {
        check(MostRestrictive, &[A, B, C], ("b", 500.0, Kill, High, 70.0, false));
        check(MostRestrictive, &[A], ("a", 1000.0, Warn, Low, 80.0, false));
        // Equal limits: the lower priority number names the winner.
        check(
            MostRestrictive,
            &[("a", 1, 100, 500.0, Warn, Low, 80.0), B],
            ("b", 500.0, Stop, Medium, 80.0, false),
        );
        check(
            MostRestrictive,
            &[("z", 1, 50, 500.0, Warn, Low, 80.0), B],
            ("b", 500.0, Stop, Medium, 80.0, false),
        );
    }

    #[test]
    fn explicit_priority_takes_the_first_as_it_is() {
        check(ExplicitPriority, &[A, B, C], ("c", 2000.0, Kill, High, 70.0, false));
        check(ExplicitPriority, &[A, B], ("b", 500.0, Stop, Medium, 90.0, false));
        check(
            ExplicitPriority,
            &[("x", 1, 10, 900.0, Warn, Low, 80.0), ("y", 2, 10, 800.0, Warn, Low, 85.0)],
            ("y", 800.0, Warn, Low, 85.0, false),
        );
    }

    #[test]
    fn fail_closed_is_explicit_priority_until_differing_policies_tie() {
        check(FailClosed, &[A, B, C], ("c", 2000.0, Kill, High, 70.0, false));
        let a = ("a", 1, 10, 1000.0, Warn, Low, 80.0);
        let b = ("b", 2, 10, 500.0, Pause, Medium, 90.0);
        let far = ("c", 3, 50, 100.0, Kill, Critical, 10.0);
        check(FailClosed, &[a, b, far], ("b", 500.0, Stop, Medium, 80.0, true));
        check(FailClosed, &[a, ("k", 2, 10, 1000.0, Kill, Low, 80.0)], ("a", 1000.0, Kill, Low, 80.0, true));
        // A tie that agrees on limit and action is no ambiguity.
        check(
            FailClosed,
            &[("b", 1, 10, 500.0, Warn, Low, 80.0), ("a", 2, 10, 500.0, Warn, High, 90.0)],
            ("a", 500.0, Warn, High, 90.0, false),
        );
        // Two limits of one policy never conflict: its smaller one applies with its own action.
        check(
            FailClosed,
            &[("p:1", 1, 10, 900.0, Warn, Low, 80.0), ("p:2", 1, 10, 800.0, Warn, Low, 80.0)],
            ("p:2", 800.0, Warn, Low, 80.0, false),
        );
    }

    #[test]
    fn nothing_to_arbitrate_resolves_to_nothing() {
        assert_eq!(arbitrate(MostRestrictive, &[]), None);
        assert_eq!(arbitrate(FailClosed, &[]), None);
    }

    #[test]
    fn the_chain_lists_the_winner_then_by_priority_limit_and_id() {
        let entries =
            entries(&[A, B, C, ("d", 4, 50, 400.0, Warn, Low, 80.0), ("e", 5, 50, 400.0, Warn, Low, 80.0)]);
        let chain = chain_order(&entries, 1);
        let ids: Vec<&str> = chain.iter().map(|e| e.check_id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "d", "e", "a"]);
        assert_eq!(shadowed(&chain), [policy_id(1), policy_id(3), policy_id(4), policy_id(5)]);
    }
}
