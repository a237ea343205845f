//! The tamper matrix: each mutation of a sealed seed-scenario bundle is caught, naming its item.

use serde_json::{Value, json};

use super::*;
use crate::fixture::{runless_incident, seed_scenario};
use crate::{SigningKey, evidence_bundle, executive_debrief, seal, soc2_bundle};

fn key() -> SigningKey {
    SigningKey::from_seed([7; 32])
}

fn other_key() -> SigningKey {
    SigningKey::from_seed([8; 32])
}

/// The seed scenario with five steps: a NEAR signal at step 4, stopped at step 5.
fn evidence() -> EvidenceBundle {
    let (records, generation) = seed_scenario(5);
    evidence_bundle(&records, &generation)
}

fn value_of<T: serde::Serialize>(bundle: &T) -> Value {
    serde_json::from_slice(&seal(bundle, &key()).bytes).unwrap()
}

/// How a mutation gets back into a document.
#[derive(Clone, Copy)]
enum After {
    /// Signed again by the deployment key: the records were altered before signing.
    Resealed,
    /// Left as it is: the document was altered after signing.
    Edited,
    /// Signed again by another key, which is not pinned.
    ResealedByAnother,
}

fn tampered(doc: &Value, mutate: impl Fn(&mut Value), after: After) -> Vec<u8> {
    let mut doc = doc.clone();
    mutate(&mut doc);
    let Value::Object(map) = &mut doc else { panic!("an object") };
    match after {
        After::Edited => serde_json::to_vec(&doc).unwrap(),
        After::Resealed | After::ResealedByAnother => {
            map.remove("integrity");
            let k = if matches!(after, After::Resealed) { key() } else { other_key() };
            seal(&doc, &k).bytes
        }
    }
}

/// Verifies `bytes` (pinned to the deployment key unless `pinned` is false) and expects the first
/// failure to name `expected_item`, or success for `None`.
fn check(bytes: &[u8], pinned: bool, expected_item: Option<&str>) -> Result<VerifyReport, VerifyFailure> {
    let public = key().public_key();
    let result = verify_bundle(bytes, pinned.then_some(&public));
    match (&result, expected_item) {
        (Ok(_), None) => {}
        (Err(failure), Some(item)) => assert_eq!(failure.item, item, "{failure}"),
        (other, expected) => panic!("expected {expected:?}, got {other:?}"),
    }
    result
}

fn steps(doc: &mut Value) -> &mut Vec<Value> {
    doc["steps"].as_array_mut().unwrap()
}

#[test]
fn an_intact_bundle_verifies_pinned_or_not() {
    let doc = value_of(&evidence());
    let bytes = serde_json::to_vec(&doc).unwrap();
    let report = check(&bytes, true, None).unwrap();
    assert!(report.key_pinned);
    assert_eq!(report.kind, BundleKind::Evidence);
    assert_eq!((report.step_count, report.inflection_step), (5, Some(5)));
    assert_eq!(report.key_id, key().public_key().key_id());
    assert!(report.checks.iter().any(|c| c.contains("5 steps, each hash recomputed")), "{:?}", report.checks);
    assert!(report.checks.iter().any(|c| c.starts_with("cross-links: incident")), "{:?}", report.checks);
    let unpinned = check(&bytes, false, None).unwrap();
    assert!(!unpinned.key_pinned);
    assert!(unpinned.checks.iter().any(|c| c.contains("NOT pinned")));
}

#[test]
fn the_tamper_matrix_names_each_item() {
    let doc = value_of(&evidence());
    type Mutation = fn(&mut Value);
    let cases: &[(&str, Mutation, After, bool, &str, &str)] = &[
        (
            "a step's tokens",
            |d| steps(d)[1]["tokens"] = json!(1),
            After::Resealed,
            true,
            "step 2",
            "hash does not match its content",
        ),
        ("a deleted step", |d| drop(steps(d).remove(2)), After::Resealed, true, "step 3", "missing"),
        ("two steps reordered", |d| steps(d).swap(1, 2), After::Resealed, true, "step 2", "missing"),
        ("a truncated trace", |d| drop(steps(d).pop()), After::Resealed, true, "trace", "truncated"),
        (
            "a changed step re-hashed",
            |d| {
                let step = &mut steps(d)[1];
                step["cost_cents"] = json!(0.0);
                step["chain_hash"] = json!(rehash(step));
            },
            After::Resealed,
            true,
            "step 3",
            "does not link to the step before it",
        ),
        (
            "the last step changed and re-hashed",
            |d| {
                let step = steps(d).last_mut().unwrap();
                step["tokens"] = json!(1);
                step["chain_hash"] = json!(rehash(step));
            },
            After::Resealed,
            true,
            "trace",
            "does not end at the recorded head",
        ),
        (
            "the snapshot text edited",
            |d| {
                let text = d["policy_context"]["policies_json"].as_str().unwrap().replace("10000", "99999");
                d["policy_context"]["policies_json"] = json!(text);
            },
            After::Resealed,
            true,
            "policy snapshot",
            "does not match its content hash",
        ),
        (
            "the incident's policy swapped",
            |d| d["incident"]["policy_id"] = json!("00000000-0004-4000-8000-000000000002"),
            After::Resealed,
            true,
            "policy",
            "violated_policy",
        ),
        (
            "the violated policy's threshold edited",
            |d| d["policy_context"]["violated_policy"]["threshold"] = json!(20000),
            After::Resealed,
            true,
            "policy",
            "violated_policy",
        ),
        (
            "the run's violation policy swapped",
            |d| d["run"]["violation_policy_id"] = json!("00000000-0004-4000-8000-000000000002"),
            After::Resealed,
            true,
            "run",
            "violation_policy_id",
        ),
        (
            "the incident's run swapped",
            |d| d["incident"]["source_run_id"] = json!("00000000-0002-4000-8000-000000000002"),
            After::Resealed,
            true,
            "incident",
            "source_run_id",
        ),
        (
            "the prevention record unlinked",
            |d| d["prevention_records"][0]["incident_id"] = Value::Null,
            After::Resealed,
            true,
            "prevention record",
            "none at step 5",
        ),
        (
            "a status marker edited",
            |d| steps(d)[0]["status"] = json!("breach"),
            After::Resealed,
            true,
            "step 1",
            "status marker",
        ),
        (
            "integrity stripped",
            |d| drop(d.as_object_mut().unwrap().remove("integrity")),
            After::Edited,
            true,
            "integrity",
            "missing",
        ),
        (
            "the signature forged with another key",
            |d| {
                let forged = value_of_with(&d.clone(), &other_key());
                d["integrity"]["signature"] = forged["integrity"]["signature"].clone();
            },
            After::Edited,
            false,
            "signature",
            "not a valid signature",
        ),
        (
            "a byte outside the steps",
            |d| d["incident"]["title"] = json!("Nothing happened"),
            After::Edited,
            true,
            "bundle hash",
            "changed after signing",
        ),
        (
            "a byte inside a step",
            |d| steps(d)[0]["tokens"] = json!(2001),
            After::Edited,
            false,
            "bundle hash",
            "changed after signing; the first changed item: step 1: hash does not match its content",
        ),
        (
            "re-signed by another key, pinned",
            |d| steps(d)[0]["tokens"] = json!(2001),
            After::ResealedByAnother,
            true,
            "signature",
            "not by the pinned key",
        ),
        (
            "re-signed by another key, not pinned",
            |d| steps(d)[0]["tokens"] = json!(2001),
            After::ResealedByAnother,
            false,
            "step 1",
            "hash does not match",
        ),
        (
            "an unknown format",
            |d| d["format"] = json!("gov.evidence-bundle/v9"),
            After::Resealed,
            true,
            "format",
            "not a format",
        ),
        ("an unknown kind", |d| d["kind"] = json!("novel"), After::Resealed, true, "kind", "not evidence"),
        (
            "a malformed key id",
            |d| d["integrity"]["key_id"] = json!("0000"),
            After::Edited,
            false,
            "integrity.key_id",
            "not the id",
        ),
    ];
    for (name, mutate, after, pinned, item, problem) in cases {
        let bytes = tampered(&doc, mutate, *after);
        let failure = verify_bundle(&bytes, pinned.then_some(&key().public_key())).expect_err(name);
        assert_eq!(&failure.item, item, "{name}: {failure}");
        assert!(failure.problem.contains(problem), "{name}: {failure}");
    }
}

fn value_of_with(doc: &Value, k: &SigningKey) -> Value {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove("integrity");
    serde_json::from_slice(&seal(&doc, k).bytes).unwrap()
}

/// The chain hash of a step as it now reads (what a forger would write).
fn rehash(step: &Value) -> String {
    let (records, _) = seed_scenario(5);
    let mut rebuilt = records.steps[0].clone();
    let e: TraceStepEvidence = serde_json::from_value(step.clone()).unwrap();
    rebuilt.step_index = e.step_index;
    rebuilt.tokens = e.tokens;
    rebuilt.cost_cents = e.cost_cents;
    rebuilt.step_type = e.step_type;
    rebuilt.timestamp =
        time::OffsetDateTime::parse(&e.timestamp, &time::format_description::well_known::Iso8601::DEFAULT)
            .unwrap();
    rebuilt.input_tokens = e.input_tokens;
    rebuilt.output_tokens = e.output_tokens;
    rebuilt.content_hash = e.content_hash;
    rebuilt.decision = e.decision.parse().unwrap();
    rebuilt.decision_policy_id = e.decision_policy_id.map(|p| p.parse().unwrap());
    rebuilt.decision_reason = e.decision_reason;
    rebuilt.prev_hash = e.prev_hash;
    chain_hash(&rebuilt)
}

#[test]
fn rehash_reproduces_an_untouched_step() {
    let doc = value_of(&evidence());
    for step in doc["steps"].as_array().unwrap() {
        assert_eq!(rehash(step), step["chain_hash"].as_str().unwrap());
    }
}

#[test]
fn a_reindented_or_respelt_bundle_still_verifies() {
    let doc = value_of(&evidence());
    // `jq .`: two-space indentation; and a limit of 10000 spelt 1e4 by another tool.
    let pretty = serde_json::to_string_pretty(&doc).unwrap();
    let respelt = pretty.replace("\"limit_value\": 10000", "\"limit_value\": 1e4");
    assert_ne!(respelt, pretty);
    check(pretty.as_bytes(), true, None).unwrap();
    check(respelt.as_bytes(), true, None).unwrap();
}

#[test]
fn bad_documents_name_the_document() {
    for bytes in [&b"not json"[..], b"[1, 2]", b"\"x\"", b""] {
        check(bytes, false, Some("document")).unwrap_err();
    }
    check(br#"{"integrity": {"signature": 1}}"#, false, Some("integrity")).unwrap_err();
}

#[test]
fn soc2_and_debrief_bundles_verify_and_their_derived_members_are_checked() {
    let soc2 = value_of(&soc2_bundle(evidence()));
    let report = check(&serde_json::to_vec(&soc2).unwrap(), true, None).unwrap();
    assert_eq!(report.kind, BundleKind::Soc2);
    let flip: fn(&mut Value) = |d| d["control_mappings"][2]["satisfied"] = json!(false);
    check(&tampered(&soc2, flip, After::Resealed), true, Some("control CC7.4")).unwrap_err();
    let period: fn(&mut Value) = |d| d["period_end"] = json!("2027-01-01T00:00:00.000000Z");
    check(&tampered(&soc2, period, After::Resealed), true, Some("period")).unwrap_err();
    let attest: fn(&mut Value) = |d| d["attestation_statement"] = json!("All is well.");
    check(&tampered(&soc2, attest, After::Resealed), true, Some("attestation_statement")).unwrap_err();
    // The evidence under a SOC2 bundle is checked like any other.
    let step: fn(&mut Value) = |d| d["steps"][3]["tokens"] = json!(1);
    check(&tampered(&soc2, step, After::Resealed), true, Some("step 4")).unwrap_err();

    let debrief = value_of(&executive_debrief(evidence()));
    let report = check(&serde_json::to_vec(&debrief).unwrap(), true, None).unwrap();
    assert_eq!(report.kind, BundleKind::ExecutiveDebrief);
    let impact: fn(&mut Value) = |d| d["business_impact"]["cost_stopped_cents"] = json!(100000);
    check(&tampered(&debrief, impact, After::Resealed), true, Some("business_impact")).unwrap_err();
    let risk: fn(&mut Value) = |d| d["risk_level"] = json!("low");
    check(&tampered(&debrief, risk, After::Resealed), true, Some("risk_level")).unwrap_err();
    let actions: fn(&mut Value) = |d| drop(d["recommended_actions"].as_array_mut().unwrap().pop());
    check(&tampered(&debrief, actions, After::Resealed), true, Some("recommended_actions")).unwrap_err();
    // A debrief relabelled as SOC2 lacks the SOC2 members.
    let relabel: fn(&mut Value) = |d| d["kind"] = json!("soc2");
    check(&tampered(&debrief, relabel, After::Resealed), true, Some("bundle")).unwrap_err();
}

#[test]
fn an_incident_without_a_run_verifies_in_all_three_forms() {
    let (records, generation) = runless_incident();
    let evidence = evidence_bundle(&records, &generation);
    assert!(evidence.run.is_none() && evidence.steps.is_empty() && evidence.policy_context.is_none());
    for doc in [
        value_of(&evidence),
        value_of(&soc2_bundle(evidence.clone())),
        value_of(&executive_debrief(evidence.clone())),
    ] {
        let report = check(&serde_json::to_vec(&doc).unwrap(), true, None).unwrap();
        assert_eq!((report.run_id, report.step_count, report.inflection_step), (None, 0, None));
        // Claiming a run it does not carry is caught.
        let claim: fn(&mut Value) =
            |d| d["incident"]["source_run_id"] = json!("00000000-0002-4000-8000-000000000001");
        check(&tampered(&doc, claim, After::Resealed), true, Some("incident")).unwrap_err();
    }
}
