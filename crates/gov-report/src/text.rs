//! Pure text helpers of the layout: what the embedded font can show, where a long token must
//! break, how numbers, times and the metadata marker are spelled.

/// The marker a report puts in the PDF's `/Keywords`, read back by `named_bundle_hash`.
pub const HASH_MARKER: &str = "bundle_hash=";

/// `text` with every character the font has no glyph for spelled `[U+XXXX]`, and control
/// characters (tabs, line breaks) as spaces, so nothing is lost or drawn as an empty box.
pub fn printable(text: &str, has_glyph: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if has_glyph(c) {
            out.push(c);
        } else {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        }
    }
    out
}

/// `text` with a space inserted inside every word wider than `max` (as `width` measures it),
/// so a line-wrapper that breaks only at spaces never meets a word it cannot place. genpdf
/// silently drops such a word and the rest of its paragraph, hence this.
pub fn break_long_words(text: &str, max: f64, width: impl Fn(&str) -> f64) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if width(word) <= max {
            out.push_str(word);
            continue;
        }
        let mut piece = String::new();
        for c in word.chars() {
            piece.push(c);
            if width(&piece) > max && piece.chars().count() > 1 {
                piece.pop();
                out.push_str(&piece);
                out.push(' ');
                piece.clear();
                piece.push(c);
            }
        }
        out.push_str(&piece);
    }
    out
}

/// `/Keywords` of a report: the marker `named_bundle_hash` looks for, and the key id.
pub fn keywords(bundle_hash: &str, key_id: &str) -> String {
    format!("{HASH_MARKER}{bundle_hash} key_id={key_id}")
}

/// The bundle hash named in a `/Keywords` value: 64 lowercase hex digits after the marker.
pub fn hash_in_keywords(keywords: &str) -> Option<String> {
    let hash = keywords.split(' ').find_map(|word| word.strip_prefix(HASH_MARKER))?;
    let is_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    is_hash.then(|| hash.to_owned())
}

/// A bundle time (`2026-01-20T10:04:00.000000Z`) as a PDF date (`D:20260120100400Z`).
pub fn pdf_date(time: &str) -> Option<String> {
    let b = time.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        let part = time.get(range)?;
        part.bytes().all(|c| c.is_ascii_digit()).then_some(part)
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !time.ends_with('Z') {
        return None;
    }
    Some(format!(
        "D:{}{}{}{}{}{}Z",
        digits(0..4)?,
        digits(5..7)?,
        digits(8..10)?,
        digits(11..13)?,
        digits(14..16)?,
        digits(17..19)?
    ))
}

/// A bundle time shortened for a table cell: `2026-01-20 10:04:00Z` (microseconds dropped; the
/// bundle keeps them).
pub fn short_time(time: &str) -> String {
    match (time.get(0..10), time.get(11..19)) {
        (Some(date), Some(clock)) if time.len() >= 20 && time.ends_with('Z') => format!("{date} {clock}Z"),
        _ => time.to_owned(),
    }
}

/// Cents as dollars: `1234.5` → `$12.35`.
pub fn dollars(cents: f64) -> String {
    if !cents.is_finite() {
        return format!("{cents} cents");
    }
    let sign = if cents < 0.0 { "-" } else { "" };
    format!("{sign}${:.2}", cents.abs() / 100.0)
}

/// A number with thousands separators: `1234567` → `1,234,567`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A PDF text string: ASCII as is, anything else UTF-16BE with a byte order mark (PDF 1.7
/// §7.9.2.2), so a title in any script reads back as written.
pub fn pdf_text_string(text: &str) -> Vec<u8> {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return text.as_bytes().to_vec();
    }
    let mut out = vec![0xfe, 0xff];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unit per character: widths are character counts.
    fn count(s: &str) -> f64 {
        s.chars().count() as f64
    }

    #[test]
    fn long_words_break_and_short_ones_stay() {
        let check = |text: &str, max: f64, expected: &str| {
            assert_eq!(break_long_words(text, max, count), expected, "{text:?} at {max}");
        };
        check("short words stay", 5.0, "short words stay");
        check("abcdefghij", 4.0, "abcd efgh ij");
        check("ab abcdefgh", 4.0, "ab abcd efgh");
        check("", 4.0, "");
        check("ünïcödé", 3.0, "ünï cöd é");
        // A width smaller than one character still makes progress, one character a piece.
        check("abc", 0.5, "a b c");
    }

    #[test]
    fn characters_without_glyphs_are_spelled_out() {
        let latin = |c: char| (c as u32) < 0x0500;
        let check = |text: &str, expected: &str| assert_eq!(printable(text, latin), expected);
        check("agent-1", "agent-1");
        check("Привет Ωμέγα", "Привет Ωμέγα");
        check("中文", "[U+4E2D][U+6587]");
        check("tab\tand\nline", "tab and line");
        check("🦀", "[U+1F980]");
    }

    #[test]
    fn the_hash_marker_round_trips_and_nothing_else_matches() {
        let hash = "ab".repeat(32);
        assert_eq!(hash_in_keywords(&keywords(&hash, "0123456789abcdef")), Some(hash.clone()));
        let check = |kw: &str| assert_eq!(hash_in_keywords(kw), None, "{kw:?}");
        check("");
        check("invoice 2026");
        check(&format!("{HASH_MARKER}{}", &hash[..63]));
        check(&format!("{HASH_MARKER}{}", hash.to_uppercase()));
        check(&format!("{HASH_MARKER}{hash}0"));
        check(&format!("x{HASH_MARKER}{hash}"));
    }

    #[test]
    fn times_numbers_and_strings() {
        assert_eq!(pdf_date("2026-01-20T10:04:05.123456Z").as_deref(), Some("D:20260120100405Z"));
        assert_eq!(pdf_date("2026-01-20 10:04:05"), None);
        assert_eq!(pdf_date("2026-01-20T1x:04:05.000000Z"), None);
        assert_eq!(pdf_date("é026-01-20T10:04:05.000000Z"), None);
        assert_eq!(short_time("2026-01-20T10:04:05.123456Z"), "2026-01-20 10:04:05Z");
        assert_eq!(short_time("yesterday"), "yesterday");
        assert_eq!(dollars(1234.5), "$12.35");
        assert_eq!(dollars(-5.0), "-$0.05");
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(-1000), "-1,000");
        assert_eq!(pdf_text_string("SOC2"), b"SOC2".to_vec());
        assert_eq!(pdf_text_string("Ω"), vec![0xfe, 0xff, 0x03, 0xa9]);
    }
}
