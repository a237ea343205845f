//! Page cursors on the wire: an opaque, URL-safe token for a position in a list's order
//! (`next_cursor` of one page, `?cursor=` of the next).
//!
//! The token is base64url (no padding) of `1|<page>|<kind><key>|<id>`: the version, the number
//! of the page it leads to, the last row's sort key (`t` microseconds since the epoch, `i` an
//! integer, `r` a float, `p` a position in a short list) and the last row's id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gov_model::{Cursor, SortKey};
use time::OffsetDateTime;

/// Longest token accepted (a cursor gov issues is about 100 characters).
pub const MAX_CURSOR_CHARS: usize = 256;

pub fn encode(cursor: &Cursor) -> String {
    let key = match &cursor.key {
        SortKey::Time(t) => format!("t{}", t.unix_timestamp_nanos() / 1_000),
        SortKey::Int(n) if cursor.id.is_empty() => format!("p{n}"),
        SortKey::Int(n) => format!("i{n}"),
        SortKey::Real(x) => format!("r{x:?}"),
    };
    URL_SAFE_NO_PAD.encode(format!("1|{}|{key}|{}", cursor.page, cursor.id))
}

/// The cursor a token stands for; `None` if it is not one gov issued.
pub fn decode(token: &str) -> Option<Cursor> {
    if token.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(4, '|');
    if parts.next()? != "1" {
        return None;
    }
    let page: u32 = parts.next()?.parse().ok()?;
    let key = parts.next()?;
    let id = parts.next()?.to_owned();
    if page < 2 || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return None;
    }
    let (kind, value) = key.split_at_checked(1)?;
    let key = match kind {
        "t" => {
            let micros: i128 = value.parse().ok()?;
            SortKey::Time(OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1_000)?).ok()?)
        }
        "i" if !id.is_empty() => SortKey::Int(value.parse().ok()?),
        "p" if id.is_empty() => SortKey::Int(value.parse().ok()?),
        "r" if !id.is_empty() => SortKey::Real(value.parse::<f64>().ok().filter(|x| x.is_finite())?),
        _ => return None,
    };
    if !matches!(key, SortKey::Int(_)) && id.is_empty() {
        return None;
    }
    Some(Cursor { page, key, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cursor: Cursor) {
        let token = encode(&cursor);
        assert!(token.len() <= MAX_CURSOR_CHARS, "{token}");
        assert_eq!(decode(&token), Some(cursor));
    }

    #[test]
    fn cursors_round_trip() {
        let id = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_owned();
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_764_633_600_123_456_000).unwrap();
        check(Cursor { page: 2, key: SortKey::Time(t), id: id.clone() });
        check(Cursor { page: 9, key: SortKey::Int(-5), id: id.clone() });
        check(Cursor { page: 3, key: SortKey::Real(450.25), id: id.clone() });
        check(Cursor { page: 4, key: SortKey::Int(0), id: String::new() });
    }

    #[test]
    fn tokens_gov_did_not_issue_are_refused() {
        for token in [
            "",
            "x",
            "!!!!",
            &URL_SAFE_NO_PAD.encode("2|2|t1|ab"),
            &URL_SAFE_NO_PAD.encode("1|1|t1|ab"),
            &URL_SAFE_NO_PAD.encode("1|2|q1|ab"),
            &URL_SAFE_NO_PAD.encode("1|2|t1|"),
            &URL_SAFE_NO_PAD.encode("1|2|rNaN|ab"),
            &URL_SAFE_NO_PAD.encode("1|2|t99999999999999999999|ab"),
            &URL_SAFE_NO_PAD.encode("1|2|t1|a'b"),
        ] {
            assert_eq!(decode(token), None, "{token}");
        }
    }
}
