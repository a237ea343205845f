//! Rows of `prevention_records`, `threshold_signals`, `policy_override_records` and `cost_records`.

use diesel::prelude::*;
use gov_model::{CostRecord, OverrideRecord, PreventionRecord, ThresholdSignal};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, parse, parse_opt, to_db};
use crate::schema::{cost_records, policy_override_records, prevention_records, threshold_signals};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = prevention_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PreventionRow {
    pub record_id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub policy_id: Option<String>,
    pub incident_id: Option<String>,
    pub step_index: i64,
    pub action: String,
    pub decision: String,
    pub violation_type: String,
    pub metric: String,
    pub current_value: Option<f64>,
    pub limit_value: Option<f64>,
    pub enforced: bool,
    pub reason: String,
    pub created_at: PrimitiveDateTime,
}

impl PreventionRow {
    pub fn from_model(r: &PreventionRecord) -> Self {
        Self {
            record_id: r.record_id.to_string(),
            tenant_id: r.tenant_id.to_string(),
            run_id: r.run_id.to_string(),
            policy_id: r.policy_id.map(|p| p.to_string()),
            incident_id: r.incident_id.map(|i| i.to_string()),
            step_index: r.step_index,
            action: r.action.as_str().to_owned(),
            decision: r.decision.as_str().to_owned(),
            violation_type: r.violation_type.as_str().to_owned(),
            metric: r.metric.clone(),
            current_value: r.current_value,
            limit_value: r.limit_value,
            enforced: r.enforced,
            reason: r.reason.clone(),
            created_at: to_db(r.created_at),
        }
    }

    pub fn into_model(self) -> Result<PreventionRecord, StoreError> {
        Ok(PreventionRecord {
            record_id: parse("prevention_records.record_id", &self.record_id)?,
            tenant_id: parse("prevention_records.tenant_id", &self.tenant_id)?,
            run_id: parse("prevention_records.run_id", &self.run_id)?,
            policy_id: parse_opt("prevention_records.policy_id", self.policy_id)?,
            incident_id: parse_opt("prevention_records.incident_id", self.incident_id)?,
            step_index: self.step_index,
            action: parse("prevention_records.action", &self.action)?,
            decision: parse("prevention_records.decision", &self.decision)?,
            violation_type: parse("prevention_records.violation_type", &self.violation_type)?,
            metric: self.metric,
            current_value: self.current_value,
            limit_value: self.limit_value,
            enforced: self.enforced,
            reason: self.reason,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = threshold_signals, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct SignalRow {
    pub signal_id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub policy_id: String,
    pub check_id: String,
    pub signal_type: String,
    pub metric: String,
    pub value: f64,
    pub limit_value: Option<f64>,
    pub percentage: Option<f64>,
    pub step_index: i64,
    pub created_at: PrimitiveDateTime,
}

impl SignalRow {
    pub fn from_model(s: &ThresholdSignal) -> Self {
        Self {
            signal_id: s.signal_id.to_string(),
            tenant_id: s.tenant_id.to_string(),
            run_id: s.run_id.to_string(),
            policy_id: s.policy_id.to_string(),
            check_id: s.check_id.clone(),
            signal_type: s.signal_type.as_str().to_owned(),
            metric: s.metric.clone(),
            value: s.value,
            limit_value: s.limit_value,
            percentage: s.percentage,
            step_index: s.step_index,
            created_at: to_db(s.created_at),
        }
    }

    pub fn into_model(self) -> Result<ThresholdSignal, StoreError> {
        Ok(ThresholdSignal {
            signal_id: parse("threshold_signals.signal_id", &self.signal_id)?,
            tenant_id: parse("threshold_signals.tenant_id", &self.tenant_id)?,
            run_id: parse("threshold_signals.run_id", &self.run_id)?,
            policy_id: parse("threshold_signals.policy_id", &self.policy_id)?,
            check_id: self.check_id,
            signal_type: parse("threshold_signals.signal_type", &self.signal_type)?,
            metric: self.metric,
            value: self.value,
            limit_value: self.limit_value,
            percentage: self.percentage,
            step_index: self.step_index,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_override_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct OverrideRow {
    pub override_id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub policy_id: String,
    pub kind: String,
    pub new_limit: Option<f64>,
    pub actor: String,
    pub reason: String,
    pub created_at: PrimitiveDateTime,
}

impl OverrideRow {
    pub fn from_model(o: &OverrideRecord) -> Self {
        Self {
            override_id: o.override_id.to_string(),
            tenant_id: o.tenant_id.to_string(),
            run_id: o.run_id.to_string(),
            policy_id: o.policy_id.to_string(),
            kind: o.kind.as_str().to_owned(),
            new_limit: o.new_limit,
            actor: o.actor.clone(),
            reason: o.reason.clone(),
            created_at: to_db(o.created_at),
        }
    }

    pub fn into_model(self) -> Result<OverrideRecord, StoreError> {
        Ok(OverrideRecord {
            override_id: parse("policy_override_records.override_id", &self.override_id)?,
            tenant_id: parse("policy_override_records.tenant_id", &self.tenant_id)?,
            run_id: parse("policy_override_records.run_id", &self.run_id)?,
            policy_id: parse("policy_override_records.policy_id", &self.policy_id)?,
            kind: parse("policy_override_records.kind", &self.kind)?,
            new_limit: self.new_limit,
            actor: self.actor,
            reason: self.reason,
            created_at: from_db(self.created_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = cost_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct CostRow {
    pub cost_record_id: String,
    pub tenant_id: String,
    pub run_id: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub step_count: i64,
    pub created_at: PrimitiveDateTime,
}

impl CostRow {
    pub fn from_model(c: &CostRecord) -> Self {
        Self {
            cost_record_id: c.cost_record_id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            run_id: c.run_id.to_string(),
            model: c.model.clone(),
            input_tokens: c.input_tokens,
            output_tokens: c.output_tokens,
            tokens: c.tokens,
            cost_cents: c.cost_cents,
            step_count: c.step_count,
            created_at: to_db(c.created_at),
        }
    }

    pub fn into_model(self) -> Result<CostRecord, StoreError> {
        Ok(CostRecord {
            cost_record_id: parse("cost_records.cost_record_id", &self.cost_record_id)?,
            tenant_id: parse("cost_records.tenant_id", &self.tenant_id)?,
            run_id: parse("cost_records.run_id", &self.run_id)?,
            model: self.model,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            tokens: self.tokens,
            cost_cents: self.cost_cents,
            step_count: self.step_count,
            created_at: from_db(self.created_at),
        })
    }
}
