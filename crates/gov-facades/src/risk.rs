//! The risk guard (seed 004 "Risk Floor"): daily caps per engine checked together with GLOBAL
//! (dual control), reserve-before-execute and settle-after, idempotent by correlation id.
//!
//! A reservation of `amount` adds it to the day's exposure and open risk and counts one action;
//! it is granted only if the engine's and GLOBAL's caps all hold afterwards and neither has
//! already realised its daily loss cap. A settlement releases the reservation's open risk on the
//! day it was reserved and adds the realised loss to today. Days are UTC.

use std::collections::BTreeMap;

use gov_model::{NewAuditEntry, RiskAction, RiskEvent, RiskLedgerDay, RiskPolicy, TenantId, Timestamp};
use gov_store::Conn;
use gov_store::risk::{self, Caps};
use gov_store::{StoreError, levers};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, validate};

/// The engine every reservation is also checked against.
pub const GLOBAL: &str = "GLOBAL";

/// A request to reserve risk before executing an action.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub engine: String,
    pub amount: f64,
    pub actor: String,
    pub reason: String,
    pub correlation_id: String,
}

/// A request to settle a reservation after the action ran.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub correlation_id: String,
    /// When given, must name the reservation's engine.
    pub engine: Option<String>,
    /// When given, must equal the reserved amount.
    pub reserved_amount: Option<f64>,
    pub realized_loss: f64,
    pub actor: String,
    pub reason: String,
}

/// The answer to a reservation or settlement (the first answer, on a retry).
#[derive(Debug, Clone)]
pub struct RiskDecision {
    pub ok: bool,
    pub engine: String,
    pub amount: f64,
    pub reason: String,
    pub correlation_id: String,
    /// Whether this answer was recorded earlier (a retry).
    pub replayed: bool,
}

/// One UTC day of the risk guard: the ledgers and how its decisions went.
#[derive(Debug, Clone)]
pub struct RiskDay {
    pub day: time::Date,
    pub ledgers: Vec<RiskLedgerDay>,
    /// Denials by engine.
    pub denials: BTreeMap<String, i64>,
    /// Denials by cause (engine and measure).
    pub denial_reasons: BTreeMap<String, i64>,
    pub reservations: i64,
    pub settlements: i64,
}

impl RiskDay {
    pub fn denied(&self) -> i64 {
        self.denials.values().sum()
    }

    /// Denials among reservation requests (0 when there were none).
    #[allow(clippy::cast_precision_loss)]
    pub fn denial_rate(&self) -> f64 {
        let asked = self.reservations + self.denied();
        if asked == 0 { 0.0 } else { self.denied() as f64 / asked as f64 }
    }
}

/// A change to an engine's caps; absent fields keep their value (or, for a new engine, no cap).
#[derive(Debug, Clone, Default)]
pub struct RiskPolicyChange {
    pub engine: String,
    pub max_daily_loss: Option<Option<f64>>,
    pub max_daily_exposure: Option<Option<f64>>,
    pub max_open_risk: Option<Option<f64>>,
    pub max_actions_per_day: Option<Option<i64>>,
    pub enabled: Option<bool>,
    pub actor: Option<String>,
    pub reason: Option<String>,
}

fn caps(p: &RiskPolicy) -> Caps {
    if !p.enabled {
        // A disabled engine logs only: it caps nothing (GLOBAL still applies).
        return Caps {
            max_daily_loss: f64::MAX,
            max_daily_exposure: f64::MAX,
            max_open_risk: f64::MAX,
            max_actions_per_day: i64::MAX,
        };
    }
    Caps {
        max_daily_loss: p.max_daily_loss.unwrap_or(f64::MAX),
        max_daily_exposure: p.max_daily_exposure.unwrap_or(f64::MAX),
        max_open_risk: p.max_open_risk.unwrap_or(f64::MAX),
        max_actions_per_day: p.max_actions_per_day.unwrap_or(i64::MAX),
    }
}

/// Which caps a reservation of `amount` would break on `ledger`.
fn broken_caps(p: &RiskPolicy, ledger: &RiskLedgerDay, amount: f64) -> Vec<String> {
    let c = caps(p);
    let mut broken = Vec::new();
    if ledger.realized_loss >= c.max_daily_loss {
        broken.push(format!(
            "{}: max_daily_loss {} already realised ({})",
            p.engine, c.max_daily_loss, ledger.realized_loss
        ));
    }
    if ledger.exposure_used + amount > c.max_daily_exposure {
        broken.push(format!(
            "{}: max_daily_exposure {} (used {}, asked {amount})",
            p.engine, c.max_daily_exposure, ledger.exposure_used
        ));
    }
    if ledger.open_risk_reserved + amount > c.max_open_risk {
        broken.push(format!(
            "{}: max_open_risk {} (reserved {}, asked {amount})",
            p.engine, c.max_open_risk, ledger.open_risk_reserved
        ));
    }
    if ledger.actions_count + 1 > c.max_actions_per_day {
        broken.push(format!("{}: max_actions_per_day {} reached", p.engine, c.max_actions_per_day));
    }
    broken
}

fn amount(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && (0.0..=1e15).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(field, "must be a number from 0 to 1e15"))
    }
}

/// What every event recorded for one request shares.
struct Events<'a> {
    tenant: TenantId,
    engine: &'a str,
    actor: &'a str,
    correlation_id: &'a str,
    now: Timestamp,
}

impl Events<'_> {
    fn event(
        &self,
        action: RiskAction,
        amount: f64,
        ok: bool,
        reason: &str,
        metadata: serde_json::Value,
    ) -> RiskEvent {
        RiskEvent {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: self.tenant,
            engine: self.engine.to_owned(),
            action,
            amount,
            ok,
            reason: reason.to_owned(),
            actor: self.actor.to_owned(),
            correlation_id: self.correlation_id.to_owned(),
            metadata,
            created_at: self.now,
        }
    }
}

fn ledger_of(c: &mut Conn<'_>, tenant: TenantId, day: time::Date, engine: &str) -> Result<RiskLedgerDay> {
    Ok(risk::ledger(c, tenant, day)?.into_iter().find(|l| l.engine == engine).unwrap_or_default())
}

impl Gov {
    pub fn risk_policies(&self, tenant: TenantId) -> Result<Vec<RiskPolicy>> {
        Ok(self.db.read(|c| risk::policies(c, tenant))?)
    }

    /// Creates an engine's caps or changes some of them.
    pub fn upsert_risk_policy(&self, caller: &Caller, change: RiskPolicyChange) -> Result<RiskPolicy> {
        let engine = validate::identifier("engine", &change.engine)?.to_ascii_uppercase();
        for (field, value) in [
            ("max_daily_loss", change.max_daily_loss.flatten()),
            ("max_daily_exposure", change.max_daily_exposure.flatten()),
            ("max_open_risk", change.max_open_risk.flatten()),
        ] {
            if let Some(v) = value {
                amount(field, v)?;
            }
        }
        if change.max_actions_per_day.flatten().is_some_and(|n| n < 0) {
            return Err(Error::invalid("max_actions_per_day", "must not be negative"));
        }
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let reason = validate::upsert_reason(change.reason.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = risk::policy(c, caller.tenant_id, &engine)?;
            let base = current.clone().unwrap_or(RiskPolicy {
                tenant_id: caller.tenant_id,
                engine: engine.clone(),
                max_daily_loss: None,
                max_daily_exposure: None,
                max_open_risk: None,
                max_actions_per_day: None,
                enabled: true,
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
            });
            let next = RiskPolicy {
                max_daily_loss: change.max_daily_loss.unwrap_or(base.max_daily_loss),
                max_daily_exposure: change.max_daily_exposure.unwrap_or(base.max_daily_exposure),
                max_open_risk: change.max_open_risk.unwrap_or(base.max_open_risk),
                max_actions_per_day: change.max_actions_per_day.unwrap_or(base.max_actions_per_day),
                enabled: change.enabled.unwrap_or(base.enabled),
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
                ..base
            };
            risk::upsert_policy(c, &next)?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "risk_policy.upserted",
                    resource_type: "risk_policy",
                    resource_id: engine.clone(),
                    details: json!({
                        "actor": actor, "reason": reason, "enabled": next.enabled,
                        "max_daily_loss": next.max_daily_loss, "max_daily_exposure": next.max_daily_exposure,
                        "max_open_risk": next.max_open_risk, "max_actions_per_day": next.max_actions_per_day,
                        "created": current.is_none(),
                    }),
                },
                now,
            )?;
            Ok(next)
        })
    }

    /// Today's ledger (UTC) for every engine with activity, and today's decisions counted.
    pub fn risk_today(&self, tenant: TenantId) -> Result<RiskDay> {
        let now = self.clock.now();
        let day = now.date();
        let start = day.midnight().assume_utc();
        let (ledgers, events) = self.db.read(|c| {
            Ok::<_, Error>((risk::ledger(c, tenant, day)?, risk::events_since(c, tenant, start)?))
        })?;
        let mut today = RiskDay {
            day,
            ledgers,
            denials: BTreeMap::new(),
            denial_reasons: BTreeMap::new(),
            reservations: 0,
            settlements: 0,
        };
        for e in &events {
            match e.action {
                RiskAction::Deny => {
                    *today.denials.entry(e.engine.clone()).or_insert(0) += 1;
                    // "denied: <engine> <measure> ..." -> "<engine> <measure>"
                    let cause = e
                        .reason
                        .trim_start_matches("denied: ")
                        .split(' ')
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    *today.denial_reasons.entry(cause).or_insert(0) += 1;
                }
                RiskAction::Reserve => today.reservations += 1,
                RiskAction::Settle => today.settlements += 1,
                RiskAction::Release => {}
            }
        }
        Ok(today)
    }

    /// Reserves before executing: checks the engine's caps and GLOBAL's together; the answer is
    /// recorded as a RESERVE or DENY event. Any repeat of a correlation id, concurrent or later,
    /// on any replica, returns the first answer. Refused while the kill switch is engaged (read in
    /// the transaction).
    pub fn check_and_reserve(&self, caller: &Caller, r: Reservation) -> Result<RiskDecision> {
        let engine = validate::identifier("engine", &r.engine)?.to_ascii_uppercase();
        let value = amount("amount", r.amount)?;
        let correlation_id = validate::identifier("correlation_id", &r.correlation_id)?;
        let actor = validate::identifier("actor", &r.actor)?;
        let reason = validate::text("reason", &r.reason, 2000)?;
        let now = self.clock.now();
        let tenant = caller.tenant_id;
        self.decide(&correlation_id, || {
            let (engine, correlation_id, actor, reason) =
                (engine.clone(), correlation_id.clone(), actor.clone(), reason.clone());
            move |c: &mut Conn<'_>| {
                risk::lock_correlation(c, tenant, &correlation_id)?;
                let levers = levers::go_live(c, tenant)?;
                if levers.kill_switch_engaged {
                    return Err(Error::KillSwitchEngaged { by: levers.changed_by, reason: levers.reason }.into());
                }
                let decided = [RiskAction::Reserve, RiskAction::Deny];
                if let Some(first) = risk::first_event(c, tenant, &correlation_id, &decided)? {
                    if first.engine != engine || first.amount != value {
                        return Err(Error::Conflict(format!(
                            "correlation id {correlation_id} was used for {} {} already",
                            first.engine, first.amount
                        ))
                        .into());
                    }
                    return Ok(RiskDecision { ok: first.ok, engine, amount: value, reason: first.reason, correlation_id, replayed: true });
                }
                let policy = risk::policy(c, tenant, &engine)?.ok_or(Error::NotFound("risk engine"))?;
                let global = risk::policy(c, tenant, GLOBAL)?;
                let day = now.date();
                let mut checked = vec![policy];
                if engine != GLOBAL {
                    checked.extend(global);
                }
                let mut granted = Vec::new();
                let mut broken = Vec::new();
                for p in &checked {
                    risk::open_ledger(c, tenant, day, &p.engine)?;
                    if risk::try_reserve(c, tenant, day, &p.engine, value, caps(p))? {
                        granted.push(p.engine.clone());
                    } else {
                        broken.extend(broken_caps(p, &ledger_of(c, tenant, day, &p.engine)?, value));
                        break;
                    }
                }
                let ok = broken.is_empty();
                if !ok {
                    // Dual control is all or nothing: give back what the engine already reserved.
                    for e in &granted {
                        risk::adjust(c, tenant, day, e, -value, 0.0, true)?;
                    }
                }
                let reason = if ok { reason } else { format!("denied: {}", broken.join("; ")) };
                let action = if ok { RiskAction::Reserve } else { RiskAction::Deny };
                let metadata = json!({ "day": day.to_string(), "checked": checked.iter().map(|p| p.engine.clone()).collect::<Vec<_>>() });
                let events = Events { tenant, engine: &engine, actor: &actor, correlation_id: &correlation_id, now };
                risk::insert_event(c, &events.event(action, value, ok, &reason, metadata)).map_err(lost_race)?;
                Ok(RiskDecision { ok, engine, amount: value, reason, correlation_id, replayed: false })
            }
        })
    }

    /// Settles a reservation: releases its open risk and applies the realised loss. Any repeat
    /// with the same loss, concurrent or later, returns the first answer; settling an unknown
    /// reservation, or one already settled differently, is a conflict.
    pub fn settle(&self, caller: &Caller, s: Settlement) -> Result<RiskDecision> {
        let correlation_id = validate::identifier("correlation_id", &s.correlation_id)?;
        let loss = amount("realized_loss", s.realized_loss)?;
        if let Some(reserved) = s.reserved_amount {
            amount("reserved_amount", reserved)?;
        }
        let actor = validate::identifier("actor", &s.actor)?;
        let reason = validate::text("reason", &s.reason, 2000)?;
        let now = self.clock.now();
        let tenant = caller.tenant_id;
        self.decide(&correlation_id, || {
            let (s, correlation_id, actor, reason) =
                (s.clone(), correlation_id.clone(), actor.clone(), reason.clone());
            move |c: &mut Conn<'_>| {
                risk::lock_correlation(c, tenant, &correlation_id)?;
                let reserve = risk::first_event(c, tenant, &correlation_id, &[RiskAction::Reserve])?
                    .filter(|e| e.ok)
                    .ok_or_else(|| {
                        Error::Conflict(format!("no granted reservation has correlation id {correlation_id}"))
                    })?;
                if s.engine.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case(&reserve.engine)) {
                    return Err(Error::invalid(
                        "engine",
                        format!("the reservation was made on {}", reserve.engine),
                    )
                    .into());
                }
                if s.reserved_amount.is_some_and(|r| r != reserve.amount) {
                    return Err(Error::invalid(
                        "reserved_amount",
                        format!("the reservation was for {}", reserve.amount),
                    )
                    .into());
                }
                if let Some(first) = risk::first_event(c, tenant, &correlation_id, &[RiskAction::Settle])? {
                    if first.amount != loss {
                        return Err(Error::Conflict(format!(
                            "reservation {correlation_id} was already settled with a loss of {}",
                            first.amount
                        ))
                        .into());
                    }
                    return Ok(RiskDecision {
                        ok: true,
                        engine: reserve.engine,
                        amount: loss,
                        reason: first.reason,
                        correlation_id,
                        replayed: true,
                    });
                }
                let reserved_day = reserve.created_at.date();
                let today = now.date();
                let mut engines = vec![reserve.engine.clone()];
                if reserve.engine != GLOBAL && risk::policy(c, tenant, GLOBAL)?.is_some() {
                    engines.push(GLOBAL.to_owned());
                }
                for e in &engines {
                    risk::adjust(c, tenant, reserved_day, e, -reserve.amount, 0.0, false)?;
                    risk::open_ledger(c, tenant, today, e)?;
                    risk::adjust(c, tenant, today, e, 0.0, loss, false)?;
                }
                let metadata =
                    json!({ "reserved_day": reserved_day.to_string(), "settled_day": today.to_string() });
                let events = Events {
                    tenant,
                    engine: &reserve.engine,
                    actor: &actor,
                    correlation_id: &correlation_id,
                    now,
                };
                let release =
                    events.event(RiskAction::Release, reserve.amount, true, &reason, metadata.clone());
                risk::insert_event(c, &release).map_err(lost_race)?;
                let settle = events.event(RiskAction::Settle, loss, true, &reason, metadata);
                risk::insert_event(c, &settle).map_err(lost_race)?;
                Ok(RiskDecision {
                    ok: true,
                    engine: reserve.engine,
                    amount: loss,
                    reason,
                    correlation_id,
                    replayed: false,
                })
            }
        })
    }

    /// Runs the transactions `attempt` makes until one commits or fails: one that lost the race
    /// to record a correlation id's event (to a writer that did not wait for the id's lock, such
    /// as an older replica) rolled back, and the next one replays the winner's answer.
    fn decide<F>(&self, correlation_id: &str, attempt: impl Fn() -> F) -> Result<RiskDecision>
    where
        F: FnOnce(&mut Conn<'_>) -> std::result::Result<RiskDecision, Attempt> + Send + 'static,
    {
        for _ in 0..3 {
            match self.db.write(attempt()) {
                Ok(decision) => return Ok(decision),
                Err(Attempt::LostRace) => {}
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(Error::Internal(format!(
            "correlation id {correlation_id}: an event was refused as a duplicate, yet none was found"
        )))
    }
}

/// Why a transaction of [`Gov::decide`] did not commit.
enum Attempt {
    /// Another transaction recorded this correlation id's event first: try again, to replay it.
    LostRace,
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(err: Error) -> Self {
        Attempt::Failed(err)
    }
}

impl From<StoreError> for Attempt {
    fn from(err: StoreError) -> Self {
        Attempt::Failed(err.into())
    }
}

/// A refused insert of a risk event: the id has that event already (see `risk::insert_event`).
fn lost_race(err: StoreError) -> Attempt {
    match err {
        StoreError::Conflict(_) => Attempt::LostRace,
        other => other.into(),
    }
}
