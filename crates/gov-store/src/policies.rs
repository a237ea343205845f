//! Policies, their versions and limits, and the tenant's policy controls.

use diesel::prelude::*;
use gov_model::{
    LimitId, Page, PageRequest, PolicyControls, PolicyId, PolicyLimit, PolicyRule, PolicySpec, PolicyStatus,
    PolicyVersion, RuleType, ScopeType, TenantId, Timestamp, Total,
};

use crate::convert::to_db;
use crate::db::dispatch;
use crate::models::policy::{
    PolicyControlsRow, PolicyLimitRow, PolicyRuleRow, PolicyVersionRow, limits_json, spec_to_db,
};
use crate::paging::position_only;
use crate::schema::{policy_controls, policy_limits, policy_rule_versions, policy_rules};
use crate::{Conn, StoreError};

/// Narrows a policy listing; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct PolicyFilter {
    pub status: Option<PolicyStatus>,
    pub rule_type: Option<RuleType>,
    pub scope_type: Option<ScopeType>,
}

/// Inserts a new policy as version 1, with its version row.
pub fn insert(conn: &mut Conn<'_>, policy: &PolicyRule, created_by: &str) -> Result<(), StoreError> {
    let row = PolicyRuleRow::from_model(policy)?;
    let version = PolicyVersionRow {
        policy_id: row.policy_id.clone(),
        version: policy.version,
        tenant_id: row.tenant_id.clone(),
        spec: row.spec.clone(),
        limits: limits_json(&[]),
        created_at: row.created_at,
        created_by: created_by.to_owned(),
    };
    dispatch!(conn, |c| {
        diesel::insert_into(policy_rules::table).values(&row).execute(c)?;
        diesel::insert_into(policy_rule_versions::table).values(&version).execute(c)
    })?;
    Ok(())
}

pub fn get(conn: &mut Conn<'_>, tenant: TenantId, id: PolicyId) -> Result<PolicyRule, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: PolicyRuleRow = dispatch!(conn, |c| policy_rules::table
        .filter(policy_rules::tenant_id.eq(&t).and(policy_rules::policy_id.eq(&i)))
        .select(PolicyRuleRow::as_select())
        .first(c))?;
    row.into_model()
}

/// One version of a policy, and the limits it had then (as JSON).
pub fn get_version(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: PolicyId,
    version: i32,
) -> Result<(PolicyVersion, serde_json::Value), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: PolicyVersionRow = dispatch!(conn, |c| policy_rule_versions::table
        .filter(
            policy_rule_versions::tenant_id
                .eq(&t)
                .and(policy_rule_versions::policy_id.eq(&i))
                .and(policy_rule_versions::version.eq(version))
        )
        .select(PolicyVersionRow::as_select())
        .first(c))?;
    row.into_model()
}

/// Every version of a policy, newest first.
pub fn versions(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: PolicyId,
) -> Result<Vec<(PolicyVersion, serde_json::Value)>, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let rows: Vec<PolicyVersionRow> = dispatch!(conn, |c| policy_rule_versions::table
        .filter(policy_rule_versions::tenant_id.eq(&t).and(policy_rule_versions::policy_id.eq(&i)))
        .order(policy_rule_versions::version.desc())
        .select(PolicyVersionRow::as_select())
        .load(c))?;
    rows.into_iter().map(PolicyVersionRow::into_model).collect()
}

pub fn list(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    filter: &PolicyFilter,
    page: PageRequest,
) -> Result<Page<PolicyRule>, StoreError> {
    let t = tenant.to_string();
    let status = filter.status.map(|s| s.as_str());
    let rule_type = filter.rule_type.map(|r| r.as_str());
    let scope_type = filter.scope_type.map(|s| s.as_str());
    let (rows, total): (Vec<PolicyRuleRow>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = policy_rules::table.filter(policy_rules::tenant_id.eq(&t)).into_boxed();
            if let Some(v) = status {
                q = q.filter(policy_rules::status.eq(v));
            }
            if let Some(v) = rule_type {
                q = q.filter(policy_rules::rule_type.eq(v));
            }
            if let Some(v) = scope_type {
                q = q.filter(policy_rules::scope_type.eq(v));
            }
            q
        };
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((
                policy_rules::priority.asc(),
                policy_rules::created_at.asc(),
                policy_rules::policy_id.asc(),
            ))
            .limit(page.probe_limit())
            .offset(page.rows_before())
            .select(PolicyRuleRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(PolicyRuleRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

/// The tenant's active policies with their limits: the input of a snapshot.
pub fn active_with_limits(
    conn: &mut Conn<'_>,
    tenant: TenantId,
) -> Result<Vec<(PolicyRule, Vec<PolicyLimit>)>, StoreError> {
    let t = tenant.to_string();
    let (rules, limits): (Vec<PolicyRuleRow>, Vec<PolicyLimitRow>) = dispatch!(conn, |c| {
        let rules = policy_rules::table
            .filter(
                policy_rules::tenant_id.eq(&t).and(policy_rules::status.eq(PolicyStatus::Active.as_str())),
            )
            .select(PolicyRuleRow::as_select())
            .load(c)?;
        let limits = policy_limits::table
            .inner_join(policy_rules::table.on(policy_rules::policy_id.eq(policy_limits::policy_id)))
            .filter(
                policy_limits::tenant_id.eq(&t).and(policy_rules::status.eq(PolicyStatus::Active.as_str())),
            )
            .select(PolicyLimitRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rules, limits))
    })?;
    let mut limits = limits.into_iter().map(PolicyLimitRow::into_model).collect::<Result<Vec<_>, _>>()?;
    rules
        .into_iter()
        .map(|row| {
            let rule = row.into_model()?;
            let (mine, rest): (Vec<_>, Vec<_>) =
                limits.drain(..).partition(|l| l.policy_id == rule.policy_id);
            limits = rest;
            Ok((rule, mine))
        })
        .collect()
}

/// Stores a new version of a policy (`spec`, with its current limits) and makes it current.
pub fn save_version(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: PolicyId,
    spec: &PolicySpec,
    created_by: &str,
    now: Timestamp,
) -> Result<PolicyRule, StoreError> {
    let mut policy = get(conn, tenant, id)?;
    let limits = limits_of(conn, tenant, id)?;
    policy.version += 1;
    policy.spec = spec.clone();
    policy.updated_at = now;
    let row = PolicyRuleRow::from_model(&policy)?;
    let version = PolicyVersionRow {
        policy_id: row.policy_id.clone(),
        version: policy.version,
        tenant_id: row.tenant_id.clone(),
        spec: spec_to_db(spec)?,
        limits: limits_json(&limits),
        created_at: to_db(now),
        created_by: created_by.to_owned(),
    };
    let (t, i) = (tenant.to_string(), id.to_string());
    dispatch!(conn, |c| {
        diesel::update(
            policy_rules::table.filter(policy_rules::tenant_id.eq(&t).and(policy_rules::policy_id.eq(&i))),
        )
        .set((
            policy_rules::name.eq(&row.name),
            policy_rules::rule_type.eq(&row.rule_type),
            policy_rules::condition.eq(&row.condition),
            policy_rules::action.eq(&row.action),
            policy_rules::threshold.eq(row.threshold),
            policy_rules::status.eq(&row.status),
            policy_rules::priority.eq(row.priority),
            policy_rules::scope_type.eq(&row.scope_type),
            policy_rules::version.eq(row.version),
            policy_rules::spec.eq(&row.spec),
            policy_rules::updated_at.eq(row.updated_at),
        ))
        .execute(c)?;
        diesel::insert_into(policy_rule_versions::table).values(&version).execute(c)
    })?;
    Ok(policy)
}

/// Counts a violation (and, when one was opened, an incident) against a policy.
pub fn record_violation(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: PolicyId,
    incidents: i64,
) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    dispatch!(conn, |c| diesel::update(
        policy_rules::table.filter(policy_rules::tenant_id.eq(&t).and(policy_rules::policy_id.eq(&i)))
    )
    .set((
        policy_rules::violation_count.eq(policy_rules::violation_count + 1),
        policy_rules::incident_count.eq(policy_rules::incident_count + incidents),
    ))
    .execute(c))?;
    Ok(())
}

pub fn insert_limit(conn: &mut Conn<'_>, limit: &PolicyLimit) -> Result<(), StoreError> {
    let row = PolicyLimitRow::from_model(limit);
    dispatch!(conn, |c| diesel::insert_into(policy_limits::table).values(&row).execute(c))?;
    Ok(())
}

pub fn get_limit(conn: &mut Conn<'_>, tenant: TenantId, id: LimitId) -> Result<PolicyLimit, StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let row: PolicyLimitRow = dispatch!(conn, |c| policy_limits::table
        .filter(policy_limits::tenant_id.eq(&t).and(policy_limits::limit_id.eq(&i)))
        .select(PolicyLimitRow::as_select())
        .first(c))?;
    row.into_model()
}

pub fn limits_of(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    policy: PolicyId,
) -> Result<Vec<PolicyLimit>, StoreError> {
    let (t, p) = (tenant.to_string(), policy.to_string());
    let rows: Vec<PolicyLimitRow> = dispatch!(conn, |c| policy_limits::table
        .filter(policy_limits::tenant_id.eq(&t).and(policy_limits::policy_id.eq(&p)))
        .order((policy_limits::created_at.asc(), policy_limits::limit_id.asc()))
        .select(PolicyLimitRow::as_select())
        .load(c))?;
    rows.into_iter().map(PolicyLimitRow::into_model).collect()
}

pub fn list_limits(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    policy: Option<PolicyId>,
    page: PageRequest,
) -> Result<Page<PolicyLimit>, StoreError> {
    let t = tenant.to_string();
    let p = policy.map(|p| p.to_string());
    let (rows, total): (Vec<PolicyLimitRow>, i64) = dispatch!(conn, |c| {
        let filtered = || {
            let mut q = policy_limits::table.filter(policy_limits::tenant_id.eq(&t)).into_boxed();
            if let Some(p) = &p {
                q = q.filter(policy_limits::policy_id.eq(p));
            }
            q
        };
        let total = filtered().count().get_result(c)?;
        let rows = filtered()
            .order((policy_limits::created_at.asc(), policy_limits::limit_id.asc()))
            .limit(page.probe_limit())
            .offset(page.rows_before())
            .select(PolicyLimitRow::as_select())
            .load(c)?;
        Ok::<_, diesel::result::Error>((rows, total))
    })?;
    let items = rows.into_iter().map(PolicyLimitRow::into_model).collect::<Result<_, _>>()?;
    Ok(Page::from_probe(items, Total::Exact(total), page, position_only))
}

pub fn update_limit(conn: &mut Conn<'_>, limit: &PolicyLimit) -> Result<(), StoreError> {
    let row = PolicyLimitRow::from_model(limit);
    let n = dispatch!(conn, |c| diesel::update(policy_limits::table.filter(
        policy_limits::tenant_id.eq(&row.tenant_id).and(policy_limits::limit_id.eq(&row.limit_id))
    ))
    .set(&row)
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub fn delete_limit(conn: &mut Conn<'_>, tenant: TenantId, id: LimitId) -> Result<(), StoreError> {
    let (t, i) = (tenant.to_string(), id.to_string());
    let n = dispatch!(conn, |c| diesel::delete(
        policy_limits::table.filter(policy_limits::tenant_id.eq(&t).and(policy_limits::limit_id.eq(&i)))
    )
    .execute(c))?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// The tenant's controls, or the defaults when never set.
pub fn controls(conn: &mut Conn<'_>, tenant: TenantId) -> Result<PolicyControls, StoreError> {
    let t = tenant.to_string();
    let row: Option<PolicyControlsRow> = dispatch!(conn, |c| policy_controls::table
        .find(&t)
        .select(PolicyControlsRow::as_select())
        .first(c)
        .optional())?;
    row.map_or_else(|| Ok(PolicyControls::default()), PolicyControlsRow::into_model)
}

pub fn save_controls(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    controls: &PolicyControls,
    by: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let row = PolicyControlsRow {
        tenant_id: tenant.to_string(),
        enforcement_mode: controls.enforcement_mode.as_str().to_owned(),
        conflict_strategy: controls.conflict_strategy.as_str().to_owned(),
        near_threshold_pct: controls.near_threshold_pct,
        updated_at: to_db(now),
        updated_by: by.to_owned(),
    };
    dispatch!(conn, |c| diesel::insert_into(policy_controls::table)
        .values(&row)
        .on_conflict(policy_controls::tenant_id)
        .do_update()
        .set(&row)
        .execute(c))?;
    Ok(())
}
