//! Policies: versioned CRUD, limits, tenant controls, validation, the template library and the
//! violation views.

use gov_model::{
    BreachAction, LimitId, LimitScope, Monitors, NewAuditEntry, Page, PageRequest, PolicyControls, PolicyId,
    PolicyLimit, PolicyRule, PolicyScope, PolicySpec, PolicyStatus, PolicyVersion, PreventionRecord,
    RuleType, Severity, TenantId, Timestamp,
};
use gov_store::Conn;
use gov_store::evidence::{self, EvidenceFilter, ViolationStats};
use gov_store::policies::{self, PolicyFilter};
use serde_json::json;

use crate::error::OrNotFound;
use crate::{Caller, Error, Gov, Result, audit};

/// A policy as a caller writes it; absent fields take the documented defaults.
#[derive(Debug, Clone, Default)]
pub struct PolicyDraft {
    pub name: String,
    pub description: Option<String>,
    pub rule_type: Option<RuleType>,
    pub condition: Option<String>,
    pub threshold: Option<f64>,
    pub window_seconds: Option<i64>,
    pub limit_scope: Option<LimitScope>,
    pub models: Option<Vec<String>>,
    pub action: Option<BreachAction>,
    pub severity: Option<Severity>,
    pub scope: Option<PolicyScope>,
    pub priority: Option<i32>,
    pub monitors: Option<Monitors>,
    pub near_threshold_pct: Option<f64>,
    pub status: Option<PolicyStatus>,
}

/// The severity a rule type's breaches have unless the policy says otherwise.
pub fn default_severity(rule_type: RuleType) -> Severity {
    match rule_type {
        RuleType::TokenLimit | RuleType::CostLimit | RuleType::BurnRate | RuleType::ModelAllowlist => {
            Severity::High
        }
        RuleType::StepLimit | RuleType::RateLimit | RuleType::Custom => Severity::Medium,
    }
}

impl PolicyDraft {
    /// The full spec: defaults are action STOP, the rule type's severity, scope ALL_RUNS,
    /// priority 100, the default monitors, status active, and for rate limits per AGENT.
    pub fn into_spec(self) -> Result<PolicySpec> {
        let rule_type = self.rule_type.ok_or_else(|| Error::invalid("rule_type", "is required"))?;
        let limit_scope = self.limit_scope.unwrap_or(if rule_type == RuleType::RateLimit {
            LimitScope::Agent
        } else {
            LimitScope::Run
        });
        Ok(PolicySpec {
            name: self.name.trim().to_owned(),
            description: self.description.unwrap_or_default(),
            rule_type,
            condition: self.condition,
            threshold: self.threshold,
            window_seconds: self.window_seconds,
            limit_scope,
            models: self.models.unwrap_or_default(),
            action: self.action.unwrap_or(BreachAction::Stop),
            severity: self.severity.unwrap_or_else(|| default_severity(rule_type)),
            scope: self.scope.unwrap_or_else(PolicyScope::all_runs),
            priority: self.priority.unwrap_or(100),
            monitors: self.monitors.unwrap_or_default(),
            near_threshold_pct: self.near_threshold_pct,
            status: self.status.unwrap_or(PolicyStatus::Active),
        })
    }
}

/// An extra numeric limit of a policy, as a caller writes it.
#[derive(Debug, Clone)]
pub struct LimitDraft {
    pub policy_id: PolicyId,
    pub limit_type: RuleType,
    pub value: f64,
    pub window_seconds: Option<i64>,
    pub scope: Option<LimitScope>,
}

/// Refuses a spec the engine would not accept, naming the first bad field (and, for a CEL
/// condition, the position).
fn check_spec(spec: &PolicySpec) -> Result<()> {
    gov_policy::validate_spec(spec).map_err(Error::invalid_spec)
}

/// The limit's counting scope (default: AGENT for rate limits, RUN otherwise) once the engine
/// accepts the limit.
fn check_limit(draft: &LimitDraft) -> Result<LimitScope> {
    let scope = draft.scope.unwrap_or(if draft.limit_type == RuleType::RateLimit {
        LimitScope::Agent
    } else {
        LimitScope::Run
    });
    gov_policy::validate_limit(draft.limit_type, draft.value, draft.window_seconds, scope)
        .map_err(Error::invalid_spec)?;
    Ok(scope)
}

/// The full spec of a draft, once the engine accepts it: the one validation path of rule
/// create, update and validate and of policy proposals.
pub(crate) fn checked_spec(draft: PolicyDraft) -> Result<PolicySpec> {
    let spec = draft.into_spec()?;
    check_spec(&spec)?;
    Ok(spec)
}

/// Inserts `spec` as a new policy (version 1) with its `policy.created` audit row, in the
/// caller's transaction (rule create, proposal approval).
pub(crate) fn insert_policy(
    c: &mut Conn<'_>,
    caller: &Caller,
    spec: PolicySpec,
    now: Timestamp,
) -> Result<PolicyRule> {
    let policy = PolicyRule {
        policy_id: PolicyId::new(),
        tenant_id: caller.tenant_id,
        version: 1,
        spec,
        violation_count: 0,
        incident_count: 0,
        created_at: now,
        updated_at: now,
    };
    policies::insert(c, &policy, &caller.actor.id)?;
    audit::record(c, caller.tenant_id, &caller.actor, policy_audit("policy.created", &policy), now)?;
    Ok(policy)
}

/// Saves `spec` as the next version of policy `id` with its audit row (`action`), in the
/// caller's transaction (rule update and archive, proposal approval).
pub(crate) fn save_policy_version(
    c: &mut Conn<'_>,
    caller: &Caller,
    id: PolicyId,
    spec: &PolicySpec,
    action: &'static str,
    now: Timestamp,
) -> Result<PolicyRule> {
    let policy = policies::save_version(c, caller.tenant_id, id, spec, &caller.actor.id, now)?;
    audit::record(c, caller.tenant_id, &caller.actor, policy_audit(action, &policy), now)?;
    Ok(policy)
}

fn policy_audit(action: &'static str, policy: &PolicyRule) -> NewAuditEntry {
    NewAuditEntry {
        action,
        resource_type: "policy",
        resource_id: policy.policy_id.to_string(),
        details: json!({ "name": policy.spec.name, "version": policy.version, "status": policy.spec.status.as_str() }),
    }
}

fn limit_audit(action: &'static str, limit: &PolicyLimit, version: i32) -> NewAuditEntry {
    NewAuditEntry {
        action,
        resource_type: "policy_limit",
        resource_id: limit.limit_id.to_string(),
        details: json!({
            "policy_id": limit.policy_id.to_string(),
            "limit_type": limit.limit_type.as_str(),
            "value": limit.value,
            "policy_version": version,
        }),
    }
}

impl Gov {
    pub fn create_policy(&self, caller: &Caller, draft: PolicyDraft) -> Result<PolicyRule> {
        let spec = checked_spec(draft)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| insert_policy(c, &caller, spec.clone(), now))
    }

    pub fn get_policy(&self, tenant: TenantId, id: PolicyId) -> Result<PolicyRule> {
        self.db.read(|c| policies::get(c, tenant, id).or_not_found("policy"))
    }

    /// One version of a policy with the limits it had then.
    pub fn get_policy_version(
        &self,
        tenant: TenantId,
        id: PolicyId,
        version: i32,
    ) -> Result<(PolicyVersion, serde_json::Value)> {
        self.db.read(|c| policies::get_version(c, tenant, id, version).or_not_found("policy version"))
    }

    pub fn policy_versions(
        &self,
        tenant: TenantId,
        id: PolicyId,
    ) -> Result<Vec<(PolicyVersion, serde_json::Value)>> {
        self.db.read(|c| {
            policies::get(c, tenant, id).or_not_found("policy")?;
            Ok(policies::versions(c, tenant, id)?)
        })
    }

    pub fn list_policies(
        &self,
        tenant: TenantId,
        filter: &PolicyFilter,
        page: PageRequest,
    ) -> Result<Page<PolicyRule>> {
        Ok(self.db.read(|c| policies::list(c, tenant, filter, page))?)
    }

    /// Replaces a policy's definition: a new version; the old ones stay readable.
    pub fn update_policy(&self, caller: &Caller, id: PolicyId, draft: PolicyDraft) -> Result<PolicyRule> {
        let spec = checked_spec(draft)?;
        self.new_policy_version(caller, id, "policy.updated", |_| Ok(spec))
    }

    /// Archives a policy: it applies to no new run, and stays readable for the evidence naming it.
    pub fn archive_policy(&self, caller: &Caller, id: PolicyId) -> Result<PolicyRule> {
        self.new_policy_version(caller, id, "policy.archived", move |current| {
            if current.spec.status == PolicyStatus::Archived {
                return Err(Error::PolicyArchived { policy_id: id });
            }
            Ok(PolicySpec { status: PolicyStatus::Archived, ..current.spec.clone() })
        })
    }

    fn new_policy_version(
        &self,
        caller: &Caller,
        id: PolicyId,
        action: &'static str,
        next: impl FnOnce(&PolicyRule) -> Result<PolicySpec> + Send + 'static,
    ) -> Result<PolicyRule> {
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = policies::get(c, caller.tenant_id, id).or_not_found("policy")?;
            if current.spec.status == PolicyStatus::Archived && action != "policy.archived" {
                return Err(Error::PolicyArchived { policy_id: id });
            }
            let spec = next(&current)?;
            save_policy_version(c, &caller, id, &spec, action, now)
        })
    }

    pub fn create_limit(&self, caller: &Caller, draft: LimitDraft) -> Result<PolicyLimit> {
        let scope = check_limit(&draft)?;
        let now = self.clock.now();
        let limit = PolicyLimit {
            limit_id: LimitId::new(),
            tenant_id: caller.tenant_id,
            policy_id: draft.policy_id,
            limit_type: draft.limit_type,
            value: draft.value,
            window_seconds: draft.window_seconds,
            scope,
            created_at: now,
            updated_at: now,
        };
        let caller = caller.clone();
        let gov = self.clone();
        self.db.write(move |c| {
            let policy = policies::get(c, caller.tenant_id, draft.policy_id)
                .map_err(|_| Error::invalid("policy_id", "no such policy"))?;
            if policy.spec.status == PolicyStatus::Archived {
                return Err(Error::PolicyArchived { policy_id: draft.policy_id });
            }
            policies::insert_limit(c, &limit)?;
            let version = gov.bump_for_limits(c, &caller, &policy, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                limit_audit("policy_limit.created", &limit, version),
                now,
            )?;
            Ok(limit.clone())
        })
    }

    pub fn get_limit(&self, tenant: TenantId, id: LimitId) -> Result<PolicyLimit> {
        self.db.read(|c| policies::get_limit(c, tenant, id).or_not_found("limit"))
    }

    pub fn list_limits(
        &self,
        tenant: TenantId,
        policy: Option<PolicyId>,
        page: PageRequest,
    ) -> Result<Page<PolicyLimit>> {
        Ok(self.db.read(|c| policies::list_limits(c, tenant, policy, page))?)
    }

    /// Changes a limit's value (and window/scope); its policy gets a new version.
    pub fn update_limit(
        &self,
        caller: &Caller,
        id: LimitId,
        value: f64,
        window_seconds: Option<i64>,
        scope: Option<LimitScope>,
    ) -> Result<PolicyLimit> {
        let now = self.clock.now();
        let caller = caller.clone();
        let gov = self.clone();
        self.db.write(move |c| {
            let current = policies::get_limit(c, caller.tenant_id, id).or_not_found("limit")?;
            let draft = LimitDraft {
                policy_id: current.policy_id,
                limit_type: current.limit_type,
                value,
                window_seconds,
                scope: scope.or(Some(current.scope)),
            };
            let scope = check_limit(&draft)?;
            let limit = PolicyLimit { value, window_seconds, scope, updated_at: now, ..current };
            policies::update_limit(c, &limit)?;
            let policy = policies::get(c, caller.tenant_id, limit.policy_id)?;
            let version = gov.bump_for_limits(c, &caller, &policy, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                limit_audit("policy_limit.updated", &limit, version),
                now,
            )?;
            Ok(limit)
        })
    }

    pub fn delete_limit(&self, caller: &Caller, id: LimitId) -> Result<()> {
        let now = self.clock.now();
        let caller = caller.clone();
        let gov = self.clone();
        self.db.write(move |c| {
            let limit = policies::get_limit(c, caller.tenant_id, id).or_not_found("limit")?;
            policies::delete_limit(c, caller.tenant_id, id)?;
            let policy = policies::get(c, caller.tenant_id, limit.policy_id)?;
            let version = gov.bump_for_limits(c, &caller, &policy, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                limit_audit("policy_limit.deleted", &limit, version),
                now,
            )?;
            Ok(())
        })
    }

    /// A limit change is a change of its policy: record a new version carrying the new limits.
    fn bump_for_limits(
        &self,
        c: &mut Conn<'_>,
        caller: &Caller,
        policy: &PolicyRule,
        now: Timestamp,
    ) -> Result<i32> {
        let saved = policies::save_version(
            c,
            caller.tenant_id,
            policy.policy_id,
            &policy.spec,
            &caller.actor.id,
            now,
        )?;
        Ok(saved.version)
    }

    pub fn policy_controls(&self, tenant: TenantId) -> Result<PolicyControls> {
        Ok(self.db.read(|c| policies::controls(c, tenant))?)
    }

    pub fn set_policy_controls(&self, caller: &Caller, controls: PolicyControls) -> Result<PolicyControls> {
        if !(controls.near_threshold_pct > 0.0 && controls.near_threshold_pct < 100.0) {
            return Err(Error::invalid("near_threshold_pct", "must be above 0 and below 100"));
        }
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let before = policies::controls(c, caller.tenant_id)?;
            policies::save_controls(c, caller.tenant_id, &controls, &caller.actor.id, now)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "policy_controls.updated",
                    resource_type: "policy_controls",
                    resource_id: caller.tenant_id.to_string(),
                    details: json!({
                        "enforcement_mode": { "from": before.enforcement_mode.as_str(), "to": controls.enforcement_mode.as_str() },
                        "conflict_strategy": { "from": before.conflict_strategy.as_str(), "to": controls.conflict_strategy.as_str() },
                        "near_threshold_pct": { "from": before.near_threshold_pct, "to": controls.near_threshold_pct },
                    }),
                },
                now,
            )?;
            Ok(policies::controls(c, caller.tenant_id)?)
        })
    }

    /// Checks a draft (or only a CEL condition) without saving anything.
    pub fn validate_policy(&self, draft: PolicyDraft) -> Result<PolicySpec> {
        checked_spec(draft)
    }

    pub fn list_violations(
        &self,
        tenant: TenantId,
        filter: &EvidenceFilter,
        page: PageRequest,
    ) -> Result<Page<PreventionRecord>> {
        Ok(self.db.read(|c| evidence::list_prevention(c, tenant, filter, page))?)
    }

    pub fn violation_stats(&self, tenant: TenantId, since: Option<Timestamp>) -> Result<ViolationStats> {
        Ok(self.db.read(|c| evidence::prevention_stats(c, tenant, since))?)
    }
}
