//! The hash chain of a trace: each step's `chain_hash` is blake3 over the step's canonical
//! encoding and the previous step's hash, so any edit, reorder, deletion or truncation against a
//! known head is detectable. The first step chains to a genesis hash bound to the trace id.
//!
//! A read need not re-walk the whole chain: given how far it was verified before (a
//! [`TraceVerification`], the marker), [`plan`] says which steps to load, [`verify_tail`] checks
//! them, and [`advance`] says where the marker goes next. Any doubt falls back to the full walk
//! ([`verify_marked`]), so a broken chain is always reported by the full walk.

use gov_model::{Timestamp, TraceId, TraceStep, TraceVerification};
use serde_json::json;
use time::format_description::well_known::iso8601::{Config, EncodedConfig, Iso8601, TimePrecision};

const TIMESTAMP_FORMAT: EncodedConfig = Config::DEFAULT
    .set_time_precision(TimePrecision::Second { decimal_digits: std::num::NonZeroU8::new(6) })
    .encode();

/// A timestamp in the one spelling the chain uses: UTC, microseconds, `Z`.
pub fn canonical_time(t: Timestamp) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&Iso8601::<TIMESTAMP_FORMAT>).unwrap_or_default()
}

/// The hash a trace's first step chains to.
pub fn genesis(trace: TraceId) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"gov-trace-v1\0");
    h.update(trace.to_string().as_bytes());
    h.finalize().to_hex().to_string()
}

/// The canonical encoding of a step: JSON with sorted keys of every evidence field except the
/// hashes themselves.
fn canonical(step: &TraceStep) -> String {
    json!({
        "trace_id": step.trace_id.to_string(),
        "run_id": step.run_id.to_string(),
        "step_index": step.step_index,
        "step_type": step.step_type,
        "level": step.level,
        "source": step.source,
        "timestamp": canonical_time(step.timestamp),
        "tokens": step.tokens,
        "input_tokens": step.input_tokens,
        "output_tokens": step.output_tokens,
        "cost_cents": step.cost_cents,
        "duration_ms": step.duration_ms,
        "model": step.model,
        "retrieved_documents": step.retrieved_documents,
        "content_hash": step.content_hash,
        "decision": step.decision,
        "decision_policy_id": step.decision_policy_id.map(|p| p.to_string()),
        "decision_reason": step.decision_reason,
    })
    .to_string()
}

/// The chain hash of `step` given its `prev_hash`.
pub fn chain_hash(step: &TraceStep) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"gov-step-v1\0");
    h.update(canonical(step).as_bytes());
    h.update(b"\0");
    h.update(step.prev_hash.as_bytes());
    h.finalize().to_hex().to_string()
}

/// The result of re-walking a trace's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainIntegrity {
    /// True when every link holds and the chain ends at the known head with the known count.
    pub verified: bool,
    pub step_count: i64,
    pub head_hash: String,
    pub expected_head_hash: String,
    /// The first step whose index, link or hash is wrong.
    pub first_broken_step: Option<i64>,
    pub problem: Option<String>,
}

/// Re-walks `steps` (in stored order) from the genesis of `trace` and compares the end with the
/// known head and count.
pub fn verify(trace: TraceId, steps: &[TraceStep], known_head: &str, known_count: i64) -> ChainIntegrity {
    let mut prev = genesis(trace);
    let mut broken = None;
    for (i, step) in steps.iter().enumerate() {
        let expected_index = i as i64 + 1;
        let problem = if step.step_index != expected_index {
            Some(format!(
                "step {} found where step {expected_index} belongs (missing or reordered)",
                step.step_index
            ))
        } else if step.prev_hash != prev {
            Some(format!("step {expected_index} does not link to the step before it"))
        } else if chain_hash(step) != step.chain_hash {
            Some(format!("step {expected_index} was altered: its hash does not match its content"))
        } else {
            None
        };
        if let Some(problem) = problem {
            broken = Some((expected_index, problem));
            break;
        }
        prev = step.chain_hash.clone();
    }
    let count = steps.len() as i64;
    let (first_broken_step, problem) = match broken {
        Some((i, p)) => (Some(i), Some(p)),
        None if count != known_count => (
            Some(count.min(known_count) + 1),
            Some(format!("{count} steps stored, {known_count} recorded (truncated)")),
        ),
        None if prev != known_head => {
            (Some(count), Some("the chain does not end at the recorded head".to_owned()))
        }
        None => (None, None),
    };
    ChainIntegrity {
        verified: problem.is_none(),
        step_count: count,
        head_hash: prev,
        expected_head_hash: known_head.to_owned(),
        first_broken_step,
        problem,
    }
}

/// How much of a chain a read walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// From the marker: the marker's step, the newest [`RECHECKED_TAIL`] steps and the steps
    /// after the marker.
    #[default]
    Incremental,
    /// Every step from the genesis.
    Full,
}

impl Depth {
    pub const ALL: [Depth; 2] = [Depth::Incremental, Depth::Full];

    pub fn as_str(self) -> &'static str {
        match self {
            Depth::Incremental => "incremental",
            Depth::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<Depth> {
        Depth::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The newest steps every incremental read re-hashes, each linked to the one before: a page of
/// steps, holding the head and, for a stopped run, the step that stopped it.
pub const RECHECKED_TAIL: i64 = 50;

/// What a read of a chain must load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Walk<'a> {
    /// Every step, for [`verify_marked`].
    Full,
    /// The steps from index `from` on, for [`verify_tail`]; the marker's step is among them.
    Tail { from: i64, marker: &'a TraceVerification },
}

/// The walk a read at `depth` needs, given the `marker` and the run's recorded step count. A
/// marker the run's count does not reach, or a chain no longer than the tail, is walked whole.
pub fn plan(depth: Depth, marker: Option<&TraceVerification>, known_count: i64) -> Walk<'_> {
    match marker {
        Some(m) if depth == Depth::Incremental && (1..=known_count).contains(&m.verified_through_step) => {
            let from = m.verified_through_step.min(known_count - RECHECKED_TAIL);
            if from >= 1 { Walk::Tail { from, marker: m } } else { Walk::Full }
        }
        _ => Walk::Full,
    }
}

/// The answer of a [`Walk::Tail`] read, when it can give one. `steps` are the stored steps with
/// index `from` or more, in order. `Some` (verified) only when they run gaplessly from `from` to
/// `known_count` and no further, each hashes to its content, each after the first links to the
/// one before, the marker's step still has the marker's hash, and the last is `known_head`.
/// `None` is doubt: walk the whole chain with [`verify_marked`], which names what is wrong.
pub fn verify_tail(
    from: i64,
    marker: &TraceVerification,
    steps: &[TraceStep],
    known_head: &str,
    known_count: i64,
) -> Option<ChainIntegrity> {
    let through = marker.verified_through_step;
    if from < 1 || !(from..=known_count).contains(&through) || steps.len() as i64 != known_count - from + 1 {
        return None;
    }
    let mut prev: Option<&str> = None;
    for (i, step) in steps.iter().enumerate() {
        let holds = step.step_index == from + i as i64
            && prev.is_none_or(|p| step.prev_hash == p)
            && chain_hash(step) == step.chain_hash
            && (step.step_index != through || step.chain_hash == marker.head_hash);
        if !holds {
            return None;
        }
        prev = Some(&step.chain_hash);
    }
    (prev == Some(known_head)).then(|| ChainIntegrity {
        verified: true,
        step_count: known_count,
        head_hash: known_head.to_owned(),
        expected_head_hash: known_head.to_owned(),
        first_broken_step: None,
        problem: None,
    })
}

/// [`verify`], and then the marker: a chain that walks clean from the genesis to the recorded
/// head but no longer holds the marker's step with the marker's hash was rewritten or truncated
/// since, together with the run's recorded head.
pub fn verify_marked(
    trace: TraceId,
    steps: &[TraceStep],
    known_head: &str,
    known_count: i64,
    marker: Option<&TraceVerification>,
) -> ChainIntegrity {
    let walked = verify(trace, steps, known_head, known_count);
    let Some(m) = marker.filter(|m| walked.verified && m.verified_through_step >= 1) else {
        return walked;
    };
    let through = m.verified_through_step;
    let at = canonical_time(m.verified_at);
    let problem = match steps.get(through as usize - 1) {
        None => format!(
            "the chain was verified through step {through} at {at} and now ends at step {}",
            walked.step_count
        ),
        Some(s) if s.chain_hash != m.head_hash => {
            format!(
                "step {through} no longer has the hash it was verified with at {at}: the chain up to it was rewritten"
            )
        }
        Some(_) => return walked,
    };
    ChainIntegrity {
        verified: false,
        first_broken_step: Some(through.min(walked.step_count + 1)),
        problem: Some(problem),
        ..walked
    }
}

/// The integrity of a read at `depth`: [`plan`], then [`verify_tail`] on the tail it loads, or on
/// doubt [`verify_marked`] on every step. `load(Some(from))` returns the stored steps with index
/// `from` or more, `load(None)` every stored step, each in order.
pub fn verify_read<E>(
    trace: TraceId,
    depth: Depth,
    marker: Option<&TraceVerification>,
    known_head: &str,
    known_count: i64,
    mut load: impl FnMut(Option<i64>) -> Result<Vec<TraceStep>, E>,
) -> Result<ChainIntegrity, E> {
    if let Walk::Tail { from, marker } = plan(depth, marker, known_count)
        && let Some(verified) = verify_tail(from, marker, &load(Some(from))?, known_head, known_count)
    {
        return Ok(verified);
    }
    Ok(verify_marked(trace, &load(None)?, known_head, known_count, marker))
}

/// The marker a read leaves at `at`: through the head of a verified chain, when that is beyond
/// `marker`. A broken chain, or a marker already there, leaves nothing to write. (The store's
/// conditional upsert applies the same rule, so concurrent readers only move it forward.)
pub fn advance(
    marker: Option<&TraceVerification>,
    integrity: &ChainIntegrity,
    at: Timestamp,
) -> Option<TraceVerification> {
    let through = marker.map_or(0, |m| m.verified_through_step);
    (integrity.verified && integrity.step_count > through).then(|| TraceVerification {
        verified_through_step: integrity.step_count,
        head_hash: integrity.head_hash.clone(),
        verified_at: at,
    })
}

#[cfg(test)]
mod tests {
    use gov_model::{RunId, StepId, TenantId};
    use time::macros::datetime;

    use super::*;

    fn chain(trace: TraceId, n: i64) -> Vec<TraceStep> {
        let run = RunId::new();
        let mut prev = genesis(trace);
        (1..=n)
            .map(|i| {
                let mut step = TraceStep {
                    step_id: StepId::new(),
                    trace_id: trace,
                    run_id: run,
                    tenant_id: TenantId::new(),
                    step_index: i,
                    step_type: "llm_call".into(),
                    level: gov_model::StepLevel::Info,
                    source: "agent".into(),
                    timestamp: datetime!(2026-01-20 10:00 UTC) + time::Duration::seconds(i),
                    tokens: 100 * i,
                    input_tokens: 40 * i,
                    output_tokens: 60 * i,
                    cost_cents: 1.5,
                    duration_ms: 20,
                    model: Some("claude-sonnet-4".into()),
                    retrieved_documents: 0,
                    content_hash: None,
                    decision: gov_model::Outcome::Allow,
                    decision_policy_id: None,
                    decision_reason: None,
                    prev_hash: prev.clone(),
                    chain_hash: String::new(),
                };
                step.chain_hash = chain_hash(&step);
                prev = step.chain_hash.clone();
                step
            })
            .collect()
    }

    fn check(steps: &[TraceStep], head: &str, count: i64, expected_break: Option<i64>) {
        let trace = steps.first().map_or_else(TraceId::new, |s| s.trace_id);
        let result = verify(trace, steps, head, count);
        assert_eq!(result.first_broken_step, expected_break, "{result:?}");
        assert_eq!(result.verified, expected_break.is_none());
    }

    #[test]
    fn intact_chains_verify() {
        let steps = chain(TraceId::new(), 4);
        check(&steps, &steps[3].chain_hash, 4, None);
    }

    #[test]
    fn every_kind_of_tampering_is_detected() {
        let steps = chain(TraceId::new(), 4);
        let head = steps[3].chain_hash.clone();

        let mut edited = steps.clone();
        edited[1].tokens += 1;
        check(&edited, &head, 4, Some(2));

        let mut reordered = steps.clone();
        reordered.swap(1, 2);
        check(&reordered, &head, 4, Some(2));

        let mut deleted = steps.clone();
        deleted.remove(2);
        check(&deleted, &head, 4, Some(3));

        let truncated = steps[..3].to_vec();
        check(&truncated, &head, 4, Some(4));

        // Re-hashing an edited step does not help: the next link breaks.
        let mut rehashed = steps.clone();
        rehashed[1].cost_cents = 0.0;
        rehashed[1].chain_hash = chain_hash(&rehashed[1]);
        check(&rehashed, &head, 4, Some(3));
    }

    const AT: Timestamp = datetime!(2026-01-21 08:00 UTC);

    fn marker(steps: &[TraceStep], through: i64) -> TraceVerification {
        let head_hash =
            steps.get(through as usize - 1).map_or_else(|| "beyond".to_owned(), |s| s.chain_hash.clone());
        TraceVerification { verified_through_step: through, head_hash, verified_at: AT }
    }

    /// `verify_read` over `steps` as stored, with the run's `head` and `count`: its answer (the
    /// first broken step, `None` when verified) and the loads it asked for.
    fn read(
        steps: &[TraceStep],
        head: &str,
        count: i64,
        marker: Option<&TraceVerification>,
        depth: Depth,
    ) -> (Option<i64>, Vec<Option<i64>>) {
        let trace = steps[0].trace_id;
        let mut loads = Vec::new();
        let result = verify_read(trace, depth, marker, head, count, |from| {
            loads.push(from);
            Ok::<_, ()>(steps.iter().filter(|s| from.is_none_or(|f| s.step_index >= f)).cloned().collect())
        })
        .unwrap();
        assert_eq!(result.verified, result.first_broken_step.is_none(), "{result:?}");
        if result.verified {
            assert_eq!((result.step_count, result.head_hash.as_str()), (count, head));
        }
        (result.first_broken_step, loads)
    }

    #[test]
    fn a_read_walks_what_the_marker_leaves_unverified() {
        use Depth::{Full, Incremental};
        let steps = chain(TraceId::new(), 120);
        let head = steps[119].chain_hash.clone();
        let edited = |index: usize| {
            let mut s = steps.clone();
            s[index - 1].tokens += 1;
            s
        };
        let without = |index: usize| {
            let mut s = steps.clone();
            s.remove(index - 1);
            s
        };
        let mut appended = steps.clone();
        let mut extra = chain(steps[0].trace_id, 121).pop().unwrap();
        extra.prev_hash = head.clone();
        extra.chain_hash = chain_hash(&extra);
        appended.push(extra);
        let rewritten = TraceVerification { head_hash: "an earlier head".into(), ..marker(&steps, 120) };
        let (edited_100, edited_70, edited_69, edited_30) = (edited(100), edited(70), edited(69), edited(30));
        let (without_3, without_120) = (without(3), without(120));
        let short = chain(TraceId::new(), 3);
        let mut short_edited = short.clone();
        short_edited[1].tokens = 1;

        let full = vec![None];
        // (case, stored steps, recorded head, recorded count, marker, depth, first broken, loads)
        type Case<'a> = (
            &'a str,
            &'a [TraceStep],
            &'a str,
            i64,
            Option<TraceVerification>,
            Depth,
            Option<i64>,
            Vec<Option<i64>>,
        );
        #[rustfmt::skip]
        let table: Vec<Case<'_>> = vec![
            ("no marker: the whole chain", &steps[..], &head, 120, None, Incremental, None, full.clone()),
            ("at the head: the tail and its anchor", &steps[..], &head, 120, Some(marker(&steps, 120)), Incremental, None, vec![Some(70)]),
            ("behind, within the tail", &steps[..], &head, 120, Some(marker(&steps, 100)), Incremental, None, vec![Some(70)]),
            ("behind the tail: from the marker", &steps[..], &head, 120, Some(marker(&steps, 30)), Incremental, None, vec![Some(30)]),
            ("full depth ignores the marker", &steps[..], &head, 120, Some(marker(&steps, 120)), Full, None, full.clone()),
            ("an edit in the tail: the full walk names it", &edited_100[..], &head, 120, Some(marker(&steps, 120)), Incremental, Some(100), vec![Some(70), None]),
            ("an edit of the anchor", &edited_70[..], &head, 120, Some(marker(&steps, 120)), Incremental, Some(70), vec![Some(70), None]),
            ("an edit before the tail is not read", &edited_69[..], &head, 120, Some(marker(&steps, 120)), Incremental, None, vec![Some(70)]),
            ("... but the full walk finds it", &edited_69[..], &head, 120, Some(marker(&steps, 120)), Full, Some(69), full.clone()),
            ("an edit of the marker's step, before the tail", &edited_30[..], &head, 120, Some(marker(&steps, 30)), Incremental, Some(30), vec![Some(30), None]),
            ("a step deleted before the tail is not read", &without_3[..], &head, 120, Some(marker(&steps, 120)), Incremental, None, vec![Some(70)]),
            ("... but the full walk finds it", &without_3[..], &head, 120, Some(marker(&steps, 120)), Full, Some(3), full.clone()),
            ("the marker's step deleted", &without_120[..], &head, 120, Some(marker(&steps, 120)), Incremental, Some(120), vec![Some(70), None]),
            ("a step appended past the head", &appended[..], &head, 120, Some(marker(&steps, 120)), Incremental, Some(121), vec![Some(70), None]),
            ("rewritten under the marker", &steps[..], &head, 120, Some(rewritten.clone()), Incremental, Some(120), vec![Some(70), None]),
            ("... at full depth too", &steps[..], &head, 120, Some(rewritten), Full, Some(120), full.clone()),
            ("truncated below the marker, run rolled back", &steps[..100], &steps[99].chain_hash, 100, Some(marker(&steps, 120)), Incremental, Some(101), full.clone()),
            ("a short chain is walked whole", &short_edited[..], &short[2].chain_hash, 3, Some(marker(&short, 3)), Incremental, Some(2), full.clone()),
        ];
        for (case, stored, head, count, marker, depth, broken, loads) in table {
            assert_eq!(read(stored, head, count, marker.as_ref(), depth), (broken, loads), "{case}");
        }
    }

    #[test]
    fn exactly_the_tail_and_its_anchor_are_rechecked_at_the_head() {
        let steps = chain(TraceId::new(), 120);
        let (head, at_head) = (steps[119].chain_hash.clone(), marker(&steps, 120));
        for index in 1..=120_i64 {
            let mut edited = steps.clone();
            edited[index as usize - 1].cost_cents += 1.0;
            let (broken, _) = read(&edited, &head, 120, Some(&at_head), Depth::Incremental);
            let expected = (index >= 120 - RECHECKED_TAIL).then_some(index);
            assert_eq!(broken, expected, "step {index}");
        }
    }

    #[test]
    fn the_marker_only_moves_forward_over_a_verified_chain() {
        let steps = chain(TraceId::new(), 4);
        let head = steps[3].chain_hash.clone();
        let verified = verify(steps[0].trace_id, &steps, &head, 4);
        let broken = verify(steps[0].trace_id, &steps[..3], &head, 4);
        let moved = |through: i64| {
            Some(TraceVerification {
                verified_through_step: through,
                head_hash: head.clone(),
                verified_at: AT,
            })
        };
        let table = [
            (None, &verified, moved(4)),
            (Some(marker(&steps, 2)), &verified, moved(4)),
            (Some(marker(&steps, 4)), &verified, None),
            (Some(marker(&steps, 9)), &verified, None),
            (None, &broken, None),
            (Some(marker(&steps, 2)), &broken, None),
        ];
        for (before, integrity, expected) in table {
            assert_eq!(advance(before.as_ref(), integrity, AT), expected, "{before:?}");
        }
    }

    #[test]
    fn depths_have_one_spelling() {
        for depth in Depth::ALL {
            assert_eq!(Depth::parse(depth.as_str()), Some(depth));
        }
        assert_eq!(Depth::parse("Full"), None);
    }

    #[test]
    fn timestamps_have_one_spelling() {
        assert_eq!(canonical_time(datetime!(2026-01-20 10:04:00 UTC)), "2026-01-20T10:04:00.000000Z");
    }
}
