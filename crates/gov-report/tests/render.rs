//! Renders fixture bundles and reads the PDFs back: with `pdftotext` and `qpdf` when they are on
//! PATH (`.ci/run` installs both), and always through `named_bundle_hash`.

mod fixture;

use std::io::Write;
use std::process::Command;

use fixture::{LATIN, Names};
use gov_report::{named_bundle_hash, render_executive_debrief_pdf, render_soc2_pdf};

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

fn write_temp(pdf: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().expect("temp file");
    file.write_all(pdf).expect("write the PDF");
    file
}

/// The text of `pdf` as `pdftotext -layout` extracts it, or `None` without poppler.
fn text_of(pdf: &[u8]) -> Option<String> {
    if !on_path("pdftotext") {
        eprintln!("pdftotext is not on PATH: text not checked");
        return None;
    }
    let file = write_temp(pdf);
    let out = Command::new("pdftotext").arg(file.path()).arg("-").output().expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).expect("pdftotext prints UTF-8"))
}

fn qpdf_check(pdf: &[u8]) {
    if !on_path("qpdf") {
        eprintln!("qpdf is not on PATH: structure not checked");
        return;
    }
    let file = write_temp(pdf);
    let out = Command::new("qpdf").arg("--check").arg(file.path()).output().expect("qpdf runs");
    assert!(
        out.status.success(),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pdfinfo(pdf: &[u8]) -> Option<String> {
    if !on_path("pdfinfo") {
        return None;
    }
    let file = write_temp(pdf);
    let out = Command::new("pdfinfo").arg(file.path()).output().expect("pdfinfo runs");
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).expect("pdfinfo prints UTF-8"))
}

fn page_count(pdf: &[u8]) -> usize {
    lopdf::Document::load_mem(pdf).expect("a PDF").get_pages().len()
}

#[test]
fn soc2_report_names_incident_control_and_hash() {
    let bundle = fixture::soc2(12, &LATIN);
    let integrity = fixture::integrity(&bundle);
    let pdf = render_soc2_pdf(&bundle, &integrity).expect("renders");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(named_bundle_hash(&pdf), Some(integrity.bundle_hash.clone()));
    qpdf_check(&pdf);
    if let Some(text) = text_of(&pdf) {
        for needle in [
            bundle.evidence.incident_id.as_str(),
            "CC7.2",
            "CC7.4",
            integrity.bundle_hash.as_str(),
            integrity.key_id.as_str(),
            "Daily cost cap",
            "MOST_RESTRICTIVE",
            "INFLECTION POINT",
            "NEAR",
            "BREACH",
            "VERIFIED. Recomputed",
            "Page 1 of",
            bundle.attestation_statement.as_str(),
        ] {
            assert!(text.contains(needle), "{needle:?} not in the text:\n{text}");
        }
        // Every page's footer names the hash on one line.
        let pages = page_count(&pdf);
        assert!(pages >= 2, "{pages} pages");
        let footers =
            text.lines().filter(|l| l.contains(&format!("Bundle hash {}", integrity.bundle_hash))).count();
        assert_eq!(footers, pages, "{text}");
        assert!(text.contains(&format!("Page {pages} of {pages}")));
    }
}

#[test]
fn a_broken_chain_is_reported_not_trusted() {
    let mut bundle = fixture::soc2(12, &LATIN);
    bundle.evidence.steps[4].tokens += 1;
    let integrity = fixture::integrity(&bundle);
    let pdf = render_soc2_pdf(&bundle, &integrity).expect("renders");
    if let Some(text) = text_of(&pdf) {
        assert!(text.contains("NOT VERIFIED at step 5"), "{text}");
        assert!(!text.contains("VERIFIED. Recomputed"));
    }
}

#[test]
fn a_thousand_step_trace_renders_every_step() {
    let bundle = fixture::soc2(1000, &LATIN);
    let integrity = fixture::integrity(&bundle);
    let pdf = render_soc2_pdf(&bundle, &integrity).expect("renders");
    assert_eq!(named_bundle_hash(&pdf), Some(integrity.bundle_hash.clone()));
    qpdf_check(&pdf);
    let pages = page_count(&pdf);
    if let Some(text) = text_of(&pdf) {
        assert!(text.contains("VERIFIED. Recomputed here from the 1,000 steps"), "{text}");
        for step in [1, 2, 499, 999, 1000] {
            let time = &bundle.evidence.steps[step - 1].timestamp[11..19];
            assert!(text.contains(time), "step {step} ({time}) missing");
        }
        assert!(text.contains(&format!("Page {pages} of {pages}")));
    }
}

#[test]
fn executive_debrief_is_one_or_two_pages_with_the_footer() {
    let bundle = fixture::debrief(&LATIN);
    let integrity = fixture::integrity(&bundle);
    let pdf = render_executive_debrief_pdf(&bundle, &integrity).expect("renders");
    assert_eq!(named_bundle_hash(&pdf), Some(integrity.bundle_hash.clone()));
    qpdf_check(&pdf);
    let pages = page_count(&pdf);
    assert!((1..=2).contains(&pages), "{pages} pages");
    if let Some(text) = text_of(&pdf) {
        for needle in [
            bundle.evidence.incident_id.as_str(),
            "HIGH",
            "$1.00",
            "$19.00",
            "30.0 seconds",
            "Review the cost cap of the support agent.",
            integrity.bundle_hash.as_str(),
            integrity.key_id.as_str(),
        ] {
            assert!(text.contains(needle), "{needle:?} not in the text:\n{text}");
        }
    }
}

#[test]
fn non_latin_titles_and_agents_come_out_as_written() {
    let names = Names {
        title: "Превышен лимит: Ωμέγα агент — 予算超過", agent: "агент-αβγ-代理"
    };
    let soc2 = fixture::soc2(5, &names);
    let integrity = fixture::integrity(&soc2);
    let pdf = render_soc2_pdf(&soc2, &integrity).expect("renders");
    assert_eq!(named_bundle_hash(&pdf), Some(integrity.bundle_hash.clone()));
    qpdf_check(&pdf);
    if let Some(text) = text_of(&pdf) {
        // Cyrillic and Greek are in the embedded font; CJK is not, so it is spelled out.
        assert!(text.contains("Превышен лимит: Ωμέγα агент"), "{text}");
        assert!(text.contains("[U+4E88][U+7B97][U+8D85][U+904E]"), "{text}");
        assert!(text.contains("агент-αβγ-[U+4EE3][U+7406]"), "{text}");
    }
    if let Some(info) = pdfinfo(&pdf) {
        let field = |name: &str| {
            info.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default().to_owned()
        };
        assert_eq!(field("Title:"), "SOC2 evidence report: Превышен лимит: Ωμέγα агент — 予算超過", "{info}");
        assert!(field("Keywords:").starts_with(&format!("bundle_hash={} ", integrity.bundle_hash)), "{info}");
    }
    let debrief = fixture::debrief(&names);
    let integrity = fixture::integrity(&debrief);
    let pdf = render_executive_debrief_pdf(&debrief, &integrity).expect("renders");
    qpdf_check(&pdf);
    if let Some(text) = text_of(&pdf) {
        assert!(text.contains("агент-αβγ-[U+4EE3][U+7406]"), "{text}");
    }
}

#[test]
fn long_unbroken_values_are_wrapped_not_dropped() {
    let mut bundle = fixture::soc2(3, &LATIN);
    let long = "x".repeat(400);
    bundle.evidence.incident.timeline[0].detail = format!("{long} tail-word");
    bundle.evidence.steps[0].model = Some("m".repeat(120));
    let integrity = fixture::integrity(&bundle);
    let pdf = render_soc2_pdf(&bundle, &integrity).expect("renders");
    if let Some(text) = text_of(&pdf) {
        let xs: usize = text.matches('x').count();
        assert!(xs >= 400, "only {xs} of 400 x survived");
        assert!(text.contains("tail-word"), "{text}");
    }
}

#[test]
fn the_same_bundle_renders_the_same_information() {
    let bundle = fixture::debrief(&LATIN);
    let integrity = fixture::integrity(&bundle);
    let a = render_executive_debrief_pdf(&bundle, &integrity).expect("renders");
    let b = render_executive_debrief_pdf(&bundle, &integrity).expect("renders");
    let info = |pdf: &[u8]| {
        let doc = lopdf::Document::load_mem(pdf).expect("a PDF");
        let id = doc.trailer.get(b"Info").and_then(lopdf::Object::as_reference).expect("an info dict");
        (
            format!("{:?}", doc.get_object(id).expect("info")),
            format!("{:?}", doc.trailer.get(b"ID").expect("an ID")),
        )
    };
    assert_eq!(info(&a), info(&b));
    assert!(info(&a).0.contains("D:20260121093000Z"), "{:?}", info(&a));
}

#[test]
fn pdfs_not_made_here_name_no_hash() {
    let check =
        |bytes: &[u8]| assert_eq!(named_bundle_hash(bytes), None, "{:?}", String::from_utf8_lossy(bytes));
    check(b"");
    check(b"not a pdf at all");
    check(b"%PDF-1.3\n%%EOF");
    let bundle = fixture::debrief(&LATIN);
    let integrity = fixture::integrity(&bundle);
    let pdf = render_executive_debrief_pdf(&bundle, &integrity).expect("renders");
    check(&pdf[..pdf.len() / 2]);
    // Damaged copies: a wrong byte anywhere gives a hash or nothing, never a panic.
    for at in (0..pdf.len()).step_by(pdf.len() / 997 + 1).chain(pdf.len() - 300..pdf.len()) {
        let mut damaged = pdf.clone();
        damaged[at] ^= 0x5a;
        if let Some(named) = named_bundle_hash(&damaged) {
            assert_eq!(named.len(), 64, "byte {at}");
        }
    }
    // A PDF whose keywords are something else.
    let mut doc = lopdf::Document::load_mem(&pdf).expect("a PDF");
    let id = doc.trailer.get(b"Info").and_then(lopdf::Object::as_reference).expect("an info dict");
    let info = doc.get_object_mut(id).and_then(lopdf::Object::as_dict_mut).expect("info");
    info.set("Keywords", lopdf::Object::string_literal("quarterly report"));
    let mut other = Vec::new();
    doc.save_to(&mut other).expect("saves");
    check(&other);
    // The hash is what the PDF names, not something the caller supplies.
    let mut doc = lopdf::Document::load_mem(&pdf).expect("a PDF");
    let info = doc.get_object_mut(id).and_then(lopdf::Object::as_dict_mut).expect("info");
    info.set("Keywords", lopdf::Object::string_literal(format!("bundle_hash={}", "0".repeat(64))));
    let mut forged = Vec::new();
    doc.save_to(&mut forged).expect("saves");
    assert_eq!(named_bundle_hash(&forged), Some("0".repeat(64)));
}

#[test]
fn every_length_of_trace_renders_wherever_the_content_ends_on_its_page() {
    // A trace whose content ends at a page's foot once made the two layout passes disagree on the
    // page count (seen by schemathesis as a 500 on the SOC2 export).
    for steps in 1..=60 {
        let bundle = fixture::soc2(steps, &LATIN);
        let integrity = fixture::integrity(&bundle);
        let pdf = render_soc2_pdf(&bundle, &integrity).unwrap_or_else(|e| panic!("{steps} steps: {e}"));
        let pages = page_count(&pdf);
        assert!(pages >= 1, "{steps} steps");
    }
}

/// Text of every kind in the cells and paragraphs: multi-byte letters, CJK and emoji (which the
/// built-in font lacks), combining marks, no-break, zero-width and ideographic spaces, tabs and line
/// breaks. Found by schemathesis: a model name whose cleaned words fitted their cell only without
/// the space after them made genpdf drop one and panic cutting the paragraph mid-character.
#[test]
fn text_of_every_kind_renders() {
    let found = "\n文éx\u{200b}\u{a0}éx\u{a0}\u{a0}中é \nx😀\u{301}\n文\u{301}\t\u{3000}";
    let alphabet: Vec<char> = "aéW \u{3000}\u{a0}\u{200b}\u{301}中文😀\t\n-x.Ω\u{2028}ß".chars().collect();
    let mut seed: u64 = 42;
    let mut next = |m: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % m
    };
    for round in 0..300 {
        let mut text =
            |max: usize| -> String { (0..next(max)).map(|_| alphabet[next(alphabet.len())]).collect() };
        let mut bundle = fixture::soc2(3, &LATIN);
        bundle.evidence.incident.timeline[0].detail = text(300);
        bundle.evidence.incident.title = text(120);
        bundle.evidence.steps[0].model = Some(if round == 0 { found.to_owned() } else { text(80) });
        let integrity = fixture::integrity(&bundle);
        if let Err(e) = render_soc2_pdf(&bundle, &integrity) {
            panic!("round {round}: {e}");
        }
    }
}
