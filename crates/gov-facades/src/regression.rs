//! The regression tripwire (seed 004): business KPI events per (domain, metric), evaluated after
//! every event and on demand by the `gov-regression` engine. A trip is latched: the tripwire stays
//! tripped, and its action in force, until an operator upserts the tripwire (fix + re-enable).
//!
//! Actions: `KILL_SWITCH` engages the tenant's kill switch (every live run stops at its next step,
//! no run starts). `THROTTLE` limits new runs that name the domain (`POST /api/v1/runs` with
//! `domain`) to `THROTTLE_RUNS_PER_WINDOW` per fixed UTC window of `THROTTLE_WINDOW_SECS`, counted
//! in the database; the others are refused with 429 and `Retry-After`. Every trip opens an incident
//! with the baseline, current rate and drop. A disabled tripwire is evaluated (its numbers are
//! visible) but never trips.

use gov_levers::TRIPWIRE_ACTOR;
use gov_model::{
    GoLiveState, IncidentId, KpiEvent, NewAuditEntry, RegressionAction, RegressionPolicy, RegressionState,
    TenantId, Timestamp,
};
use gov_regression::{Evaluation, Tripwire};
use gov_store::regression::{self, Check};
use gov_store::{Conn, evidence, levers};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, validate};

/// The length of a throttle window, in seconds.
pub const THROTTLE_WINDOW_SECS: i64 = 60;
/// How many runs of a throttled domain may start per window.
pub const THROTTLE_RUNS_PER_WINDOW: i64 = 1;
/// The largest window or baseline: every KPI event's evaluation reads up to twice this many rows
/// inside its write transaction.
pub const MAX_EVENTS: i64 = 10_000;

/// A change to a tripwire; absent fields keep their value (a new tripwire needs none: it starts
/// from the seed's window 50, baseline 200, 250 events to enforce, 20% drop, THROTTLE, disabled).
#[derive(Debug, Clone, Default)]
pub struct RegressionPolicyChange {
    pub domain: String,
    pub metric: String,
    pub window_events: Option<i64>,
    pub baseline_events: Option<i64>,
    pub min_events_to_enforce: Option<i64>,
    pub max_drop_fraction: Option<f64>,
    pub action: Option<String>,
    pub enabled: Option<bool>,
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// Restart counting from now even if the tripwire is not tripped (a new baseline).
    pub reset_baseline: bool,
}

/// A business outcome to record.
#[derive(Debug, Clone, Default)]
pub struct NewKpiEvent {
    pub domain: String,
    pub metric: String,
    pub success: bool,
    pub value: Option<f64>,
    pub actor: Option<String>,
    pub correlation_id: Option<String>,
    pub detail: Option<String>,
}

/// One evaluation of one tripwire and what it did.
#[derive(Debug, Clone)]
pub struct TripwireCheck {
    pub policy: RegressionPolicy,
    pub evaluation: Evaluation,
    /// The state after the evaluation.
    pub state: RegressionState,
    /// This evaluation tripped it (and opened `state.incident_id`).
    pub tripped_now: bool,
}

/// A domain or metric name: 1 to 64 of `A-Z a-z 0-9 _ . -`.
fn name(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok { Ok(value.to_owned()) } else { Err(Error::invalid(field, "must be 1 to 64 of A-Z a-z 0-9 _ . -")) }
}

pub(crate) fn domain_name(value: &str) -> Result<String> {
    Ok(name("domain", value)?.to_ascii_uppercase())
}

fn tripwire(p: &RegressionPolicy) -> Tripwire {
    let size = |n: i64| usize::try_from(n).unwrap_or(0);
    Tripwire {
        window_events: size(p.window_events),
        baseline_events: size(p.baseline_events),
        min_events_to_enforce: size(p.min_events_to_enforce),
        max_drop_fraction: p.max_drop_fraction,
    }
}

fn check_policy(p: &RegressionPolicy) -> Result<()> {
    for (field, n) in [("window_events", p.window_events), ("baseline_events", p.baseline_events)] {
        if !(1..=MAX_EVENTS).contains(&n) {
            return Err(Error::invalid(field, format!("must be between 1 and {MAX_EVENTS}")));
        }
    }
    if !(0..=p.window_events + p.baseline_events).contains(&p.min_events_to_enforce) {
        return Err(Error::invalid(
            "min_events_to_enforce",
            "must be between 0 and window_events + baseline_events",
        ));
    }
    if !p.max_drop_fraction.is_finite() {
        return Err(Error::invalid("max_drop_fraction", "must be a number"));
    }
    tripwire(p).validate().map_err(|e| Error::invalid(e.field, e.message))
}

/// The tripwire of (domain, metric), or 404 naming what is unknown.
fn known(c: &mut Conn<'_>, tenant: TenantId, domain: &str, metric: &str) -> Result<RegressionPolicy> {
    match regression::policy(c, tenant, domain, metric)? {
        Some(p) => Ok(p),
        None if regression::domain_exists(c, tenant, domain)? => Err(Error::NotFound("regression metric")),
        None => Err(Error::NotFound("regression domain")),
    }
}

fn effect(action: RegressionAction, domain: &str) -> String {
    match action {
        RegressionAction::KillSwitch => {
            "the tenant's kill switch was engaged: every live run stops at its next step".to_owned()
        }
        RegressionAction::Throttle => format!(
            "new {domain} runs are limited to {THROTTLE_RUNS_PER_WINDOW} per {THROTTLE_WINDOW_SECS} s \
             until an operator resets the tripwire"
        ),
    }
}

impl Gov {
    pub fn regression_policies(&self, tenant: TenantId) -> Result<Vec<RegressionPolicy>> {
        Ok(self.db.read(|c| regression::policies(c, tenant))?)
    }

    /// Every tripwire's state with its policy, by domain then metric.
    pub fn regression_states(&self, tenant: TenantId) -> Result<Vec<(RegressionPolicy, RegressionState)>> {
        let (policies, states) = self
            .db
            .read(|c| Ok::<_, Error>((regression::policies(c, tenant)?, regression::states(c, tenant)?)))?;
        let mut states: std::collections::HashMap<(String, String), RegressionState> =
            states.into_iter().map(|s| ((s.domain.clone(), s.metric.clone()), s)).collect();
        // Every tripwire has its state row (created with its policy); pair them by key.
        Ok(policies
            .into_iter()
            .filter_map(|p| states.remove(&(p.domain.clone(), p.metric.clone())).map(|s| (p, s)))
            .collect())
    }

    /// Creates a tripwire or changes it (admin, audited). Upserting a tripped tripwire is the
    /// operator's reset: the trip clears and counting restarts from now.
    pub fn upsert_regression_policy(
        &self,
        caller: &Caller,
        change: RegressionPolicyChange,
    ) -> Result<(RegressionPolicy, RegressionState)> {
        let domain = domain_name(&change.domain)?;
        let metric = name("metric", &change.metric)?;
        let action = change
            .action
            .as_deref()
            .map(|a| a.trim().to_ascii_uppercase().parse::<RegressionAction>())
            .transpose()
            .map_err(|e| Error::invalid("action", e.to_string()))?;
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let reason = validate::upsert_reason(change.reason.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let tenant = caller.tenant_id;
            let current = regression::policy(c, tenant, &domain, &metric)?;
            let base = current.clone().unwrap_or_else(|| RegressionPolicy {
                domain: domain.clone(),
                metric: metric.clone(),
                window_events: 50,
                baseline_events: 200,
                min_events_to_enforce: 250,
                max_drop_fraction: 0.20,
                action: RegressionAction::Throttle,
                enabled: false,
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
            });
            let next = RegressionPolicy {
                window_events: change.window_events.unwrap_or(base.window_events),
                baseline_events: change.baseline_events.unwrap_or(base.baseline_events),
                min_events_to_enforce: change.min_events_to_enforce.unwrap_or(base.min_events_to_enforce),
                max_drop_fraction: change.max_drop_fraction.unwrap_or(base.max_drop_fraction),
                action: action.unwrap_or(base.action),
                enabled: change.enabled.unwrap_or(base.enabled),
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
                ..base
            };
            check_policy(&next)?;
            regression::upsert_policy(c, tenant, &next)?;
            regression::lock_states(c, tenant, &[(&domain, &metric)])?;
            let before = regression::state(c, tenant, &domain, &metric)?;
            let reset = before.triggered || change.reset_baseline;
            if reset {
                let note = format!("reset by {actor} at {now}: {reason}; counting events from then");
                regression::reset(c, tenant, &domain, &metric, now, &note)?;
            }
            audit::record(
                c,
                tenant,
                &caller.actor,
                NewAuditEntry {
                    action: "regression_policy.upserted",
                    resource_type: "regression_policy",
                    resource_id: format!("{domain}/{metric}"),
                    details: json!({
                        "actor": actor, "reason": reason, "created": current.is_none(),
                        "window_events": next.window_events, "baseline_events": next.baseline_events,
                        "min_events_to_enforce": next.min_events_to_enforce,
                        "max_drop_fraction": next.max_drop_fraction, "action": next.action,
                        "enabled": next.enabled, "cleared_trip": before.triggered, "counting_restarted": reset,
                    }),
                },
                now,
            )?;
            let state = regression::state(c, tenant, &domain, &metric)?;
            Ok((next, state))
        })
    }

    /// Records a KPI event and evaluates its tripwire.
    pub fn record_kpi(&self, caller: &Caller, input: NewKpiEvent) -> Result<(KpiEvent, TripwireCheck)> {
        let domain = domain_name(&input.domain)?;
        let metric = name("metric", &input.metric)?;
        if input.value.is_some_and(|v| !v.is_finite()) {
            return Err(Error::invalid("value", "must be a finite number"));
        }
        let actor = validate::named_or_caller("actor", input.actor.as_deref(), caller)?;
        let correlation_id =
            input.correlation_id.as_deref().map(|c| validate::identifier("correlation_id", c)).transpose()?;
        let detail = match input.detail.as_deref() {
            Some(d) => validate::text("detail", d, 2000)?,
            None => String::new(),
        };
        let now = self.clock.now();
        let caller = caller.clone();
        let (event, check, go_live) = self.db.write(move |c| {
            let policy = known(c, caller.tenant_id, &domain, &metric)?;
            regression::lock_states(c, caller.tenant_id, &[(&domain, &metric)])?;
            let event = KpiEvent {
                id: uuid::Uuid::now_v7().to_string(),
                domain,
                metric,
                success: input.success,
                value: input.value,
                actor,
                correlation_id,
                detail,
                created_at: now,
            };
            regression::insert_kpi(c, caller.tenant_id, &event)?;
            let (check, go_live) = evaluate_one(c, &caller, policy, now)?;
            Ok::<_, Error>((event, check, go_live))
        })?;
        if let Some(state) = go_live {
            self.go_live_cache.put(&state);
        }
        Ok((event, check))
    }

    /// Evaluates the tenant's tripwires now: one (domain and metric), a domain's, or all.
    pub fn evaluate_regression(
        &self,
        caller: &Caller,
        domain: Option<&str>,
        metric: Option<&str>,
    ) -> Result<Vec<TripwireCheck>> {
        let domain = domain.map(domain_name).transpose()?;
        let metric = metric.map(|m| name("metric", m)).transpose()?;
        if metric.is_some() && domain.is_none() {
            return Err(Error::invalid("domain", "is required with metric"));
        }
        let now = self.clock.now();
        let caller = caller.clone();
        let (checks, go_live) = self.db.write(move |c| {
            let tenant = caller.tenant_id;
            let selected: Vec<RegressionPolicy> = match (&domain, &metric) {
                (Some(d), Some(m)) => vec![known(c, tenant, d, m)?],
                (Some(d), None) => {
                    let found: Vec<_> =
                        regression::policies(c, tenant)?.into_iter().filter(|p| &p.domain == d).collect();
                    if found.is_empty() {
                        return Err(Error::NotFound("regression domain"));
                    }
                    found
                }
                _ => regression::policies(c, tenant)?,
            };
            let keys: Vec<(&str, &str)> =
                selected.iter().map(|p| (p.domain.as_str(), p.metric.as_str())).collect();
            regression::lock_states(c, tenant, &keys)?;
            let mut checks = Vec::with_capacity(selected.len());
            let mut go_live = None;
            for policy in selected {
                let (check, state) = evaluate_one(c, &caller, policy, now)?;
                go_live = state.or(go_live);
                checks.push(check);
            }
            Ok((checks, go_live))
        })?;
        if let Some(state) = go_live {
            self.go_live_cache.put(&state);
        }
        Ok(checks)
    }
}

/// Evaluates one tripwire inside the caller's transaction, which holds its state lock
/// (`regression::lock_states`); trips it and applies its action when the drop exceeds the limit.
/// Returns the new go-live state when it engaged the kill switch.
fn evaluate_one(
    c: &mut Conn<'_>,
    caller: &Caller,
    policy: RegressionPolicy,
    now: Timestamp,
) -> Result<(TripwireCheck, Option<GoLiveState>)> {
    let tenant = caller.tenant_id;
    let (domain, metric) = (policy.domain.clone(), policy.metric.clone());
    let before = regression::state(c, tenant, &domain, &metric)?;
    let wire = tripwire(&policy);
    let span = i64::try_from(wire.span()).unwrap_or(i64::MAX);
    let outcomes = regression::recent_outcomes(c, tenant, &domain, &metric, before.counting_since, span)?;
    let evaluation = gov_regression::evaluate(&wire, &outcomes);
    let mut go_live = None;
    let mut tripped_now = false;
    let note = if before.triggered {
        let since = before.last_triggered_at.map(|t| t.to_string()).unwrap_or_default();
        format!("tripped since {since}, {} until reset; now {}", policy.action, evaluation.note)
    } else if !policy.enabled {
        format!("disabled (never trips); {}", evaluation.note)
    } else if evaluation.triggered {
        let incident_id = IncidentId::new();
        tripped_now = regression::trip(c, tenant, &domain, &metric, incident_id, now)?;
        if tripped_now {
            go_live = trip(c, caller, &policy, &evaluation, incident_id, now)?;
        }
        format!("{}; action {}", evaluation.note, policy.action)
    } else {
        evaluation.note.clone()
    };
    let check = Check {
        baseline: evaluation.baseline,
        current: evaluation.current,
        drop_fraction: evaluation.drop_fraction,
        note: &note,
        at: now,
    };
    regression::record_check(c, tenant, &domain, &metric, &check)?;
    let state = regression::state(c, tenant, &domain, &metric)?;
    Ok((TripwireCheck { policy, evaluation, state, tripped_now }, go_live))
}

/// What a trip does: the incident, the action, the audit row.
fn trip(
    c: &mut Conn<'_>,
    caller: &Caller,
    policy: &RegressionPolicy,
    evaluation: &Evaluation,
    incident_id: IncidentId,
    now: Timestamp,
) -> Result<Option<GoLiveState>> {
    let tenant = caller.tenant_id;
    let effect = effect(policy.action, &policy.domain);
    let incident = gov_incident::open_trip(
        incident_id,
        &gov_incident::Trip {
            tenant_id: tenant,
            domain: &policy.domain,
            metric: &policy.metric,
            action: policy.action,
            baseline: evaluation.baseline.unwrap_or_default(),
            current: evaluation.current.unwrap_or_default(),
            drop_fraction: evaluation.drop_fraction.unwrap_or_default(),
            max_drop_fraction: policy.max_drop_fraction,
            window_events: policy.window_events,
            baseline_events: policy.baseline_events,
            effect: &effect,
        },
        now,
    );
    crate::rollups::insert_incident(c, "", &incident)?;
    crate::rollups::record_incident_event(
        c,
        tenant,
        incident_id,
        gov_model::IncidentEventKind::Created,
        TRIPWIRE_ACTOR,
        &incident.title,
        now,
    )?;
    let go_live = match policy.action {
        RegressionAction::KillSwitch => {
            let reason =
                format!("regression tripwire {}/{}: {}", policy.domain, policy.metric, incident.title);
            let state = levers::set_go_live(c, tenant, None, Some(true), TRIPWIRE_ACTOR, &reason, now)?;
            audit::record(
                c,
                tenant,
                &caller.actor,
                NewAuditEntry {
                    action: "kill_switch.engaged",
                    resource_type: "go_live_state",
                    resource_id: tenant.to_string(),
                    details: json!({ "actor": TRIPWIRE_ACTOR, "reason": reason, "incident_id": incident_id.to_string() }),
                },
                now,
            )?;
            Some(state)
        }
        RegressionAction::Throttle => None,
    };
    audit::record(
        c,
        tenant,
        &caller.actor,
        NewAuditEntry {
            action: "regression.tripped",
            resource_type: "regression_policy",
            resource_id: format!("{}/{}", policy.domain, policy.metric),
            details: json!({
                "action": policy.action, "baseline": evaluation.baseline, "current": evaluation.current,
                "drop_fraction": evaluation.drop_fraction, "max_drop_fraction": policy.max_drop_fraction,
                "events": evaluation.events, "incident_id": incident_id.to_string(),
            }),
        },
        now,
    )?;
    crate::logs::record(
        c,
        crate::logs::Event {
            tenant: Some(tenant),
            level: gov_model::LogLevel::Critical,
            source: gov_model::LogSource::Regression,
            event: "tripwire.tripped",
            message: format!(
                "regression tripwire {}/{} tripped ({}): {}",
                policy.domain,
                policy.metric,
                policy.action.as_str(),
                incident.title
            ),
            context: json!({
                "domain": policy.domain, "metric": policy.metric, "action": policy.action,
                "incident_id": incident_id.to_string(), "kill_switch_engaged": go_live.is_some(),
            }),
        },
        now,
    )?;
    Ok(go_live)
}

/// Refuses a new run of a throttled domain beyond the window's allowance (inside the run's
/// transaction: a refused start rolls its count back).
pub(crate) fn admit_run(c: &mut Conn<'_>, tenant: TenantId, domain: &str, now: Timestamp) -> Result<()> {
    let Some(metric) = regression::throttling(c, tenant, domain)? else {
        return Ok(());
    };
    let at = now.unix_timestamp();
    let window = at.div_euclid(THROTTLE_WINDOW_SECS) * THROTTLE_WINDOW_SECS;
    let key = format!("throttle:{domain}");
    let count = evidence::increment_rate(c, tenant, &key, window)?;
    if count > THROTTLE_RUNS_PER_WINDOW {
        return Err(Error::Throttled {
            domain: domain.to_owned(),
            metric,
            runs_per_window: THROTTLE_RUNS_PER_WINDOW,
            window_secs: THROTTLE_WINDOW_SECS,
            retry_after_secs: u64::try_from(window + THROTTLE_WINDOW_SECS - at).unwrap_or(1).max(1),
        });
    }
    // Keep the previous window too: a replica whose clock lags may still be counting in it.
    evidence::prune_rate(c, tenant, &key, window - THROTTLE_WINDOW_SECS)?;
    Ok(())
}
