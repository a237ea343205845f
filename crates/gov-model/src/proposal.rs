//! Policy proposals (seed 000 §12.4, `policy_proposals`): a rule change proposed by one
//! principal and approved or rejected by another.

use crate::enums::str_enum;
use crate::{PolicyId, ProposalId, TenantId, Timestamp};

str_enum!(
    /// `approved` and `rejected` are final.
    ProposalStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
);

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyProposal {
    pub proposal_id: ProposalId,
    pub tenant_id: TenantId,
    /// The policy it changes; `None` proposes a new policy.
    pub policy_id: Option<PolicyId>,
    /// The target policy's version when the proposal was made (or last edited).
    pub base_version: Option<i32>,
    /// The rule body, as `POST /api/v1/policies/rules` takes it.
    pub proposed_rule: serde_json::Value,
    pub rationale: Option<String>,
    pub status: ProposalStatus,
    pub proposer_id: String,
    pub reviewer_id: Option<String>,
    pub review_note: Option<String>,
    /// What approval created: the policy and its version.
    pub resulting_policy_id: Option<PolicyId>,
    pub resulting_version: Option<i32>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub reviewed_at: Option<Timestamp>,
}
