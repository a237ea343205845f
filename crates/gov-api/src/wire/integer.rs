//! Request integers as JSON Schema reads them: `28.0` is the integer 28 (some clients write
//! whole numbers so), while `28.5` stays an error. For `#[serde(deserialize_with = ...)]`.

use serde::Deserialize;
use serde::de::{Deserializer, Error, Unexpected, Visitor};

/// A whole number, written with or without a zero fraction.
struct Whole(i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_i64(WholeVisitor)
    }
}

struct WholeVisitor;

impl Visitor<'_> for WholeVisitor {
    type Value = Whole;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Whole, E> {
        Ok(Whole(v))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Whole, E> {
        i64::try_from(v).map(Whole).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Whole, E> {
        // 2^63 is exact in f64; every whole f64 in [-2^63, 2^63) converts without loss.
        let limit = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-limit..limit).contains(&v) {
            #[allow(clippy::cast_possible_truncation)]
            Ok(Whole(v as i64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }
}

/// An optional integer field: absent or null is `None`.
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    Option::<Whole>::deserialize(deserializer)?
        .map(|Whole(v)| {
            T::try_from(v).map_err(|_| D::Error::invalid_value(Unexpected::Signed(v), &"an integer in range"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional")]
        n: Option<i32>,
    }

    fn check(json: &str, expected: Option<Option<i32>>) {
        let parsed = serde_json::from_str::<Body>(json).ok().map(|b| b.n);
        assert_eq!(parsed, expected, "{json}");
    }

    #[test]
    fn whole_numbers_with_or_without_a_fraction() {
        check(r#"{"n": 28}"#, Some(Some(28)));
        check(r#"{"n": 28.0}"#, Some(Some(28)));
        check(r#"{"n": -3.0}"#, Some(Some(-3)));
        check(r#"{"n": null}"#, Some(None));
        check("{}", Some(None));
        check(r#"{"n": 28.5}"#, None);
        check(r#"{"n": 1e300}"#, None);
        check(r#"{"n": 4294967296}"#, None);
        check(r#"{"n": "28"}"#, None);
    }

    #[test]
    fn form_values_parse_as_integers() {
        let body: Body = serde_urlencoded::from_str("n=28").unwrap();
        assert_eq!(body.n, Some(28));
    }
}
