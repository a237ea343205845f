//! `gov verify` as an auditor runs it on another machine: the real binary on files only, no
//! server and no database. Bundles are built here with the engine (the seed scenario's records
//! → `evidence_bundle` → `seal`), then tampered with.

use std::path::{Path, PathBuf};
use std::process::Output;

use gov_evidence::fixture::seed_scenario;
use gov_evidence::{SigningKey, evidence_bundle, executive_debrief, seal, soc2_bundle};
use serde_json::{Value, json};

use crate::helpers::process::run;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn deployment_key() -> SigningKey {
    SigningKey::from_seed([21; 32])
}

/// The three exports of the seed scenario (3 steps, stopped at step 3), sealed.
fn exports() -> [(&'static str, Vec<u8>); 3] {
    let (records, generation) = seed_scenario(3);
    let evidence = evidence_bundle(&records, &generation);
    let key = deployment_key();
    [
        ("evidence", seal(&evidence, &key).bytes),
        ("soc2", seal(&soc2_bundle(evidence.clone()), &key).bytes),
        ("executive_debrief", seal(&executive_debrief(evidence), &key).bytes),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `gov verify` with `args`, in `dir`, with a database URL that must never be opened.
fn verify(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let trap = dir.join("no-such-dir").join("gov.db");
    run(dir, &all, &[("DATABASE_URL", trap.to_str().unwrap())])
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The document re-signed after `mutate`, as records altered before export would be.
fn resealed(bytes: &[u8], mutate: impl Fn(&mut Value)) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bytes).unwrap();
    doc.as_object_mut().unwrap().remove("integrity");
    mutate(&mut doc);
    seal(&doc, &deployment_key()).bytes
}

#[test]
fn the_three_exports_verify_offline_with_a_one_screen_summary() {
    let dir = tempfile::tempdir().unwrap();
    let public = deployment_key().public_key().to_hex();
    let key_file = write(dir.path(), "public-key.txt", format!("{public}\n").as_bytes());
    let key_json = write(dir.path(), "public-key.json", json!({"public_key": public}).to_string().as_bytes());
    for (kind, bytes) in exports() {
        let file = write(dir.path(), &format!("{kind}.json"), &bytes);
        let file = file.to_str().unwrap();
        for pin in [public.as_str(), key_file.to_str().unwrap(), key_json.to_str().unwrap()] {
            let out = verify(dir.path(), &[file, "--public-key", pin]);
            assert_exit(&out, 0);
            let stdout = text(&out.stdout);
            assert!(stdout.starts_with("VERIFIED"), "{stdout}");
            assert!(
                stdout.contains("inflection point at step 3") && stdout.contains("pinned with --public-key"),
                "{stdout}"
            );
            assert!(stdout.contains("3 steps, each hash recomputed"), "{stdout}");
            assert!(stdout.lines().count() <= 24, "one screen:\n{stdout}");
        }
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let out = verify(dir.path(), &[file]);
        assert_exit(&out, 0);
        let stdout = text(&out.stdout);
        assert!(stdout.contains("NOT pinned"), "{stdout}");
        assert!(stdout.contains(doc["incident_id"].as_str().unwrap()), "{stdout}");
        assert!(stdout.contains(doc["integrity"]["bundle_hash"].as_str().unwrap()), "{stdout}");
        if kind == "soc2" {
            assert!(stdout.contains("CC7.2 met, CC7.3 met, CC7.4 met"), "{stdout}");
        }
        // Re-indented by another tool (`jq .`), it still verifies.
        let pretty = write(dir.path(), "pretty.json", serde_json::to_string_pretty(&doc).unwrap().as_bytes());
        assert_exit(&verify(dir.path(), &[pretty.to_str().unwrap(), "--public-key", &public]), 0);
    }
    assert!(!dir.path().join("no-such-dir").exists(), "gov verify touched the database");
    assert!(!dir.path().join("gov-data").exists(), "gov verify created a database");
}

#[test]
fn tampered_copies_fail_naming_the_first_bad_item() {
    let dir = tempfile::tempdir().unwrap();
    let public = deployment_key().public_key().to_hex();
    let [(_, evidence), (_, soc2), _] = exports();
    let other = SigningKey::from_seed([22; 32]);
    let mut forged: Value = serde_json::from_slice(&evidence).unwrap();
    forged.as_object_mut().unwrap().remove("integrity");
    let by_other = seal(&forged, &other).bytes;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a step's tokens",
            resealed(&evidence, |d| d["steps"][1]["tokens"] = json!(1)),
            "step 2: hash does not match its content",
        ),
        (
            "a deleted step",
            resealed(&evidence, |d| drop(d["steps"].as_array_mut().unwrap().remove(1))),
            "step 2: missing",
        ),
        (
            "the snapshot text",
            resealed(&evidence, |d| {
                let t = d["policy_context"]["thresholds_json"].as_str().unwrap().replace("10000", "20000");
                d["policy_context"]["thresholds_json"] = json!(t);
            }),
            "policy snapshot: its text does not match its content hash",
        ),
        (
            "a SOC2 mapping",
            resealed(&soc2, |d| d["control_mappings"][0]["satisfied"] = json!(false)),
            "control CC7.2:",
        ),
        (
            "a byte after signing",
            String::from_utf8(evidence.clone()).unwrap().replacen("AGT-001", "AGT-002", 1).into_bytes(),
            "bundle hash: the document does not match its signed hash",
        ),
        (
            "a step edited after signing",
            String::from_utf8(evidence.clone())
                .unwrap()
                .replacen("\"tokens\":3333", "\"tokens\":33", 1)
                .into_bytes(),
            "bundle hash: the document does not match its signed hash",
        ),
        ("another deployment's key", by_other, "signature: signed by key"),
    ];
    for (name, bytes, expected) in cases {
        let file = write(dir.path(), "tampered.json", &bytes);
        let out = verify(dir.path(), &[file.to_str().unwrap(), "--public-key", &public]);
        assert_exit(&out, 1);
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with(&format!("FAILED {expected}")), "{name}: {stdout}");
        assert!(text(&out.stderr).contains(expected), "{name}: {}", text(&out.stderr));
        if name == "a step edited after signing" {
            // The changed evidence is named too.
            assert!(
                stdout.contains("the first changed item: step 1: hash does not match its content"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn unreadable_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let [(_, evidence), ..] = exports();
    let file = write(dir.path(), "evidence.json", &evidence);
    let file = file.to_str().unwrap();
    for args in [
        vec!["missing.json"],
        vec![file, "--public-key", "not-a-key-or-file"],
        vec![file, "--public-key", &"zz".repeat(32)],
        vec![file, "--pdf", "missing.pdf"],
        vec!["missing.csv", "--manifest", "missing-manifest.json"],
    ] {
        let out = verify(dir.path(), &args);
        assert_exit(&out, 2);
        assert!(text(&out.stderr).starts_with("gov verify: "), "{args:?}: {}", text(&out.stderr));
    }
    // Not a bundle at all is a failed verification, naming the document.
    let junk = write(dir.path(), "junk.json", b"{\"hello\": 1}");
    let out = verify(dir.path(), &[junk.to_str().unwrap()]);
    assert_exit(&out, 1);
    assert!(text(&out.stdout).starts_with("FAILED integrity: missing"), "{}", text(&out.stdout));
}
