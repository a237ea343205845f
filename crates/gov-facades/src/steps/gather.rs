//! The second stage of the step path: what the judge needs about the run, read in the step's
//! transaction. In the order the judge checks it: the kill switch, a kill of the run's agent,
//! the run's snapshot (verified; its text is re-read and re-hashed only at a stored revision not
//! verified before), then the tenant's enforcement mode, the rate windows and the run's
//! overrides. A gate that stops the step ends the reading.
//!
//! Reading writes one thing: when recording, the step is counted in its rate windows, because a
//! rate limit counts attempts (refused ones too) and the count must be the database's own, exact
//! across replicas. A pre-check only peeks at the counts.

use std::sync::Arc;

use gov_model::{AgentKill, EnforcementMode, GoLiveState, Run, Timestamp};
use gov_policy::CompiledSnapshot;
use gov_prevention::{Gate, PolicyOverride, RateCount, RunState, StepContext};
use gov_store::{Conn, evidence, levers, policies, runs, snapshots};

use crate::snapshot_cache::IntegrityFailure;
use crate::{Gov, Result};

/// Whether rate counters are advanced (recording) or only read (pre-check).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Record,
    Peek,
}

/// What was read for the judge, owned (the judge borrows it as a [`StepContext`]).
pub(super) enum Reading {
    KillSwitch(GoLiveState),
    AgentKilled(AgentKill),
    SnapshotFailed(String),
    Open {
        snapshot: Arc<CompiledSnapshot>,
        enforcement: EnforcementMode,
        rates: Vec<RateCount>,
        overrides: Vec<PolicyOverride>,
    },
}

impl Reading {
    /// The judge's view of this reading for `run` at `now`.
    pub(super) fn context<'a>(&'a self, run: &'a Run, now: Timestamp) -> StepContext<'a> {
        let (gate, rates, overrides, enforcement) = match self {
            Reading::KillSwitch(levers) => (
                Gate::KillSwitch { by: &levers.changed_by, reason: &levers.reason },
                &[][..],
                &[][..],
                EnforcementMode::Enforce,
            ),
            Reading::AgentKilled(kill) => {
                (Gate::AgentKilled(kill), &[][..], &[][..], EnforcementMode::Enforce)
            }
            Reading::SnapshotFailed(reason) => {
                (Gate::SnapshotFailed(reason), &[][..], &[][..], EnforcementMode::Enforce)
            }
            Reading::Open { snapshot, enforcement, rates, overrides } => {
                (Gate::Open(snapshot), &rates[..], &overrides[..], *enforcement)
            }
        };
        StepContext { gate, run: RunState::of(run, now), rates, overrides, enforcement }
    }
}

impl Gov {
    pub(super) fn gather(
        &self,
        c: &mut Conn<'_>,
        run: &Run,
        override_count: i32,
        now: Timestamp,
        mode: Mode,
    ) -> Result<Reading> {
        let go_live = levers::go_live(c, run.tenant_id)?;
        if go_live.kill_switch_engaged {
            return Ok(Reading::KillSwitch(go_live));
        }
        if let Some(kill) = runs::agent_kill(c, run.tenant_id, &run.agent_id)? {
            return Ok(Reading::AgentKilled(kill));
        }
        let snapshot = match self.snapshot_of(c, run)? {
            Ok(snapshot) => snapshot,
            Err(IntegrityFailure(reason)) => {
                tracing::error!(run_id = %run.run_id, %reason, "policy snapshot failed verification");
                return Ok(Reading::SnapshotFailed(reason));
            }
        };
        let enforcement = policies::controls(c, run.tenant_id)?.enforcement_mode;
        let rates = rate_counts(c, run, &snapshot, now, mode)?;
        let overrides = if override_count > 0 {
            evidence::overrides_of(c, run.tenant_id, run.run_id)?.iter().map(PolicyOverride::from).collect()
        } else {
            Vec::new()
        };
        Ok(Reading::Open { snapshot, enforcement, rates, overrides })
    }

    /// The run's snapshot, verified: from the cache when its stored revision verified before,
    /// else read whole and re-hashed.
    fn snapshot_of(
        &self,
        c: &mut Conn<'_>,
        run: &Run,
    ) -> Result<std::result::Result<Arc<CompiledSnapshot>, IntegrityFailure>> {
        let stamp = snapshots::stamp(c, run.tenant_id, run.policy_snapshot_id)?;
        if let Some(known) = self.snapshots.known(run, &stamp) {
            return Ok(Ok(known));
        }
        let (stored, revision) = snapshots::get_revised(c, run.tenant_id, run.policy_snapshot_id)?;
        Ok(self.snapshots.verified(run, &stored, Some(revision)))
    }
}

/// The per-window counts of the snapshot's rate checks, advanced by this step when recording.
fn rate_counts(
    c: &mut Conn<'_>,
    run: &Run,
    compiled: &CompiledSnapshot,
    now: Timestamp,
    mode: Mode,
) -> Result<Vec<RateCount>> {
    let mut counts = Vec::new();
    let now_secs = now.unix_timestamp();
    for (check_index, check) in compiled.rate_checks() {
        let gov_policy::CheckKind::Numeric { window_seconds, limit_scope, .. } = &check.kind else {
            continue;
        };
        let window = window_seconds.unwrap_or(60).max(1);
        let subject = match limit_scope {
            gov_model::LimitScope::ApiKey => {
                format!("api_key:{}", run.api_key_id.map(|k| k.to_string()).unwrap_or_default())
            }
            _ => format!("agent:{}", run.agent_id),
        };
        let key = format!("{}|{subject}", check.check_id);
        let window_start = now_secs - now_secs.rem_euclid(window);
        let count = match mode {
            Mode::Record => {
                let n = evidence::increment_rate(c, run.tenant_id, &key, window_start)?;
                if n == 1 {
                    evidence::prune_rate(c, run.tenant_id, &key, window_start)?;
                }
                n
            }
            Mode::Peek => evidence::peek_rate(c, run.tenant_id, &key, window_start)? + 1,
        };
        counts.push(RateCount { check_index, count, retry_after_secs: window_start + window - now_secs });
    }
    Ok(counts)
}
