-- Evidence integrity (issue 8). TRUNCATE skips row triggers, so every evidence table refuses it
-- with a statement trigger; and the audit trail becomes tamper-evident: each row gets a sequence
-- number and a content hash, and a sealer appends chained per-tenant checkpoints over the rows
-- (`audit_checkpoints`; see ARCHITECTURE.md "The audit trail").

-- `seq` orders the audit trail. Existing rows are numbered in (timestamp, log_id) order; from then
-- on the database assigns it. The identity keeps CACHE 1: values are handed out in the order the
-- inserts take them, which the sealer's boundary relies on (a session-cached block would let an
-- insert take a number below one already sealed). `row_hash` is the blake3 of the row's content,
-- computed by gov at insert; rows written before this migration have none (they are hashed by
-- their tenant's first checkpoint).
ALTER TABLE audit_logs ADD COLUMN seq BIGINT;
ALTER TABLE audit_logs ADD COLUMN row_hash TEXT;
ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only;
UPDATE audit_logs SET seq = numbered.n
    FROM (SELECT log_id, row_number() OVER (ORDER BY timestamp, log_id) AS n FROM audit_logs) AS numbered
    WHERE audit_logs.log_id = numbered.log_id;
ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only;
ALTER TABLE audit_logs ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_logs ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (CACHE 1);
SELECT setval(pg_get_serial_sequence('audit_logs', 'seq'),
              (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_logs), false);
CREATE UNIQUE INDEX audit_logs_seq ON audit_logs (seq);
CREATE INDEX audit_logs_tenant_seq ON audit_logs (tenant_id, seq);

-- Checkpoint n of a tenant seals its audit rows with from_seq < seq <= to_seq: their count, the
-- blake3 digest of their (seq, row_hash) in seq order, and the hash of checkpoint n - 1. The primary
-- key makes replicas that seal at the same time collide instead of forking the chain.
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
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();

-- TRUNCATE (also one that cascades from another table) fires statement triggers only.
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER aos_trace_steps_no_truncate BEFORE TRUNCATE ON aos_trace_steps
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER aos_traces_no_truncate BEFORE TRUNCATE ON aos_traces
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER policy_snapshots_no_truncate BEFORE TRUNCATE ON policy_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER policy_rule_versions_no_truncate BEFORE TRUNCATE ON policy_rule_versions
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER prevention_records_no_truncate BEFORE TRUNCATE ON prevention_records
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON incident_events
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER policy_override_records_no_truncate BEFORE TRUNCATE ON policy_override_records
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER risk_event_no_truncate BEFORE TRUNCATE ON risk_event
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER heimdall_event_no_truncate BEFORE TRUNCATE ON heimdall_event
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER kpi_event_no_truncate BEFORE TRUNCATE ON kpi_event
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();
