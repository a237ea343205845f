//! Policy proposals (`policy_proposals`). State changes are conditional UPDATEs on
//! `status = 'pending'`, so of two reviewers racing on one proposal exactly one changes it.

use diesel::prelude::*;
use gov_model::{
    Page, PageRequest, PolicyId, PolicyProposal, ProposalId, ProposalStatus, SortDirection, SortKey,
    TenantId, Timestamp, Total,
};

use crate::paging::{after_cursor, capped_total, time_cursor};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::proposal::ProposalRow;
use crate::schema::policy_proposals;
use crate::{Conn, StoreError};

/// Narrows a proposal listing; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    pub status: Option<ProposalStatus>,
    pub policy_id: Option<PolicyId>,
}

pub fn insert(conn: &mut Conn<'_>, proposal: &PolicyProposal) -> Result<(), StoreError> {
    let row = ProposalRow::from_model(proposal);
    dispatch!(conn, |c| diesel::insert_into(policy_proposals::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: ProposalId) -> Result<PolicyProposal, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: ProposalRow = dispatch!(conn, |c| policy_proposals::table
        .filter(policy_proposals::tenant_id.eq(&t).and(policy_proposals::proposal_id.eq(&i)))
        .select(ProposalRow::as_select())
        .first(c))?;
    row.into_model()
}

/// Newest first: (created_at, proposal_id) descending.
pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &ProposalFilter,
    page: PageRequest,
) -> Result<Page<PolicyProposal>, StoreError> {
    let t = tenant.to_string();
    let status = filter.status.map(|s| s.as_str());
    let policy = filter.policy_id.map(|p| p.to_string());
    let cursor = time_cursor(&page)?;
    let (rows, total): (Vec<ProposalRow>, Total) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = policy_proposals::table.filter(policy_proposals::tenant_id.eq(&t)).into_boxed();
            if let Some(s) = status {
                q = q.filter(policy_proposals::status.eq(s));
            }
            if let Some(p) = &policy {
                q = q.filter(policy_proposals::policy_id.eq(p));
            }
            q
        };
        let total = capped_total!(filtered, policy_proposals::tenant_id, c);
        let rows = after_cursor!(
            filtered(),
            &cursor,
            SortDirection::Desc,
            policy_proposals::created_at,
            policy_proposals::proposal_id
        )
        .order((policy_proposals::created_at.desc(), policy_proposals::proposal_id.desc()))
        .limit(page.probe_limit())
        .offset(page.offset())
        .select(ProposalRow::as_select())
        .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(ProposalRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, total, page, |p: &PolicyProposal| {
        (SortKey::Time(p.created_at), p.proposal_id.to_string())
    }))
}

/// Replaces the rule and rationale of a pending proposal of `proposer`. Returns whether a row
/// changed (false: no longer pending, or not the proposer's).
pub fn update_draft(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ProposalId,
    proposer: &str,
    proposed_rule: &serde_json::Value,
    rationale: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (t, i, rule, now) = (tenant.to_string(), id.to_string(), proposed_rule.to_string(), to_db(now));
    let n = dispatch!(conn, |c| diesel::update(
        policy_proposals::table.filter(
            policy_proposals::tenant_id
                .eq(&t)
                .and(policy_proposals::proposal_id.eq(&i))
                .and(policy_proposals::status.eq(ProposalStatus::Pending.as_str()))
                .and(policy_proposals::proposer_id.eq(proposer))
        )
    )
    .set((
        policy_proposals::proposed_rule.eq(&rule),
        policy_proposals::rationale.eq(rationale),
        policy_proposals::updated_at.eq(now),
    ))
    .execute(c))?;
    Ok(n == 1)
}

/// Moves a pending proposal to `status` (approved or rejected), unless it is no longer pending
/// or `reviewer` is its proposer. Returns whether this call changed it: of concurrent reviews,
/// exactly one does (PostgreSQL re-checks the condition after waiting for the row).
pub fn close(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ProposalId,
    status: ProposalStatus,
    reviewer: &str,
    note: Option<&str>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (t, i, now) = (tenant.to_string(), id.to_string(), to_db(now));
    let n = dispatch!(conn, |c| diesel::update(
        policy_proposals::table.filter(
            policy_proposals::tenant_id
                .eq(&t)
                .and(policy_proposals::proposal_id.eq(&i))
                .and(policy_proposals::status.eq(ProposalStatus::Pending.as_str()))
                .and(policy_proposals::proposer_id.ne(reviewer))
        )
    )
    .set((
        policy_proposals::status.eq(status.as_str()),
        policy_proposals::reviewer_id.eq(reviewer),
        policy_proposals::review_note.eq(note),
        policy_proposals::reviewed_at.eq(now),
        policy_proposals::updated_at.eq(now),
    ))
    .execute(c))?;
    Ok(n == 1)
}

/// Records what an approval created.
pub fn set_result(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: ProposalId,
    policy: PolicyId,
    version: i32,
) -> Result<(), StoreError> {
    let (t, i, p) = (tenant.to_string(), id.to_string(), policy.to_string());
    let n = dispatch!(conn, |c| diesel::update(
        policy_proposals::table
            .filter(policy_proposals::tenant_id.eq(&t).and(policy_proposals::proposal_id.eq(&i)))
    )
    .set((policy_proposals::resulting_policy_id.eq(&p), policy_proposals::resulting_version.eq(version)))
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}
