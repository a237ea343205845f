//! Rows of `aos_traces` and `aos_trace_steps`.

use diesel::prelude::*;
use gov_model::{TraceStep, TraceSummary};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, opt_from_db, opt_to_db, parse, parse_opt, to_db};
use crate::schema::{aos_trace_steps, aos_traces};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = aos_traces, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct TraceRow {
    pub trace_id: String,
    pub run_id: String,
    pub tenant_id: String,
    pub status: String,
    pub step_count: i64,
    pub is_synthetic: bool,
    pub agent_id: String,
    pub started_at: PrimitiveDateTime,
    pub completed_at: Option<PrimitiveDateTime>,
    pub violation_step_index: Option<i64>,
    pub violation_timestamp: Option<PrimitiveDateTime>,
    pub violation_policy_id: Option<String>,
    pub violation_reason: Option<String>,
    pub incident_id: Option<String>,
    pub head_hash: String,
}

impl TraceRow {
    pub fn from_model(t: &TraceSummary) -> Self {
        Self {
            trace_id: t.trace_id.to_string(),
            run_id: t.run_id.to_string(),
            tenant_id: t.tenant_id.to_string(),
            status: t.status.clone(),
            step_count: t.step_count,
            is_synthetic: t.is_synthetic,
            agent_id: t.agent_id.clone(),
            started_at: to_db(t.started_at),
            completed_at: opt_to_db(t.completed_at),
            violation_step_index: t.violation_step_index,
            violation_timestamp: opt_to_db(t.violation_timestamp),
            violation_policy_id: t.violation_policy_id.map(|p| p.to_string()),
            violation_reason: t.violation_reason.clone(),
            incident_id: t.incident_id.map(|i| i.to_string()),
            head_hash: t.head_hash.clone(),
        }
    }

    pub fn into_model(self) -> Result<TraceSummary, StoreError> {
        Ok(TraceSummary {
            trace_id: parse("aos_traces.trace_id", &self.trace_id)?,
            run_id: parse("aos_traces.run_id", &self.run_id)?,
            tenant_id: parse("aos_traces.tenant_id", &self.tenant_id)?,
            status: self.status,
            step_count: self.step_count,
            is_synthetic: self.is_synthetic,
            agent_id: self.agent_id,
            started_at: from_db(self.started_at),
            completed_at: opt_from_db(self.completed_at),
            violation_step_index: self.violation_step_index,
            violation_timestamp: opt_from_db(self.violation_timestamp),
            violation_policy_id: parse_opt("aos_traces.violation_policy_id", self.violation_policy_id)?,
            violation_reason: self.violation_reason,
            incident_id: parse_opt("aos_traces.incident_id", self.incident_id)?,
            head_hash: self.head_hash,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = aos_trace_steps, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct StepRow {
    pub step_id: String,
    pub trace_id: String,
    pub run_id: String,
    pub tenant_id: String,
    pub step_index: i64,
    pub step_type: String,
    pub level: String,
    pub source: String,
    pub timestamp: PrimitiveDateTime,
    pub tokens: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost_cents: f64,
    pub duration_ms: i64,
    pub model: Option<String>,
    pub retrieved_documents: i64,
    pub content_hash: Option<String>,
    pub decision: String,
    pub decision_policy_id: Option<String>,
    pub decision_reason: Option<String>,
    pub prev_hash: String,
    pub chain_hash: String,
}

impl StepRow {
    pub fn from_model(s: &TraceStep) -> Self {
        Self {
            step_id: s.step_id.to_string(),
            trace_id: s.trace_id.to_string(),
            run_id: s.run_id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            step_index: s.step_index,
            step_type: s.step_type.clone(),
            level: s.level.as_str().to_owned(),
            source: s.source.clone(),
            timestamp: to_db(s.timestamp),
            tokens: s.tokens,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            cost_cents: s.cost_cents,
            duration_ms: s.duration_ms,
            model: s.model.clone(),
            retrieved_documents: s.retrieved_documents,
            content_hash: s.content_hash.clone(),
            decision: s.decision.as_str().to_owned(),
            decision_policy_id: s.decision_policy_id.map(|p| p.to_string()),
            decision_reason: s.decision_reason.clone(),
            prev_hash: s.prev_hash.clone(),
            chain_hash: s.chain_hash.clone(),
        }
    }

    pub fn into_model(self) -> Result<TraceStep, StoreError> {
        Ok(TraceStep {
            step_id: parse("aos_trace_steps.step_id", &self.step_id)?,
            trace_id: parse("aos_trace_steps.trace_id", &self.trace_id)?,
            run_id: parse("aos_trace_steps.run_id", &self.run_id)?,
            tenant_id: parse("aos_trace_steps.tenant_id", &self.tenant_id)?,
            step_index: self.step_index,
            step_type: self.step_type,
            level: parse("aos_trace_steps.level", &self.level)?,
            source: self.source,
            timestamp: from_db(self.timestamp),
            tokens: self.tokens,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_cents: self.cost_cents,
            duration_ms: self.duration_ms,
            model: self.model,
            retrieved_documents: self.retrieved_documents,
            content_hash: self.content_hash,
            decision: parse("aos_trace_steps.decision", &self.decision)?,
            decision_policy_id: parse_opt("aos_trace_steps.decision_policy_id", self.decision_policy_id)?,
            decision_reason: self.decision_reason,
            prev_hash: self.prev_hash,
            chain_hash: self.chain_hash,
        })
    }
}
