//! Trend of a figure between two periods of the same length: up, down or flat.

/// Within this relative change of the previous period's value, a figure is flat.
pub const FLAT_BAND: f64 = 0.05;

/// Which way a figure moved from the previous period to the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Up,
    Down,
    Flat,
}

impl Trend {
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Up => "up",
            Trend::Down => "down",
            Trend::Flat => "flat",
        }
    }
}

/// Flat when both periods are zero or the change is within [`FLAT_BAND`] of the previous value;
/// from zero to anything positive is up (no ratio exists).
pub fn trend(current: f64, previous: f64) -> Trend {
    if current == previous {
        return Trend::Flat;
    }
    if previous == 0.0 {
        return if current > 0.0 { Trend::Up } else { Trend::Down };
    }
    let change = (current - previous) / previous.abs();
    if change.abs() <= FLAT_BAND {
        Trend::Flat
    } else if change > 0.0 {
        Trend::Up
    } else {
        Trend::Down
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(current: f64, previous: f64, expected: Trend) {
        assert_eq!(trend(current, previous), expected, "trend({current}, {previous})");
    }

    #[test]
    fn table() {
        check(0.0, 0.0, Trend::Flat);
        check(1.0, 0.0, Trend::Up);
        check(0.0, 1.0, Trend::Down);
        check(105.0, 100.0, Trend::Flat);
        check(95.0, 100.0, Trend::Flat);
        check(105.1, 100.0, Trend::Up);
        check(94.9, 100.0, Trend::Down);
        check(200.0, 100.0, Trend::Up);
        check(1.0, 2.0, Trend::Down);
    }
}
