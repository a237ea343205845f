//! Regression tripwire engine of gov (seed 004): compares the success rate of the most recent
//! `window_events` KPI events with the baseline of the `baseline_events` events before them, and
//! trips when the relative drop exceeds `max_drop_fraction`, provided there are at least
//! `min_events_to_enforce` events. Pure: the caller passes the events' outcomes.

/// The thresholds of one (domain, metric) tripwire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tripwire {
    pub window_events: usize,
    pub baseline_events: usize,
    pub min_events_to_enforce: usize,
    pub max_drop_fraction: f64,
}

/// A threshold that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct InvalidTripwire {
    pub field: &'static str,
    pub message: &'static str,
}

impl Tripwire {
    /// Refuses empty windows and drop fractions outside (0, 1): a drop can be at most 1 (the
    /// rate fell to 0), so a limit of 1 could never be exceeded.
    pub fn validate(&self) -> Result<(), InvalidTripwire> {
        if self.window_events == 0 {
            return Err(InvalidTripwire { field: "window_events", message: "must be at least 1" });
        }
        if self.baseline_events == 0 {
            return Err(InvalidTripwire { field: "baseline_events", message: "must be at least 1" });
        }
        if !(self.max_drop_fraction > 0.0 && self.max_drop_fraction < 1.0) {
            return Err(InvalidTripwire {
                field: "max_drop_fraction",
                message: "must be above 0 and below 1",
            });
        }
        Ok(())
    }

    /// How many of the most recent events an evaluation reads.
    pub fn span(&self) -> usize {
        self.window_events + self.baseline_events
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Enough events to act on.
    pub enforceable: bool,
    pub events: usize,
    /// Success rate of the baseline events (older).
    pub baseline: Option<f64>,
    /// Success rate of the window events (newest).
    pub current: Option<f64>,
    /// `(baseline - current) / baseline`; negative when the metric improved.
    pub drop_fraction: Option<f64>,
    pub triggered: bool,
    pub note: String,
}

#[allow(clippy::cast_precision_loss)]
fn rate(outcomes: &[bool]) -> Option<f64> {
    (!outcomes.is_empty()).then(|| outcomes.iter().filter(|ok| **ok).count() as f64 / outcomes.len() as f64)
}

/// Evaluates `outcomes`: the success flags of the most recent events, newest first (extra
/// events beyond the window and baseline are ignored).
pub fn evaluate(tripwire: &Tripwire, outcomes: &[bool]) -> Evaluation {
    let outcomes = &outcomes[..outcomes.len().min(tripwire.span())];
    let split = outcomes.len().min(tripwire.window_events);
    let (window, baseline) = outcomes.split_at(split);
    let (current, base) = (rate(window), rate(baseline));
    let drop_fraction = match (base, current) {
        (Some(b), Some(c)) if b > 0.0 => Some((b - c) / b),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    let enough = outcomes.len() >= tripwire.min_events_to_enforce && !baseline.is_empty();
    let triggered = enough && drop_fraction.is_some_and(|d| d > tripwire.max_drop_fraction);
    let note = if !enough {
        format!(
            "not enforced: {} events, {} needed (and a non-empty baseline)",
            outcomes.len(),
            tripwire.min_events_to_enforce
        )
    } else if triggered {
        format!(
            "tripped: success rate fell from {:.3} to {:.3} ({:.1}% drop, limit {:.1}%)",
            base.unwrap_or_default(),
            current.unwrap_or_default(),
            drop_fraction.unwrap_or_default() * 100.0,
            tripwire.max_drop_fraction * 100.0
        )
    } else {
        format!(
            "healthy: drop {:.1}% within {:.1}%",
            drop_fraction.unwrap_or_default() * 100.0,
            tripwire.max_drop_fraction * 100.0
        )
    };
    Evaluation {
        enforceable: enough,
        events: outcomes.len(),
        baseline: base,
        current,
        drop_fraction,
        triggered,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: Tripwire = Tripwire {
        window_events: 50,
        baseline_events: 200,
        min_events_to_enforce: 250,
        max_drop_fraction: 0.20,
    };

    /// Newest-first outcomes: `window` events at `window_rate` successes, then `baseline` at `base_rate`.
    fn history(window: usize, window_rate: f64, baseline: usize, base_rate: f64) -> Vec<bool> {
        let run = |n: usize, r: f64| (0..n).map(move |i| (i as f64) < (n as f64) * r);
        run(window, window_rate).chain(run(baseline, base_rate)).collect()
    }

    fn check(outcomes: &[bool], expected_triggered: bool, expected_enforceable: bool) {
        let e = evaluate(&SEED, outcomes);
        assert_eq!((e.triggered, e.enforceable), (expected_triggered, expected_enforceable), "{e:?}");
    }

    #[test]
    fn trips_only_on_a_drop_beyond_the_limit_with_enough_events() {
        check(&history(50, 0.60, 200, 0.80), true, true); // 25% drop
        check(&history(50, 0.66, 200, 0.80), false, true); // 17.5% drop
        check(&history(50, 0.90, 200, 0.80), false, true); // improved
        check(&history(50, 0.10, 100, 0.80), false, false); // 150 events < 250
        check(&history(40, 0.10, 0, 0.0), false, false); // no baseline
    }

    #[test]
    fn the_evaluation_reports_its_numbers() {
        let e = evaluate(&SEED, &history(50, 0.60, 200, 0.80));
        assert_eq!(e.events, 250);
        assert_eq!((e.baseline, e.current), (Some(0.8), Some(0.6)));
        assert!((e.drop_fraction.unwrap() - 0.25).abs() < 1e-12);
        assert!(e.note.contains("tripped"), "{}", e.note);
        // Older events beyond the span are ignored.
        let mut longer = history(50, 0.60, 200, 0.80);
        longer.extend(std::iter::repeat_n(false, 500));
        assert_eq!(evaluate(&SEED, &longer), e);
    }

    #[test]
    fn a_zero_baseline_cannot_drop() {
        let e = evaluate(&SEED, &history(50, 0.0, 200, 0.0));
        assert_eq!((e.drop_fraction, e.triggered), (Some(0.0), false));
    }

    #[test]
    fn impossible_thresholds_are_refused() {
        for (t, field) in [
            (Tripwire { window_events: 0, ..SEED }, "window_events"),
            (Tripwire { baseline_events: 0, ..SEED }, "baseline_events"),
            (Tripwire { max_drop_fraction: 0.0, ..SEED }, "max_drop_fraction"),
            (Tripwire { max_drop_fraction: 1.0, ..SEED }, "max_drop_fraction"),
            (Tripwire { max_drop_fraction: 1.5, ..SEED }, "max_drop_fraction"),
        ] {
            assert_eq!(t.validate().map_err(|e| e.field), Err(field));
        }
        assert!(SEED.validate().is_ok());
    }
}
