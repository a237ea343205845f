-- The governed run (seed 000 §3-§6, §12.2-§12.5, §13): policies and their versions, frozen
-- snapshots, runs, hash-chained traces, incidents, prevention evidence and cost records.

CREATE TABLE policy_rules (
    policy_id       TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
    name            TEXT NOT NULL,
    rule_type       TEXT NOT NULL,
    condition       TEXT,
    action          TEXT NOT NULL,
    threshold       DOUBLE PRECISION,
    status          TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    scope_type      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    spec            TEXT NOT NULL,
    violation_count BIGINT NOT NULL DEFAULT 0,
    incident_count  BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX policy_rules_tenant ON policy_rules (tenant_id, status, priority);

-- Every version of every policy, with its limits at that version. Append-only.
CREATE TABLE policy_rule_versions (
    policy_id  TEXT NOT NULL REFERENCES policy_rules (policy_id),
    version    INTEGER NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id),
    spec       TEXT NOT NULL,
    limits     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (policy_id, version)
);

CREATE TABLE policy_limits (
    limit_id       TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    policy_id      TEXT NOT NULL REFERENCES policy_rules (policy_id),
    limit_type     TEXT NOT NULL,
    value          DOUBLE PRECISION NOT NULL,
    window_seconds BIGINT,
    scope          TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX policy_limits_policy ON policy_limits (tenant_id, policy_id);

CREATE TABLE policy_controls (
    tenant_id          TEXT PRIMARY KEY NOT NULL REFERENCES tenants (tenant_id),
    enforcement_mode   TEXT NOT NULL,
    conflict_strategy  TEXT NOT NULL,
    near_threshold_pct DOUBLE PRECISION NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    updated_by         TEXT NOT NULL
);

-- Frozen, hashed policy state; shared by the runs that froze identical content. Immutable.
CREATE TABLE policy_snapshots (
    snapshot_id     TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
    policies_json   TEXT NOT NULL,
    thresholds_json TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    policy_count    INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, content_hash)
);

CREATE TABLE runs (
    run_id               TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (tenant_id),
    agent_id             TEXT NOT NULL,
    goal                 TEXT,
    human_actor_id       TEXT,
    api_key_id           TEXT,
    status               TEXT NOT NULL,
    started_at           TIMESTAMP NOT NULL,
    completed_at         TIMESTAMP,
    tokens_used          BIGINT NOT NULL DEFAULT 0,
    input_tokens         BIGINT NOT NULL DEFAULT 0,
    output_tokens        BIGINT NOT NULL DEFAULT 0,
    total_cost_cents     DOUBLE PRECISION NOT NULL DEFAULT 0,
    step_count           BIGINT NOT NULL DEFAULT 0,
    policy_snapshot_id   TEXT NOT NULL REFERENCES policy_snapshots (snapshot_id),
    policy_snapshot_hash TEXT NOT NULL,
    termination_reason   TEXT,
    stopped_at_step      BIGINT,
    violation_policy_id  TEXT REFERENCES policy_rules (policy_id),
    incident_id          TEXT,
    trace_id             TEXT NOT NULL,
    head_hash            TEXT NOT NULL,
    override_count       INTEGER NOT NULL DEFAULT 0,
    metadata             TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_tenant_started ON runs (tenant_id, started_at);
CREATE INDEX runs_tenant_status ON runs (tenant_id, status, started_at);
CREATE INDEX runs_tenant_agent ON runs (tenant_id, agent_id, status);

-- Agents stopped by a KILL breach; they start no runs until released.
CREATE TABLE agent_kills (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    agent_id  TEXT NOT NULL,
    run_id    TEXT NOT NULL REFERENCES runs (run_id),
    policy_id TEXT REFERENCES policy_rules (policy_id),
    reason    TEXT NOT NULL,
    killed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, agent_id)
);

CREATE TABLE incidents (
    incident_id      TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants (tenant_id),
    source_run_id    TEXT REFERENCES runs (run_id),
    policy_id        TEXT REFERENCES policy_rules (policy_id),
    trace_id         TEXT,
    severity         TEXT NOT NULL,
    status           TEXT NOT NULL,
    type             TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL,
    step_index       BIGINT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    acknowledged_at  TIMESTAMP,
    escalated_at     TIMESTAMP,
    resolved_at      TIMESTAMP,
    resolution       TEXT
);
CREATE INDEX incidents_tenant_status ON incidents (tenant_id, status, created_at);
CREATE INDEX incidents_tenant_policy ON incidents (tenant_id, policy_id, created_at);
CREATE INDEX incidents_tenant_run ON incidents (tenant_id, source_run_id);

CREATE TABLE incident_comments (
    comment_id  TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (incident_id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
    author      TEXT NOT NULL,
    content     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX incident_comments_incident ON incident_comments (tenant_id, incident_id, created_at);

CREATE TABLE incident_events (
    event_id    TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (incident_id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
    event       TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL,
    timestamp   TIMESTAMP NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (tenant_id, incident_id, timestamp);

-- Trace summaries. The inflection fields are written once; a finalised trace never changes.
CREATE TABLE aos_traces (
    trace_id             TEXT PRIMARY KEY NOT NULL,
    run_id               TEXT NOT NULL UNIQUE REFERENCES runs (run_id),
    tenant_id            TEXT NOT NULL REFERENCES tenants (tenant_id),
    status               TEXT NOT NULL,
    step_count           BIGINT NOT NULL DEFAULT 0,
    is_synthetic         BOOLEAN NOT NULL DEFAULT FALSE,
    agent_id             TEXT NOT NULL,
    started_at           TIMESTAMP NOT NULL,
    completed_at         TIMESTAMP,
    violation_step_index BIGINT,
    violation_timestamp  TIMESTAMP,
    violation_policy_id  TEXT REFERENCES policy_rules (policy_id),
    violation_reason     TEXT,
    incident_id          TEXT REFERENCES incidents (incident_id),
    head_hash            TEXT NOT NULL
);
CREATE INDEX aos_traces_tenant_started ON aos_traces (tenant_id, started_at);

-- Hash-chained steps. Immutable.
CREATE TABLE aos_trace_steps (
    step_id             TEXT PRIMARY KEY NOT NULL,
    trace_id            TEXT NOT NULL REFERENCES aos_traces (trace_id),
    run_id              TEXT NOT NULL REFERENCES runs (run_id),
    tenant_id           TEXT NOT NULL REFERENCES tenants (tenant_id),
    step_index          BIGINT NOT NULL,
    step_type           TEXT NOT NULL,
    level               TEXT NOT NULL,
    source              TEXT NOT NULL,
    timestamp           TIMESTAMP NOT NULL,
    tokens              BIGINT NOT NULL,
    input_tokens        BIGINT NOT NULL,
    output_tokens       BIGINT NOT NULL,
    cost_cents          DOUBLE PRECISION NOT NULL,
    duration_ms         BIGINT NOT NULL,
    model               TEXT,
    retrieved_documents BIGINT NOT NULL,
    content_hash        TEXT,
    decision            TEXT NOT NULL,
    decision_policy_id  TEXT,
    decision_reason     TEXT,
    prev_hash           TEXT NOT NULL,
    chain_hash          TEXT NOT NULL,
    UNIQUE (trace_id, step_index)
);

CREATE TABLE prevention_records (
    record_id      TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    policy_id      TEXT REFERENCES policy_rules (policy_id),
    incident_id    TEXT REFERENCES incidents (incident_id),
    step_index     BIGINT NOT NULL,
    action         TEXT NOT NULL,
    decision       TEXT NOT NULL,
    violation_type TEXT NOT NULL,
    metric         TEXT NOT NULL,
    current_value  DOUBLE PRECISION,
    limit_value    DOUBLE PRECISION,
    enforced       BOOLEAN NOT NULL,
    reason         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX prevention_records_tenant ON prevention_records (tenant_id, created_at);
CREATE INDEX prevention_records_policy ON prevention_records (tenant_id, policy_id, created_at);

CREATE TABLE threshold_signals (
    signal_id   TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
    run_id      TEXT NOT NULL REFERENCES runs (run_id),
    policy_id   TEXT NOT NULL REFERENCES policy_rules (policy_id),
    check_id    TEXT NOT NULL,
    signal_type TEXT NOT NULL,
    metric      TEXT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    limit_value DOUBLE PRECISION,
    percentage  DOUBLE PRECISION,
    step_index  BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (run_id, check_id, signal_type)
);
CREATE INDEX threshold_signals_tenant ON threshold_signals (tenant_id, created_at);

CREATE TABLE policy_override_records (
    override_id TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
    run_id      TEXT NOT NULL REFERENCES runs (run_id),
    policy_id   TEXT NOT NULL REFERENCES policy_rules (policy_id),
    kind        TEXT NOT NULL,
    new_limit   DOUBLE PRECISION,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX policy_override_records_run ON policy_override_records (tenant_id, run_id);

-- Fixed-window counters of rate_limit checks, shared by every replica.
CREATE TABLE rate_counters (
    tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id),
    counter_key  TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, counter_key, window_start)
);

CREATE TABLE cost_records (
    cost_record_id TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    model          TEXT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    tokens         BIGINT NOT NULL,
    cost_cents     DOUBLE PRECISION NOT NULL,
    step_count     BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (run_id, model)
);
CREATE INDEX cost_records_tenant ON cost_records (tenant_id, created_at);

-- Evidence is append-only: triggers refuse UPDATE and DELETE (CC-004).
CREATE TRIGGER policy_rule_versions_append_only BEFORE UPDATE OR DELETE ON policy_rule_versions
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER policy_snapshots_append_only BEFORE UPDATE OR DELETE ON policy_snapshots
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER aos_trace_steps_append_only BEFORE UPDATE OR DELETE ON aos_trace_steps
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER prevention_records_append_only BEFORE UPDATE OR DELETE ON prevention_records
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER policy_override_records_append_only BEFORE UPDATE OR DELETE ON policy_override_records
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
-- A trace summary changes only while its run is live, its identity never, its inflection point once.
CREATE FUNCTION gov_guard_trace_update() RETURNS trigger AS $$
BEGIN
    IF OLD.status <> 'running'
        OR NEW.trace_id IS DISTINCT FROM OLD.trace_id
        OR NEW.run_id IS DISTINCT FROM OLD.run_id
        OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.started_at IS DISTINCT FROM OLD.started_at
        OR (OLD.violation_step_index IS NOT NULL AND (
            NEW.violation_step_index IS DISTINCT FROM OLD.violation_step_index
            OR NEW.violation_timestamp IS DISTINCT FROM OLD.violation_timestamp
            OR NEW.violation_policy_id IS DISTINCT FROM OLD.violation_policy_id
            OR NEW.violation_reason IS DISTINCT FROM OLD.violation_reason))
    THEN
        RAISE EXCEPTION 'aos_traces: a finalised trace, its identity and its inflection point are immutable'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER aos_traces_guard_update BEFORE UPDATE ON aos_traces
    FOR EACH ROW EXECUTE FUNCTION gov_guard_trace_update();
CREATE TRIGGER aos_traces_no_delete BEFORE DELETE ON aos_traces
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
