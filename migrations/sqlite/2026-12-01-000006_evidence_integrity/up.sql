-- Evidence integrity (issue 8): the audit trail becomes tamper-evident. Each row gets a sequence
-- number and a content hash, and a sealer appends chained per-tenant checkpoints over the rows
-- (`audit_checkpoints`; see ARCHITECTURE.md "The audit trail"). SQLite has no TRUNCATE: a
-- `DELETE` without `WHERE` skips its truncate optimisation when the table has triggers, so the
-- row triggers already refuse it.

-- `seq` orders the audit trail. Existing rows are numbered in (timestamp, log_id) order; from then
-- on the insert assigns it on the writer thread (one past the largest number in use). `row_hash` is
-- the blake3 of the row's content, computed by gov at insert; rows written before this migration
-- have none (they are hashed by their tenant's first checkpoint).
ALTER TABLE audit_logs ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_logs ADD COLUMN row_hash TEXT;
DROP TRIGGER audit_logs_no_update;
UPDATE audit_logs SET seq = numbered.n
    FROM (SELECT log_id, row_number() OVER (ORDER BY timestamp, log_id) AS n FROM audit_logs) AS numbered
    WHERE audit_logs.log_id = numbered.log_id;
CREATE TRIGGER audit_logs_no_update BEFORE UPDATE ON audit_logs
BEGIN
    SELECT RAISE(ABORT, 'audit_logs is append-only');
END;
CREATE UNIQUE INDEX audit_logs_seq ON audit_logs (seq);
CREATE INDEX audit_logs_tenant_seq ON audit_logs (tenant_id, seq);

-- Checkpoint n of a tenant seals its audit rows with from_seq < seq <= to_seq: their count, the
-- blake3 digest of their (seq, row_hash) in seq order, and the hash of checkpoint n - 1.
CREATE TABLE audit_checkpoints (
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
    n               BIGINT NOT NULL,
    from_seq        BIGINT NOT NULL,
    to_seq          BIGINT NOT NULL,
    row_count       BIGINT NOT NULL,
    rows_digest     TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    checkpoint_hash TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, n)
);
CREATE INDEX audit_checkpoints_to_seq ON audit_checkpoints (to_seq);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
