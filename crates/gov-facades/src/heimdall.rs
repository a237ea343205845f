//! The sandbox charter ("Heimdall", seed 004): an AI recommendation may be used in production only
//! if every gate holds (the gates are `gov-levers`' `gates`), counted over the domain's scorecards
//! of the trial window. The gate reason names every gate that failed.

use gov_levers::{Gate, GatesChange, Stamp, gates, values};
use gov_model::{HeimdallPolicy, HeimdallRecommendation, HeimdallScorecard, NewAuditEntry, TenantId};
use gov_store::StoreError;
use gov_store::heimdall::{self, NewEvent};
use serde_json::json;

use crate::{Caller, Error, Gov, Result, audit, validate};

fn unit(field: &str, value: f64) -> Result<f64> {
    values::unit(value).map_err(|e| Error::invalid(field, e.to_string()))
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
        if let Some(n) = change.min_sandbox_trials {
            values::count(n).map_err(|e| Error::invalid("min_sandbox_trials", e.to_string()))?;
        }
        let actor = validate::named_or_caller("actor", change.actor.as_deref(), caller)?;
        let reason = validate::upsert_reason(change.reason.as_deref())?;
        let now = self.clock.now();
        let edit = GatesChange {
            min_confidence_prod: change.min_confidence_prod,
            min_sandbox_trials: change.min_sandbox_trials,
            min_sandbox_success_rate: change.min_sandbox_success_rate,
            prod_use_enabled: change.prod_use_enabled,
        };
        let caller = caller.clone();
        self.db.write(move |c| {
            let current = heimdall::policy(c, caller.tenant_id, &domain)?;
            let created = current.is_none();
            let next = edit.apply(current, &domain, Stamp { actor: &actor, reason: &reason, now });
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
                        "actor": actor, "reason": reason, "created": created,
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
            let from = gov_levers::gates::trial_window_start(today);
            let cards = heimdall::scorecards(c, caller.tenant_id, from, today)?;
            let (trials, successes) = gov_levers::gates::trials(&cards, &domain);
            let gates = gates(&policy, confidence, trials, successes);
            let reason = gov_levers::gate_reason(&gates);
            let recommendation = HeimdallRecommendation {
                id: uuid::Uuid::now_v7().to_string(),
                domain: domain.clone(),
                confidence,
                recommendation: input.recommendation.clone(),
                evidence: input.evidence.clone(),
                prod_eligible: gov_levers::eligible(&gates),
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
            let detail = gov_levers::gates::eligibility_detail(&r.gate_reason, correlation_id.as_deref());
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
