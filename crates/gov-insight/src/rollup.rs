//! The arithmetic of the hourly rollups the Overview and Analytics read instead of scanning a
//! million rows: which part of a range `[from, to)` whole rollup hours cover (the rest is read
//! raw), the duration histogram's bins and the percentile estimated from it, and the cost a
//! breach stop saved, split so that a rollup can hold the still-unanswered part as two sums.
//!
//! Hours are unix hours: floor(unix seconds / 3600), UTC.

use time::OffsetDateTime;

/// The unix hour holding `t`.
pub fn hour_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(3_600)
}

/// The start of unix hour `hour`.
pub fn hour_start(hour: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(hour.saturating_mul(3_600)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A range cut at whole hours: `hours` (unix hours `start..end`) is read from the rollups, the
/// ragged `head` and `tail` from the rows themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourSplit {
    pub head: Option<(OffsetDateTime, OffsetDateTime)>,
    pub hours: Option<std::ops::Range<i64>>,
    pub tail: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl HourSplit {
    /// The raw parts (`head`, `tail`), in order.
    pub fn raw(&self) -> impl Iterator<Item = (OffsetDateTime, OffsetDateTime)> + '_ {
        self.head.iter().chain(self.tail.iter()).copied()
    }
}

/// Cuts `[from, to)` into a ragged head, the whole hours inside it and a ragged tail. A range
/// that holds no whole hour is all head.
pub fn split_hours(from: OffsetDateTime, to: OffsetDateTime) -> HourSplit {
    if from >= to {
        return HourSplit { head: None, hours: None, tail: None };
    }
    let first = hour_of(from) + i64::from(hour_start(hour_of(from)) != from);
    let end = hour_of(to);
    if first >= end {
        return HourSplit { head: Some((from, to)), hours: None, tail: None };
    }
    let (a, b) = (hour_start(first), hour_start(end));
    HourSplit {
        head: (from < a).then_some((from, a)),
        hours: Some(first..end),
        tail: (b < to).then_some((b, to)),
    }
}

/// Bins of the duration histogram: bin 0 holds durations under one second; bin `k ≥ 1` holds
/// `[2^((k-1)/4), 2^(k/4))` seconds, so a bin's bounds are about 19% apart; the last bin holds
/// everything from about 12 days on.
pub const DURATION_BINS: i32 = 82;

/// The histogram bin of a duration in seconds.
pub fn duration_bin(seconds: f64) -> i32 {
    if seconds.is_nan() || seconds < 1.0 {
        return 0;
    }
    let k = (seconds.log2() * 4.0).floor() as i64 + 1;
    k.clamp(1, i64::from(DURATION_BINS - 1)) as i32
}

/// The `[lower, upper)` seconds of a bin.
pub fn bin_bounds(bin: i32) -> (f64, f64) {
    if bin <= 0 {
        return (0.0, 1.0);
    }
    let lower = 2f64.powf(f64::from(bin - 1) / 4.0);
    (lower, 2f64.powf(f64::from(bin) / 4.0))
}

/// The value at 0-based `position` of the sorted values a histogram counts, estimated by linear
/// interpolation inside its bin; `None` when the position is beyond the counts.
pub fn position_in_histogram(bins: &[(i32, i64)], position: i64) -> Option<f64> {
    let mut sorted: Vec<(i32, i64)> = bins.iter().copied().filter(|(_, n)| *n > 0).collect();
    sorted.sort_unstable();
    let mut before = 0i64;
    for (bin, n) in sorted {
        if position < before + n {
            let (lo, hi) = bin_bounds(bin);
            let within = (position - before) as f64 + 0.5;
            return Some(lo + (hi - lo) * within / n as f64);
        }
        before += n;
    }
    None
}

/// What a run a breach stopped contributes to "cost stopped": its spending rate up to the stop
/// (cents per second, 0 when it stopped within a second) and when it stopped. The estimate is
/// `rate × (first human response − stop)`, or `rate × (now − stop)` while nobody has answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopRate {
    pub cents_per_second: f64,
    pub stop_at: OffsetDateTime,
}

impl StopRate {
    pub fn new(cost_spent_cents: f64, started_at: OffsetDateTime, stop_at: OffsetDateTime) -> StopRate {
        let to_stop = (stop_at - started_at).as_seconds_f64();
        let cents_per_second = if to_stop < 1.0 { 0.0 } else { cost_spent_cents / to_stop };
        StopRate { cents_per_second, stop_at }
    }

    /// Seconds from the start of `hour` to the stop: what a rollup row of that hour sums, times
    /// the rate, so that `Σ rate × (now − hour start) − Σ rate × offset` is the open estimate.
    pub fn offset_in(&self, hour: i64) -> f64 {
        (self.stop_at - hour_start(hour)).as_seconds_f64()
    }
}

/// The open estimate of rollup rows summed together: `Σ rate × (now − hour start) − Σ rate ×
/// offset`, from `Σ rate`, `Σ rate × hour` and `Σ rate × offset`. Never negative.
pub fn open_cost_stopped(rate: f64, rate_hours: f64, rate_offset: f64, now: OffsetDateTime) -> f64 {
    let now_s = now.unix_timestamp() as f64 + f64::from(now.nanosecond()) / 1e9;
    (rate * now_s - 3_600.0 * rate_hours - rate_offset).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    fn check<I: Clone + std::fmt::Debug, O: PartialEq + std::fmt::Debug>(
        f: impl Fn(I) -> O,
        cases: Vec<(I, O)>,
    ) {
        for (input, want) in cases {
            assert_eq!(f(input.clone()), want, "input {input:?}");
        }
    }

    #[test]
    fn splits_at_whole_hours() {
        let t =
            |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
        let h = |s: &str| hour_of(t(s));
        check(
            |(a, b): (&str, &str)| split_hours(t(a), t(b)),
            vec![
                (
                    ("2026-12-01T10:15:00Z", "2026-12-01T13:30:00Z"),
                    HourSplit {
                        head: Some((t("2026-12-01T10:15:00Z"), t("2026-12-01T11:00:00Z"))),
                        hours: Some(h("2026-12-01T11:00:00Z")..h("2026-12-01T13:00:00Z")),
                        tail: Some((t("2026-12-01T13:00:00Z"), t("2026-12-01T13:30:00Z"))),
                    },
                ),
                (
                    ("2026-12-01T10:00:00Z", "2026-12-01T12:00:00Z"),
                    HourSplit {
                        head: None,
                        hours: Some(h("2026-12-01T10:00:00Z")..h("2026-12-01T12:00:00Z")),
                        tail: None,
                    },
                ),
                (
                    ("2026-12-01T10:15:00Z", "2026-12-01T11:10:00Z"),
                    HourSplit {
                        head: Some((t("2026-12-01T10:15:00Z"), t("2026-12-01T11:10:00Z"))),
                        hours: None,
                        tail: None,
                    },
                ),
                (
                    ("2026-12-01T10:15:00Z", "2026-12-01T10:15:00Z"),
                    HourSplit { head: None, hours: None, tail: None },
                ),
            ],
        );
    }

    #[test]
    fn duration_bins_grow_by_a_fourth_octave() {
        check(
            duration_bin,
            vec![
                (-3.0, 0),
                (0.0, 0),
                (0.999, 0),
                (f64::NAN, 0),
                (1.0, 1),
                (1.18, 1),
                (1.19, 2),
                (2.0, 5),
                (60.0, 24),
                (1e12, DURATION_BINS - 1),
            ],
        );
        for bin in 1..DURATION_BINS - 1 {
            let (lo, hi) = bin_bounds(bin);
            assert_eq!(duration_bin(lo * 1.000_001), bin);
            assert_eq!(duration_bin(hi * 0.999_999), bin);
        }
    }

    #[test]
    fn percentile_from_histogram_lands_in_its_bin() {
        let bins = vec![(5, 10), (1, 10), (9, 0)];
        check(
            |p| position_in_histogram(&bins, p).map(duration_bin),
            vec![(0, Some(1)), (9, Some(1)), (10, Some(5)), (19, Some(5)), (20, None)],
        );
    }

    #[test]
    fn stop_rate_and_open_estimate() {
        let start = datetime!(2026-12-01 10:20:00 UTC);
        let stop = datetime!(2026-12-01 10:30:00 UTC);
        let rate = StopRate::new(600.0, start, stop);
        assert_eq!(rate.cents_per_second, 1.0);
        let hour = hour_of(start);
        assert_eq!(rate.offset_in(hour), 1_800.0);
        let now = datetime!(2026-12-01 10:40:00 UTC);
        let r = rate.cents_per_second;
        let open = open_cost_stopped(r, r * hour as f64, r * rate.offset_in(hour), now);
        assert!((open - 600.0).abs() < 1e-6, "{open}");
        assert_eq!(
            open_cost_stopped(r, r * hour as f64, r * rate.offset_in(hour), stop - Duration::minutes(1)),
            0.0
        );
        assert_eq!(StopRate::new(600.0, start, start + Duration::milliseconds(500)).cents_per_second, 0.0);
    }
}
