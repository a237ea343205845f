//! The per-step prevention path, in stages: validate the reported step, gather what the judge
//! needs about its run, judge it (the engine's pure `gov_prevention::judge`), then record it in
//! the hash chain and enforce the verdict, all in one transaction. A pre-check runs the first
//! three stages on a read connection and writes nothing.

mod enforce;
mod gather;
mod validate;

use gov_model::{IncidentId, Principal, Run, RunId, RunStatus, TraceStep};
use gov_prevention::{StepSignals, Verdict, judge};
use gov_store::runs;

use crate::error::OrNotFound;
use crate::runs::may_drive;
use crate::{Caller, Error, Gov, Result};

use enforce::StepTx;
pub(crate) use enforce::signal;
use gather::Mode;
pub use validate::StepInput;

/// A recorded step and what it did to its run.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub step: TraceStep,
    pub verdict: Verdict,
    pub run: Run,
    pub incident_id: Option<IncidentId>,
}

fn refuse_if_closed(run: &Run) -> Result<()> {
    match run.status {
        RunStatus::Queued | RunStatus::Running => Ok(()),
        RunStatus::Paused => Err(Error::RunPaused),
        status => Err(Error::RunClosed { status }),
    }
}

impl Gov {
    /// Records a step and answers ALLOW, WARN or BLOCK. A blocking breach stops (or pauses) the
    /// run in the same transaction; later steps of a stopped run are refused with 409.
    pub fn record_step(
        &self,
        caller: &Caller,
        key: &Principal,
        run_id: RunId,
        input: StepInput,
    ) -> Result<StepOutcome> {
        let step = input.validate()?;
        let now = self.clock.now();
        let (caller, key) = (caller.clone(), key.clone());
        let gov = self.clone();
        self.db.write(move |c| {
            let locked = runs::get_for_update(c, caller.tenant_id, run_id).or_not_found("run")?;
            may_drive(&locked.run, &key)?;
            let before = locked.run;
            refuse_if_closed(&before)?;
            let draft = step.draft(&before, now);
            let reading = gov.gather(c, &before, locked.override_count, now, Mode::Record)?;
            let verdict = judge(&reading.context(&before, now), &StepSignals::of(&draft));
            let mut run = before.clone();
            let mut tx = StepTx { c, caller: &caller, run: &mut run, index: draft.step_index, now };
            let step = tx.record(draft, &verdict)?;
            let incident_id = tx.enforce(&verdict)?;
            if run.only_progressed_from(&before) {
                runs::save_progress(c, &run)?;
            } else {
                runs::save(c, &run, locked.override_count)?;
            }
            Ok(StepOutcome { step, verdict, run, incident_id })
        })
    }

    /// What a proposed step would get, without recording anything.
    pub fn check_step(
        &self,
        caller: &Caller,
        key: &Principal,
        run_id: RunId,
        input: StepInput,
    ) -> Result<(Verdict, Run)> {
        let step = input.validate()?;
        let now = self.clock.now();
        self.db.read(|c| {
            let locked = runs::get_with_overrides(c, caller.tenant_id, run_id).or_not_found("run")?;
            may_drive(&locked.run, key)?;
            refuse_if_closed(&locked.run)?;
            let draft = step.draft(&locked.run, now);
            let reading = self.gather(c, &locked.run, locked.override_count, now, Mode::Peek)?;
            let verdict = judge(&reading.context(&locked.run, now), &StepSignals::of(&draft));
            Ok((verdict, locked.run))
        })
    }
}
