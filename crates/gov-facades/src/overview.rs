//! The Overview (seed 000 §12.1): "is the system okay right now?" The health status and its
//! reasons, the period metrics with trends, the notable recent events, and what waits for a human.
//! Read-only: every figure comes from an index range over the tables the step path already writes.

use gov_insight::health::{self, Facts, Health, OpenIncidents, Tripped};
use gov_model::{
    AuditEntry, IncidentStatus, PageRequest, RunStatus, Severity, SignalType, SortDirection, TenantId,
    Timestamp,
};
use gov_store::analytics::Range;
use gov_store::incidents::{self, IncidentFilter};
use gov_store::overview::{self as store, LIVE_RUN, PeriodTotals};
use gov_store::rollups::{self, RunKey};
use gov_store::runs::{self, RunFilter, RunSort};
use gov_store::{Conn, levers};

use crate::rollups::Parts;
use time::Duration;

use crate::{Gov, Result};

/// Highlights and decisions lists hold at most this many items.
pub const MAX_OVERVIEW_ITEMS: u32 = 100;
pub const DEFAULT_OVERVIEW_ITEMS: u32 = 20;

/// The length of a metrics period; the trend compares it with the period of the same length
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    Hour,
    #[default]
    Day,
    Week,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Hour, Period::Day, Period::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Hour => "1h",
            Period::Day => "24h",
            Period::Week => "7d",
        }
    }

    pub fn length(self) -> Duration {
        match self {
            Period::Hour => Duration::hours(1),
            Period::Day => Duration::days(1),
            Period::Week => Duration::days(7),
        }
    }
}

impl std::str::FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a period; allowed: 1h, 24h, 7d"))
    }
}

/// The health status, its reasons and the facts it was judged on.
#[derive(Debug, Clone)]
pub struct HealthView {
    pub as_of: Timestamp,
    pub health: Health,
    pub facts: Facts,
    pub open_incidents: i64,
    pub live_runs: i64,
}

/// One period's figures and the previous period's, `[from, to)` and `[from - length, from)`.
#[derive(Debug, Clone)]
pub struct MetricsView {
    pub period: Period,
    pub from: Timestamp,
    pub to: Timestamp,
    pub current: PeriodTotals,
    pub previous: PeriodTotals,
    pub live_runs: i64,
}

/// A notable event or a decision, linking to its object (an API path).
#[derive(Debug, Clone, PartialEq)]
pub struct OverviewItem {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub timestamp: Timestamp,
    pub severity: Option<Severity>,
    pub link: String,
    /// Who took a decision (audit rows); `None` for objects.
    pub actor: Option<String>,
}

/// How many of each thing waits for a human.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PendingCounts {
    pub policy_proposals: i64,
    pub unacknowledged_incidents: i64,
    pub paused_runs: i64,
    pub review_findings: i64,
}

impl PendingCounts {
    pub fn total(&self) -> i64 {
        self.policy_proposals + self.unacknowledged_incidents + self.paused_runs + self.review_findings
    }
}

/// What waits for a human (newest first, at most `limit`) and the decisions recently taken.
#[derive(Debug, Clone)]
pub struct DecisionsView {
    pub as_of: Timestamp,
    pub counts: PendingCounts,
    pub pending: Vec<OverviewItem>,
    pub recent: Vec<OverviewItem>,
}

/// Everything the Overview shows, read on one connection.
#[derive(Debug, Clone)]
pub struct OverviewSummary {
    pub health: HealthView,
    pub metrics: MetricsView,
    pub highlights: Vec<OverviewItem>,
    pub decisions: DecisionsView,
}

/// Audit actions that make a highlight.
const HIGHLIGHT_ACTIONS: [&str; 8] = [
    "run.stopped",
    "regression.tripped",
    "kill_switch.engaged",
    "kill_switch.released",
    "go_live.enabled",
    "go_live.disabled",
    "run.overridden",
    "evidence.exported",
];

/// Audit actions that record a decision a human took.
const DECISION_ACTIONS: [&str; 11] = [
    "incident.acknowledged",
    "incident.escalated",
    "incident.resolved",
    "run.overridden",
    "agent.released",
    "go_live.enabled",
    "go_live.disabled",
    "kill_switch.engaged",
    "kill_switch.released",
    "policy_proposal.approved",
    "policy_proposal.rejected",
];

impl Gov {
    pub fn overview_health(&self, tenant: TenantId) -> Result<HealthView> {
        let now = self.clock.now();
        self.db.read(|c| health_view(c, tenant, now))
    }

    pub fn overview_metrics(&self, tenant: TenantId, period: Period) -> Result<(HealthView, MetricsView)> {
        let now = self.clock.now();
        self.db.read(|c| Ok((health_view(c, tenant, now)?, metrics_view(c, tenant, period, now)?)))
    }

    pub fn overview_highlights(&self, tenant: TenantId, limit: u32) -> Result<Vec<OverviewItem>> {
        self.db.read(|c| highlights(c, tenant, limit))
    }

    pub fn overview_decisions(&self, tenant: TenantId, limit: u32) -> Result<DecisionsView> {
        let findings = self.review_findings(tenant)?;
        let now = self.clock.now();
        self.db.read(|c| decisions(c, tenant, limit, findings, now))
    }

    pub fn overview_summary(&self, tenant: TenantId, period: Period, limit: u32) -> Result<OverviewSummary> {
        let findings = self.review_findings(tenant)?;
        let now = self.clock.now();
        self.db.read(|c| {
            Ok(OverviewSummary {
                health: health_view(c, tenant, now)?,
                metrics: metrics_view(c, tenant, period, now)?,
                highlights: highlights(c, tenant, limit)?,
                decisions: decisions(c, tenant, limit, findings, now)?,
            })
        })
    }

    /// The Monday review's ACT findings (the unhealthy ones), as decision items.
    fn review_findings(&self, tenant: TenantId) -> Result<Vec<OverviewItem>> {
        let t = self.get_tenant(tenant)?;
        let review = self.control_review(&t)?;
        Ok(review
            .findings
            .into_iter()
            .filter(|f| !f.healthy)
            .map(|f| OverviewItem {
                id: format!("review:{}", f.check),
                kind: "review_finding".to_owned(),
                title: f.detail,
                timestamp: review.at,
                severity: None,
                link: review_link(f.check).to_owned(),
                actor: None,
            })
            .collect())
    }
}

fn review_link(check: &str) -> &'static str {
    match check {
        "control_plane" => "/api/governance/go-live/state",
        "risk_denials" => "/api/governance/risk/ledger/today",
        "regression_tripwires" => "/api/governance/regression/state",
        _ => "/api/governance/heimdall/scorecard/today",
    }
}

fn health_view(c: &mut Conn<'_>, tenant: TenantId, now: Timestamp) -> Result<HealthView> {
    let go_live = levers::go_live(c, tenant)?;
    let open = |c: &mut Conn<'_>, severity| -> Result<Option<OpenIncidents>> {
        let (count, newest) = store::open_incidents(c, tenant, severity)?;
        Ok(Some(OpenIncidents { count, newest }))
    };
    let midnight = now.date().midnight().assume_utc();
    let (risk_reserved_today, risk_denied_today) = store::risk_decisions_since(c, tenant, midnight)?;
    let facts = Facts {
        kill_switch: go_live
            .kill_switch_engaged
            .then(|| (go_live.changed_by.clone(), go_live.reason.clone())),
        critical_incidents: open(c, Severity::Critical)?,
        high_incidents: open(c, Severity::High)?,
        tripped: store::tripped_tripwires(c, tenant)?
            .into_iter()
            .map(|(domain, metric)| Tripped { domain, metric })
            .collect(),
        near_last_hour: store::count_signals_since(c, tenant, SignalType::Near, now - Duration::hours(1))?,
        risk_reserved_today,
        risk_denied_today,
        paused_runs: store::count_runs(c, tenant, &[RunStatus::Paused])?,
    };
    Ok(HealthView {
        as_of: now,
        health: health::judge(&facts),
        open_incidents: store::count_open_incidents(c, tenant)?,
        live_runs: store::count_runs(c, tenant, &LIVE_RUN)?,
        facts,
    })
}

/// A period's totals: the ended runs of its whole hours from the rollups, everything else from the
/// rows.
fn period_totals(c: &mut Conn<'_>, tenant: TenantId, from: Timestamp, to: Timestamp) -> Result<PeriodTotals> {
    let parts = Parts::of(&Range { from, to, agent_id: None, live_only: false });
    let mut sum = PeriodTotals::default();
    let mut add = |t: PeriodTotals| {
        sum.runs_started += t.runs_started;
        sum.tokens += t.tokens;
        sum.cost_cents += t.cost_cents;
        sum.stopped_runs += t.stopped_runs;
        sum.incidents_opened += t.incidents_opened;
        sum.violations += t.violations;
    };
    for r in &parts.raw {
        add(store::period_totals(c, tenant, r.from, r.to, false)?);
    }
    if let (Some(span), Some(h)) = (&parts.span, &parts.hours) {
        add(store::period_totals(c, tenant, span.from, span.to, true)?);
        for g in rollups::run_groups(c, tenant, h, RunKey::All)? {
            add(PeriodTotals {
                runs_started: g.runs,
                tokens: g.tokens,
                cost_cents: g.cost_cents,
                stopped_runs: if g.status == RunStatus::FailedPolicy.as_str() { g.runs } else { 0 },
                ..PeriodTotals::default()
            });
        }
    }
    Ok(sum)
}

fn metrics_view(c: &mut Conn<'_>, tenant: TenantId, period: Period, now: Timestamp) -> Result<MetricsView> {
    let from = now - period.length();
    Ok(MetricsView {
        period,
        from,
        to: now,
        current: period_totals(c, tenant, from, now)?,
        previous: period_totals(c, tenant, from - period.length(), from)?,
        live_runs: store::count_runs(c, tenant, &LIVE_RUN)?,
    })
}

fn limit_of(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_OVERVIEW_ITEMS))
}

fn newest_first(mut items: Vec<OverviewItem>, limit: u32) -> Vec<OverviewItem> {
    items.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| b.id.cmp(&a.id)));
    items.truncate(usize::try_from(limit_of(limit)).unwrap_or(usize::MAX));
    items
}

fn highlights(c: &mut Conn<'_>, tenant: TenantId, limit: u32) -> Result<Vec<OverviewItem>> {
    let n = limit_of(limit);
    let mut items: Vec<OverviewItem> =
        store::recent_audit(c, tenant, &HIGHLIGHT_ACTIONS, n)?.into_iter().map(audit_item).collect();
    items.extend(store::recent_incidents(c, tenant, n)?.into_iter().map(|i| OverviewItem {
        id: i.incident_id.to_string(),
        kind: "incident_opened".to_owned(),
        title: i.title,
        timestamp: i.created_at,
        severity: Some(i.severity),
        link: format!("/api/v1/incidents/{}", i.incident_id),
        actor: None,
    }));
    Ok(newest_first(items, limit))
}

fn decisions(
    c: &mut Conn<'_>,
    tenant: TenantId,
    limit: u32,
    findings: Vec<OverviewItem>,
    now: Timestamp,
) -> Result<DecisionsView> {
    let n = limit_of(limit);
    let page = PageRequest::new(1, u32::try_from(n).unwrap_or(MAX_OVERVIEW_ITEMS)).unwrap_or_default();
    let (proposals_total, proposals) = store::pending_proposals(c, tenant, n)?;
    let active = IncidentFilter { statuses: Some(vec![IncidentStatus::Active]), ..IncidentFilter::default() };
    let incidents = incidents::list(c, tenant, &active, page.clone(), SortDirection::Desc)?;
    // Counted on the status index first: with none paused (the usual case) the list, which
    // walks the runs by start time, is not read at all.
    let paused_runs = store::count_runs(c, tenant, &[RunStatus::Paused])?;
    let paused = RunFilter { statuses: Some(vec![RunStatus::Paused]), ..RunFilter::default() };
    let runs = if paused_runs == 0 {
        Vec::new()
    } else {
        runs::list(c, tenant, &paused, page, RunSort::StartedAt, SortDirection::Desc)?.items
    };
    let counts = PendingCounts {
        policy_proposals: proposals_total,
        unacknowledged_incidents: incidents.total,
        paused_runs,
        review_findings: i64::try_from(findings.len()).unwrap_or(i64::MAX),
    };
    let mut pending = findings;
    pending.extend(proposals.into_iter().map(|p| OverviewItem {
        id: p.proposal_id.to_string(),
        kind: "policy_proposal".to_owned(),
        title: match (&p.policy_id, &p.rationale) {
            (Some(policy), _) => format!("Proposed change to policy {policy} by {}", p.proposer_id),
            (None, _) => format!("Proposed new policy by {}", p.proposer_id),
        },
        timestamp: p.created_at,
        severity: None,
        link: format!("/api/v1/policies/proposals/{}", p.proposal_id),
        actor: None,
    }));
    pending.extend(incidents.items.into_iter().map(|i| OverviewItem {
        id: i.incident_id.to_string(),
        kind: "unacknowledged_incident".to_owned(),
        title: i.title,
        timestamp: i.created_at,
        severity: Some(i.severity),
        link: format!("/api/v1/incidents/{}", i.incident_id),
        actor: None,
    }));
    pending.extend(runs.into_iter().map(|r| OverviewItem {
        id: r.run_id.to_string(),
        kind: "paused_run".to_owned(),
        title: format!("Run of {} paused, awaiting an override", r.agent_id),
        timestamp: r.started_at,
        severity: None,
        link: format!("/api/v1/activity/{}", r.run_id),
        actor: None,
    }));
    let recent = store::recent_audit(c, tenant, &DECISION_ACTIONS, n)?.into_iter().map(audit_item).collect();
    Ok(DecisionsView { as_of: now, counts, pending: newest_first(pending, limit), recent })
}

fn detail<'a>(e: &'a AuditEntry, key: &str) -> &'a str {
    e.details.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}

/// An audit row as an item: its kind is the action (`.` as `_`), its link the object it is about.
fn audit_item(e: AuditEntry) -> OverviewItem {
    let id = &e.resource_id;
    let (title, link) = match e.action.as_str() {
        "run.stopped" => (
            format!("Run {id} stopped: {}", detail(&e, "termination_reason")),
            format!("/api/v1/activity/{id}"),
        ),
        "run.overridden" => {
            (format!("Run {id} overridden by {}", e.actor_id), format!("/api/v1/activity/{id}"))
        }
        "regression.tripped" => (
            format!("Regression tripwire {id} tripped ({})", detail(&e, "action")),
            "/api/governance/regression/state".to_owned(),
        ),
        "kill_switch.engaged" | "kill_switch.released" | "go_live.enabled" | "go_live.disabled" => {
            let what = match e.action.as_str() {
                "kill_switch.engaged" => "Kill switch engaged",
                "kill_switch.released" => "Kill switch released",
                "go_live.enabled" => "Go-live enabled",
                _ => "Go-live disabled",
            };
            (
                format!("{what} by {}: {}", detail(&e, "actor"), detail(&e, "reason")),
                "/api/governance/go-live/state".to_owned(),
            )
        }
        "evidence.exported" => (
            format!("Evidence exported ({}, {})", detail(&e, "kind"), detail(&e, "format")),
            format!("/api/v1/exports/{id}"),
        ),
        "incident.acknowledged" | "incident.escalated" | "incident.resolved" => (
            format!("Incident {} by {}", e.action.trim_start_matches("incident."), e.actor_id),
            format!("/api/v1/incidents/{id}"),
        ),
        "agent.released" => {
            (format!("Agent {id} released by {}", e.actor_id), format!("/api/v1/activity/?agent_id={id}"))
        }
        action => (
            format!("Policy proposal {} by {}", action.trim_start_matches("policy_proposal."), e.actor_id),
            format!("/api/v1/policies/proposals/{id}"),
        ),
    };
    OverviewItem {
        id: e.id.to_string(),
        kind: e.action.replace('.', "_"),
        title,
        timestamp: e.timestamp,
        severity: None,
        link,
        actor: Some(e.actor_id),
    }
}
