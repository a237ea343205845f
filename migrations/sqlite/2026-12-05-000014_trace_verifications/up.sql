-- How far each trace's hash chain has been verified (issue 11): a read re-walks only what lies
-- beyond the marker (and the newest page of steps), not the whole chain. Not evidence: it can be
-- dropped at any time and the next read walks the whole chain again. Written by a conditional
-- upsert that only moves it forward, and only over a chain that verified; every step up to
-- `verified_through_step` was found linked from the genesis, and that step's hash was `head_hash`.
CREATE TABLE trace_verifications (
    tenant_id             TEXT NOT NULL REFERENCES tenants (tenant_id),
    trace_id              TEXT NOT NULL REFERENCES aos_traces (trace_id),
    verified_through_step BIGINT NOT NULL,
    head_hash             TEXT NOT NULL,
    verified_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, trace_id)
);
