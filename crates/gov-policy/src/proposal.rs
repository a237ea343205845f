//! The policy proposal workflow: pending → approved | rejected (both final), only the proposer
//! edits, and nobody reviews their own proposal; approval needs the target policy unchanged.

use gov_model::ProposalStatus;

/// What a caller wants to do with a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalAction {
    Edit,
    Approve,
    Reject,
}

/// The policy a proposal targets, as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalTarget {
    /// The proposal creates a new policy.
    NewPolicy,
    /// The target policy's current version, and whether it is archived.
    Existing { version: i32, archived: bool },
}

/// The facts a decision depends on.
#[derive(Debug, Clone, Copy)]
pub struct ProposalCase<'a> {
    pub status: ProposalStatus,
    pub proposer: &'a str,
    /// The calling principal's actor id (`api_key:<id>`), never a name the client supplies.
    pub actor: &'a str,
    /// The target policy's version when the proposal was made.
    pub base_version: Option<i32>,
    pub target: ProposalTarget,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProposalRefusal {
    #[error("the proposal is {0}: it cannot change again")]
    Closed(ProposalStatus),
    #[error("a proposal cannot be reviewed by its proposer")]
    SelfReview,
    #[error("only the proposer can edit a proposal")]
    NotProposer,
    /// The target policy changed (a new version, or archived) since the proposal was made.
    #[error(
        "the target policy changed since the proposal was made (version {base_version:?} -> {current:?})"
    )]
    Stale { base_version: Option<i32>, current: Option<i32> },
}

/// The status after `action`, or why it is refused. Checked in this order: a final proposal
/// changes no more; edits are the proposer's, reviews anyone else's; an approval needs the
/// target policy still at `base_version` and not archived. Rejecting a stale proposal is allowed.
pub fn decide(case: &ProposalCase<'_>, action: ProposalAction) -> Result<ProposalStatus, ProposalRefusal> {
    if case.status != ProposalStatus::Pending {
        return Err(ProposalRefusal::Closed(case.status));
    }
    let own = case.proposer == case.actor;
    match action {
        ProposalAction::Edit if !own => Err(ProposalRefusal::NotProposer),
        ProposalAction::Edit => Ok(ProposalStatus::Pending),
        ProposalAction::Approve | ProposalAction::Reject if own => Err(ProposalRefusal::SelfReview),
        ProposalAction::Reject => Ok(ProposalStatus::Rejected),
        ProposalAction::Approve => match case.target {
            ProposalTarget::NewPolicy => Ok(ProposalStatus::Approved),
            ProposalTarget::Existing { version, archived } => {
                if archived || Some(version) != case.base_version {
                    Err(ProposalRefusal::Stale { base_version: case.base_version, current: Some(version) })
                } else {
                    Ok(ProposalStatus::Approved)
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        case: ProposalCase<'_>,
        action: ProposalAction,
        expected: Result<ProposalStatus, ProposalRefusal>,
    ) {
        assert_eq!(decide(&case, action), expected, "{case:?} {action:?}");
    }

    const ALICE: &str = "api_key:alice";
    const BOB: &str = "api_key:bob";

    fn case(status: ProposalStatus, actor: &'static str, target: ProposalTarget) -> ProposalCase<'static> {
        ProposalCase { status, proposer: ALICE, actor, base_version: Some(2), target }
    }

    #[test]
    fn workflow() {
        use ProposalAction::*;
        use ProposalRefusal::*;
        use ProposalStatus::*;
        let new = ProposalTarget::NewPolicy;
        let same = ProposalTarget::Existing { version: 2, archived: false };
        let moved = ProposalTarget::Existing { version: 3, archived: false };
        let archived = ProposalTarget::Existing { version: 2, archived: true };
        let new_case = |status, actor| ProposalCase { base_version: None, ..case(status, actor, new) };

        // Pending: the proposer edits, someone else reviews.
        check(new_case(Pending, ALICE), Edit, Ok(Pending));
        check(new_case(Pending, BOB), Edit, Err(NotProposer));
        check(new_case(Pending, BOB), Approve, Ok(Approved));
        check(new_case(Pending, BOB), Reject, Ok(Rejected));
        check(new_case(Pending, ALICE), Approve, Err(SelfReview));
        check(new_case(Pending, ALICE), Reject, Err(SelfReview));
        // An existing policy: approval needs it unchanged; editing and rejecting do not.
        check(case(Pending, BOB, same), Approve, Ok(Approved));
        check(case(Pending, BOB, moved), Approve, Err(Stale { base_version: Some(2), current: Some(3) }));
        check(case(Pending, BOB, archived), Approve, Err(Stale { base_version: Some(2), current: Some(2) }));
        check(case(Pending, BOB, moved), Reject, Ok(Rejected));
        check(case(Pending, ALICE, moved), Edit, Ok(Pending));
        // Self-review is refused before staleness is looked at.
        check(case(Pending, ALICE, moved), Approve, Err(SelfReview));
        // Final states change no more, whoever asks.
        for status in [Approved, Rejected] {
            for action in [Edit, Approve, Reject] {
                for actor in [ALICE, BOB] {
                    check(case(status, actor, same), action, Err(Closed(status)));
                }
            }
        }
    }
}
