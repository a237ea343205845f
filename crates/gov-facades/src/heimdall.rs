//! The sandbox charter ("Heimdall", seed 004): an AI recommendation may be used in production only
//! if every gate holds: confidence >= min_confidence_prod AND sandbox trials >= min_sandbox_trials
//! AND sandbox success rate >= min_sandbox_success_rate AND prod_use_enabled. Trials and success
//! rate are counted over the domain's scorecards of the last `TRIAL_WINDOW_DAYS` UTC days, today
//! included. The gate reason names every gate that failed.

use gov_model::{HeimdallPolicy, HeimdallRecommendation, HeimdallScorecard, NewAuditEntry, TenantId};
use gov_store::StoreError;
use gov_store::heimdall::{self, NewEvent};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, validate};

/// How many UTC days of sandbox trials count towards the gates.
pub const TRIAL_WINDOW_DAYS: i64 = 7;

/// One gate of a recommendation and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub gate: &'static str,
    pub ok: bool,
    pub required: f64,
    pub actual: f64,
}

/// The four stacked gates, in the seed's order.
pub fn gates(policy: &HeimdallPolicy, confidence: f64, trials: i64, successes: i64) -> Vec<Gate> {
    #[allow(clippy::cast_precision_loss)]
    let rate = if trials > 0 { successes as f64 / trials as f64 } else { 0.0 };
    #[allow(clippy::cast_precision_loss)]
    let trial_count = trials as f64;
    #[allow(clippy::cast_precision_loss)]
    let min_trials = policy.min_sandbox_trials as f64;
    vec![
        Gate {
            gate: "confidence",
            ok: confidence >= policy.min_confidence_prod,
            required: policy.min_confidence_prod,
            actual: confidence,
        },
        Gate {
            gate: "sandbox_trials",
            ok: trials >= policy.min_sandbox_trials,
            required: min_trials,
            actual: trial_count,
        },
        Gate {
            gate: "sandbox_success_rate",
            ok: rate >= policy.min_sandbox_success_rate,
            required: policy.min_sandbox_success_rate,
            actual: rate,
        },
        Gate {
            gate: "prod_use_enabled",
            ok: policy.prod_use_enabled,
            required: 1.0,
            actual: if policy.prod_use_enabled { 1.0 } else { 0.0 },
        },
    ]
}

/// "eligible", or every failed gate with what it required and found.
pub fn gate_reason(gates: &[Gate]) -> String {
    let failed: Vec<String> = gates
        .iter()
        .filter(|g| !g.ok)
        .map(|g| format!("{} (required {}, actual {})", g.gate, g.required, g.actual))
        .collect();
    if failed.is_empty() { "eligible".to_owned() } else { format!("failed gates: {}", failed.join("; ")) }
}

fn unit(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(field, "must be between 0 and 1"))
    }
}

/// A change to a domain's gates; absent fields keep their value.
#[derive(Debug, Clone, Default)]
pub struct HeimdallPolicyChange {
    pub domain: String,
    pub min_confidence_prod: Option<f64>,
    pub min_sandbox_trials: Option<i64>,
    pub min_sandbox_success_rate: Option<f64>,
    pub prod_use_enabled: Option<bool>,
    pub actor: Option<String>,
    pub reason: Option<String>,
}

/// A recommendation to judge.
#[derive(Debug, Clone)]
pub struct NewRecommendation {
    pub domain: String,
    pub confidence: f64,
    pub recommendation: serde_json::Value,
    pub evidence: serde_json::Value,
    pub actor: String,
}

/// A recommendation with its gates.
#[derive(Debug, Clone)]
pub struct Judged {
    pub recommendation: HeimdallRecommendation,
    pub gates: Vec<Gate>,
}

fn known_domain(c: &mut gov_store::Conn<'_>, tenant: TenantId, domain: &str) -> Result<HeimdallPolicy> {
    heimdall::policy(c, tenant, domain)?.ok_or(Error::NotFound("heimdall domain"))
}

impl Gov {
    pub fn heimdall_policies(&self, tenant: TenantId) -> Result<Vec<HeimdallPolicy>> {
        Ok(self.db.read(|c| heimdall::policies(c, tenant))?)
    }

    /// Creates a domain's gates or changes some of them (audited).
    pub fn upsert_heimdall_policy(
        &self,
        caller: &Caller,
        change: HeimdallPolicyChange,
    ) -> Result<HeimdallPolicy> {
        let domain = validate::identifier("domain", &change.domain)?.to_ascii_uppercase();
        change.min_confidence_prod.map(|v| unit("min_confidence_prod", v)).transpose()?;
        change.min_sandbox_success_rate.map(|v| unit("min_sandbox_success_rate", v)).transpose()?;
        if change.min_sandbox_trials.is_some_and(|n| n < 0) {
            return Err(Error::invalid("min_sandbox_trials", "must not be negative"));
        }
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let reason = validate::upsert_reason(change.reason.as_deref())?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = heimdall::policy(c, caller.tenant_id, &domain)?;
            let base = current.clone().unwrap_or(HeimdallPolicy {
                domain: domain.clone(),
                min_confidence_prod: 1.0,
                min_sandbox_trials: 0,
                min_sandbox_success_rate: 1.0,
                prod_use_enabled: false,
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
            });
            let next = HeimdallPolicy {
                min_confidence_prod: change.min_confidence_prod.unwrap_or(base.min_confidence_prod),
                min_sandbox_trials: change.min_sandbox_trials.unwrap_or(base.min_sandbox_trials),
                min_sandbox_success_rate: change.min_sandbox_success_rate.unwrap_or(base.min_sandbox_success_rate),
                prod_use_enabled: change.prod_use_enabled.unwrap_or(base.prod_use_enabled),
                changed_by: actor.clone(),
                reason: reason.clone(),
                updated_at: now,
                ..base
            };
            heimdall::upsert_policy(c, caller.tenant_id, &next)?;
            let detail = format!("gates changed: {reason}");
            heimdall::record_event(
                c,
                caller.tenant_id,
                &NewEvent { domain: &domain, event: "policy_upserted", ok: true, confidence: None, recommendation_id: None, actor: &actor, detail: &detail },
                now,
            )?;
            audit::record(
                c,
                caller.tenant_id,
                &caller.actor,
                NewAuditEntry {
                    action: "heimdall_policy.upserted",
                    resource_type: "heimdall_policy",
                    resource_id: domain.clone(),
                    details: json!({
                        "actor": actor, "reason": reason, "created": current.is_none(),
                        "min_confidence_prod": next.min_confidence_prod, "min_sandbox_trials": next.min_sandbox_trials,
                        "min_sandbox_success_rate": next.min_sandbox_success_rate, "prod_use_enabled": next.prod_use_enabled,
                    }),
                },
                now,
            )?;
            Ok(next)
        })
    }

    /// Today's scorecards (UTC), one per domain with trials.
    pub fn heimdall_scorecards_today(
        &self,
        tenant: TenantId,
    ) -> Result<(time::Date, Vec<HeimdallScorecard>)> {
        let day = self.clock.now().date();
        Ok((day, self.db.read(|c| heimdall::scorecards(c, tenant, day, day))?))
    }

    /// Records one sandbox trial of a domain.
    pub fn record_sandbox_trial(
        &self,
        caller: &Caller,
        domain: &str,
        success: bool,
        confidence: f64,
        actor: Option<String>,
    ) -> Result<HeimdallScorecard> {
        let domain = validate::identifier("domain", domain)?.to_ascii_uppercase();
        let confidence = unit("confidence", confidence)?;
        let actor = validate::named_or_caller("actor", actor.as_deref(), caller)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            known_domain(c, caller.tenant_id, &domain)?;
            let card = heimdall::record_trial(c, caller.tenant_id, now.date(), &domain, success, confidence)?;
            let detail = if success { "trial succeeded" } else { "trial failed" };
            heimdall::record_event(
                c,
                caller.tenant_id,
                &NewEvent {
                    domain: &domain,
                    event: "sandbox_trial",
                    ok: success,
                    confidence: Some(confidence),
                    recommendation_id: None,
                    actor: &actor,
                    detail,
                },
                now,
            )?;
            Ok(card)
        })
    }

    /// Judges a recommendation against its domain's gates and records it.
    pub fn recommend(&self, caller: &Caller, input: NewRecommendation) -> Result<Judged> {
        let domain = validate::identifier("domain", &input.domain)?.to_ascii_uppercase();
        let confidence = unit("confidence", input.confidence)?;
        let actor = validate::identifier("actor", &input.actor)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let policy = known_domain(c, caller.tenant_id, &domain)?;
            let today = now.date();
            let from = today - time::Duration::days(TRIAL_WINDOW_DAYS - 1);
            let cards = heimdall::scorecards(c, caller.tenant_id, from, today)?;
            let (trials, successes) = cards
                .iter()
                .filter(|s| s.domain == domain)
                .fold((0, 0), |(t, s), c| (t + c.trials, s + c.successes));
            let gates = gates(&policy, confidence, trials, successes);
            let reason = gate_reason(&gates);
            let recommendation = HeimdallRecommendation {
                id: uuid::Uuid::now_v7().to_string(),
                domain: domain.clone(),
                confidence,
                recommendation: input.recommendation.clone(),
                evidence: input.evidence.clone(),
                prod_eligible: gates.iter().all(|g| g.ok),
                gate_reason: reason.clone(),
                actor: actor.clone(),
                created_at: now,
            };
            heimdall::insert_recommendation(c, caller.tenant_id, &recommendation)?;
            heimdall::record_event(
                c,
                caller.tenant_id,
                &NewEvent {
                    domain: &domain,
                    event: "recommendation",
                    ok: recommendation.prod_eligible,
                    confidence: Some(confidence),
                    recommendation_id: Some(&recommendation.id),
                    actor: &actor,
                    detail: &reason,
                },
                now,
            )?;
            Ok(Judged { recommendation, gates })
        })
    }

    /// `require_prod_eligible(recommendation_id)`: Ok when the recommendation may be used in
    /// production, a conflict naming the failed gates otherwise. Each check is recorded.
    pub fn require_prod_eligible(
        &self,
        caller: &Caller,
        recommendation_id: &str,
        actor: Option<String>,
        correlation_id: Option<String>,
    ) -> Result<HeimdallRecommendation> {
        let id = validate::identifier("recommendation_id", recommendation_id)?;
        let actor = validate::named_or_caller("actor", actor.as_deref(), caller)?;
        let now = self.clock.now();
        let caller = caller.clone();
        self.db.write(move |c| {
            let r = heimdall::recommendation(c, caller.tenant_id, &id).map_err(|e| match e {
                StoreError::NotFound => Error::NotFound("recommendation"),
                other => other.into(),
            })?;
            let detail = match &correlation_id {
                Some(id) => format!("{} (correlation {id})", r.gate_reason),
                None => r.gate_reason.clone(),
            };
            heimdall::record_event(
                c,
                caller.tenant_id,
                &NewEvent {
                    domain: &r.domain,
                    event: "prod_eligibility_check",
                    ok: r.prod_eligible,
                    confidence: Some(r.confidence),
                    recommendation_id: Some(&r.id),
                    actor: &actor,
                    detail: &detail,
                },
                now,
            )?;
            Ok(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn policy(enabled: bool) -> HeimdallPolicy {
        HeimdallPolicy {
            domain: "WHOLESALE_OFFER".into(),
            min_confidence_prod: 0.92,
            min_sandbox_trials: 75,
            min_sandbox_success_rate: 0.82,
            prod_use_enabled: enabled,
            changed_by: "seed".into(),
            reason: "seed".into(),
            updated_at: datetime!(2026-01-13 00:00 UTC),
        }
    }

    fn check(enabled: bool, confidence: f64, trials: i64, successes: i64, failed: &[&str]) {
        let g = gates(&policy(enabled), confidence, trials, successes);
        let names: Vec<_> = g.iter().filter(|g| !g.ok).map(|g| g.gate).collect();
        assert_eq!(names, failed, "{enabled} {confidence} {trials} {successes}");
        let reason = gate_reason(&g);
        for name in failed {
            assert!(reason.contains(name), "{reason}");
        }
        assert_eq!(reason == "eligible", failed.is_empty());
    }

    #[test]
    fn gates_stack() {
        check(true, 0.95, 80, 70, &[]);
        check(true, 0.92, 75, 62, &[]);
        check(true, 0.91, 80, 70, &["confidence"]);
        check(true, 0.95, 74, 70, &["sandbox_trials"]);
        check(true, 0.95, 80, 60, &["sandbox_success_rate"]);
        check(false, 0.95, 80, 70, &["prod_use_enabled"]);
        check(
            false,
            0.5,
            0,
            0,
            &["confidence", "sandbox_trials", "sandbox_success_rate", "prod_use_enabled"],
        );
    }
}
