//! Policy proposals: a rule change one key proposes and another approves (creating the policy or
//! its next version in the same transaction) or rejects. The workflow rules are
//! `gov_policy::decide_proposal`; the store's conditional UPDATEs enforce them atomically.

use gov_model::{
    NewAuditEntry, Page, PageRequest, PolicyId, PolicyProposal, PolicySpec, PolicyStatus, ProposalId,
    ProposalStatus, TenantId,
};
use gov_policy::{ProposalAction, ProposalCase, ProposalRefusal, ProposalTarget, decide_proposal};
use gov_store::Conn;
use gov_store::policies;
use gov_store::proposals::{self, ProposalFilter};
use serde_json::json;

use crate::error::OrNotFound;
use crate::policies::{checked_spec, insert_policy, save_policy_version};
use crate::{Caller, Error, Gov, PolicyDraft, Result, audit, validate};

/// The longest rationale or review note, in characters.
pub const MAX_PROPOSAL_TEXT: usize = 4000;

/// A proposal as a caller writes it.
#[derive(Debug, Clone)]
pub struct NewProposal {
    /// The policy to change; `None` proposes a new policy.
    pub policy_id: Option<PolicyId>,
    pub rule: PolicyDraft,
    pub rationale: Option<String>,
}

/// An edit of a pending proposal; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct ProposalEdit {
    pub rule: Option<PolicyDraft>,
    pub rationale: Option<String>,
}

/// A proposal with its rule as the full spec (defaults filled in).
#[derive(Debug, Clone)]
pub struct ProposalView {
    pub proposal: PolicyProposal,
    pub rule: PolicySpec,
}

fn view(proposal: PolicyProposal) -> Result<ProposalView> {
    let rule = serde_json::from_value(proposal.proposed_rule.clone())
        .map_err(|e| Error::Internal(format!("policy_proposals.proposed_rule: {e}")))?;
    Ok(ProposalView { proposal, rule })
}

/// The rule validation of `POST /policies/rules`, with every field named under `proposed_rule.`.
fn proposed_spec(draft: PolicyDraft) -> Result<serde_json::Value> {
    let spec = checked_spec(draft).map_err(under_proposed_rule)?;
    serde_json::to_value(&spec).map_err(|e| Error::Internal(format!("proposed rule: {e}")))
}

fn under_proposed_rule(e: Error) -> Error {
    let prefix = |field: &str| format!("proposed_rule.{field}");
    match e {
        Error::InvalidSpec(errors) => Error::InvalidSpec(
            errors.into_iter().map(|e| gov_policy::SpecError { field: prefix(&e.field), ..e }).collect(),
        ),
        Error::Invalid { field, message } => Error::Invalid { field: prefix(&field), message },
        other => other,
    }
}

fn text(field: &str, value: Option<&str>) -> Result<Option<String>> {
    value.map(|v| validate::text(field, v, MAX_PROPOSAL_TEXT)).transpose()
}

fn refused(refusal: ProposalRefusal) -> Error {
    match refusal {
        ProposalRefusal::Closed(status) => Error::ProposalClosed { status },
        ProposalRefusal::SelfReview => Error::SelfReview,
        ProposalRefusal::NotProposer => Error::NotProposer,
        ProposalRefusal::Stale { base_version, current } => {
            Error::ProposalStale { base_version, current_version: current }
        }
    }
}

fn proposal_audit(action: &'static str, p: &PolicyProposal, details: serde_json::Value) -> NewAuditEntry {
    let mut details = details;
    details["policy_id"] = json!(p.policy_id.map(|i| i.to_string()));
    details["base_version"] = json!(p.base_version);
    NewAuditEntry {
        action,
        resource_type: "policy_proposal",
        resource_id: p.proposal_id.to_string(),
        details,
    }
}

/// The proposal's target policy as it is now.
fn target(c: &mut Conn<'_>, tenant: TenantId, p: &PolicyProposal) -> Result<ProposalTarget> {
    Ok(match p.policy_id {
        None => ProposalTarget::NewPolicy,
        Some(id) => {
            let current = policies::get(c, tenant, id).or_not_found("policy")?;
            ProposalTarget::Existing {
                version: current.version,
                archived: current.spec.status == PolicyStatus::Archived,
            }
        }
    })
}

/// Applies the workflow rules to `action` by `caller` on the proposal as it is now.
fn judge(
    c: &mut Conn<'_>,
    caller: &Caller,
    p: &PolicyProposal,
    action: ProposalAction,
) -> Result<ProposalStatus> {
    let target = target(c, caller.tenant_id, p)?;
    let case = ProposalCase {
        status: p.status,
        proposer: &p.proposer_id,
        actor: &caller.actor.id,
        base_version: p.base_version,
        target,
    };
    decide_proposal(&case, action).map_err(refused)
}

/// Why a conditional UPDATE changed nothing: another request closed the proposal first.
fn lost_race(c: &mut Conn<'_>, caller: &Caller, id: ProposalId, action: ProposalAction) -> Error {
    match proposals::get(c, caller.tenant_id, id).or_not_found("policy proposal") {
        Ok(now) => match judge(c, caller, &now, action) {
            Err(e) => e,
            Ok(_) => Error::ProposalChanged,
        },
        Err(e) => e,
    }
}

impl Gov {
    pub fn create_proposal(&self, caller: &Caller, input: NewProposal) -> Result<ProposalView> {
        let rule = proposed_spec(input.rule)?;
        let rationale = text("rationale", input.rationale.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let base_version = match input.policy_id {
                None => None,
                Some(id) => {
                    let current = policies::get(c, caller.tenant_id, id).or_not_found("policy")?;
                    if current.spec.status == PolicyStatus::Archived {
                        return Err(Error::PolicyArchived { policy_id: id });
                    }
                    Some(current.version)
                }
            };
            let proposal = PolicyProposal {
                proposal_id: ProposalId::new(),
                tenant_id: caller.tenant_id,
                policy_id: input.policy_id,
                base_version,
                proposed_rule: rule.clone(),
                rationale: rationale.clone(),
                status: ProposalStatus::Pending,
                proposer_id: caller.actor.id.clone(),
                reviewer_id: None,
                review_note: None,
                resulting_policy_id: None,
                resulting_version: None,
                created_at: now,
                updated_at: now,
                reviewed_at: None,
            };
            proposals::insert(c, &proposal)?;
            let details = json!({ "name": proposal.proposed_rule["name"] });
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                proposal_audit("policy_proposal.created", &proposal, details),
                now,
            )?;
            view(proposal)
        })
    }

    pub fn get_proposal(&self, tenant: TenantId, id: ProposalId) -> Result<ProposalView> {
        self.db.read(|c| proposals::get(c, tenant, id).or_not_found("policy proposal")).and_then(view)
    }

    pub fn list_proposals(
        &self,
        tenant: TenantId,
        filter: &ProposalFilter,
        page: PageRequest,
    ) -> Result<Page<ProposalView>> {
        let found = self.db.read(|c| proposals::list(c, tenant, filter, page))?;
        let items = found.items.into_iter().map(view).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total: found.total,
            total_exact: found.total_exact,
            request: found.request,
            next: found.next,
        })
    }

    /// Edits a pending proposal (its proposer only). `base_version` stays the one it was made
    /// against: an edit does not absorb changes of the target policy.
    pub fn edit_proposal(&self, caller: &Caller, id: ProposalId, edit: ProposalEdit) -> Result<ProposalView> {
        let rule = edit.rule.map(proposed_spec).transpose()?;
        let rationale = text("rationale", edit.rationale.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = proposals::get(c, caller.tenant_id, id).or_not_found("policy proposal")?;
            judge(c, &caller, &current, ProposalAction::Edit)?;
            let rule = rule.clone().unwrap_or_else(|| current.proposed_rule.clone());
            let rationale = rationale.clone().or_else(|| current.rationale.clone());
            if !proposals::update_draft(
                c,
                caller.tenant_id,
                id,
                &caller.actor.id,
                &rule,
                rationale.as_deref(),
                now,
            )? {
                return Err(lost_race(c, &caller, id, ProposalAction::Edit));
            }
            let updated = proposals::get(c, caller.tenant_id, id)?;
            let details = json!({
                "rule_changed": updated.proposed_rule != current.proposed_rule,
                "rationale_changed": updated.rationale != current.rationale,
            });
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                proposal_audit("policy_proposal.updated", &updated, details),
                now,
            )?;
            view(updated)
        })
    }

    /// Approves a pending proposal of another key: in one transaction the proposal is closed
    /// (a conditional UPDATE: of concurrent approvals one wins), the policy is created or gets its
    /// next version (with the rules endpoints' audit row), and `policy_proposal.approved` is
    /// recorded.
    pub fn approve_proposal(
        &self,
        caller: &Caller,
        id: ProposalId,
        note: Option<String>,
    ) -> Result<ProposalView> {
        let note = text("note", note.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = proposals::get(c, caller.tenant_id, id).or_not_found("policy proposal")?;
            // On PostgreSQL a concurrent approval may commit between reading the proposal and
            // reading its policy: then the answer is that the proposal is closed, not that the
            // policy moved on (the version that approval wrote).
            let status =
                judge(c, &caller, &current, ProposalAction::Approve).map_err(
                    |refusal| match proposals::get(c, caller.tenant_id, id) {
                        Ok(fresh) if fresh.status != current.status => {
                            lost_race(c, &caller, id, ProposalAction::Approve)
                        }
                        _ => refusal,
                    },
                )?;
            let closed =
                proposals::close(c, caller.tenant_id, id, status, &caller.actor.id, note.as_deref(), now)?;
            if !closed {
                return Err(lost_race(c, &caller, id, ProposalAction::Approve));
            }
            let spec = view(current.clone())?.rule;
            let policy = match current.policy_id {
                None => insert_policy(c, &caller, spec, now)?,
                Some(policy_id) => {
                    let saved = save_policy_version(c, &caller, policy_id, &spec, "policy.updated", now)?;
                    // A version written by a concurrent rule update since `judge` read it.
                    if Some(saved.version - 1) != current.base_version {
                        return Err(refused(ProposalRefusal::Stale {
                            base_version: current.base_version,
                            current: Some(saved.version - 1),
                        }));
                    }
                    saved
                }
            };
            proposals::set_result(c, caller.tenant_id, id, policy.policy_id, policy.version)?;
            let approved = proposals::get(c, caller.tenant_id, id)?;
            let details = json!({
                "note": note,
                "resulting_policy_id": policy.policy_id.to_string(),
                "resulting_version": policy.version,
            });
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                proposal_audit("policy_proposal.approved", &approved, details),
                now,
            )?;
            view(approved)
        })
    }

    /// Rejects a pending proposal of another key; nothing else changes.
    pub fn reject_proposal(
        &self,
        caller: &Caller,
        id: ProposalId,
        note: Option<String>,
    ) -> Result<ProposalView> {
        let note = text("note", note.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = proposals::get(c, caller.tenant_id, id).or_not_found("policy proposal")?;
            let status = judge(c, &caller, &current, ProposalAction::Reject)?;
            let closed =
                proposals::close(c, caller.tenant_id, id, status, &caller.actor.id, note.as_deref(), now)?;
            if !closed {
                return Err(lost_race(c, &caller, id, ProposalAction::Reject));
            }
            let rejected = proposals::get(c, caller.tenant_id, id)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                proposal_audit("policy_proposal.rejected", &rejected, json!({ "note": note })),
                now,
            )?;
            view(rejected)
        })
    }
}
