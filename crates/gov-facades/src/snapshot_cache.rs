//! Compiled policy snapshots, and which stored revision of a snapshot last verified. A step reads
//! its snapshot's stamp (stored hash and revision, a few bytes); only a revision not seen before
//! makes it read the text and re-hash it. What a revision does and does not reveal is in
//! `gov_store::snapshots::Revision`; a fresh process knows no revision, so it verifies once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gov_model::{PolicySnapshot, Run, SnapshotId};
use gov_policy::CompiledSnapshot;
use gov_store::snapshots::{Revision, Stamp};

/// Entries kept in each map before it starts over (a bound, not a tuning knob).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct SnapshotCache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// By content hash: compiled once, as the content is immutable.
    compiled: HashMap<String, Arc<CompiledSnapshot>>,
    /// The revisions whose text hashed to what was stored and recorded.
    verified: HashMap<(SnapshotId, Revision), Arc<CompiledSnapshot>>,
}

/// Why a run's snapshot cannot be trusted.
#[derive(Debug, Clone)]
pub(crate) struct IntegrityFailure(pub String);

impl SnapshotCache {
    /// The compiled snapshot of `run`, if `stamp` names a revision of its snapshot that verified
    /// here and still carries the hash it verified with, the hash the run recorded. `None`: read
    /// the text and [`SnapshotCache::verified`] it.
    pub fn known(&self, run: &Run, stamp: &Stamp) -> Option<Arc<CompiledSnapshot>> {
        let entries = self.lock();
        let hit = entries.verified.get(&(run.policy_snapshot_id, stamp.revision))?;
        (hit.content_hash() == stamp.content_hash && hit.content_hash() == run.policy_snapshot_hash)
            .then(|| hit.clone())
    }

    /// The compiled snapshot of `run`, after checking that the stored text hashes to the hash
    /// stored with it and to the hash the run recorded at start (fail closed otherwise). With the
    /// `revision` the text was read at, a step at that revision trusts it without re-reading.
    pub fn verified(
        &self,
        run: &Run,
        snapshot: &PolicySnapshot,
        revision: Option<Revision>,
    ) -> Result<Arc<CompiledSnapshot>, IntegrityFailure> {
        let actual = gov_policy::snapshot_hash(&snapshot.policies_json, &snapshot.thresholds_json);
        if actual != snapshot.content_hash || actual != run.policy_snapshot_hash {
            return Err(IntegrityFailure(format!(
                "policy snapshot {} failed verification: content hashes to {actual}, stored hash {}, run recorded {}",
                snapshot.snapshot_id, snapshot.content_hash, run.policy_snapshot_hash
            )));
        }
        let cached = self.lock().compiled.get(&actual).cloned();
        let compiled = match cached {
            Some(hit) => hit,
            None => {
                let compiled =
                    CompiledSnapshot::load(&snapshot.policies_json, &snapshot.thresholds_json, &actual)
                        .map_err(|e| {
                            IntegrityFailure(format!(
                                "policy snapshot {} cannot be loaded: {e}",
                                snapshot.snapshot_id
                            ))
                        })?;
                let compiled = Arc::new(compiled);
                insert(&mut self.lock().compiled, actual, compiled.clone());
                compiled
            }
        };
        if let Some(revision) = revision {
            insert(&mut self.lock().verified, (snapshot.snapshot_id, revision), compiled.clone());
        }
        Ok(compiled)
    }

    /// Forgets every revision of `snapshot` that verified here: its next use re-reads and
    /// re-hashes the text.
    pub fn forget(&self, snapshot: SnapshotId) {
        self.lock().verified.retain(|(id, _), _| *id != snapshot);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps inconsistent (single inserts).
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn insert<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Arc<CompiledSnapshot>>,
    key: K,
    value: Arc<CompiledSnapshot>,
) {
    if map.len() >= CAPACITY {
        map.clear();
    }
    map.insert(key, value);
}
