//! The numbers a lever accepts: risk amounts, counts, and fractions (confidence, rates).

/// The largest risk amount (a cap, a reservation, a loss) accepted.
pub const MAX_AMOUNT: f64 = 1e15;

/// Why a lever's number is refused; the text is what the caller is told about the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("must be a number from 0 to 1e15")]
    Amount,
    #[error("must not be negative")]
    Negative,
    #[error("must be between 0 and 1")]
    Unit,
}

/// A risk amount: finite, from 0 to [`MAX_AMOUNT`].
pub fn amount(value: f64) -> Result<f64, Invalid> {
    if value.is_finite() && (0.0..=MAX_AMOUNT).contains(&value) { Ok(value) } else { Err(Invalid::Amount) }
}

/// A count cap (actions per day, sandbox trials): 0 or more.
pub fn count(value: i64) -> Result<i64, Invalid> {
    if value < 0 { Err(Invalid::Negative) } else { Ok(value) }
}

/// A fraction (confidence, success rate): finite, from 0 to 1.
pub fn unit(value: f64) -> Result<f64, Invalid> {
    if value.is_finite() && (0.0..=1.0).contains(&value) { Ok(value) } else { Err(Invalid::Unit) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        for (value, expected) in [
            (0.0, Ok(0.0)),
            (400.5, Ok(400.5)),
            (1e15, Ok(1e15)),
            (1e15 + 1e3, Err(Invalid::Amount)),
            (-0.01, Err(Invalid::Amount)),
            (f64::NAN, Err(Invalid::Amount)),
            (f64::INFINITY, Err(Invalid::Amount)),
        ] {
            assert_eq!(amount(value), expected, "{value}");
        }
        assert_eq!(Invalid::Amount.to_string(), "must be a number from 0 to 1e15");
    }

    #[test]
    fn counts() {
        for (value, expected) in
            [(0, Ok(0)), (75, Ok(75)), (i64::MAX, Ok(i64::MAX)), (-1, Err(Invalid::Negative))]
        {
            assert_eq!(count(value), expected, "{value}");
        }
        assert_eq!(Invalid::Negative.to_string(), "must not be negative");
    }

    #[test]
    fn units() {
        for (value, expected) in [
            (0.0, Ok(0.0)),
            (0.92, Ok(0.92)),
            (1.0, Ok(1.0)),
            (1.0001, Err(Invalid::Unit)),
            (-0.1, Err(Invalid::Unit)),
            (f64::NAN, Err(Invalid::Unit)),
        ] {
            assert_eq!(unit(value), expected, "{value}");
        }
        assert_eq!(Invalid::Unit.to_string(), "must be between 0 and 1");
    }
}
