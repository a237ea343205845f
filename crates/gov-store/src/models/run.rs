//! Rows of `runs`, `policy_snapshots` and `agent_kills`.

use diesel::prelude::*;
use gov_model::{AgentKill, PolicySnapshot, Run};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, json, opt_from_db, opt_to_db, parse, parse_opt, to_db};
use crate::schema::{agent_kills, policy_snapshots, runs};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = runs, primary_key(run_id), treat_none_as_null = true, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct RunRow {
    pub run_id: String,
    pub tenant_id: String,
    pub agent_id: String,
    pub goal: Option<String>,
    pub human_actor_id: Option<String>,
    pub api_key_id: Option<String>,
    pub status: String,
    pub started_at: PrimitiveDateTime,
    pub completed_at: Option<PrimitiveDateTime>,
    pub tokens_used: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_cost_cents: f64,
    pub step_count: i64,
    pub policy_snapshot_id: String,
    pub policy_snapshot_hash: String,
    pub termination_reason: Option<String>,
    pub stopped_at_step: Option<i64>,
    pub violation_policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub trace_id: String,
    pub head_hash: String,
    pub override_count: i32,
    pub metadata: String,
    pub domain: Option<String>,
    /// `total_cost_cents` once the run has ended (NULL while it is live): the indexed cost, so
    /// the update of each step touches no indexed column.
    pub final_cost_cents: Option<f64>,
}

impl RunRow {
    pub fn from_model(r: &Run, override_count: i32) -> Self {
        Self {
            run_id: r.run_id.to_string(),
            tenant_id: r.tenant_id.to_string(),
            agent_id: r.agent_id.clone(),
            goal: r.goal.clone(),
            human_actor_id: r.human_actor_id.clone(),
            api_key_id: r.api_key_id.map(|k| k.to_string()),
            status: r.status.as_str().to_owned(),
            started_at: to_db(r.started_at),
            completed_at: opt_to_db(r.completed_at),
            tokens_used: r.tokens_used,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            total_cost_cents: r.total_cost_cents,
            step_count: r.step_count,
            policy_snapshot_id: r.policy_snapshot_id.to_string(),
            policy_snapshot_hash: r.policy_snapshot_hash.clone(),
            termination_reason: r.termination_reason.map(|t| t.as_str().to_owned()),
            stopped_at_step: r.stopped_at_step,
            violation_policy_id: r.violation_policy_id.map(|p| p.to_string()),
            incident_id: r.incident_id.map(|i| i.to_string()),
            trace_id: r.trace_id.to_string(),
            head_hash: r.head_hash.clone(),
            override_count,
            metadata: r.metadata.to_string(),
            domain: r.domain.clone(),
            final_cost_cents: r.status.is_terminal().then_some(r.total_cost_cents),
        }
    }

    pub fn into_model(self) -> Result<Run, StoreError> {
        Ok(Run {
            run_id: parse("runs.run_id", &self.run_id)?,
            tenant_id: parse("runs.tenant_id", &self.tenant_id)?,
            agent_id: self.agent_id,
            goal: self.goal,
            human_actor_id: self.human_actor_id,
            domain: self.domain,
            api_key_id: parse_opt("runs.api_key_id", self.api_key_id)?,
            status: parse("runs.status", &self.status)?,
            started_at: from_db(self.started_at),
            completed_at: opt_from_db(self.completed_at),
            tokens_used: self.tokens_used,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            total_cost_cents: self.total_cost_cents,
            step_count: self.step_count,
            policy_snapshot_id: parse("runs.policy_snapshot_id", &self.policy_snapshot_id)?,
            policy_snapshot_hash: self.policy_snapshot_hash,
            termination_reason: parse_opt("runs.termination_reason", self.termination_reason)?,
            stopped_at_step: self.stopped_at_step,
            violation_policy_id: parse_opt("runs.violation_policy_id", self.violation_policy_id)?,
            incident_id: parse_opt("runs.incident_id", self.incident_id)?,
            trace_id: parse("runs.trace_id", &self.trace_id)?,
            head_hash: self.head_hash,
            metadata: json("runs.metadata", &self.metadata)?,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_snapshots, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SnapshotRow {
    pub snapshot_id: String,
    pub tenant_id: String,
    pub policies_json: String,
    pub thresholds_json: String,
    pub content_hash: String,
    pub policy_count: i32,
    pub created_at: PrimitiveDateTime,
}

impl SnapshotRow {
    pub fn from_model(s: &PolicySnapshot) -> Self {
        Self {
            snapshot_id: s.snapshot_id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            policies_json: s.policies_json.clone(),
            thresholds_json: s.thresholds_json.clone(),
            content_hash: s.content_hash.clone(),
            policy_count: s.policy_count,
            created_at: to_db(s.created_at),
        }
    }

    pub fn into_model(self) -> Result<PolicySnapshot, StoreError> {
        Ok(PolicySnapshot {
            snapshot_id: parse("policy_snapshots.snapshot_id", &self.snapshot_id)?,
            tenant_id: parse("policy_snapshots.tenant_id", &self.tenant_id)?,
            policies_json: self.policies_json,
            thresholds_json: self.thresholds_json,
            content_hash: self.content_hash,
            policy_count: self.policy_count,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = agent_kills, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AgentKillRow {
    pub tenant_id: String,
    pub agent_id: String,
    pub run_id: String,
    pub policy_id: Option<String>,
    pub reason: String,
    pub killed_at: PrimitiveDateTime,
}

impl AgentKillRow {
    pub fn from_model(k: &AgentKill) -> Self {
        Self {
            tenant_id: k.tenant_id.to_string(),
            agent_id: k.agent_id.clone(),
            run_id: k.run_id.to_string(),
            policy_id: k.policy_id.map(|p| p.to_string()),
            reason: k.reason.clone(),
            killed_at: to_db(k.killed_at),
        }
    }

    pub fn into_model(self) -> Result<AgentKill, StoreError> {
        Ok(AgentKill {
            tenant_id: parse("agent_kills.tenant_id", &self.tenant_id)?,
            agent_id: self.agent_id,
            run_id: parse("agent_kills.run_id", &self.run_id)?,
            policy_id: parse_opt("agent_kills.policy_id", self.policy_id)?,
            reason: self.reason,
            killed_at: from_db(self.killed_at),
        })
    }
}
