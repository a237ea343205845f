//! Canonical JSON (`gov-jcs-v1`), the bytes a bundle's hash and signature cover. It follows
//! RFC 8785 (JCS): no whitespace; object members sorted by the UTF-16 code units of their names;
//! strings with only `"`, `\` and control characters escaped (`\b \t \n \f \r`, others as
//! `\u00xx`), everything else as raw UTF-8; numbers spelt as ECMAScript prints them (shortest
//! round-trip digits, `1` for `1.0`, exponent form only below 1e-6 and from 1e21). So a bundle
//! re-indented or re-spelt by another JSON tool (`jq .`) still verifies.

use std::fmt::Write;

use serde_json::{Map, Number, Value};

/// `value` in canonical form.
pub fn to_canonical(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// The canonical form of the object `value` without its member `skip` (e.g. a document without
/// its `integrity`), written without copying the rest.
pub fn to_canonical_without(value: &Value, skip: &str) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) => write_entries(&mut out, map.iter().filter(|(k, _)| k.as_str() != skip)),
        other => write_value(&mut out, other),
    }
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    write_entries(out, map.iter());
}

fn write_entries<'a>(out: &mut String, entries: impl Iterator<Item = (&'a String, &'a Value)>) {
    let mut entries: Vec<(&String, &Value)> = entries.collect();
    entries.sort_by(|a, b| {
        if a.0.is_ascii() && b.0.is_ascii() {
            a.0.cmp(b.0)
        } else {
            a.0.encode_utf16().cmp(b.0.encode_utf16())
        }
    });
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Every byte of a multi-byte UTF-8 sequence is >= 0x80, so scanning bytes finds exactly the
    // characters to escape; the runs between them are copied whole.
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        write_f64(out, f);
    }
}

/// ECMAScript's `Number::toString` (ECMA-262 §6.1.6.1.20) from the shortest round-trip digits.
fn write_f64(out: &mut String, f: f64) {
    if f == 0.0 {
        out.push('0');
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    // `{:e}` gives the shortest digits that round-trip: `d[.ddd]e<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e < 0 { '-' } else { '+' }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(value: Value, expected: &str) {
        assert_eq!(to_canonical(&value), expected);
    }

    #[test]
    fn objects_are_sorted_and_compact() {
        check(
            json!({"b": 1, "a": [{"z": null, "y": "é\"\n\u{1}"}], "c": {"k": 1.5, "j": true}}),
            r#"{"a":[{"y":"é\"\n\u0001","z":null}],"b":1,"c":{"j":true,"k":1.5}}"#,
        );
        // UTF-16 order: U+1F600 (a surrogate pair, 0xD83D...) sorts before U+E000, unlike in
        // UTF-8 byte order.
        check(json!({"\u{E000}": 2, "\u{1F600}": 1}), "{\"\u{1F600}\":1,\"\u{E000}\":2}");
    }

    #[test]
    fn numbers_are_spelt_as_ecmascript_does() {
        for (value, expected) in [
            (json!(0.0), "0"),
            (json!(-0.0), "0"),
            (json!(1.0), "1"),
            (json!(-2.5), "-2.5"),
            (json!(10000.0), "10000"),
            (json!(1e12), "1000000000000"),
            (json!(1e21), "1e+21"),
            (json!(1.5e22), "1.5e+22"),
            (json!(0.000001), "0.000001"),
            (json!(0.0000001), "1e-7"),
            (json!(0.1 + 0.2), "0.30000000000000004"),
            (json!(123456789012345680000.0), "123456789012345680000"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(-7), "-7"),
        ] {
            check(value, expected);
        }
    }

    #[test]
    fn a_reparsed_respelling_has_the_same_canonical_form() {
        let a: Value = serde_json::from_str(r#"{"x": 1.0, "y": [1e2, 0.5]}"#).unwrap();
        let b: Value = serde_json::from_str("{\n  \"y\": [100, 5e-1],\n  \"x\": 1\n}").unwrap();
        assert_eq!(to_canonical(&a), to_canonical(&b));
    }
}
