-- The console's read models and workflows (issue 10): system events, postmortems, policy
-- proposals, and the indexes that keep lists keyset-paged.

-- System events (seed 000 §12.5 SYSTEM_LOGS). `tenant_id` NULL: an event of the deployment
-- (start-up, migrations, the signing key), shown to every tenant; otherwise one tenant's.
CREATE TABLE system_logs (
    log_id    TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (tenant_id),
    level     TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error', 'critical')),
    source    TEXT NOT NULL,
    event     TEXT NOT NULL,
    message   TEXT NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    context   TEXT NOT NULL
);
CREATE INDEX system_logs_tenant_time ON system_logs (tenant_id, timestamp, log_id);
CREATE INDEX system_logs_time ON system_logs (timestamp, log_id);
CREATE TRIGGER system_logs_append_only BEFORE UPDATE OR DELETE ON system_logs
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER system_logs_no_truncate BEFORE TRUNCATE ON system_logs
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();

-- One postmortem per incident (seed 000 §12.3). `timeline` is a JSON array of
-- {timestamp, event}.
CREATE TABLE postmortems (
    postmortem_id   TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
    incident_id     TEXT NOT NULL REFERENCES incidents (incident_id),
    root_cause      TEXT NOT NULL,
    timeline        TEXT NOT NULL,
    lessons_learned TEXT NOT NULL,
    author          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX postmortems_incident ON postmortems (tenant_id, incident_id);
CREATE TRIGGER postmortems_append_only BEFORE UPDATE OR DELETE ON postmortems
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER postmortems_no_truncate BEFORE TRUNCATE ON postmortems
    FOR EACH STATEMENT EXECUTE FUNCTION gov_refuse_mutation();

-- Policy proposals (seed 000 §12.4). `proposed_rule` is the JSON rule body, as
-- POST /policies/rules takes it. `policy_id` NULL proposes a new policy; otherwise a new version
-- of that policy, proposed against `base_version`.
CREATE TABLE policy_proposals (
    proposal_id       TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (tenant_id),
    policy_id         TEXT REFERENCES policy_rules (policy_id),
    base_version      INTEGER,
    proposed_rule     TEXT NOT NULL,
    rationale         TEXT,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    proposer_id       TEXT NOT NULL,
    reviewer_id       TEXT,
    review_note       TEXT,
    resulting_policy_id TEXT,
    resulting_version INTEGER,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    reviewed_at       TIMESTAMP
);
CREATE INDEX policy_proposals_tenant ON policy_proposals (tenant_id, created_at, proposal_id);
CREATE INDEX policy_proposals_status ON policy_proposals (tenant_id, status, created_at, proposal_id);

-- Keyset paging: every list orders by (its time, its id) within a tenant.
CREATE INDEX incidents_tenant_created ON incidents (tenant_id, created_at, incident_id);
CREATE INDEX incidents_tenant_status_created ON incidents (tenant_id, status, created_at, incident_id);
CREATE INDEX runs_tenant_started_id ON runs (tenant_id, started_at, run_id);
CREATE INDEX aos_traces_tenant_started_id ON aos_traces (tenant_id, started_at, trace_id);
CREATE INDEX audit_logs_tenant_time_id ON audit_logs (tenant_id, timestamp, log_id);
