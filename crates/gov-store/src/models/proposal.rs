//! Rows of `policy_proposals`.

use diesel::prelude::*;
use gov_model::PolicyProposal;
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, json, opt_from_db, opt_to_db, parse, parse_opt, to_db};
use crate::schema::policy_proposals;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_proposals, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct ProposalRow {
    pub proposal_id: String,
    pub tenant_id: String,
    pub policy_id: Option<String>,
    pub base_version: Option<i32>,
    pub proposed_rule: String,
    pub rationale: Option<String>,
    pub status: String,
    pub proposer_id: String,
    pub reviewer_id: Option<String>,
    pub review_note: Option<String>,
    pub resulting_policy_id: Option<String>,
    pub resulting_version: Option<i32>,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
    pub reviewed_at: Option<PrimitiveDateTime>,
}

impl ProposalRow {
    pub fn from_model(p: &PolicyProposal) -> Self {
        Self {
            proposal_id: p.proposal_id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            policy_id: p.policy_id.map(|i| i.to_string()),
            base_version: p.base_version,
            proposed_rule: p.proposed_rule.to_string(),
            rationale: p.rationale.clone(),
            status: p.status.as_str().to_owned(),
            proposer_id: p.proposer_id.clone(),
            reviewer_id: p.reviewer_id.clone(),
            review_note: p.review_note.clone(),
            resulting_policy_id: p.resulting_policy_id.map(|i| i.to_string()),
            resulting_version: p.resulting_version,
            created_at: to_db(p.created_at),
            updated_at: to_db(p.updated_at),
            reviewed_at: opt_to_db(p.reviewed_at),
        }
    }

    pub fn into_model(self) -> Result<PolicyProposal, StoreError> {
        Ok(PolicyProposal {
            proposal_id: parse("policy_proposals.proposal_id", &self.proposal_id)?,
            tenant_id: parse("policy_proposals.tenant_id", &self.tenant_id)?,
            policy_id: parse_opt("policy_proposals.policy_id", self.policy_id)?,
            base_version: self.base_version,
            proposed_rule: json("policy_proposals.proposed_rule", &self.proposed_rule)?,
            rationale: self.rationale,
            status: parse("policy_proposals.status", &self.status)?,
            proposer_id: self.proposer_id,
            reviewer_id: self.reviewer_id,
            review_note: self.review_note,
            resulting_policy_id: parse_opt("policy_proposals.resulting_policy_id", self.resulting_policy_id)?,
            resulting_version: self.resulting_version,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            reviewed_at: opt_from_db(self.reviewed_at),
        })
    }
}
