//! The Analytics arithmetic: the time range and its UTC-aligned buckets (hour, day, ISO week
//! starting Monday), burn rates, rates and per-run averages, and the nearest rank of a percentile.
//! The store groups rows by the bucket index this module defines; the facade fills the series.

use std::fmt;
use std::str::FromStr;

use gov_model::RunStatus;
use time::{Duration, OffsetDateTime};

/// The longest range an analytics request may cover.
pub const MAX_RANGE_DAYS: i64 = 366;
/// The most buckets one series may have.
pub const MAX_BUCKETS: i64 = 1000;
/// The range when the request names none: this many days up to now.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// The width of a series' buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bucket {
    Hour,
    #[default]
    Day,
    Week,
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Hour, Bucket::Day, Bucket::Week];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
            Bucket::Week => "week",
        }
    }

    /// Width in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Bucket::Hour => 3_600,
            Bucket::Day => 86_400,
            Bucket::Week => 7 * 86_400,
        }
    }

    /// Unix seconds of the start of bucket 0: the epoch for hours and days, Monday 1970-01-05
    /// for ISO weeks (the epoch was a Thursday).
    pub fn origin(self) -> i64 {
        match self {
            Bucket::Week => 4 * 86_400,
            Bucket::Hour | Bucket::Day => 0,
        }
    }

    /// The index of the bucket holding `t`: floor((unix seconds - origin) / width).
    pub fn index(self, t: OffsetDateTime) -> i64 {
        (t.unix_timestamp() - self.origin()).div_euclid(self.seconds())
    }

    /// The start of bucket `index` (UTC).
    pub fn start(self, index: i64) -> OffsetDateTime {
        let secs = self.origin().saturating_add(index.saturating_mul(self.seconds()));
        OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bucket name that is not one of hour, day, week.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a bucket (allowed: hour, day, week)")]
pub struct UnknownBucket(pub String);

impl FromStr for Bucket {
    type Err = UnknownBucket;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bucket::ALL.into_iter().find(|b| b.as_str() == s).ok_or_else(|| UnknownBucket(s.to_owned()))
    }
}

/// Why a range cannot be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("from is after to")]
    Reversed,
    #[error("the range is longer than {MAX_RANGE_DAYS} days")]
    TooLong,
    #[error(
        "the range has {0} {1} buckets, more than {MAX_BUCKETS}: choose a wider bucket or a shorter range"
    )]
    TooManyBuckets(i64, Bucket),
}

/// A checked range `[from, to)` and the width of its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub bucket: Bucket,
}

impl Window {
    /// `from`/`to` default to the last [`DEFAULT_RANGE_DAYS`] days up to `now` (a missing `from`
    /// is that many days before `to`).
    pub fn new(
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        bucket: Bucket,
        now: OffsetDateTime,
    ) -> Result<Window, RangeError> {
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - Duration::days(DEFAULT_RANGE_DAYS));
        if from > to {
            return Err(RangeError::Reversed);
        }
        if to - from > Duration::days(MAX_RANGE_DAYS) {
            return Err(RangeError::TooLong);
        }
        let window = Window { from, to, bucket };
        let n = window.bucket_count();
        if n > MAX_BUCKETS {
            return Err(RangeError::TooManyBuckets(n, bucket));
        }
        Ok(window)
    }

    /// The indexes of the buckets that overlap `[from, to)`; empty when `from == to`.
    pub fn indexes(&self) -> std::ops::Range<i64> {
        if self.from >= self.to {
            return 0..0;
        }
        let last = self.bucket.index(self.to - Duration::microseconds(1));
        self.bucket.index(self.from)..last + 1
    }

    pub fn bucket_count(&self) -> i64 {
        let r = self.indexes();
        r.end - r.start
    }

    pub fn seconds(&self) -> f64 {
        (self.to - self.from).as_seconds_f64()
    }
}

/// Cents per hour of `cents` spent over `seconds`; 0 over an empty span.
pub fn burn_rate_per_hour(cents: f64, seconds: f64) -> f64 {
    if seconds <= 0.0 { 0.0 } else { round2(cents * 3_600.0 / seconds) }
}

/// `part / whole`, rounded to 4 decimals; `None` when `whole` is 0.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| ((part as f64 / whole as f64) * 10_000.0).round() / 10_000.0)
}

/// `total / runs`, rounded to 0.01; `None` without runs.
pub fn per_run(total: f64, runs: i64) -> Option<f64> {
    (runs > 0).then(|| round2(total / runs as f64))
}

/// The 0-based position of the `pct` percentile among `n` sorted values (nearest rank:
/// ceil(pct/100 · n) - 1); `None` when there are no values.
pub fn nearest_rank(n: i64, pct: u8) -> Option<i64> {
    if n <= 0 {
        return None;
    }
    let rank = (i64::from(pct.min(100)) * n + 99) / 100;
    Some(rank.clamp(1, n) - 1)
}

/// Runs of a group (an agent, a bucket, all) folded by status: the productivity figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunTally {
    pub runs: i64,
    pub succeeded: i64,
    pub failed: i64,
    /// Stopped by a breach (`failed_policy`).
    pub stopped: i64,
    pub cancelled: i64,
    /// Queued, running or paused.
    pub in_progress: i64,
    pub tokens: i64,
    pub cost_cents: f64,
    pub succeeded_tokens: i64,
    pub succeeded_cost_cents: f64,
    /// Sum of durations (seconds) over the `timed` runs that have ended.
    pub duration_seconds: f64,
    pub timed: i64,
}

impl RunTally {
    /// Adds `runs` runs of `status` with their token, cost and duration sums.
    pub fn add(
        &mut self,
        status: RunStatus,
        runs: i64,
        tokens: i64,
        cost_cents: f64,
        duration_seconds: f64,
        timed: i64,
    ) {
        self.runs += runs;
        self.tokens += tokens;
        self.cost_cents += cost_cents;
        match status {
            RunStatus::Succeeded => {
                self.succeeded += runs;
                self.succeeded_tokens += tokens;
                self.succeeded_cost_cents += cost_cents;
            }
            RunStatus::Failed => self.failed += runs,
            RunStatus::FailedPolicy => self.stopped += runs,
            RunStatus::Cancelled => self.cancelled += runs,
            RunStatus::Queued | RunStatus::Running | RunStatus::Paused => self.in_progress += runs,
        }
        if status.is_terminal() {
            self.duration_seconds += duration_seconds;
            self.timed += timed;
        }
    }

    /// Adds another tally's runs and sums.
    pub fn merge(&mut self, other: &RunTally) {
        self.runs += other.runs;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
        self.stopped += other.stopped;
        self.cancelled += other.cancelled;
        self.in_progress += other.in_progress;
        self.tokens += other.tokens;
        self.cost_cents += other.cost_cents;
        self.succeeded_tokens += other.succeeded_tokens;
        self.succeeded_cost_cents += other.succeeded_cost_cents;
        self.duration_seconds += other.duration_seconds;
        self.timed += other.timed;
    }

    pub fn ended(&self) -> i64 {
        self.succeeded + self.failed + self.stopped + self.cancelled
    }

    /// Succeeded among ended runs.
    pub fn success_rate(&self) -> Option<f64> {
        rate(self.succeeded, self.ended())
    }

    pub fn mean_duration_seconds(&self) -> Option<f64> {
        (self.timed > 0).then(|| round2(self.duration_seconds / self.timed as f64))
    }

    pub fn tokens_per_successful_run(&self) -> Option<f64> {
        per_run(self.succeeded_tokens as f64, self.succeeded)
    }

    pub fn cost_cents_per_successful_run(&self) -> Option<f64> {
        per_run(self.succeeded_cost_cents, self.succeeded)
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn check<I, O: PartialEq + fmt::Debug>(f: impl Fn(I) -> O, cases: Vec<(I, O)>) {
        for (i, (input, expected)) in cases.into_iter().enumerate() {
            assert_eq!(f(input), expected, "case {i}");
        }
    }

    #[test]
    fn buckets_are_utc_aligned() {
        check(
            |(b, t): (Bucket, OffsetDateTime)| b.start(b.index(t)),
            vec![
                ((Bucket::Hour, datetime!(2026-01-20 10:59:59.9 UTC)), datetime!(2026-01-20 10:00 UTC)),
                ((Bucket::Hour, datetime!(2026-01-20 12:30 +02:00)), datetime!(2026-01-20 10:00 UTC)),
                ((Bucket::Day, datetime!(2026-01-20 23:59:59 UTC)), datetime!(2026-01-20 0:00 UTC)),
                ((Bucket::Day, datetime!(2026-01-21 01:00 +03:00)), datetime!(2026-01-20 0:00 UTC)),
                // 2026-01-20 is a Tuesday: its ISO week starts Monday 2026-01-19.
                ((Bucket::Week, datetime!(2026-01-20 10:00 UTC)), datetime!(2026-01-19 0:00 UTC)),
                ((Bucket::Week, datetime!(2026-01-19 0:00 UTC)), datetime!(2026-01-19 0:00 UTC)),
                ((Bucket::Week, datetime!(2026-01-18 23:59 UTC)), datetime!(2026-01-12 0:00 UTC)),
                ((Bucket::Week, datetime!(1970-01-01 0:00 UTC)), datetime!(1969-12-29 0:00 UTC)),
            ],
        );
    }

    #[test]
    fn bucket_names() {
        check(
            |s: &str| s.parse::<Bucket>(),
            vec![
                ("hour", Ok(Bucket::Hour)),
                ("day", Ok(Bucket::Day)),
                ("week", Ok(Bucket::Week)),
                ("Day", Err(UnknownBucket("Day".into()))),
                ("month", Err(UnknownBucket("month".into()))),
            ],
        );
    }

    #[test]
    fn windows() {
        let now = datetime!(2026-01-31 12:00 UTC);
        let t = |s: OffsetDateTime| Some(s);
        check(
            |(from, to, bucket)| {
                Window::new(from, to, bucket, now).map(|w| (w.from, w.to, w.indexes().count()))
            },
            vec![
                ((None, None, Bucket::Day), Ok((datetime!(2026-01-01 12:00 UTC), now, 31))),
                ((None, None, Bucket::Hour), Ok((datetime!(2026-01-01 12:00 UTC), now, 720))),
                (
                    (t(datetime!(2026-01-20 10:00 UTC)), t(datetime!(2026-01-20 11:00 UTC)), Bucket::Hour),
                    Ok((datetime!(2026-01-20 10:00 UTC), datetime!(2026-01-20 11:00 UTC), 1)),
                ),
                (
                    (t(datetime!(2026-01-20 10:30 UTC)), t(datetime!(2026-01-20 11:00:01 UTC)), Bucket::Hour),
                    Ok((datetime!(2026-01-20 10:30 UTC), datetime!(2026-01-20 11:00:01 UTC), 2)),
                ),
                ((t(now), t(now), Bucket::Day), Ok((now, now, 0))),
                ((t(now), t(now - Duration::SECOND), Bucket::Day), Err(RangeError::Reversed)),
                ((t(now - Duration::days(367)), t(now), Bucket::Week), Err(RangeError::TooLong)),
                (
                    (t(now - Duration::days(366)), t(now), Bucket::Week),
                    Ok((now - Duration::days(366), now, 53)),
                ),
                (
                    (t(now - Duration::days(60)), t(now), Bucket::Hour),
                    Err(RangeError::TooManyBuckets(1440, Bucket::Hour)),
                ),
            ],
        );
    }

    #[test]
    fn rates_and_averages() {
        check(
            |(c, s)| burn_rate_per_hour(c, s),
            vec![((450.0, 3_600.0), 450.0), ((450.0, 86_400.0), 18.75), ((5.0, 0.0), 0.0)],
        );
        check(
            |(p, w)| rate(p, w),
            vec![((1, 2), Some(0.5)), ((2, 3), Some(0.6667)), ((0, 0), None), ((0, 4), Some(0.0))],
        );
        check(
            |(t, n)| per_run(t, n),
            vec![((450.0, 1), Some(450.0)), ((10.0, 3), Some(3.33)), ((1.0, 0), None)],
        );
    }

    #[test]
    fn run_tallies() {
        let tally = |groups: Vec<(RunStatus, i64, i64, f64, f64, i64)>| {
            let (mut t, mut merged) = (RunTally::default(), RunTally::default());
            for (s, n, tok, cost, d, timed) in groups {
                t.add(s, n, tok, cost, d, timed);
                let mut one = RunTally::default();
                one.add(s, n, tok, cost, d, timed);
                merged.merge(&one);
            }
            // Merging the groups' tallies is adding their groups.
            assert_eq!(merged, t);
            (
                t.ended(),
                t.success_rate(),
                t.mean_duration_seconds(),
                t.tokens_per_successful_run(),
                t.cost_cents_per_successful_run(),
            )
        };
        check(
            tally,
            vec![
                (vec![], (0, None, None, None, None)),
                (
                    vec![(RunStatus::FailedPolicy, 1, 15_000, 450.0, 2.0, 1)],
                    (1, Some(0.0), Some(2.0), None, None),
                ),
                (
                    vec![
                        (RunStatus::Succeeded, 2, 300, 10.0, 6.0, 2),
                        (RunStatus::FailedPolicy, 1, 15_000, 450.0, 3.0, 1),
                    ],
                    (3, Some(0.6667), Some(3.0), Some(150.0), Some(5.0)),
                ),
                // A running run counts in runs, not in the rate or the durations.
                (
                    vec![
                        (RunStatus::Running, 4, 100, 1.0, 0.0, 0),
                        (RunStatus::Succeeded, 1, 10, 1.0, 1.0, 1),
                    ],
                    (1, Some(1.0), Some(1.0), Some(10.0), Some(1.0)),
                ),
            ],
        );
    }

    #[test]
    fn nearest_ranks() {
        check(
            |(n, p)| nearest_rank(n, p),
            vec![
                ((0, 50), None),
                ((1, 50), Some(0)),
                ((1, 95), Some(0)),
                ((2, 50), Some(0)),
                ((4, 50), Some(1)),
                ((20, 95), Some(18)),
                ((100, 95), Some(94)),
                ((3, 0), Some(0)),
                ((3, 100), Some(2)),
            ],
        );
    }
}
