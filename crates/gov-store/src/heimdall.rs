//! The sandbox charter's tables ("Heimdall", seed 004): per-domain gates, daily scorecards,
//! recommendations with their gate decision, and the append-only event log.

use diesel::prelude::*;
use gov_model::{HeimdallPolicy, HeimdallRecommendation, HeimdallScorecard, TenantId, Timestamp};
use time::{Date, PrimitiveDateTime};

use crate::convert::{from_db, json, to_db};
use crate::db::dispatch;
use crate::schema::{heimdall_event, heimdall_policy, heimdall_recommendation, heimdall_scorecard_day};
use crate::{Conn, StoreError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = heimdall_policy, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct PolicyRow {
    domain: String,
    min_confidence_prod: f64,
    min_sandbox_trials: i64,
    min_sandbox_success_rate: f64,
    prod_use_enabled: bool,
    changed_by: String,
    reason: String,
    updated_at: PrimitiveDateTime,
}

impl From<PolicyRow> for HeimdallPolicy {
    fn from(r: PolicyRow) -> Self {
        HeimdallPolicy {
            domain: r.domain,
            min_confidence_prod: r.min_confidence_prod,
            min_sandbox_trials: r.min_sandbox_trials,
            min_sandbox_success_rate: r.min_sandbox_success_rate,
            prod_use_enabled: r.prod_use_enabled,
            changed_by: r.changed_by,
            reason: r.reason,
            updated_at: from_db(r.updated_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = heimdall_scorecard_day, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ScorecardRow {
    day: Date,
    domain: String,
    trials: i64,
    successes: i64,
    success_rate: f64,
    avg_confidence: f64,
}

impl From<ScorecardRow> for HeimdallScorecard {
    fn from(r: ScorecardRow) -> Self {
        HeimdallScorecard {
            day: r.day,
            domain: r.domain,
            trials: r.trials,
            successes: r.successes,
            success_rate: r.success_rate,
            avg_confidence: r.avg_confidence,
        }
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = heimdall_recommendation, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct RecommendationRow {
    id: String,
    tenant_id: String,
    domain: String,
    confidence: f64,
    recommendation_json: String,
    evidence_json: String,
    prod_eligible: bool,
    gate_reason: String,
    actor: String,
    created_at: PrimitiveDateTime,
}

impl RecommendationRow {
    fn into_model(self) -> Result<HeimdallRecommendation, StoreError> {
        Ok(HeimdallRecommendation {
            recommendation: json("heimdall_recommendation.recommendation_json", &self.recommendation_json)?,
            evidence: json("heimdall_recommendation.evidence_json", &self.evidence_json)?,
            id: self.id,
            domain: self.domain,
            confidence: self.confidence,
            prod_eligible: self.prod_eligible,
            gate_reason: self.gate_reason,
            actor: self.actor,
            created_at: from_db(self.created_at),
        })
    }
}

/// One row of the Heimdall audit trail.
pub struct NewEvent<'a> {
    pub domain: &'a str,
    pub event: &'a str,
    pub ok: bool,
    pub confidence: Option<f64>,
    pub recommendation_id: Option<&'a str>,
    pub actor: &'a str,
    pub detail: &'a str,
}

pub fn policies(conn: &mut Conn<'_>, tenant: TenantId) -> Result<Vec<HeimdallPolicy>, StoreError> {
    let t = tenant.to_string();
    let rows: Vec<PolicyRow> = dispatch!(conn, |c| heimdall_policy::table
        .filter(heimdall_policy::tenant_id.eq(&t))
        .order(heimdall_policy::domain.asc())
        .select(PolicyRow::as_select())
        .load(c))?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub fn policy(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    domain: &str,
) -> Result<Option<HeimdallPolicy>, StoreError> {
    let t = tenant.to_string();
    let row: Option<PolicyRow> = dispatch!(conn, |c| heimdall_policy::table
        .filter(heimdall_policy::tenant_id.eq(&t).and(heimdall_policy::domain.eq(domain)))
        .select(PolicyRow::as_select())
        .get_result(c)
        .optional())?;
    Ok(row.map(Into::into))
}

/// Creates or replaces a domain's gates.
pub fn upsert_policy(conn: &mut Conn<'_>, tenant: TenantId, p: &HeimdallPolicy) -> Result<(), StoreError> {
    use heimdall_policy as h;
    let t = tenant.to_string();
    let at = to_db(p.updated_at);
    let id = format!("{t}:{}", p.domain);
    // Insert-or-nothing, then update: a bare ON CONFLICT DO NOTHING covers both unique indexes (the
    // derived id and (tenant, domain)), so two admins creating one domain at once cannot get a 409.
    dispatch!(conn, |c| {
        diesel::insert_into(h::table)
            .values((
                h::id.eq(&id),
                h::tenant_id.eq(&t),
                h::domain.eq(&p.domain),
                h::min_confidence_prod.eq(p.min_confidence_prod),
                h::min_sandbox_trials.eq(p.min_sandbox_trials),
                h::min_sandbox_success_rate.eq(p.min_sandbox_success_rate),
                h::prod_use_enabled.eq(p.prod_use_enabled),
                h::changed_by.eq(&p.changed_by),
                h::reason.eq(&p.reason),
                h::updated_at.eq(at),
            ))
            .on_conflict_do_nothing()
            .execute(c)?;
        diesel::update(h::table.find(&id))
            .set((
                h::min_confidence_prod.eq(p.min_confidence_prod),
                h::min_sandbox_trials.eq(p.min_sandbox_trials),
                h::min_sandbox_success_rate.eq(p.min_sandbox_success_rate),
                h::prod_use_enabled.eq(p.prod_use_enabled),
                h::changed_by.eq(&p.changed_by),
                h::reason.eq(&p.reason),
                h::updated_at.eq(at),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// Counts one sandbox trial in the domain's scorecard for `day` (running success rate and mean
/// confidence), atomically.
pub fn record_trial(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    day: Date,
    domain: &str,
    success: bool,
    confidence: f64,
) -> Result<HeimdallScorecard, StoreError> {
    use heimdall_scorecard_day as s;
    let t = tenant.to_string();
    let won = i64::from(success);
    let row: ScorecardRow = dispatch!(conn, |c| {
        diesel::insert_into(s::table)
            .values((
                s::id.eq(format!("{t}:{day}:{domain}")),
                s::tenant_id.eq(&t),
                s::day.eq(day),
                s::domain.eq(domain),
            ))
            // The id is derived from (tenant, day, domain): any conflict means the row exists.
            .on_conflict_do_nothing()
            .execute(c)?;
        let target = s::table.filter(s::tenant_id.eq(&t).and(s::day.eq(day)).and(s::domain.eq(domain)));
        let current: ScorecardRow = target.select(ScorecardRow::as_select()).get_result(c)?;
        let trials = current.trials + 1;
        let successes = current.successes + won;
        #[allow(clippy::cast_precision_loss)]
        let (rate, mean) = (
            successes as f64 / trials as f64,
            current.avg_confidence + (confidence - current.avg_confidence) / trials as f64,
        );
        diesel::update(target)
            .set((
                s::trials.eq(trials),
                s::successes.eq(successes),
                s::success_rate.eq(rate),
                s::avg_confidence.eq(mean),
            ))
            .execute(c)?;
        target.select(ScorecardRow::as_select()).get_result(c)
    })?;
    Ok(row.into())
}

/// Scorecards of days `from..=to`, by day then domain.
pub fn scorecards(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    from: Date,
    to: Date,
) -> Result<Vec<HeimdallScorecard>, StoreError> {
    use heimdall_scorecard_day as s;
    let t = tenant.to_string();
    let rows: Vec<ScorecardRow> = dispatch!(conn, |c| s::table
        .filter(s::tenant_id.eq(&t).and(s::day.ge(from)).and(s::day.le(to)))
        .order((s::day.asc(), s::domain.asc()))
        .select(ScorecardRow::as_select())
        .load(c))?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub fn insert_recommendation(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    r: &HeimdallRecommendation,
) -> Result<(), StoreError> {
    let row = RecommendationRow {
        id: r.id.clone(),
        tenant_id: tenant.to_string(),
        domain: r.domain.clone(),
        confidence: r.confidence,
        recommendation_json: r.recommendation.to_string(),
        evidence_json: r.evidence.to_string(),
        prod_eligible: r.prod_eligible,
        gate_reason: r.gate_reason.clone(),
        actor: r.actor.clone(),
        created_at: to_db(r.created_at),
    };
    dispatch!(conn, |c| diesel::insert_into(heimdall_recommendation::table).values(&row).execute(c))?;
    Ok(())
}

pub fn recommendation(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: &str,
) -> Result<HeimdallRecommendation, StoreError> {
    let t = tenant.to_string();
    let row: RecommendationRow = dispatch!(conn, |c| heimdall_recommendation::table
        .filter(heimdall_recommendation::tenant_id.eq(&t).and(heimdall_recommendation::id.eq(id)))
        .select(RecommendationRow::as_select())
        .get_result(c))?;
    row.into_model()
}

pub fn record_event(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    e: &NewEvent<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    use heimdall_event as h;
    let t = tenant.to_string();
    dispatch!(conn, |c| diesel::insert_into(h::table)
        .values((
            h::id.eq(uuid::Uuid::now_v7().to_string()),
            h::tenant_id.eq(&t),
            h::domain.eq(e.domain),
            h::event.eq(e.event),
            h::ok.eq(e.ok),
            h::confidence.eq(e.confidence),
            h::recommendation_id.eq(e.recommendation_id),
            h::actor.eq(e.actor),
            h::detail.eq(e.detail),
            h::created_at.eq(to_db(now)),
        ))
        .execute(c))?;
    Ok(())
}
