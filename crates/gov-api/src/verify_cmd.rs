//! `gov verify`: checks an exported bundle (or a log export against its manifest) offline, with
//! nothing but the files and, ideally, the deployment's public key. It opens no database and
//! contacts no server; the checks are `gov_evidence`'s, the same code the server builds with.
//!
//! Exit codes: 0 verified; 1 verification failed (the first bad item is printed); 2 the inputs
//! could not be read (a missing file, a malformed `--public-key`).

use std::path::{Path, PathBuf};

use clap::Args;
use gov_evidence::PublicKey;
use gov_evidence::manifest::{ExportReport, verify_export};
use gov_evidence::verify::{VerifyReport, verify_bundle};

/// Verified.
pub const EXIT_VERIFIED: i32 = 0;
/// Verification failed: something was tampered with, or signed by another key.
pub const EXIT_FAILED: i32 = 1;
/// The inputs could not be read.
pub const EXIT_UNREADABLE: i32 = 2;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed bundle (an evidence, SOC2 or executive-debrief JSON export); with `--manifest`,
    /// the log export body (CSV or JSON) the manifest describes.
    pub file: PathBuf,
    /// The deployment's public key to pin: 64 hex characters, or a file holding them (or the
    /// JSON of `GET /api/v1/evidence/public-key`). Without it the key embedded in the document
    /// is used, which proves integrity but not who signed.
    #[arg(long, value_name = "HEX|FILE")]
    pub public_key: Option<String>,
    /// A PDF report (SOC2 or executive debrief) that must name this bundle's hash.
    #[arg(long, value_name = "REPORT.pdf", conflicts_with = "manifest")]
    pub pdf: Option<PathBuf>,
    /// Check FILE as a log export against this signed manifest.
    #[arg(long, value_name = "MANIFEST.json")]
    pub manifest: Option<PathBuf>,
}

/// Runs the check and returns the exit code; prints the summary or the first bad item.
pub fn run(args: &VerifyArgs) -> i32 {
    match check(args) {
        Ok(summary) => {
            print!("{summary}");
            EXIT_VERIFIED
        }
        Err(Outcome::Failed(line)) => {
            println!("FAILED {line}");
            eprintln!("gov verify: FAILED: {line}");
            EXIT_FAILED
        }
        Err(Outcome::Unreadable(why)) => {
            eprintln!("gov verify: {why}");
            EXIT_UNREADABLE
        }
    }
}

enum Outcome {
    Failed(String),
    Unreadable(String),
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Outcome> {
    std::fs::read(path).map_err(|e| Outcome::Unreadable(format!("cannot read {what} {}: {e}", path.display())))
}

/// `--public-key`: hex, or a file holding hex or a JSON object with a `public_key` member.
fn pinned_key(arg: &str) -> Result<PublicKey, Outcome> {
    let arg = arg.trim();
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return PublicKey::from_hex(arg).map_err(|e| Outcome::Unreadable(format!("--public-key: {e}")));
    }
    let text = read(Path::new(arg), "the public key file")?;
    let text = String::from_utf8_lossy(&text);
    let hex = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(map)) => match map.get("public_key").and_then(|v| v.as_str()) {
            Some(hex) => hex.to_owned(),
            None => return Err(Outcome::Unreadable(format!("--public-key {arg}: JSON without a `public_key`"))),
        },
        _ => text.trim().to_owned(),
    };
    PublicKey::from_hex(&hex).map_err(|e| Outcome::Unreadable(format!("--public-key {arg}: {e}")))
}

fn check(args: &VerifyArgs) -> Result<String, Outcome> {
    let pinned = args.public_key.as_deref().map(pinned_key).transpose()?;
    let body = read(&args.file, "the file")?;
    if let Some(manifest) = &args.manifest {
        let manifest = read(manifest, "the manifest")?;
        let report = verify_export(&manifest, &body, pinned.as_ref())
            .map_err(|f| Outcome::Failed(f.to_string()))?;
        return Ok(export_summary(args, &report));
    }
    let report = verify_bundle(&body, pinned.as_ref()).map_err(|f| Outcome::Failed(f.to_string()))?;
    let pdf = match &args.pdf {
        Some(path) => {
            let pdf = read(path, "the PDF")?;
            match gov_report::named_bundle_hash(&pdf) {
                Some(hash) if hash == report.bundle_hash => Some(format!("{} names bundle hash {hash}", path.display())),
                Some(hash) => {
                    return Err(Outcome::Failed(format!(
                        "pdf: {} names bundle hash {hash}, not this bundle's {}",
                        path.display(),
                        report.bundle_hash
                    )));
                }
                None => {
                    return Err(Outcome::Failed(format!(
                        "pdf: {} names no bundle hash (not a gov report)",
                        path.display()
                    )));
                }
            }
        }
        None => None,
    };
    Ok(bundle_summary(args, &report, pdf))
}

fn key_line(key_id: &str, pinned: bool) -> String {
    if pinned {
        format!("{key_id} (pinned with --public-key)")
    } else {
        format!("{key_id} (embedded in the document, NOT pinned: pass --public-key to check who signed)")
    }
}

fn bundle_summary(args: &VerifyArgs, r: &VerifyReport, pdf: Option<String>) -> String {
    let kind = match r.kind {
        gov_evidence::BundleKind::Evidence => "evidence bundle",
        gov_evidence::BundleKind::Soc2 => "SOC2 bundle",
        gov_evidence::BundleKind::ExecutiveDebrief => "executive debrief bundle",
    };
    let mut out = format!("VERIFIED {} ({kind})\n", args.file.display());
    out.push_str(&format!("  bundle      {}\n", r.bundle_id));
    out.push_str(&format!("  incident    {}\n", r.incident_id));
    match &r.run_id {
        Some(run) => {
            let at = r.inflection_step.map_or_else(String::new, |s| format!(", inflection point at step {s}"));
            out.push_str(&format!("  run         {run} ({} steps{at})\n", r.step_count));
        }
        None => out.push_str("  run         none (an incident without a run)\n"),
    }
    out.push_str(&format!("  bundle hash {}\n", r.bundle_hash));
    out.push_str(&format!("  key         {}\n", key_line(&r.key_id, r.key_pinned)));
    out.push_str("  checks\n");
    for check in &r.checks {
        out.push_str(&format!("    ok  {check}\n"));
    }
    if let Some(pdf) = pdf {
        out.push_str(&format!("    ok  pdf: {pdf}\n"));
    }
    out
}

fn export_summary(args: &VerifyArgs, r: &ExportReport) -> String {
    let mut out = format!("VERIFIED {} (log export)\n", args.file.display());
    out.push_str(&format!("  export      {}\n", r.export_id));
    out.push_str(&format!("  topic       {} ({})\n", r.topic, r.format));
    out.push_str(&format!("  rows        {}\n", r.row_count));
    out.push_str(&format!("  body blake3 {}\n", r.body_blake3));
    out.push_str(&format!("  key         {}\n", key_line(&r.key_id, r.key_pinned)));
    out
}
