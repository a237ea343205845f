//! Rows of `policy_rules`, `policy_rule_versions`, `policy_limits` and `policy_controls`.

use diesel::prelude::*;
use gov_model::{PolicyControls, PolicyLimit, PolicyRule, PolicySpec, PolicyVersion};
use time::PrimitiveDateTime;

use crate::StoreError;
use crate::convert::{from_db, parse, to_db};
use crate::schema::{policy_controls, policy_limits, policy_rule_versions, policy_rules};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_rules, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PolicyRuleRow {
    pub policy_id: String,
    pub tenant_id: String,
    pub name: String,
    pub rule_type: String,
    pub condition: Option<String>,
    pub action: String,
    pub threshold: Option<f64>,
    pub status: String,
    pub priority: i32,
    pub scope_type: String,
    pub version: i32,
    pub spec: String,
    pub violation_count: i64,
    pub incident_count: i64,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

pub(crate) fn spec_to_db(spec: &PolicySpec) -> Result<String, StoreError> {
    serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(format!("policy spec: {e}")))
}

pub(crate) fn spec_from_db(text: &str) -> Result<PolicySpec, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("policy spec: {e}")))
}

impl PolicyRuleRow {
    pub fn from_model(p: &PolicyRule) -> Result<Self, StoreError> {
        Ok(Self {
            policy_id: p.policy_id.to_string(),
            tenant_id: p.tenant_id.to_string(),
            name: p.spec.name.clone(),
            rule_type: p.spec.rule_type.as_str().to_owned(),
            condition: p.spec.condition.clone(),
            action: p.spec.action.as_str().to_owned(),
            threshold: p.spec.threshold,
            status: p.spec.status.as_str().to_owned(),
            priority: p.spec.priority,
            scope_type: p.spec.scope.kind().as_str().to_owned(),
            version: p.version,
            spec: spec_to_db(&p.spec)?,
            violation_count: p.violation_count,
            incident_count: p.incident_count,
            created_at: to_db(p.created_at),
            updated_at: to_db(p.updated_at),
        })
    }

    pub fn into_model(self) -> Result<PolicyRule, StoreError> {
        Ok(PolicyRule {
            policy_id: parse("policy_rules.policy_id", &self.policy_id)?,
            tenant_id: parse("policy_rules.tenant_id", &self.tenant_id)?,
            version: self.version,
            spec: spec_from_db(&self.spec)?,
            violation_count: self.violation_count,
            incident_count: self.incident_count,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_rule_versions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PolicyVersionRow {
    pub policy_id: String,
    pub version: i32,
    pub tenant_id: String,
    pub spec: String,
    pub limits: String,
    pub created_at: PrimitiveDateTime,
    pub created_by: String,
}

impl PolicyVersionRow {
    /// The version and the limits it had (as stored JSON).
    pub fn into_model(self) -> Result<(PolicyVersion, serde_json::Value), StoreError> {
        let limits = crate::convert::json("policy_rule_versions.limits", &self.limits)?;
        Ok((
            PolicyVersion {
                policy_id: parse("policy_rule_versions.policy_id", &self.policy_id)?,
                version: self.version,
                spec: spec_from_db(&self.spec)?,
                created_at: from_db(self.created_at),
                created_by: self.created_by,
            },
            limits,
        ))
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = policy_limits, primary_key(limit_id), check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PolicyLimitRow {
    pub limit_id: String,
    pub tenant_id: String,
    pub policy_id: String,
    pub limit_type: String,
    pub value: f64,
    pub window_seconds: Option<i64>,
    pub scope: String,
    pub created_at: PrimitiveDateTime,
    pub updated_at: PrimitiveDateTime,
}

impl PolicyLimitRow {
    pub fn from_model(l: &PolicyLimit) -> Self {
        Self {
            limit_id: l.limit_id.to_string(),
            tenant_id: l.tenant_id.to_string(),
            policy_id: l.policy_id.to_string(),
            limit_type: l.limit_type.as_str().to_owned(),
            value: l.value,
            window_seconds: l.window_seconds,
            scope: l.scope.as_str().to_owned(),
            created_at: to_db(l.created_at),
            updated_at: to_db(l.updated_at),
        }
    }

    pub fn into_model(self) -> Result<PolicyLimit, StoreError> {
        Ok(PolicyLimit {
            limit_id: parse("policy_limits.limit_id", &self.limit_id)?,
            tenant_id: parse("policy_limits.tenant_id", &self.tenant_id)?,
            policy_id: parse("policy_limits.policy_id", &self.policy_id)?,
            limit_type: parse("policy_limits.limit_type", &self.limit_type)?,
            value: self.value,
            window_seconds: self.window_seconds,
            scope: parse("policy_limits.scope", &self.scope)?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// The limits of a version, as frozen into `policy_rule_versions.limits`.
pub(crate) fn limits_json(limits: &[PolicyLimit]) -> String {
    serde_json::Value::Array(
        limits
            .iter()
            .map(|l| {
                serde_json::json!({
                    "limit_id": l.limit_id.to_string(),
                    "limit_type": l.limit_type.as_str(),
                    "value": l.value,
                    "window_seconds": l.window_seconds,
                    "scope": l.scope.as_str(),
                })
            })
            .collect(),
    )
    .to_string()
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = policy_controls, primary_key(tenant_id), check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PolicyControlsRow {
    pub tenant_id: String,
    pub enforcement_mode: String,
    pub conflict_strategy: String,
    pub near_threshold_pct: f64,
    pub updated_at: PrimitiveDateTime,
    pub updated_by: String,
}

impl PolicyControlsRow {
    pub fn into_model(self) -> Result<PolicyControls, StoreError> {
        Ok(PolicyControls {
            enforcement_mode: parse("policy_controls.enforcement_mode", &self.enforcement_mode)?,
            conflict_strategy: parse("policy_controls.conflict_strategy", &self.conflict_strategy)?,
            near_threshold_pct: self.near_threshold_pct,
            updated_at: Some(from_db(self.updated_at)),
            updated_by: Some(self.updated_by),
        })
    }
}
