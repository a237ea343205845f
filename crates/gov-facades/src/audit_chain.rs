//! The tamper evidence of the audit trail. Each row carries the blake3 hash of its content
//! (`row_hash`), written with the row and chained to nothing, so concurrent writers never wait on
//! one another. Checkpoints seal a tenant's rows after the fact: checkpoint n covers the rows with
//! `from_seq < seq <= to_seq` (their count and the digest of their `(seq, row_hash)` in order) and
//! links to checkpoint n - 1 by hash, from a genesis bound to the tenant. [`verify`] re-walks rows
//! and checkpoints together: an edited row, a sealed row deleted, added or renumbered, or a
//! checkpoint edited or removed from the middle is reported.
//!
//! `seq` is not part of a row's hash (the database may assign it after the hash is computed); the
//! checkpoint digest binds each hash to its `seq`.

use gov_model::{AuditCheckpoint, AuditRecord, TenantId, Timestamp};
use serde_json::json;

use gov_evidence::chain::canonical_time;

/// At most this many problems are listed (all are counted).
pub const MAX_PROBLEMS: usize = 100;

/// What a row's hash covers: its columns as stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowContent<'a> {
    pub tenant_id: TenantId,
    pub log_id: &'a str,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub timestamp: Timestamp,
    pub details: &'a str,
}

impl<'a> RowContent<'a> {
    pub(crate) fn of(r: &'a AuditRecord) -> RowContent<'a> {
        RowContent {
            tenant_id: r.tenant_id,
            log_id: &r.log_id,
            actor_id: &r.actor_id,
            action: &r.action,
            resource_type: &r.resource_type,
            resource_id: &r.resource_id,
            timestamp: r.timestamp,
            details: &r.details,
        }
    }
}

/// blake3 over the canonical encoding of a row: a JSON array of its columns in a fixed order
/// (times as UTC microseconds, `details` as the stored text).
pub(crate) fn row_hash(row: RowContent<'_>) -> String {
    let canonical = json!([
        "gov-audit-row-v1",
        row.tenant_id.to_string(),
        row.log_id,
        row.actor_id,
        row.action,
        row.resource_type,
        row.resource_id,
        canonical_time(row.timestamp),
        row.details,
    ]);
    blake3::hash(canonical.to_string().as_bytes()).to_hex().to_string()
}

/// The hash a row enters its checkpoint with: the stored one, or for a row written before rows
/// were hashed, the hash of its content when it is sealed.
pub(crate) fn sealed_hash(row: &AuditRecord) -> String {
    row.row_hash.clone().unwrap_or_else(|| row_hash(RowContent::of(row)))
}

/// The hash checkpoint 1 of a tenant links to.
pub(crate) fn genesis(tenant: TenantId) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"gov-audit-genesis-v1\0");
    h.update(tenant.to_string().as_bytes());
    h.finalize().to_hex().to_string()
}

/// blake3 over every field of a checkpoint but its own hash.
pub(crate) fn checkpoint_hash(c: &AuditCheckpoint) -> String {
    let canonical = json!([
        "gov-audit-checkpoint-v1",
        c.tenant_id.to_string(),
        c.n,
        c.from_seq,
        c.to_seq,
        c.row_count,
        c.rows_digest,
        c.prev_hash,
        canonical_time(c.created_at),
    ]);
    blake3::hash(canonical.to_string().as_bytes()).to_hex().to_string()
}

/// The running digest of the rows of one checkpoint, fed in `seq` order.
pub(crate) struct RowsDigest {
    hasher: blake3::Hasher,
    count: i64,
}

impl RowsDigest {
    pub(crate) fn new() -> RowsDigest {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"gov-audit-rows-v1\0");
        RowsDigest { hasher, count: 0 }
    }

    pub(crate) fn push(&mut self, seq: i64, row_hash: &str) {
        self.hasher.update(format!("{seq}:{row_hash}\n").as_bytes());
        self.count += 1;
    }

    pub(crate) fn count(&self) -> i64 {
        self.count
    }

    fn finish(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }
}

/// The checkpoint that follows `head` (or the first one) and seals the rows fed to `rows`, which
/// are the tenant's rows with `head.to_seq < seq <= to_seq`.
pub(crate) fn next_checkpoint(
    tenant: TenantId,
    head: Option<&AuditCheckpoint>,
    to_seq: i64,
    rows: &RowsDigest,
    now: Timestamp,
) -> AuditCheckpoint {
    let mut checkpoint = AuditCheckpoint {
        tenant_id: tenant,
        n: head.map_or(1, |h| h.n + 1),
        from_seq: head.map_or(0, |h| h.to_seq),
        to_seq,
        row_count: rows.count(),
        rows_digest: rows.finish(),
        prev_hash: head.map_or_else(|| genesis(tenant), |h| h.checkpoint_hash.clone()),
        checkpoint_hash: String::new(),
        created_at: now,
    };
    checkpoint.checkpoint_hash = checkpoint_hash(&checkpoint);
    checkpoint
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A row's content no longer matches the hash written with it.
    RowEdited,
    /// A row without a hash after the tenant's first checkpoint (only rows written before rows
    /// were hashed may lack one).
    RowUnhashed,
    /// A checkpoint sealed more rows than its range now holds (deleted or renumbered away).
    RowsMissing,
    /// A checkpoint's range holds more rows than it sealed, or a row lies outside every range.
    RowsAdded,
    /// A checkpoint's range holds as many rows as it sealed, but not the same ones.
    RowsChanged,
    /// A checkpoint does not hash to its stored hash, or does not follow the one before it.
    CheckpointBroken,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::RowEdited => "row_edited",
            ProblemKind::RowUnhashed => "row_unhashed",
            ProblemKind::RowsMissing => "rows_missing",
            ProblemKind::RowsAdded => "rows_added",
            ProblemKind::RowsChanged => "rows_changed",
            ProblemKind::CheckpointBroken => "checkpoint_broken",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditProblem {
    pub kind: ProblemKind,
    /// The row concerned, when it is one row.
    pub seq: Option<i64>,
    /// The checkpoint concerned (its `n`), when it is one checkpoint.
    pub checkpoint: Option<i64>,
    pub detail: String,
}

/// The result of re-walking a tenant's audit trail.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditIntegrity {
    /// No problem was found.
    pub valid: bool,
    pub rows: i64,
    /// Rows inside a checkpoint's range.
    pub sealed_rows: i64,
    /// Rows after the newest checkpoint (not sealed yet).
    pub unsealed_rows: i64,
    /// Rows written before rows were hashed (hashed when first sealed).
    pub legacy_rows: i64,
    pub checkpoints: i64,
    /// The newest checkpoint: what an exported copy of the trail is anchored to.
    pub head: Option<AuditCheckpoint>,
    /// The first [`MAX_PROBLEMS`] problems, in trail order.
    pub problems: Vec<AuditProblem>,
    pub problem_count: i64,
}

/// Re-walks a tenant's `rows` (in `seq` order) against its `checkpoints` (in `n` order). Both
/// come from iterators so the caller can stream them in pages; the first error stops the walk.
pub fn verify<E>(
    tenant: TenantId,
    checkpoints: impl IntoIterator<Item = Result<AuditCheckpoint, E>>,
    rows: impl IntoIterator<Item = Result<AuditRecord, E>>,
) -> Result<AuditIntegrity, E> {
    let mut checkpoints = checkpoints.into_iter();
    let mut walk = Walk::new(tenant);
    let mut next = checkpoints.next().transpose()?;
    for row in rows {
        let row = row?;
        // Close the checkpoints that end before this row; open the one that may hold it.
        loop {
            if let Some(open) = &walk.open {
                if row.seq <= open.checkpoint.to_seq {
                    break;
                }
                walk.close();
            }
            match next.take() {
                Some(checkpoint) => {
                    walk.open(checkpoint);
                    next = checkpoints.next().transpose()?;
                }
                None => break,
            }
        }
        walk.row(&row);
    }
    walk.close();
    while let Some(checkpoint) = next.take() {
        walk.open(checkpoint);
        walk.close();
        next = checkpoints.next().transpose()?;
    }
    Ok(walk.finish())
}

struct Open {
    checkpoint: AuditCheckpoint,
    digest: RowsDigest,
}

struct Walk {
    expected_n: i64,
    prev_hash: String,
    prev_to_seq: i64,
    /// The first checkpoint's `to_seq`: rows without a hash are accepted up to it.
    legacy_until: Option<i64>,
    open: Option<Open>,
    report: AuditIntegrity,
}

impl Walk {
    fn new(tenant: TenantId) -> Walk {
        Walk {
            expected_n: 1,
            prev_hash: genesis(tenant),
            prev_to_seq: 0,
            legacy_until: None,
            open: None,
            report: AuditIntegrity::default(),
        }
    }

    fn problem(&mut self, kind: ProblemKind, seq: Option<i64>, checkpoint: Option<i64>, detail: String) {
        self.report.problem_count += 1;
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(AuditProblem { kind, seq, checkpoint, detail });
        }
    }

    fn open(&mut self, c: AuditCheckpoint) {
        let n = Some(c.n);
        let broken = ProblemKind::CheckpointBroken;
        if c.n != self.expected_n {
            let detail = format!(
                "checkpoint {} found where checkpoint {} belongs (missing or reordered)",
                c.n, self.expected_n
            );
            self.problem(broken, None, n, detail);
        } else if c.prev_hash != self.prev_hash {
            self.problem(
                broken,
                None,
                n,
                format!("checkpoint {} does not link to the checkpoint before it", c.n),
            );
        }
        if c.from_seq != self.prev_to_seq || c.to_seq <= c.from_seq {
            let detail = format!(
                "checkpoint {} covers ({}, {}], but the checkpoint before it ends at {}",
                c.n, c.from_seq, c.to_seq, self.prev_to_seq
            );
            self.problem(broken, None, n, detail);
        }
        if checkpoint_hash(&c) != c.checkpoint_hash {
            self.problem(
                broken,
                None,
                n,
                format!("checkpoint {} was altered: its hash does not match its content", c.n),
            );
        }
        self.legacy_until.get_or_insert(c.to_seq);
        self.report.checkpoints += 1;
        // Go on from what is stored, so one break is reported once.
        self.expected_n = c.n + 1;
        self.prev_hash = c.checkpoint_hash.clone();
        self.prev_to_seq = c.to_seq;
        self.open = Some(Open { checkpoint: c, digest: RowsDigest::new() });
    }

    fn close(&mut self) {
        let Some(Open { checkpoint: c, digest }) = self.open.take() else { return };
        let (found, n) = (digest.count(), Some(c.n));
        let range = format!("({}, {}]", c.from_seq, c.to_seq);
        if found < c.row_count {
            let detail = format!("checkpoint {} sealed {} rows in {range}; {found} remain", c.n, c.row_count);
            self.problem(ProblemKind::RowsMissing, None, n, detail);
        } else if found > c.row_count {
            let detail =
                format!("checkpoint {} sealed {} rows in {range}; {found} are there", c.n, c.row_count);
            self.problem(ProblemKind::RowsAdded, None, n, detail);
        } else if digest.finish() != c.rows_digest {
            let detail = format!("the rows checkpoint {} sealed in {range} were rewritten or replaced", c.n);
            self.problem(ProblemKind::RowsChanged, None, n, detail);
        }
        self.report.head = Some(c);
    }

    fn row(&mut self, row: &AuditRecord) {
        self.report.rows += 1;
        let seq = Some(row.seq);
        let computed = row_hash(RowContent::of(row));
        let hash = match &row.row_hash {
            Some(stored) => {
                if *stored != computed {
                    let detail = format!("row {} was altered: its hash does not match its content", row.seq);
                    self.problem(ProblemKind::RowEdited, seq, None, detail);
                }
                stored.clone()
            }
            None => {
                if self.legacy_until.is_some_and(|until| row.seq > until) {
                    let detail =
                        format!("row {} has no hash, but was written after rows were hashed", row.seq);
                    self.problem(ProblemKind::RowUnhashed, seq, None, detail);
                } else {
                    self.report.legacy_rows += 1;
                }
                computed
            }
        };
        match &mut self.open {
            Some(open) if row.seq > open.checkpoint.from_seq => {
                open.digest.push(row.seq, &hash);
                self.report.sealed_rows += 1;
            }
            Some(_) => {
                let detail = format!("row {} lies outside every checkpoint's range", row.seq);
                self.problem(ProblemKind::RowsAdded, seq, None, detail);
            }
            None => self.report.unsealed_rows += 1,
        }
    }

    fn finish(mut self) -> AuditIntegrity {
        self.report.valid = self.report.problem_count == 0;
        self.report
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn record(tenant: TenantId, seq: i64) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            log_id: format!("log-{seq}"),
            tenant_id: tenant,
            actor_id: "cli".into(),
            action: "policy.created".into(),
            resource_type: "policy".into(),
            resource_id: format!("p-{seq}"),
            timestamp: datetime!(2026-01-20 10:00 UTC) + time::Duration::seconds(seq),
            details: format!(r#"{{"n":{seq}}}"#),
            row_hash: None,
        };
        r.row_hash = Some(row_hash(RowContent::of(&r)));
        r
    }

    /// Seals `rows` into checkpoints ending at each of `ends`, as the sealer would.
    fn seal(tenant: TenantId, rows: &[AuditRecord], ends: &[i64]) -> Vec<AuditCheckpoint> {
        let mut out: Vec<AuditCheckpoint> = Vec::new();
        for &end in ends {
            let from = out.last().map_or(0, |c| c.to_seq);
            let mut digest = RowsDigest::new();
            for r in rows.iter().filter(|r| r.seq > from && r.seq <= end) {
                digest.push(r.seq, &sealed_hash(r));
            }
            let c = next_checkpoint(tenant, out.last(), end, &digest, datetime!(2026-01-21 00:00 UTC));
            out.push(c);
        }
        out
    }

    /// Verifies and compares the problems found, as (kind, seq, checkpoint).
    fn check(
        tenant: TenantId,
        checkpoints: &[AuditCheckpoint],
        rows: &[AuditRecord],
        expected: &[(ProblemKind, Option<i64>, Option<i64>)],
    ) -> AuditIntegrity {
        let result =
            verify::<()>(tenant, checkpoints.iter().cloned().map(Ok), rows.iter().cloned().map(Ok)).unwrap();
        let found: Vec<_> = result.problems.iter().map(|p| (p.kind, p.seq, p.checkpoint)).collect();
        assert_eq!(found, expected, "{result:#?}");
        assert_eq!(result.valid, expected.is_empty());
        result
    }

    fn trail(n: i64) -> (TenantId, Vec<AuditRecord>) {
        let tenant = TenantId::new();
        (tenant, (1..=n).map(|seq| record(tenant, seq * 2)).collect())
    }

    #[test]
    fn an_intact_trail_verifies() {
        let (t, rows) = trail(6);
        let cps = seal(t, &rows, &[4, 9]);
        let r = check(t, &cps, &rows, &[]);
        assert_eq!((r.rows, r.sealed_rows, r.unsealed_rows, r.checkpoints), (6, 4, 2, 2));
        assert_eq!(r.head.as_ref().map(|h| h.n), Some(2));
        // Nothing sealed yet, nothing at all.
        check(t, &[], &rows, &[]);
        assert_eq!(check(t, &[], &[], &[]), AuditIntegrity { valid: true, ..Default::default() });
    }

    #[test]
    fn every_kind_of_tampering_is_detected() {
        use ProblemKind::*;
        let (t, rows) = trail(6); // seq 2, 4, ..., 12
        let cps = seal(t, &rows, &[4, 9]); // (0, 4]: 2 rows; (4, 9]: 2 rows; 10, 12 unsealed

        let mut edited = rows.clone();
        edited[2].action = "policy.deleted".into();
        check(t, &cps, &edited, &[(RowEdited, Some(6), None)]);

        // Editing and re-hashing a sealed row: its checkpoint no longer matches.
        let mut rehashed = rows.clone();
        rehashed[2].actor_id = "someone else".into();
        rehashed[2].row_hash = Some(row_hash(RowContent::of(&rehashed[2])));
        check(t, &cps, &rehashed, &[(RowsChanged, None, Some(2))]);

        // An unsealed row edited naively.
        let mut tail = rows.clone();
        tail[5].details = "{}".into();
        check(t, &cps, &tail, &[(RowEdited, Some(12), None)]);

        let mut deleted = rows.clone();
        deleted.remove(1);
        check(t, &cps, &deleted, &[(RowsMissing, None, Some(1))]);

        // Wiped: every checkpoint misses its rows.
        check(t, &cps, &[], &[(RowsMissing, None, Some(1)), (RowsMissing, None, Some(2))]);

        let mut added = rows.clone();
        added.insert(1, record(t, 3));
        check(t, &cps, &added, &[(RowsAdded, None, Some(1))]);

        // Renumbering a row within its checkpoint.
        let mut renumbered = rows.clone();
        renumbered[2].seq = 7;
        check(t, &cps, &renumbered, &[(RowsChanged, None, Some(2))]);

        let mut forged = cps.clone();
        forged[0].row_count = 1;
        check(t, &forged, &rows, &[(CheckpointBroken, None, Some(1)), (RowsAdded, None, Some(1))]);

        // Re-hashing a forged checkpoint breaks the link of the next one.
        let mut relinked = cps.clone();
        relinked[0].created_at += time::Duration::hours(1);
        relinked[0].checkpoint_hash = checkpoint_hash(&relinked[0]);
        check(t, &relinked, &rows, &[(CheckpointBroken, None, Some(2))]);

        // A checkpoint removed from the middle.
        let three = seal(t, &rows, &[4, 9, 11]);
        let gap = vec![three[0].clone(), three[2].clone()];
        check(
            t,
            &gap,
            &rows,
            &[
                (CheckpointBroken, None, Some(3)),
                (CheckpointBroken, None, Some(3)),
                (RowsAdded, Some(6), None),
                (RowsAdded, Some(8), None),
            ],
        );

        // A hashless row after the first checkpoint.
        let mut unhashed = rows.clone();
        unhashed[4].row_hash = None;
        check(t, &cps, &unhashed, &[(RowUnhashed, Some(10), None)]);
    }

    #[test]
    fn rows_from_before_hashing_are_sealed_by_their_content() {
        let (t, mut rows) = trail(4);
        for r in &mut rows[..3] {
            r.row_hash = None;
        }
        check(t, &[], &rows, &[]);
        let cps = seal(t, &rows, &[6]);
        let r = check(t, &cps, &rows, &[]);
        assert_eq!((r.legacy_rows, r.sealed_rows, r.unsealed_rows), (3, 3, 1));
        // Once sealed, editing one of them is seen by its checkpoint.
        rows[0].resource_id = "other".into();
        check(t, &cps, &rows, &[(ProblemKind::RowsChanged, None, Some(1))]);
    }

    #[test]
    fn another_tenant_cannot_adopt_a_chain() {
        let (t, rows) = trail(2);
        let cps = seal(t, &rows, &[4]);
        let other = TenantId::new();
        let moved: Vec<_> = cps.iter().map(|c| AuditCheckpoint { tenant_id: other, ..c.clone() }).collect();
        let rows: Vec<_> = rows.iter().map(|r| AuditRecord { tenant_id: other, ..r.clone() }).collect();
        check(
            other,
            &moved,
            &rows,
            &[
                (ProblemKind::CheckpointBroken, None, Some(1)),
                (ProblemKind::CheckpointBroken, None, Some(1)),
                (ProblemKind::RowEdited, Some(2), None),
                (ProblemKind::RowEdited, Some(4), None),
            ],
        );
    }

    #[test]
    fn problems_are_counted_beyond_the_listed_ones() {
        let (t, mut rows) = trail(150);
        for r in &mut rows {
            r.action = "forged".into();
        }
        let result = verify::<()>(t, std::iter::empty(), rows.into_iter().map(Ok)).unwrap();
        assert_eq!((result.problems.len(), result.problem_count), (MAX_PROBLEMS, 150));
    }

    #[test]
    fn the_encoding_is_stable() {
        // Stored hashes depend on these bytes: a change of encoding needs a new version tag.
        let t: TenantId = "0b7d0a3e-6f35-4a51-9d43-5b0c7c2a9e10".parse().unwrap();
        let r = record(t, 1);
        assert_eq!(
            row_hash(RowContent::of(&r)),
            "234a35c5ce2371b98ded9f6c9184df6b1872c417c55dccdfdca280e9f7c42580"
        );
        let cps = seal(t, &[r], &[1]);
        assert_eq!(
            cps[0].checkpoint_hash,
            "5651995ece7f15b01396c9a8632446fc03e2552db3062d6c56457cef0b571af5"
        );
    }
}
