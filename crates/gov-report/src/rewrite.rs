//! The last step of a render: printpdf's output (written by lopdf, one xref table, direct
//! `/Length`s) copied object by object with every uncompressed stream deflated, the document
//! information replaced and a fixed `/ID`. Reading the file back with lopdf's parser would cost
//! more than rendering it (its combinators take most of a second over a font's width array), so
//! this walks the xref table instead; it only has to understand PDFs lopdf wrote.

use std::io::Write;

/// The objects of a PDF as lopdf writes them: `(id, body)`, the body being the bytes between
/// `N 0 obj` and `endobj`.
pub struct Parsed<'a> {
    pub version: &'a [u8],
    pub objects: Vec<(u32, &'a [u8])>,
    pub root: u32,
    pub info: Option<u32>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Where the value of `/Key` begins: `/Length` must not match `/Length1`.
fn key_end(dict: &[u8], key: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find(&dict[from..], key) {
        let end = from + at + key.len();
        match dict.get(end) {
            Some(b) if b.is_ascii_alphanumeric() => from = end,
            _ => return Some(end),
        }
    }
    None
}

fn number(bytes: &[u8]) -> Option<(u64, usize)> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
    Some((n, digits))
}

/// The object number of `/Key N 0 R` in a dictionary's text.
fn reference(dict: &[u8], key: &[u8]) -> Option<u32> {
    let rest = &dict[key_end(dict, key)?..];
    let skip = rest.iter().take_while(|b| **b == b' ').count();
    let (n, _) = number(&rest[skip..])?;
    u32::try_from(n).ok()
}

pub fn parse(pdf: &[u8]) -> Option<Parsed<'_>> {
    let header_end = find(pdf, b"\n")?;
    let version = pdf.get(..header_end)?.strip_prefix(b"%PDF-")?;
    let tail_start = pdf.len().saturating_sub(64);
    let sx = rfind(&pdf[tail_start..], b"startxref\n")? + tail_start + b"startxref\n".len();
    let (xref_at, _) = number(&pdf[sx..])?;
    let xref_at = usize::try_from(xref_at).ok()?;
    let xref = pdf.get(xref_at..)?.strip_prefix(b"xref\n0 ")?;
    let (size, digits) = number(xref)?;
    let entries = xref.get(digits..)?.strip_prefix(b"\n")?;
    let size = usize::try_from(size).ok()?;
    let table = entries.get(..size.checked_mul(20)?)?;
    let trailer = entries.get(size * 20..)?.strip_prefix(b"trailer\n")?;
    let root = reference(trailer, b"/Root")?;
    let info = reference(trailer, b"/Info");

    let mut offsets = Vec::new();
    for (id, entry) in table.chunks_exact(20).enumerate() {
        if entry.get(17) == Some(&b'n') {
            let (offset, _) = number(entry)?;
            offsets.push((usize::try_from(offset).ok()?, u32::try_from(id).ok()?));
        }
    }
    offsets.sort_unstable();
    let mut objects = Vec::with_capacity(offsets.len());
    for (i, &(offset, id)) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).map_or(xref_at, |next| next.0);
        let object = pdf.get(offset..end)?;
        let header = format!("{id} 0 obj");
        let body = object.strip_prefix(header.as_bytes())?;
        let close = rfind(body, b"endobj")?;
        objects.push((id, &body[..close]));
    }
    objects.sort_unstable_by_key(|(id, _)| *id);
    Some(Parsed { version, objects, root, info })
}

/// `body` with its stream deflated, when it is a stream without a filter.
fn compressed(body: &[u8]) -> Option<Vec<u8>> {
    let dict_end = find(body, b">>stream\n")?;
    let dict = &body[..dict_end];
    if find(dict, b"/Filter").is_some() {
        return None;
    }
    let length_at = key_end(dict, b"/Length")?;
    let skip = dict[length_at..].iter().take_while(|b| **b == b' ').count();
    let (length, digits) = number(&dict[length_at + skip..])?;
    let data_start = dict_end + b">>stream\n".len();
    let data = body.get(data_start..data_start + usize::try_from(length).ok()?)?;
    let fonts = embedded_fonts();
    let cached = fonts.iter().find(|(font, _)| *font == data).map(|(_, deflated)| deflated.clone());
    let deflated = match cached {
        Some(deflated) => deflated,
        None => deflate(data)?,
    };
    let mut out = Vec::with_capacity(deflated.len() + dict.len() + 40);
    out.extend_from_slice(&dict[..length_at]);
    out.extend_from_slice(format!(" {}/Filter/FlateDecode", deflated.len()).as_bytes());
    out.extend_from_slice(&dict[length_at + skip + digits..]);
    out.extend_from_slice(b">>stream\n");
    out.extend_from_slice(&deflated);
    out.extend_from_slice(b"\nendstream");
    Some(out)
}

fn deflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

/// The embedded fonts and their deflated form, computed once: every PDF carries the same font
/// files, and deflating 1.3 MB anew each time was a fifth of a render.
fn embedded_fonts() -> &'static [(&'static [u8], Vec<u8>)] {
    static FONTS: std::sync::OnceLock<Vec<(&'static [u8], Vec<u8>)>> = std::sync::OnceLock::new();
    FONTS.get_or_init(|| {
        crate::pdf::FONT_FILES.iter().map(|font| (*font, deflate(font).unwrap_or_default())).collect()
    })
}

/// The PDF again: streams deflated, the information dictionary `info` (a dictionary's text,
/// `<<...>>`) in place of the old one, and `id` as both halves of `/ID`.
pub fn rewrite(pdf: &[u8], info: &[u8], id: &str) -> Option<Vec<u8>> {
    let parsed = parse(pdf)?;
    let info_id = parsed.info?;
    let mut out = Vec::with_capacity(pdf.len() / 2);
    out.extend_from_slice(b"%PDF-");
    out.extend_from_slice(parsed.version);
    // A comment of high bytes marks the file as binary for transfer tools (PDF 1.7 §7.5.2).
    out.extend_from_slice(b"\n%\xe2\xe3\xcf\xd3\n");
    let size = parsed.objects.last().map_or(1, |(id, _)| id + 1);
    let mut offsets = vec![None; size as usize];
    for (id, body) in &parsed.objects {
        offsets[*id as usize] = Some(out.len());
        out.extend_from_slice(format!("{id} 0 obj").as_bytes());
        if *id == info_id {
            out.extend_from_slice(info);
        } else if let Some(deflated) = compressed(body) {
            out.extend_from_slice(&deflated);
        } else {
            out.extend_from_slice(body);
        }
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets.iter().skip(1) {
        let line = match offset {
            Some(o) => format!("{o:010} 00000 n \n"),
            None => "0000000000 65535 f \n".to_owned(),
        };
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<</Size {size}/Root {} 0 R/Info {info_id} 0 R/ID[<{id}><{id}>]>>\nstartxref\n{xref_at}\n%%EOF\n",
            parsed.root
        )
        .as_bytes(),
    );
    Some(out)
}

/// The `/Keywords` of the information dictionary of a PDF lopdf wrote, when it is a literal
/// string without escapes (as ours is).
pub fn keywords(pdf: &[u8]) -> Option<String> {
    let parsed = parse(pdf)?;
    let info_id = parsed.info?;
    let (_, body) = parsed.objects.iter().find(|(id, _)| *id == info_id)?;
    let at = find(body, b"/Keywords(")? + b"/Keywords(".len();
    let len = body[at..].iter().position(|b| *b == b')')?;
    let value = &body[at..at + len];
    if value.contains(&b'\\') || value.contains(&b'(') {
        return None;
    }
    std::str::from_utf8(value).ok().map(str::to_owned)
}
