//! The sandbox charter's gates (seed 004 "Heimdall"): an AI recommendation may be used in
//! production only if confidence >= min_confidence_prod AND sandbox trials >= min_sandbox_trials
//! AND sandbox success rate >= min_sandbox_success_rate AND prod_use_enabled. Trials count over
//! the domain's scorecards of the last [`TRIAL_WINDOW_DAYS`] UTC days, today included.

use gov_model::{HeimdallPolicy, HeimdallScorecard};

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

/// The first day whose trials count on `today`.
pub fn trial_window_start(today: time::Date) -> time::Date {
    today - time::Duration::days(TRIAL_WINDOW_DAYS - 1)
}

/// `domain`'s (trials, successes) summed over `cards` (the trial window's scorecards).
pub fn trials(cards: &[HeimdallScorecard], domain: &str) -> (i64, i64) {
    cards.iter().filter(|s| s.domain == domain).fold((0, 0), |(t, s), c| (t + c.trials, s + c.successes))
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

/// Whether a recommendation with these gates may be used in production: every gate held.
pub fn eligible(gates: &[Gate]) -> bool {
    gates.iter().all(|g| g.ok)
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

/// What an eligibility check records: the recommendation's gate reason, with the caller's
/// correlation id when given.
pub fn eligibility_detail(gate_reason: &str, correlation_id: Option<&str>) -> String {
    match correlation_id {
        Some(id) => format!("{gate_reason} (correlation {id})"),
        None => gate_reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

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

    /// A recommendation of `confidence` in a domain with `trials` and `successes` (gates: 0.92,
    /// 75 trials, 0.82, production use `enabled`) fails the gates `failed`, for `reason`.
    fn check(enabled: bool, confidence: f64, trials: i64, successes: i64, failed: &[&str], reason: &str) {
        let g = gates(&policy(enabled), confidence, trials, successes);
        let names: Vec<_> = g.iter().filter(|g| !g.ok).map(|g| g.gate).collect();
        assert_eq!(
            (names, gate_reason(&g).as_str(), eligible(&g)),
            (failed.to_vec(), reason, failed.is_empty()),
            "{enabled} {confidence} {trials} {successes}"
        );
    }

    #[test]
    fn gates_stack() {
        check(true, 0.95, 80, 70, &[], "eligible");
        check(true, 0.92, 75, 62, &[], "eligible"); // every gate exactly met
        check(true, 0.91, 80, 70, &["confidence"], "failed gates: confidence (required 0.92, actual 0.91)");
        check(
            true,
            0.95,
            74,
            70,
            &["sandbox_trials"],
            "failed gates: sandbox_trials (required 75, actual 74)",
        );
        check(
            true,
            0.95,
            80,
            60,
            &["sandbox_success_rate"],
            "failed gates: sandbox_success_rate (required 0.82, actual 0.75)",
        );
        check(
            false,
            0.95,
            80,
            70,
            &["prod_use_enabled"],
            "failed gates: prod_use_enabled (required 1, actual 0)",
        );
        check(
            false,
            0.5,
            0,
            0,
            &["confidence", "sandbox_trials", "sandbox_success_rate", "prod_use_enabled"],
            "failed gates: confidence (required 0.92, actual 0.5); sandbox_trials (required 75, actual 0); \
             sandbox_success_rate (required 0.82, actual 0); prod_use_enabled (required 1, actual 0)",
        );
    }

    #[test]
    fn trials_count_over_the_window() {
        let card = |day, domain: &str, trials, successes| HeimdallScorecard {
            day,
            domain: domain.to_owned(),
            trials,
            successes,
            success_rate: 0.0,
            avg_confidence: 0.0,
        };
        assert_eq!(trial_window_start(date!(2026 - 01 - 19)), date!(2026 - 01 - 13));
        assert_eq!(trial_window_start(date!(2026 - 03 - 01)), date!(2026 - 02 - 23));
        let cards = [
            card(date!(2026 - 01 - 13), "WHOLESALE_OFFER", 40, 30),
            card(date!(2026 - 01 - 19), "WHOLESALE_OFFER", 40, 35),
            card(date!(2026 - 01 - 19), "CAPITAL_ALLOC", 9, 1),
        ];
        for (domain, expected) in [("WHOLESALE_OFFER", (80, 65)), ("CAPITAL_ALLOC", (9, 1)), ("NONE", (0, 0))]
        {
            assert_eq!(trials(&cards, domain), expected, "{domain}");
        }
    }

    #[test]
    fn an_eligibility_check_names_its_correlation() {
        for (correlation, expected) in [(None, "eligible"), (Some("deal-7"), "eligible (correlation deal-7)")]
        {
            assert_eq!(eligibility_detail("eligible", correlation), expected);
        }
    }
}
