-- Evidence exports (issue 9): the deployment's signing keys and one immutable row per export.

-- Every key that has signed an export. The generated key keeps its seed here (source
-- 'generated', at most one such row: replicas that generate at once insert-or-nothing and then
-- read the winner); a configured key (GOV_SIGNING_KEY, GOV_SIGNING_KEY_FILE) has only its public
-- half recorded, so exports it signed stay verifiable after it is replaced.
CREATE TABLE signing_keys (
    key_id      TEXT PRIMARY KEY NOT NULL,
    public_key  TEXT NOT NULL,
    private_key TEXT,
    source      TEXT NOT NULL CHECK (source IN ('configured', 'generated')),
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX signing_keys_one_generated ON signing_keys (source) WHERE source = 'generated';
CREATE TRIGGER signing_keys_no_update BEFORE UPDATE ON signing_keys
BEGIN
    SELECT RAISE(ABORT, 'signing_keys is append-only');
END;
CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys
BEGIN
    SELECT RAISE(ABORT, 'signing_keys is append-only');
END;

-- One row per export: `artifact` holds the bytes served (JSON or PDF; NULL for a streamed log
-- export), `document` the signed JSON (the bundle a PDF was rendered from, a log export's manifest).
CREATE TABLE evidence_exports (
    export_id    TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id),
    kind         TEXT NOT NULL CHECK (kind IN ('evidence', 'soc2', 'executive_debrief', 'logs')),
    format       TEXT NOT NULL CHECK (format IN ('json', 'pdf', 'csv')),
    incident_id  TEXT,
    run_id       TEXT,
    bundle_id    TEXT NOT NULL,
    bundle_hash  TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    reason       TEXT,
    artifact     BLOB,
    document     BLOB NOT NULL
);
CREATE INDEX evidence_exports_tenant_created ON evidence_exports (tenant_id, created_at, export_id);
CREATE INDEX evidence_exports_incident ON evidence_exports (tenant_id, incident_id);
CREATE INDEX evidence_exports_run ON evidence_exports (tenant_id, run_id);
CREATE TRIGGER evidence_exports_no_update BEFORE UPDATE ON evidence_exports
BEGIN
    SELECT RAISE(ABORT, 'evidence_exports is append-only');
END;
CREATE TRIGGER evidence_exports_no_delete BEFORE DELETE ON evidence_exports
BEGIN
    SELECT RAISE(ABORT, 'evidence_exports is append-only');
END;

-- An export reads the audit rows about its run and incident.
CREATE INDEX audit_logs_tenant_resource ON audit_logs (tenant_id, resource_id);
CREATE INDEX prevention_records_run ON prevention_records (tenant_id, run_id);
