//! The executive debrief of an evidence bundle: a plain-language summary, the business impact,
//! a risk level and recommended actions, all derived from the evidence it carries (and
//! recomputed by the verifier, so an edited impact or summary is caught).
//!
//! Cost stopped: what the run would have spent at its own burn rate (cost spent / seconds from
//! its start to the stop) between the stop and the first human response to the incident, or the
//! bundle's generation when nobody has responded yet: without automatic prevention the run would
//! have kept going until a person stopped it. Zero when the run was not stopped by this incident
//! or stopped within its first second.

use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use crate::build::inflection_step;
use crate::bundle::*;

/// The executive debrief of `evidence`.
pub fn executive_debrief(mut evidence: EvidenceBundle) -> ExecutiveDebriefBundle {
    evidence.kind = BundleKind::ExecutiveDebrief;
    let Derived { incident_summary, business_impact, risk_level, recommended_actions } = derived(&evidence);
    ExecutiveDebriefBundle { evidence, incident_summary, business_impact, risk_level, recommended_actions }
}

/// The members of a debrief derived from its evidence.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived {
    pub incident_summary: String,
    pub business_impact: BusinessImpact,
    pub risk_level: String,
    pub recommended_actions: Vec<String>,
}

pub(crate) fn derived(b: &EvidenceBundle) -> Derived {
    let impact = business_impact(b);
    Derived {
        incident_summary: summary(b, &impact),
        risk_level: risk_level(b, &impact).to_owned(),
        recommended_actions: recommended_actions(b, &impact),
        business_impact: impact,
    }
}

fn parse(t: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(t, &Iso8601::DEFAULT).ok()
}

fn seconds_between(from: &str, to: &str) -> Option<f64> {
    Some((parse(to)? - parse(from)?).as_seconds_f64())
}

fn round_cents(c: f64) -> f64 {
    (c * 100.0).round() / 100.0
}

/// The step record at which the incident stopped its run.
fn stop_step(b: &EvidenceBundle) -> Option<&TraceStepEvidence> {
    let i = inflection_step(b)?;
    b.steps.iter().find(|s| s.step_index == i)
}

/// The first time a person (not the system) acted on the incident.
fn first_response(b: &EvidenceBundle) -> Option<&str> {
    b.incident.timeline.iter().filter(|e| e.answers()).map(|e| e.timestamp.as_str()).min()
}

fn business_impact(b: &EvidenceBundle) -> BusinessImpact {
    let tokens_spent =
        b.run.as_ref().map_or_else(|| b.steps.iter().map(|s| s.tokens).sum(), |r| r.tokens_used);
    let cost_spent_cents =
        b.run.as_ref().map_or_else(|| b.steps.iter().map(|s| s.cost_cents).sum(), |r| r.total_cost_cents);
    let stop = stop_step(b);
    let seconds_to_stop =
        stop.zip(b.run.as_ref()).and_then(|(s, r)| seconds_between(&r.started_at, &s.timestamp));
    let cost_stopped_cents = match (stop, seconds_to_stop) {
        (Some(step), Some(secs)) => {
            let until = first_response(b).unwrap_or(&b.generated_at);
            let idle = seconds_between(&step.timestamp, until).unwrap_or(0.0);
            cost_stopped_cents(cost_spent_cents, secs, idle)
        }
        _ => 0.0,
    };
    let mut agents: Vec<String> = b.run.iter().map(|r| r.agent_id.clone()).collect();
    agents.dedup();
    BusinessImpact {
        tokens_spent,
        cost_spent_cents,
        cost_stopped_cents,
        seconds_to_stop,
        runs_affected: i64::from(b.run.is_some()),
        agents_affected: agents,
    }
}

/// Cost stopped (see the module docs): `cost_spent_cents` at the run's own burn rate over
/// `seconds_to_stop`, for the `idle_seconds` between the stop and the first human response.
/// Analytics uses this same definition.
pub fn cost_stopped_cents(cost_spent_cents: f64, seconds_to_stop: f64, idle_seconds: f64) -> f64 {
    if seconds_to_stop < 1.0 {
        return 0.0;
    }
    round_cents(cost_spent_cents / seconds_to_stop * idle_seconds.max(0.0))
}

/// [`cost_stopped_cents`] of a run that started at `started`, was stopped at `stop` and first
/// answered at `answer` (or, unanswered, the time of the estimate).
pub fn run_cost_stopped_cents(
    cost_spent_cents: f64,
    started: OffsetDateTime,
    stop: OffsetDateTime,
    answer: OffsetDateTime,
) -> f64 {
    cost_stopped_cents(cost_spent_cents, (stop - started).as_seconds_f64(), (answer - stop).as_seconds_f64())
}

fn dollars(cents: f64) -> String {
    format!("${:.2}", cents / 100.0)
}

fn summary(b: &EvidenceBundle, impact: &BusinessImpact) -> String {
    let i = &b.incident;
    let state = match i.status.as_str() {
        "active" => "It is open and nobody has acknowledged it yet.".to_owned(),
        "resolved" => {
            format!("It was resolved{}.", i.resolution.as_ref().map_or(String::new(), |r| format!(": {r}")))
        }
        other => format!("It is {other}."),
    };
    let Some(run) = &b.run else {
        return format!("{} ({} severity): {} {state}", i.title, i.severity, i.description);
    };
    let what = match b.policy_context.as_ref().and_then(|p| p.violated_policy.as_ref()) {
        Some(p) => format!(
            "broke the rule \"{}\"{}",
            p.name,
            p.threshold
                .map_or(String::new(), |t| format!(" (limit {t} {})", p.metric.as_deref().unwrap_or("")))
        ),
        None => format!("was stopped ({})", i.incident_type),
    };
    let when = inflection_step(b).map_or(String::new(), |s| format!(" at step {s}"));
    let after =
        impact.seconds_to_stop.map_or(String::new(), |s| format!(" {s:.0} seconds after it started,"));
    format!(
        "Agent {} {what}{when} of run {}. gov {} the run{after} having spent {} tokens and {}. This is a {} \
         severity incident. {state}",
        run.agent_id,
        run.run_id,
        match run.status.as_str() {
            "paused" => "paused",
            "running" | "queued" => "flagged",
            _ => "stopped",
        },
        impact.tokens_spent,
        dollars(impact.cost_spent_cents),
        i.severity
    )
}

const LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

/// The incident's severity, one level higher when the impact adds risk: nobody has responded,
/// the run is not contained, the agent breached more than once, or the action was KILL.
fn risk_level(b: &EvidenceBundle, _impact: &BusinessImpact) -> &'static str {
    let base = LEVELS.iter().position(|l| *l == b.incident.severity).unwrap_or(2);
    let uncontained = b.run.as_ref().is_some_and(|r| r.status == "running" || r.status == "queued");
    let unanswered = first_response(b).is_none() && b.incident.status != "resolved";
    let repeated = b.prevention_records.len() > 1;
    let killed = b
        .policy_context
        .as_ref()
        .and_then(|p| p.violated_policy.as_ref())
        .is_some_and(|p| p.action == "KILL");
    let raise = usize::from(uncontained || unanswered || repeated || killed);
    LEVELS[(base + raise).min(LEVELS.len() - 1)]
}

fn recommended_actions(b: &EvidenceBundle, impact: &BusinessImpact) -> Vec<String> {
    let i = &b.incident;
    let mut actions = Vec::new();
    if i.status == "active" {
        actions.push(format!(
            "Acknowledge incident {} and assign an owner: nobody has responded since it opened at {}.",
            i.incident_id, i.created_at
        ));
    } else if i.status != "resolved" {
        actions.push(format!(
            "Resolve incident {} (now {}, escalation level {}) and record the resolution.",
            i.incident_id, i.status, i.escalation_level
        ));
    }
    let policy = b.policy_context.as_ref().and_then(|p| p.violated_policy.as_ref());
    let stop = inflection_step(b);
    let record = b
        .prevention_records
        .iter()
        .find(|p| Some(p.step_index) == stop && p.incident_id.as_deref() == Some(i.incident_id.as_str()));
    if let Some(p) = policy {
        let reached = record.and_then(|r| r.current_value).map_or(String::new(), |v| format!(" reached {v}"));
        actions.push(format!(
            "Review policy \"{}\" v{}: its {} limit of {}{reached}. Raise it only if this usage is intended; \
             otherwise keep it and fix the agent.",
            p.name,
            p.version,
            p.metric.as_deref().unwrap_or(&p.rule_type),
            p.threshold.map_or_else(|| "(no threshold)".to_owned(), |t| t.to_string()),
        ));
    }
    if let Some(run) = &b.run {
        actions.push(format!(
            "Review the workflow of agent {}: run {} used {} tokens ({}) in {} steps before gov {} it.",
            run.agent_id,
            run.run_id,
            impact.tokens_spent,
            dollars(impact.cost_spent_cents),
            run.step_count,
            if run.status == "paused" { "paused" } else { "stopped" }
        ));
    }
    let earlier: Vec<String> = b
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Breach | StepStatus::Near))
        .map(|s| s.step_index.to_string())
        .collect();
    if !earlier.is_empty() {
        actions.push(format!(
            "Agent warnings came before the stop (steps {}): alert the agent's owner at the first warning.",
            earlier.join(", ")
        ));
    }
    let shadow = b.prevention_records.iter().filter(|p| !p.enforced).count();
    if shadow > 0 {
        actions.push(format!(
            "{shadow} breach(es) were recorded but not enforced (shadow mode or non-winning policies): \
             check the enforcement mode before relying on these policies."
        ));
    }
    if !b.overrides.is_empty() {
        let actors: Vec<&str> = b.overrides.iter().map(|o| o.actor.as_str()).collect();
        actions.push(format!(
            "Audit the {} override(s) of this run (by {}): each loosened a policy for it.",
            b.overrides.len(),
            actors.join(", ")
        ));
    }
    if b.run.is_none() {
        actions.push(format!(
            "Find what raised this {} incident and fix it before clearing it: {}",
            i.incident_type, i.description
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::run_cost_stopped_cents;

    #[test]
    fn cost_stopped_is_the_runs_burn_rate_over_the_idle_time() {
        let start = datetime!(2026-01-20 10:00 UTC);
        let secs = |s: i64| start + time::Duration::seconds(s);
        let cases = [
            // 450 cents in 30 s, answered 2,670 s after the stop.
            ((450.0, secs(30), secs(2_700)), 40_050.0),
            // Stopped within a second of its start: no rate to speak of.
            ((450.0, start, secs(600)), 0.0),
            // An answer before the stop (clock skew between replicas) costs nothing.
            ((450.0, secs(30), secs(10)), 0.0),
            ((0.0, secs(30), secs(90)), 0.0),
        ];
        for ((cost, stop, answer), want) in cases {
            assert_eq!(run_cost_stopped_cents(cost, start, stop, answer), want, "{cost} {stop} {answer}");
        }
    }
}
