//! Conversions between column values and domain types.

use std::str::FromStr;

use gov_model::Timestamp;
use time::{PrimitiveDateTime, UtcOffset};

use crate::StoreError;

/// Columns hold UTC without an offset, at microsecond precision (PostgreSQL's), so a value reads
/// back equal on both backends.
pub(crate) fn to_db(t: Timestamp) -> PrimitiveDateTime {
    let utc = t.to_offset(UtcOffset::UTC);
    let micros = utc.microsecond();
    let utc = utc.replace_microsecond(micros).unwrap_or(utc);
    PrimitiveDateTime::new(utc.date(), utc.time())
}

pub(crate) fn from_db(t: PrimitiveDateTime) -> Timestamp {
    t.assume_utc()
}

pub(crate) fn opt_from_db(t: Option<PrimitiveDateTime>) -> Option<Timestamp> {
    t.map(from_db)
}

pub(crate) fn opt_to_db(t: Option<Timestamp>) -> Option<PrimitiveDateTime> {
    t.map(to_db)
}

/// Parses an id (or any `FromStr` value) read from a column.
pub(crate) fn parse<T: FromStr>(column: &str, text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("{column}: {text:?}")))
}

/// Parses an optional column.
pub(crate) fn parse_opt<T: FromStr>(column: &str, text: Option<String>) -> Result<Option<T>, StoreError> {
    text.map(|t| parse(column, &t)).transpose()
}

pub(crate) fn json(column: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
