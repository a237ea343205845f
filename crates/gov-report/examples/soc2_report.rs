//! Renders the SOC2 report of a fixture incident with N steps (default 1,000) to a file, for a
//! look at the pages and for measuring memory:
//! `cargo run --release -p gov-report --example soc2_report -- /tmp/soc2.pdf 1000`
//! `/usr/bin/time -v target/release/examples/soc2_report /tmp/soc2.pdf 1000`

#[path = "../tests/fixture/mod.rs"]
mod fixture;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "soc2.pdf".to_owned());
    let steps: i64 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let bundle = fixture::soc2(steps, &fixture::LATIN);
    let integrity = fixture::integrity(&bundle);
    let started = std::time::Instant::now();
    let pdf = gov_report::render_soc2_pdf(&bundle, &integrity)?;
    let soc2_time = started.elapsed();
    std::fs::write(&path, &pdf)?;
    let debrief = fixture::debrief(&fixture::LATIN);
    let integrity = fixture::integrity(&debrief);
    let debrief_path = format!("{}.debrief.pdf", path.trim_end_matches(".pdf"));
    let started = std::time::Instant::now();
    let debrief_pdf = gov_report::render_executive_debrief_pdf(&debrief, &integrity)?;
    let debrief_time = started.elapsed();
    std::fs::write(&debrief_path, &debrief_pdf)?;
    println!("{path}: {} bytes in {soc2_time:?}", pdf.len());
    println!("{debrief_path}: {} bytes in {debrief_time:?}", debrief_pdf.len());
    Ok(())
}
