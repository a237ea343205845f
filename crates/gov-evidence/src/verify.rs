//! Offline verification of a signed bundle: signature, canonical hash, every step's hash and
//! link, the snapshot text against its hash, and the cross-links between incident, run, policy
//! and trace. The first bad item is named.
//!
//! The order matters for what is named: the document's integrity first (anything edited after
//! signing fails as `bundle hash`), then the signature, then the evidence itself, which catches
//! records altered before the bundle was signed (a database edited behind gov's back, or a
//! bundle re-signed with another key that was not pinned).

use gov_model::{PolicyId, RunId, StepId, TenantId, TraceId, TraceStep};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::build::{bundle_view, conflict_strategy, inflection_step, step_statuses, violated_policy};
use crate::bundle::*;
use crate::chain::{canonical_time, chain_hash, genesis};
use crate::sign::{CANONICALIZATION, HASH_ALGORITHM, PublicKey, SIGNATURE_ALGORITHM, bundle_hash};

/// What a successful verification found (the one-screen summary of `gov verify`).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub kind: crate::BundleKind,
    pub bundle_id: String,
    pub bundle_hash: String,
    pub key_id: String,
    /// False when no key was pinned and the embedded key was used.
    pub key_pinned: bool,
    pub incident_id: String,
    pub run_id: Option<String>,
    pub step_count: usize,
    pub inflection_step: Option<i64>,
    /// One line per check that passed.
    pub checks: Vec<String>,
}

/// The first item that does not hold, e.g. `step 7: hash does not match its content`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{item}: {problem}")]
pub struct VerifyFailure {
    pub item: String,
    pub problem: String,
}

fn fail<T>(item: impl Into<String>, problem: impl Into<String>) -> Result<T, VerifyFailure> {
    Err(VerifyFailure { item: item.into(), problem: problem.into() })
}

/// Fails with `item: problem` unless `ok`.
fn ensure(ok: bool, item: impl Into<String>, problem: impl FnOnce() -> String) -> Result<(), VerifyFailure> {
    if ok { Ok(()) } else { fail(item, problem()) }
}

/// Checks a signed bundle document (any of the three kinds). With `pinned`, the signature must
/// be that key's; without, the embedded key is used and the report says it was not pinned.
pub fn verify_bundle(document: &[u8], pinned: Option<&PublicKey>) -> Result<VerifyReport, VerifyFailure> {
    let value: Value = match serde_json::from_slice(document) {
        Ok(v) => v,
        Err(e) => return fail("document", format!("not JSON: {e}")),
    };
    let (integrity, hash, key) = match check_integrity(&value, pinned) {
        Ok(sealed) => sealed,
        // Edited after signing: name the changed evidence too, when the checks below find it.
        Err(mut failure) if failure.item == "bundle hash" => {
            if let Err(inner) = check_content(value) {
                failure.problem.push_str(&format!("; the first changed item: {inner}"));
            }
            return Err(failure);
        }
        Err(failure) => return Err(failure),
    };
    let mut checks = vec![
        format!("bundle hash: {hash} ({CANONICALIZATION}, {HASH_ALGORITHM}) covers every member"),
        format!(
            "signature: {SIGNATURE_ALGORITHM} by key {} ({})",
            key.key_id(),
            if pinned.is_some() { "the pinned key" } else { "the embedded key, NOT pinned" }
        ),
    ];
    let (kind, evidence, content_checks) = check_content(value)?;
    checks.extend(content_checks);
    Ok(VerifyReport {
        kind,
        bundle_id: evidence.bundle_id.clone(),
        bundle_hash: hash,
        key_id: integrity.key_id,
        key_pinned: pinned.is_some(),
        incident_id: evidence.incident_id.clone(),
        run_id: evidence.run_id.clone(),
        step_count: evidence.steps.len(),
        inflection_step: inflection_step(&evidence),
        checks,
    })
}

/// Everything after the signature: the typed bundle, its evidence and its derived members.
fn check_content(value: Value) -> Result<(BundleKind, EvidenceBundle, Vec<String>), VerifyFailure> {
    let kind = match value.get("kind").cloned().map(serde_json::from_value::<BundleKind>) {
        Some(Ok(kind)) => kind,
        Some(Err(_)) => return fail("kind", "not evidence, soc2 or executive_debrief"),
        None => return fail("kind", "missing"),
    };
    let (evidence, derived) = match kind {
        BundleKind::Evidence => (typed::<EvidenceBundle>(value, "evidence")?, Derived::None),
        BundleKind::Soc2 => {
            let b = typed::<SOC2Bundle>(value, "SOC2")?;
            let members = (b.control_mappings, b.attestation_statement, b.period_start, b.period_end);
            (b.evidence, Derived::Soc2(members))
        }
        BundleKind::ExecutiveDebrief => {
            let b = typed::<ExecutiveDebriefBundle>(value, "executive debrief")?;
            let members = crate::debrief::Derived {
                incident_summary: b.incident_summary,
                business_impact: b.business_impact,
                risk_level: b.risk_level,
                recommended_actions: b.recommended_actions,
            };
            (b.evidence, Derived::Debrief(members))
        }
    };
    ensure(evidence.format == BUNDLE_FORMAT, "format", || {
        format!("{:?} is not a format this verifier knows ({BUNDLE_FORMAT})", evidence.format)
    })?;
    ensure(evidence.kind == kind, "kind", || "differs between the bundle and its evidence".to_owned())?;
    let mut checks = check_evidence(&evidence)?;
    checks.push(check_derived(&evidence, derived)?);
    Ok((kind, evidence, checks))
}

enum Derived {
    None,
    Soc2((Vec<SOC2ControlMapping>, String, String, String)),
    Debrief(crate::debrief::Derived),
}

fn typed<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, VerifyFailure> {
    serde_json::from_value(value).or_else(|e| fail("bundle", format!("not a valid {what} bundle: {e}")))
}

/// `integrity` well-formed, the canonical hash, and the signature; returns the key that signed.
fn check_integrity(
    value: &Value,
    pinned: Option<&PublicKey>,
) -> Result<(Integrity, String, PublicKey), VerifyFailure> {
    let Value::Object(map) = value else { return fail("document", "not a JSON object") };
    let Some(member) = map.get("integrity") else {
        return fail("integrity", "missing: the document is not signed");
    };
    let integrity: Integrity = match serde_json::from_value(member.clone()) {
        Ok(i) => i,
        Err(e) => return fail("integrity", format!("malformed: {e}")),
    };
    for (field, actual, expected) in [
        ("canonicalization", &integrity.canonicalization, CANONICALIZATION),
        ("hash_algorithm", &integrity.hash_algorithm, HASH_ALGORITHM),
        ("signature_algorithm", &integrity.signature_algorithm, SIGNATURE_ALGORITHM),
    ] {
        ensure(actual == expected, format!("integrity.{field}"), || {
            format!("{actual:?} is not {expected:?}, the only one this verifier knows")
        })?;
    }
    let hash = bundle_hash(value);
    ensure(hash == integrity.bundle_hash, "bundle hash", || {
        format!(
            "the document does not match its signed hash {} (computed {hash}): it was changed after signing",
            integrity.bundle_hash
        )
    })?;
    let embedded = match PublicKey::from_hex(&integrity.public_key) {
        Ok(k) => k,
        Err(e) => return fail("integrity.public_key", e.to_string()),
    };
    ensure(embedded.key_id() == integrity.key_id, "integrity.key_id", || {
        format!("{} is not the id of the embedded key ({})", integrity.key_id, embedded.key_id())
    })?;
    let key = match pinned {
        Some(p) if *p != embedded => {
            return fail(
                "signature",
                format!(
                    "signed by key {}, not by the pinned key {}: this bundle was not signed by the expected deployment",
                    embedded.key_id(),
                    p.key_id()
                ),
            );
        }
        Some(p) => *p,
        None => embedded,
    };
    ensure(key.verifies(&hash, &integrity.signature), "signature", || {
        format!("not a valid signature of the bundle hash by key {}", key.key_id())
    })?;
    Ok((integrity, hash, key))
}

/// The evidence itself: chain, snapshot, cross-links and status markers. Returns the passed checks.
fn check_evidence(b: &EvidenceBundle) -> Result<Vec<String>, VerifyFailure> {
    let mut checks = Vec::new();
    let i = &b.incident;
    ensure(i.incident_id == b.incident_id, "incident", || {
        format!("incident_id {} is not the bundle's incident {}", i.incident_id, b.incident_id)
    })?;
    ensure(b.run_id == b.run.as_ref().map(|r| r.run_id.clone()), "run", || {
        format!("the bundle's run_id {:?} is not its run's", b.run_id)
    })?;
    ensure(b.trace_id == b.trace.as_ref().map(|t| t.trace_id.clone()), "trace", || {
        format!("the bundle's trace_id {:?} is not its trace's", b.trace_id)
    })?;
    if let Some(run) = &b.run {
        let Some(trace) = &b.trace else { return fail("trace", format!("missing for run {}", run.run_id)) };
        checks.push(check_chain(trace, run, &b.steps)?);
        checks.push(check_snapshot(b, run)?);
    } else {
        ensure(b.trace.is_none() && b.steps.is_empty() && b.policy_context.is_none(), "run", || {
            "missing, but the bundle carries a trace, steps or a policy snapshot".to_owned()
        })?;
    }
    checks.push(check_links(b)?);
    let expected = step_statuses(&bundle_view(b));
    for (step, status) in b.steps.iter().zip(expected) {
        ensure(step.status == status, format!("step {}", step.step_index), || {
            format!("status marker {:?}, but the evidence gives {status:?}", step.status)
        })?;
    }
    checks.push(format!("status markers: recomputed from the evidence for {} steps", b.steps.len()));
    Ok(checks)
}

fn parse_id<T: std::str::FromStr>(text: &str, item: &str, what: &str) -> Result<T, VerifyFailure> {
    text.parse().or_else(|_| fail(item, format!("{what} {text:?} is not an id")))
}

/// A word of the stored vocabulary (a decision, a level), as the bundle spells it.
fn parse_word<T: std::str::FromStr<Err = gov_model::UnknownVariant>>(
    text: &str,
    item: &str,
    what: &str,
) -> Result<T, VerifyFailure> {
    text.parse().or_else(|e: gov_model::UnknownVariant| fail(item, format!("{what}: {e}")))
}

/// Every step: index gapless from 1, linked to the one before (the first to the trace's genesis),
/// its chain hash recomputed from its content; the end equal to the recorded count and head.
fn check_chain(
    trace: &TraceEvidence,
    run: &RunEvidence,
    steps: &[TraceStepEvidence],
) -> Result<String, VerifyFailure> {
    let trace_id: TraceId = parse_id(&trace.trace_id, "trace", "trace_id")?;
    let run_id: RunId = parse_id(&run.run_id, "run", "run_id")?;
    ensure(trace.trace_id == run.trace_id && trace.run_id == run.run_id, "trace", || {
        format!(
            "trace {} of run {} is not run {}'s trace {}",
            trace.trace_id, trace.run_id, run.run_id, run.trace_id
        )
    })?;
    let genesis = genesis(trace_id);
    ensure(trace.genesis_hash == genesis, "trace", || {
        format!("genesis_hash is not the genesis of trace {}", trace.trace_id)
    })?;
    // Ids the chain does not cover: any value serves to rebuild a step.
    let nil = "00000000-0000-0000-0000-000000000000";
    let (step_id, tenant_id): (StepId, TenantId) = (parse_id(nil, "step", "")?, parse_id(nil, "step", "")?);
    let mut prev = genesis;
    for (position, step) in steps.iter().enumerate() {
        let expected = position as i64 + 1;
        let item = format!("step {expected}");
        ensure(step.step_index == expected, &item, || {
            format!("missing: step {} is in its place (steps deleted or reordered)", step.step_index)
        })?;
        ensure(step.prev_hash == prev, &item, || "does not link to the step before it".to_owned())?;
        let Ok(timestamp) = time::OffsetDateTime::parse(
            &step.timestamp,
            &time::format_description::well_known::Iso8601::DEFAULT,
        ) else {
            return fail(item, format!("timestamp {:?} is not a time", step.timestamp));
        };
        ensure(canonical_time(timestamp) == step.timestamp, &item, || {
            format!("timestamp {:?} is not in canonical form", step.timestamp)
        })?;
        let decision_policy_id = match &step.decision_policy_id {
            Some(p) => Some(parse_id::<PolicyId>(p, &item, "decision_policy_id")?),
            None => None,
        };
        let level = parse_word(&step.level, &item, "level")?;
        let decision = parse_word(&step.decision, &item, "decision")?;
        let rebuilt = TraceStep {
            step_id,
            trace_id,
            run_id,
            tenant_id,
            step_index: step.step_index,
            step_type: step.step_type.clone(),
            level,
            source: step.source.clone(),
            timestamp,
            tokens: step.tokens,
            input_tokens: step.input_tokens,
            output_tokens: step.output_tokens,
            cost_cents: step.cost_cents,
            duration_ms: step.duration_ms,
            model: step.model.clone(),
            retrieved_documents: step.retrieved_documents,
            content_hash: step.content_hash.clone(),
            decision,
            decision_policy_id,
            decision_reason: step.decision_reason.clone(),
            prev_hash: step.prev_hash.clone(),
            chain_hash: String::new(),
        };
        ensure(chain_hash(&rebuilt) == step.chain_hash, &item, || {
            "hash does not match its content".to_owned()
        })?;
        prev.clone_from(&step.chain_hash);
    }
    let count = steps.len() as i64;
    ensure(count == trace.step_count, "trace", || {
        format!("{count} steps in the bundle, {} recorded (truncated or padded)", trace.step_count)
    })?;
    ensure(trace.step_count == run.step_count, "run", || {
        format!("step_count {} is not the trace's {}", run.step_count, trace.step_count)
    })?;
    ensure(prev == trace.head_hash, "trace", || "the chain does not end at the recorded head".to_owned())?;
    Ok(format!(
        "trace {}: {count} steps, each hash recomputed and linked from genesis to head {prev}",
        trace.trace_id
    ))
}

/// The snapshot text against its hash, the run's recorded hash, and what the bundle derives from it.
fn check_snapshot(b: &EvidenceBundle, run: &RunEvidence) -> Result<String, VerifyFailure> {
    let Some(p) = &b.policy_context else {
        return fail("policy snapshot", format!("missing for run {}", run.run_id));
    };
    let item = "policy snapshot";
    ensure(gov_policy::snapshot_hash(&p.policies_json, &p.thresholds_json) == p.content_hash, item, || {
        "its text does not match its content hash".to_owned()
    })?;
    ensure(
        p.snapshot_id == run.policy_snapshot_id && p.content_hash == run.policy_snapshot_hash,
        item,
        || {
            format!(
                "{} ({}) is not the snapshot run {} was judged against",
                p.snapshot_id, p.content_hash, run.run_id
            )
        },
    )?;
    ensure(p.conflict_strategy == conflict_strategy(&p.thresholds_json), item, || {
        format!("conflict_strategy {} is not the one its text states", p.conflict_strategy)
    })?;
    let policy = violated_policy(&p.policies_json, b.incident.policy_id.as_deref());
    ensure(p.violated_policy == policy, "policy", || {
        "violated_policy is not the incident's policy as the snapshot states it".to_owned()
    })?;
    if let Some(id) = &b.incident.policy_id {
        ensure(policy.is_some(), "policy", || {
            format!("{id}, the incident's policy, is not in the run's snapshot")
        })?;
    }
    Ok(format!(
        "policy snapshot {}: text matches content hash {} and the run's recorded hash",
        p.snapshot_id, p.content_hash
    ))
}

/// incident ↔ run ↔ trace ↔ policy ↔ the inflection step and its prevention record.
fn check_links(b: &EvidenceBundle) -> Result<String, VerifyFailure> {
    let i = &b.incident;
    let Some(run) = &b.run else {
        ensure(i.source_run_id.is_none(), "incident", || {
            format!("names run {:?}, which the bundle does not carry", i.source_run_id)
        })?;
        return Ok(format!("cross-links: incident {} has no run ({})", i.incident_id, i.incident_type));
    };
    ensure(i.source_run_id.as_deref() == Some(run.run_id.as_str()), "incident", || {
        format!("source_run_id {:?} is not the bundle's run {}", i.source_run_id, run.run_id)
    })?;
    if let Some(trace_id) = &i.trace_id {
        ensure(*trace_id == run.trace_id, "incident", || {
            format!("trace_id {trace_id} is not run {}'s trace", run.run_id)
        })?;
    }
    let trace = b.trace.as_ref();
    let trace_incident = trace.and_then(|t| t.incident_id.as_deref());
    let stopped_by_this = run.incident_id.as_deref() == Some(i.incident_id.as_str());
    ensure(trace_incident.is_none() || trace_incident == run.incident_id.as_deref(), "trace", || {
        format!("names incident {trace_incident:?}, the run {:?}", run.incident_id)
    })?;
    if stopped_by_this {
        ensure(run.violation_policy_id == i.policy_id, "run", || {
            format!(
                "violation_policy_id {:?} is not the incident's policy {:?}",
                run.violation_policy_id, i.policy_id
            )
        })?;
        if let Some(t) = trace.filter(|t| t.incident_id.is_some()) {
            ensure(t.violation_policy_id == i.policy_id, "trace", || {
                format!(
                    "violation_policy_id {:?} is not the incident's policy {:?}",
                    t.violation_policy_id, i.policy_id
                )
            })?;
            ensure(
                t.violation_step_index == i.step_index && run.stopped_at_step == i.step_index,
                "trace",
                || {
                    format!(
                        "stopped at step {:?} (run: {:?}), the incident names step {:?}",
                        t.violation_step_index, run.stopped_at_step, i.step_index
                    )
                },
            )?;
        }
    }
    let Some(k) = inflection_step(b) else {
        return fail("incident", format!("names no step of run {}", run.run_id));
    };
    let Some(step) = b.steps.iter().find(|s| s.step_index == k) else {
        return fail(format!("step {k}"), "the incident's step is not in the trace");
    };
    ensure(step.decision_policy_id == i.policy_id, format!("step {k}"), || {
        format!(
            "decided by policy {:?}, not the incident's policy {:?}",
            step.decision_policy_id, i.policy_id
        )
    })?;
    let record = b
        .prevention_records
        .iter()
        .find(|p| p.step_index == k && p.incident_id.as_deref() == Some(i.incident_id.as_str()));
    let Some(record) = record else {
        return fail("prevention record", format!("none at step {k} for incident {}", i.incident_id));
    };
    ensure(record.policy_id == i.policy_id, format!("prevention record {}", record.record_id), || {
        format!("names policy {:?}, not the incident's policy {:?}", record.policy_id, i.policy_id)
    })?;
    let policy = i.policy_id.as_deref().unwrap_or("none (stopped by gov itself)");
    Ok(format!(
        "cross-links: incident {} ↔ run {} ↔ trace {} ↔ policy {policy} ↔ step {k} ↔ prevention record {}",
        i.incident_id, run.run_id, run.trace_id, record.record_id
    ))
}

/// The SOC2 or debrief members recomputed from the evidence.
fn check_derived(b: &EvidenceBundle, derived: Derived) -> Result<String, VerifyFailure> {
    match derived {
        Derived::None => Ok("evidence bundle: no derived members".to_owned()),
        Derived::Soc2((mappings, attestation, start, end)) => {
            let (want, want_attestation, want_start, want_end) = crate::soc2::derived(b);
            ensure(mappings.len() == want.len(), "control_mappings", || {
                format!("{} mappings, the default controls are {}", mappings.len(), want.len())
            })?;
            for (got, want) in mappings.iter().zip(&want) {
                ensure(got == want, format!("control {}", want.control_id), || {
                    format!(
                        "the mapping (satisfied: {}) does not follow from the evidence (satisfied: {}: {})",
                        got.satisfied, want.satisfied, want.rationale
                    )
                })?;
            }
            ensure(attestation == want_attestation, "attestation_statement", || {
                "does not follow from the evidence".to_owned()
            })?;
            ensure(start == want_start && end == want_end, "period", || {
                format!("{start} to {end}, the evidence spans {want_start} to {want_end}")
            })?;
            let met: Vec<String> = want
                .iter()
                .map(|m| format!("{} {}", m.control_id, if m.satisfied { "met" } else { "NOT met" }))
                .collect();
            Ok(format!("SOC2 mappings recomputed from the evidence: {}", met.join(", ")))
        }
        Derived::Debrief(got) => {
            let want = crate::debrief::derived(b);
            ensure(got.business_impact == want.business_impact, "business_impact", || {
                format!(
                    "{:?} does not follow from the evidence ({:?})",
                    got.business_impact, want.business_impact
                )
            })?;
            ensure(got.risk_level == want.risk_level, "risk_level", || {
                format!("{} does not follow from the evidence ({})", got.risk_level, want.risk_level)
            })?;
            ensure(got.incident_summary == want.incident_summary, "incident_summary", || {
                "does not follow from the evidence".to_owned()
            })?;
            ensure(got.recommended_actions == want.recommended_actions, "recommended_actions", || {
                "do not follow from the evidence".to_owned()
            })?;
            Ok(format!(
                "debrief recomputed from the evidence: risk {}, impact, summary, actions",
                want.risk_level
            ))
        }
    }
}

#[cfg(test)]
mod tests;
