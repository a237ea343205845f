//! Compiled policy snapshots, kept by content hash. Snapshots are immutable, so a cached entry can
//! never be stale; every use still re-hashes the stored text before trusting the entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gov_model::{PolicySnapshot, Run};
use gov_policy::CompiledSnapshot;

/// Entries kept before the cache starts over (a bound, not a tuning knob).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct SnapshotCache {
    entries: Mutex<HashMap<String, Arc<CompiledSnapshot>>>,
}

/// Why a run's snapshot cannot be trusted.
#[derive(Debug, Clone)]
pub(crate) struct IntegrityFailure(pub String);

impl SnapshotCache {
    /// The compiled snapshot of `run`, after checking that the stored text hashes to the hash
    /// stored with it and to the hash the run recorded at start (fail closed otherwise).
    pub fn verified(
        &self,
        run: &Run,
        snapshot: &PolicySnapshot,
    ) -> Result<Arc<CompiledSnapshot>, IntegrityFailure> {
        let actual = gov_policy::snapshot_hash(&snapshot.policies_json, &snapshot.thresholds_json);
        if actual != snapshot.content_hash || actual != run.policy_snapshot_hash {
            return Err(IntegrityFailure(format!(
                "policy snapshot {} failed verification: content hashes to {actual}, stored hash {}, run recorded {}",
                snapshot.snapshot_id, snapshot.content_hash, run.policy_snapshot_hash
            )));
        }
        if let Some(hit) = self.lock().get(&actual) {
            return Ok(hit.clone());
        }
        let compiled = CompiledSnapshot::load(&snapshot.policies_json, &snapshot.thresholds_json, &actual)
            .map_err(|e| {
                IntegrityFailure(format!("policy snapshot {} cannot be loaded: {e}", snapshot.snapshot_id))
            })?;
        let compiled = Arc::new(compiled);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(actual, compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CompiledSnapshot>>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
