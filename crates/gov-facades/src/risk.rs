//! The risk guard (seed 004 "Risk Floor"): daily caps per engine checked together with GLOBAL
//! (dual control), reserve-before-execute and settle-after, idempotent by correlation id.
//!
//! A reservation of `amount` adds it to the day's exposure and open risk and counts one action;
//! it is granted only if the engine's and GLOBAL's caps all hold afterwards and neither has
//! already realised its daily loss cap. A settlement releases the reservation's open risk on the
//! day it was reserved and adds the realised loss to today. Days are UTC. What applies and what
//! it means is decided by `gov-levers`; the store enforces the caps in one conditional UPDATE.

use gov_levers::{
    CapsChange, GLOBAL, Refusal, Reservation as Reserved, RiskDay, Settle, SettleRequest, Stamp, TryReserve,
    values,
};
use gov_model::{NewAuditEntry, RiskAction, RiskEvent, RiskLedgerDay, RiskPolicy, TenantId, Timestamp};
use gov_store::risk;
use gov_store::{Conn, Prepared};
use gov_store::{StoreError, levers};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, validate};

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

fn amount(field: &str, value: f64) -> Result<f64> {
    values::amount(value).map_err(|e| Error::invalid(field, e.to_string()))
}

/// A refused reservation or settlement: a field that contradicts the reservation, or a conflict
/// with what the correlation id recorded.
fn refused(r: Refusal) -> Error {
    match r.field() {
        Some(field) => Error::invalid(field, r.to_string()),
        None => Error::Correlation(r),
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
        if let Some(n) = change.max_actions_per_day.flatten() {
            values::count(n).map_err(|e| Error::invalid("max_actions_per_day", e.to_string()))?;
        }
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let reason = validate::upsert_reason(change.reason.as_deref())?;
        let now = self.clock.now();
        let edit = CapsChange {
            max_daily_loss: change.max_daily_loss,
            max_daily_exposure: change.max_daily_exposure,
            max_open_risk: change.max_open_risk,
            max_actions_per_day: change.max_actions_per_day,
            enabled: change.enabled,
        };
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = risk::policy(c, caller.tenant_id, &engine)?;
            let created = current.is_none();
            let stamp = Stamp { actor: &actor, reason: &reason, now };
            let next = edit.apply(current, caller.tenant_id, &engine, stamp);
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
                        "created": created,
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
        Ok(RiskDay::tally(day, ledgers, &events))
    }

    /// Reserves before executing: checks the engine's caps and GLOBAL's together; the answer is
    /// recorded as a RESERVE or DENY event. Any repeat of a correlation id, concurrent or later,
    /// on any replica, returns the first answer. Refused while the kill switch is engaged (read in
    /// the transaction's read phase).
    pub fn check_and_reserve(&self, caller: &Caller, r: Reservation) -> Result<RiskDecision> {
        let engine = validate::identifier("engine", &r.engine)?.to_ascii_uppercase();
        let value = amount("amount", r.amount)?;
        let correlation_id = validate::identifier("correlation_id", &r.correlation_id)?;
        let actor = validate::identifier("actor", &r.actor)?;
        let reason = validate::text("reason", &r.reason, 2000)?;
        let now = self.clock.now();
        let tenant = caller.tenant_id;
        self.decide(lane_key(tenant, Lock::Reserve), &correlation_id, || {
            let (engine, correlation_id, actor, reason) =
                (engine.clone(), correlation_id.clone(), actor.clone(), reason.clone());
            move |c: &mut Conn<'_>| {
                let levers = levers::go_live(c, tenant)?;
                if levers.kill_switch_engaged {
                    return Err(Error::KillSwitchEngaged { by: levers.changed_by, reason: levers.reason }.into());
                }
                let decided = [RiskAction::Reserve, RiskAction::Deny];
                if let Some(first) = risk::first_event(c, tenant, &correlation_id, &decided)? {
                    gov_levers::repeat_reservation(&first, &engine, value).map_err(refused)?;
                    return Ok(Prepared::Done(RiskDecision { ok: first.ok, engine, amount: value, reason: first.reason, correlation_id, replayed: true }));
                }
                let mut named = risk::policies_named(c, tenant, &[&engine, GLOBAL])?;
                let own = named.iter().position(|p| p.engine == engine).ok_or(Error::NotFound("risk engine"))?;
                let policy = named.swap_remove(own);
                let global = named.into_iter().find(|p| p.engine == GLOBAL);
                let checked = gov_levers::checked(policy, global);
                Ok(Prepared::Apply(move |c: &mut Conn<'_>| {
                    let day = now.date();
                    let outcome = gov_levers::reserve(&checked, value, |p, caps| {
                        reserve_on(c, tenant, day, &p.engine, value, caps)
                    })?;
                    // Dual control is all or nothing: give back what the engines before the refusal reserved.
                    if let Reserved::Denied { give_back, .. } = &outcome {
                        for e in give_back {
                            risk::adjust(c, tenant, day, e, -value, 0.0, true)?;
                        }
                    }
                    let ok = outcome.ok();
                    let reason = outcome.reason(reason);
                    let action = if ok { RiskAction::Reserve } else { RiskAction::Deny };
                    let metadata = json!({ "day": day.to_string(), "checked": checked.iter().map(|p| p.engine.clone()).collect::<Vec<_>>() });
                    let events = Events { tenant, engine: &engine, actor: &actor, correlation_id: &correlation_id, now };
                    risk::insert_events(c, &[events.event(action, value, ok, &reason, metadata)]).map_err(lost_race)?;
                    Ok(RiskDecision { ok, engine, amount: value, reason, correlation_id, replayed: false })
                }))
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
        self.decide(lane_key(tenant, Lock::Settle), &correlation_id, || {
            let (s, correlation_id, actor, reason) =
                (s.clone(), correlation_id.clone(), actor.clone(), reason.clone());
            move |c: &mut Conn<'_>| {
                let recorded =
                    risk::events_of(c, tenant, &correlation_id, &[RiskAction::Reserve, RiskAction::Settle])?;
                let of = |action| recorded.iter().find(|e| e.action == action).cloned();
                let (reserved, settled) = (of(RiskAction::Reserve), of(RiskAction::Settle));
                let request = SettleRequest {
                    correlation_id: &correlation_id,
                    engine: s.engine.as_deref(),
                    reserved_amount: s.reserved_amount,
                    loss,
                };
                let reserve = match gov_levers::settlement(&request, reserved.as_ref(), settled.as_ref())
                    .map_err(refused)?
                {
                    Settle::Replay { reserve, first } => {
                        return Ok(Prepared::Done(RiskDecision {
                            ok: true,
                            engine: reserve.engine.clone(),
                            amount: loss,
                            reason: first.reason.clone(),
                            correlation_id,
                            replayed: true,
                        }));
                    }
                    Settle::New { reserve } => reserve.clone(),
                };
                let global = reserve.engine != GLOBAL && risk::policy(c, tenant, GLOBAL)?.is_some();
                let engines = gov_levers::settled(&reserve.engine, global);
                Ok(Prepared::Apply(move |c: &mut Conn<'_>| {
                    let reserved_day = reserve.created_at.date();
                    let today = now.date();
                    if reserved_day == today {
                        // One row per engine holds both the release and the loss.
                        for e in &engines {
                            risk::adjust(c, tenant, today, e, -reserve.amount, loss, false)?;
                        }
                    } else {
                        // The earlier day's rows first (the lock order, see `lane_key`).
                        for e in &engines {
                            risk::adjust(c, tenant, reserved_day, e, -reserve.amount, 0.0, false)?;
                        }
                        let names: Vec<&str> = engines.iter().map(String::as_str).collect();
                        risk::open_ledgers(c, tenant, today, &names)?;
                        for e in &engines {
                            risk::adjust(c, tenant, today, e, 0.0, loss, false)?;
                        }
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
                    let settle = events.event(RiskAction::Settle, loss, true, &reason, metadata);
                    risk::insert_events(c, &[release, settle]).map_err(lost_race)?;
                    Ok(RiskDecision {
                        ok: true,
                        engine: reserve.engine,
                        amount: loss,
                        reason,
                        correlation_id,
                        replayed: false,
                    })
                }))
            }
        })
    }

    /// Runs the transactions `attempt` makes, in the store's group-commit lane under `key` (its
    /// read phase decides a replay or a refusal alone; its write phase moves the ledger), until
    /// one commits or fails. One that lost the race to record a correlation id's event (the
    /// unique index refused it once the winner committed) rolled back whole, and the next one
    /// replays the winner's answer; one a deadlock chose as its victim changed nothing either.
    fn decide<P, A>(&self, key: String, correlation_id: &str, attempt: impl Fn() -> P) -> Result<RiskDecision>
    where
        P: FnOnce(&mut Conn<'_>) -> std::result::Result<Prepared<RiskDecision, A>, Attempt> + Send + 'static,
        A: FnOnce(&mut Conn<'_>) -> std::result::Result<RiskDecision, Attempt> + Send + 'static,
    {
        let mut contended = None;
        for _ in 0..3 {
            match self.db.write_prepared(key.clone(), attempt()) {
                Ok(decision) => return Ok(decision),
                Err(Attempt::LostRace) => {}
                Err(Attempt::Contended(msg)) => contended = Some(msg),
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(match contended {
            Some(msg) => Error::Unavailable(msg),
            None => Error::Internal(format!(
                "correlation id {correlation_id}: an event was refused as a duplicate, yet none was found"
            )),
        })
    }
}

/// The store's conditional reservation on one engine's ledger of `day`. The common case is one
/// statement: the day's row is opened only after an update that changed nothing, which then
/// runs once more. (An update that changed nothing may not have seen a row another replica is
/// opening: opening waits for that insert to commit, so the second update's answer is final.)
fn reserve_on(
    c: &mut Conn<'_>,
    tenant: TenantId,
    day: time::Date,
    engine: &str,
    value: f64,
    caps: gov_model::RiskCaps,
) -> std::result::Result<TryReserve, Attempt> {
    if risk::try_reserve(c, tenant, day, engine, value, caps)? {
        return Ok(TryReserve::Reserved);
    }
    risk::open_ledgers(c, tenant, day, &[engine])?;
    if risk::try_reserve(c, tenant, day, engine, value, caps)? {
        return Ok(TryReserve::Reserved);
    }
    Ok(TryReserve::Refused(ledger_of(c, tenant, day, engine)?))
}

/// Which kind of transaction a risk decision is, for its place in a batch.
enum Lock {
    Settle,
    Reserve,
}

/// The group-commit lane's key of a risk decision (batches run in key order). Together with the
/// row order inside each transaction (GLOBAL's row before the engine's, see
/// `gov_levers::checked`; an earlier day's rows before today's) this keeps batches of two
/// replicas from locking a tenant's ledger rows in opposite orders: tenants in id order, and
/// within a tenant settlements (which may lock yesterday's rows) before reservations (today's).
fn lane_key(tenant: TenantId, lock: Lock) -> String {
    let rank = match lock {
        Lock::Settle => 0,
        Lock::Reserve => 1,
    };
    format!("risk/{tenant}/{rank}")
}

/// Why a transaction of [`Gov::decide`] did not commit.
enum Attempt {
    /// Another transaction recorded this correlation id's event first: try again, to replay it.
    LostRace,
    /// A deadlock or serialization failure rolled it back: try again.
    Contended(String),
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(err: Error) -> Self {
        Attempt::Failed(err)
    }
}

impl From<StoreError> for Attempt {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Contention(msg) => Attempt::Contended(msg),
            other => Attempt::Failed(other.into()),
        }
    }
}

/// A refused insert of a risk event: the id has that event already (see `risk::insert_event`).
fn lost_race(err: StoreError) -> Attempt {
    match err {
        StoreError::Conflict(_) => Attempt::LostRace,
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use gov_levers::{admits, broken_caps, caps};
    use gov_model::{RiskCaps, Tenant};

    use super::*;
    use crate::DbOptions;

    /// (exposure used, open risk reserved, realised loss, actions).
    type Usage = (f64, f64, f64, i64);

    /// Brings `engine`'s ledger of `day` to `usage` through the store's own writes: one
    /// reservation of the whole exposure and zero-amount ones for the other actions, then a
    /// settlement that releases the open risk beyond `usage` and realises its loss.
    fn set_ledger(
        c: &mut Conn<'_>,
        tenant: TenantId,
        day: time::Date,
        engine: &str,
        usage: Usage,
    ) -> Result<()> {
        let (exposure, open, loss, actions) = usage;
        risk::open_ledgers(c, tenant, day, &[engine])?;
        for i in 0..actions {
            let amount = if i == 0 { exposure } else { 0.0 };
            risk::try_reserve(c, tenant, day, engine, amount, RiskCaps::NONE)?;
        }
        risk::adjust(c, tenant, day, engine, open - exposure, loss, false)?;
        Ok(())
    }

    fn usage(l: &RiskLedgerDay) -> Usage {
        (l.exposure_used, l.open_risk_reserved, l.realized_loss, l.actions_count)
    }

    /// The store's conditional UPDATE enforces the rule the engine states: for every row, the
    /// database reserves exactly when `admits` says the ledger admits it, and a refusal is
    /// always explained by a broken cap.
    #[test]
    fn the_store_reserves_exactly_what_the_engine_admits() {
        let dir = tempfile::tempdir().unwrap();
        let gov = Gov::connect(dir.path().join("gov.db").to_str().unwrap(), &DbOptions::default()).unwrap();
        gov.migrate_up().unwrap();
        let tenant = Tenant {
            id: TenantId::new(),
            name: "levers".into(),
            plan: "test".into(),
            created_at: gov.now(),
            settings: json!({}),
        };
        gov.db
            .write({
                let tenant = tenant.clone();
                move |c| gov_store::tenants::insert(c, &tenant)
            })
            .unwrap();
        let capped = |loss, exposure, open, actions, enabled| RiskPolicy {
            tenant_id: tenant.id,
            engine: "E".into(),
            max_daily_loss: loss,
            max_daily_exposure: exposure,
            max_open_risk: open,
            max_actions_per_day: actions,
            enabled,
            changed_by: "test".into(),
            reason: "test".into(),
            updated_at: gov.now(),
        };
        let seed = capped(Some(100.0), Some(1000.0), Some(500.0), Some(3), true);
        let uncapped = capped(None, None, None, None, true);
        let disabled = RiskPolicy { enabled: false, ..seed.clone() };
        let tenths = capped(None, Some(0.3), None, None, true);
        #[rustfmt::skip]
        let rows: &[(&RiskPolicy, Usage, f64, bool)] = &[
            (&seed, (0.0, 0.0, 0.0, 0), 400.0, true),
            (&seed, (0.0, 0.0, 0.0, 0), 500.0, true),
            (&seed, (0.0, 0.0, 0.0, 0), 500.5, false),
            (&seed, (900.0, 100.0, 0.0, 1), 100.0, true),   // exactly at the exposure cap
            (&seed, (900.0, 100.0, 0.0, 1), 100.01, false),
            (&seed, (400.0, 400.0, 0.0, 1), 100.0, true),   // exactly at the open-risk cap
            (&seed, (400.0, 400.0, 0.0, 1), 200.0, false),
            (&seed, (50.0, 0.0, 99.99, 1), 1.0, true),
            (&seed, (50.0, 0.0, 100.0, 1), 1.0, false),     // the day's loss is realised
            (&seed, (50.0, 0.0, 100.0, 1), 0.0, false),
            (&seed, (10.0, 10.0, 0.0, 2), 1.0, true),
            (&seed, (10.0, 10.0, 0.0, 3), 0.0, false),      // actions per day reached
            (&uncapped, (1e15, 1e15, 1e15, 40), 1e15, true),
            (&disabled, (5000.0, 5000.0, 5000.0, 50), 1e15, true),
            // Both sides add in binary floating point: 0.1 + 0.2 > 0.3.
            (&tenths, (0.1, 0.1, 0.0, 1), 0.2, false),
            (&tenths, (0.1, 0.1, 0.0, 1), 0.1, true),
        ];
        let first = time::macros::date!(2026 - 01 - 01);
        for (i, (policy, before, amount, expected)) in rows.iter().enumerate() {
            // A day of its own for every row.
            let day = first + time::Duration::days(i64::try_from(i).unwrap());
            let (policy, before, amount) = ((*policy).clone(), *before, *amount);
            // Asserted outside the transaction: a panic inside would take the writer thread.
            let (set, admitted, explained, reserved, after) = gov
                .db
                .write(move |c| {
                    set_ledger(c, tenant.id, day, "E", before)?;
                    let ledger = ledger_of(c, tenant.id, day, "E")?;
                    let admitted = admits(&caps(&policy), &ledger, amount);
                    let explained = !broken_caps(&policy, &ledger, amount).is_empty();
                    let reserved = risk::try_reserve(c, tenant.id, day, "E", amount, caps(&policy))?;
                    let after = usage(&ledger_of(c, tenant.id, day, "E")?);
                    Ok::<_, Error>((usage(&ledger), admitted, explained, reserved, after))
                })
                .unwrap();
            assert_eq!(set, before, "row {i}: the ledger was set up");
            assert_eq!(reserved, admitted, "row {i}: the store and the engine disagree");
            assert_eq!(explained, !admitted, "row {i}: a refusal names its broken caps");
            assert_eq!(reserved, *expected, "row {i}");
            let (e, o, l, n) = before;
            let expected_after = if reserved { (e + amount, o + amount, l, n + 1) } else { before };
            assert_eq!(after, expected_after, "row {i}");
        }
    }
}
