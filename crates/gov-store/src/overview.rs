//! The Overview's cross-table reads: counts and sums over (tenant_id, time) index ranges, the
//! open and pending objects, and the audit rows worth a highlight. Nothing here writes.

use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable};
use gov_model::{
    AuditEntry, Incident, IncidentId, IncidentStatus, PolicyId, ProposalId, ProposalStatus, RiskAction,
    RunStatus, Severity, SignalType, TenantId, Timestamp,
};

use crate::convert::{from_db, parse, parse_opt, to_db};
use crate::db::dispatch;
use crate::models::audit_log::AuditLogRow;
use crate::models::incident::IncidentRow;
use crate::schema::{
    audit_logs, incidents, policy_proposals, prevention_records, regression_state, risk_event, runs,
    threshold_signals,
};
use crate::{Conn, StoreError};

/// The statuses of an incident that is not resolved.
pub const OPEN_INCIDENT: [IncidentStatus; 3] =
    [IncidentStatus::Active, IncidentStatus::Acknowledged, IncidentStatus::Escalated];

/// The statuses of a run that has not ended.
pub const LIVE_RUN: [RunStatus; 3] = [RunStatus::Queued, RunStatus::Running, RunStatus::Paused];

/// What happened in one period `[from, to)`: runs by the time they started, incidents and
/// prevention records by the time they were written. With `live_runs_only`, only the runs that
/// have not ended count (the rollups hold the others).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PeriodTotals {
    pub runs_started: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub stopped_runs: i64,
    pub incidents_opened: i64,
    pub violations: i64,
}

pub fn period_totals(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    from: Timestamp,
    to: Timestamp,
    live_runs_only: bool,
) -> Result<PeriodTotals, StoreError> {
    let (t, from, to) = (tenant.to_string(), to_db(from), to_db(to));
    let stopped = RunStatus::FailedPolicy.as_str();
    let live: Vec<&str> = LIVE_RUN.iter().map(|s| s.as_str()).collect();
    dispatch!(conn, |c| {
        let mut q = runs::table
            .filter(runs::tenant_id.eq(&t).and(runs::started_at.ge(from)).and(runs::started_at.lt(to)))
            .into_boxed();
        if live_runs_only {
            q = q.filter(runs::status.eq_any(&live));
        }
        let (runs_started, tokens, cost): (i64, Option<i64>, Option<f64>) = q
            .select((
                count_star(),
                sql::<Nullable<BigInt>>("CAST(SUM(tokens_used) AS BIGINT)"),
                sql::<Nullable<Double>>("CAST(SUM(total_cost_cents) AS DOUBLE PRECISION)"),
            ))
            .first(c)?;
        let stopped_runs: i64 = if live_runs_only {
            0
        } else {
            runs::table
                .filter(runs::tenant_id.eq(&t).and(runs::status.eq(stopped)))
                .filter(runs::started_at.ge(from).and(runs::started_at.lt(to)))
                .count()
                .get_result(c)?
        };
        let incidents_opened: i64 = incidents::table
            .filter(incidents::tenant_id.eq(&t))
            .filter(incidents::created_at.ge(from).and(incidents::created_at.lt(to)))
            .count()
            .get_result(c)?;
        let violations: i64 = prevention_records::table
            .filter(prevention_records::tenant_id.eq(&t))
            .filter(prevention_records::created_at.ge(from).and(prevention_records::created_at.lt(to)))
            .count()
            .get_result(c)?;
        Ok::<_, diesel::result::Error>(PeriodTotals {
            runs_started,
            tokens: tokens.unwrap_or(0),
            cost_cents: cost.unwrap_or(0.0),
            stopped_runs,
            incidents_opened,
            violations,
        })
    })
    .map_err(Into::into)
}

/// Runs of `tenant` in any of `statuses` (an index range per status).
pub fn count_runs(conn: &mut Conn<'_>, tenant: TenantId, statuses: &[RunStatus]) -> Result<i64, StoreError> {
    let t = tenant.to_string();
    let s: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    Ok(dispatch!(conn, |c| runs::table
        .filter(runs::tenant_id.eq(&t).and(runs::status.eq_any(&s)))
        .count()
        .get_result(c))?)
}

/// Open incidents of one severity: how many, and the newest (id, title). Both read the
/// `(tenant_id, severity, status, created_at)` index: a count per status and its newest row.
pub fn open_incidents(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    severity: Severity,
) -> Result<(i64, Option<(IncidentId, String)>), StoreError> {
    let t = tenant.to_string();
    let sev = severity.as_str();
    let mut count = 0;
    let mut newest: Option<(time::PrimitiveDateTime, String, String)> = None;
    for status in OPEN_INCIDENT {
        let st = status.as_str();
        let (n, top): (i64, Option<(time::PrimitiveDateTime, String, String)>) = dispatch!(conn, |c| {
            let q = || {
                incidents::table
                    .filter(incidents::tenant_id.eq(&t).and(incidents::severity.eq(sev)))
                    .filter(incidents::status.eq(st))
            };
            let n = q().count().get_result(c)?;
            let top = q()
                .order((incidents::created_at.desc(), incidents::incident_id.desc()))
                .select((incidents::created_at, incidents::incident_id, incidents::title))
                .first(c)
                .optional()?;
            Ok::<_, diesel::result::Error>((n, top))
        })?;
        count += n;
        if let Some(top) = top
            && newest.as_ref().is_none_or(|best| (&top.0, &top.1) > (&best.0, &best.1))
        {
            newest = Some(top);
        }
    }
    let newest =
        newest.map(|(_, id, title)| Ok::<_, StoreError>((parse("incident_id", &id)?, title))).transpose()?;
    Ok((count, newest))
}

/// Signals of one type written at or after `since`.
pub fn count_signals_since(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    kind: SignalType,
    since: Timestamp,
) -> Result<i64, StoreError> {
    let (t, since, k) = (tenant.to_string(), to_db(since), kind.as_str());
    Ok(dispatch!(conn, |c| threshold_signals::table
        .filter(threshold_signals::tenant_id.eq(&t).and(threshold_signals::created_at.ge(since)))
        .filter(threshold_signals::signal_type.eq(k))
        .count()
        .get_result(c))?)
}

/// Risk reservations granted and denied at or after `since`.
pub fn risk_decisions_since(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    since: Timestamp,
) -> Result<(i64, i64), StoreError> {
    let (t, since) = (tenant.to_string(), to_db(since));
    let actions = [RiskAction::Reserve.as_str(), RiskAction::Deny.as_str()];
    let groups: Vec<(String, i64)> = dispatch!(conn, |c| risk_event::table
        .filter(risk_event::tenant_id.eq(&t).and(risk_event::created_at.ge(since)))
        .filter(risk_event::action.eq_any(actions))
        .group_by(risk_event::action)
        .select((risk_event::action, count_star()))
        .load(c))?;
    let of = |a: RiskAction| groups.iter().find(|(x, _)| x == a.as_str()).map_or(0, |(_, n)| *n);
    Ok((of(RiskAction::Reserve), of(RiskAction::Deny)))
}

/// The (domain, metric) of every tripped regression tripwire.
pub fn tripped_tripwires(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<(String, String)>, StoreError> {
    let t = tenant.to_string();
    Ok(dispatch!(conn, |c| regression_state::table
        .filter(regression_state::tenant_id.eq(&t).and(regression_state::triggered.eq(true)))
        .order((regression_state::domain.asc(), regression_state::metric.asc()))
        .select((regression_state::domain, regression_state::metric))
        .load(c))?)
}

/// The newest `limit` audit rows whose action is one of `actions`, newest first: the newest
/// `limit` of each action (a seek on `(tenant_id, action, timestamp)`), merged.
pub fn recent_audit(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    actions: &[&str],
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let t = tenant.to_string();
    let mut rows: Vec<AuditLogRow> = Vec::new();
    for action in actions {
        let mut some: Vec<AuditLogRow> = dispatch!(conn, |c| audit_logs::table
            .filter(audit_logs::tenant_id.eq(&t).and(audit_logs::action.eq(action)))
            .order((audit_logs::timestamp.desc(), audit_logs::log_id.desc()))
            .limit(limit)
            .select(AuditLogRow::as_select())
            .load(c))?;
        rows.append(&mut some);
    }
    rows.sort_by(|a, b| (b.timestamp, &b.log_id).cmp(&(a.timestamp, &a.log_id)));
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    rows.into_iter().map(AuditLogRow::into_model).collect()
}

/// The newest `limit` incidents (any status), newest first.
pub fn recent_incidents(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    limit: i64,
) -> Result<Vec<Incident>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<IncidentRow> = dispatch!(conn, |c| incidents::table
        .filter(incidents::tenant_id.eq(&t))
        .order((incidents::created_at.desc(), incidents::incident_id.desc()))
        .limit(limit)
        .select(IncidentRow::as_select())
        .load(c))?;
    rows.into_iter().map(IncidentRow::into_model).collect()
}

/// A proposal waiting for a reviewer, as the Overview lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingProposal {
    pub proposal_id: ProposalId,
    pub policy_id: Option<PolicyId>,
    pub proposer_id: String,
    pub rationale: Option<String>,
    pub created_at: Timestamp,
}

/// How many proposals are pending, and the newest `limit` of them.
pub fn pending_proposals(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    limit: i64,
) -> Result<(i64, Vec<PendingProposal>), StoreError> {
    let t = tenant.to_string();
    let pending = ProposalStatus::Pending.as_str();
    type Row = (String, Option<String>, String, Option<String>, time::PrimitiveDateTime);
    let (total, rows): (i64, Vec<Row>) = dispatch!(conn, |c| {
        let q = || {
            policy_proposals::table
                .filter(policy_proposals::tenant_id.eq(&t).and(policy_proposals::status.eq(pending)))
        };
        let total = q().count().get_result(c)?;
        let rows = q()
            .order((policy_proposals::created_at.desc(), policy_proposals::proposal_id.desc()))
            .limit(limit)
            .select((
                policy_proposals::proposal_id,
                policy_proposals::policy_id,
                policy_proposals::proposer_id,
                policy_proposals::rationale,
                policy_proposals::created_at,
            ))
            .load(c)?;
        Ok::<_, diesel::result::Error>((total, rows))
    })?;
    let items = rows
        .into_iter()
        .map(|(id, policy, proposer_id, rationale, at)| {
            Ok(PendingProposal {
                proposal_id: parse("proposal_id", &id)?,
                policy_id: parse_opt("policy_id", policy)?,
                proposer_id,
                rationale,
                created_at: from_db(at),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((total, items))
}

/// Incidents of `tenant` that are not resolved.
pub fn count_open_incidents(conn: &mut Conn<'_>, tenant: TenantId) -> Result<i64, StoreError> {
    let t = tenant.to_string();
    let open: Vec<&str> = OPEN_INCIDENT.iter().map(|s| s.as_str()).collect();
    Ok(dispatch!(conn, |c| incidents::table
        .filter(incidents::tenant_id.eq(&t).and(incidents::status.eq_any(&open)))
        .count()
        .get_result(c))?)
}
