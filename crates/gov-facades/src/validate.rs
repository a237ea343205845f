//! Field checks shared by use cases. Each returns the cleaned value or an `Invalid` error
//! naming the field.

use crate::{Caller, Error};

/// Trims `value` and requires `1..=max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, Error> {
    // The length counts what was sent (as the OpenAPI document's maxLength does), then the value
    // is trimmed.
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("must be at most {max} characters")));
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// An identifier chosen by a caller (agent id, human actor id): 1 to 200 printable characters.
pub(crate) fn identifier(field: &str, value: &str) -> Result<String, Error> {
    text(field, value, 200)
}

/// The person a request names in `field` (an operator's `actor`, a comment's `author`), or the
/// calling key (`api_key:<id>`) when it names none.
pub(crate) fn named_or_caller(field: &str, named: Option<&str>, caller: &Caller) -> Result<String, Error> {
    match named {
        Some(n) => identifier(field, n),
        None => Ok(caller.actor.id.clone()),
    }
}

/// A lever upsert's reason; `upsert` when none is given.
pub(crate) fn upsert_reason(reason: Option<&str>) -> Result<String, Error> {
    reason.map_or_else(|| Ok("upsert".to_owned()), |r| text("reason", r, 2000))
}

/// A plausible e-mail address, lower-cased so uniqueness ignores case.
pub(crate) fn email(field: &str, value: &str) -> Result<String, Error> {
    let value = text(field, value, 254)?.to_lowercase();
    let valid = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid { Ok(value) } else { Err(Error::invalid(field, "must be an e-mail address")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert_eq!(email("email", " Ada@Example.com ").ok().as_deref(), Some("ada@example.com"));
        for bad in ["", "ada", "ada@", "@x.io", "a@b", "a@@b.io", "a b@c.io", "a@.io"] {
            assert!(email("email", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_rules() {
        assert!(text("name", "  ", 10).is_err());
        assert!(text("name", "abcdefghijk", 10).is_err());
        assert!(text("name", "a\u{0}b", 10).is_err());
        assert_eq!(text("name", " ok ", 10).ok().as_deref(), Some("ok"));
        // What was sent counts, surrounding white space included.
        assert!(text("name", " abcdefghij", 10).is_err());
    }
}
