-- Hourly rollups (issue 10): what the Overview and Analytics sum instead of scanning a million
-- rows. Each is written in the transaction of the change it counts, so it is exact at all
-- times; `hour` is the unix hour (floor(epoch / 3600), UTC). Ranges are read as whole hours
-- from here and their ragged ends from the rows themselves.

-- Ended runs by the hour they started (live runs are read from `runs` by status).
CREATE TABLE run_rollups (
    tenant_id             TEXT NOT NULL REFERENCES tenants (tenant_id),
    hour                  BIGINT NOT NULL,
    agent_id              TEXT NOT NULL,
    status                TEXT NOT NULL,
    policy_snapshot_id    TEXT NOT NULL,
    runs                  BIGINT NOT NULL,
    steps                 BIGINT NOT NULL,
    tokens                BIGINT NOT NULL,
    cost_cents            DOUBLE PRECISION NOT NULL,
    duration_seconds      DOUBLE PRECISION NOT NULL,
    timed                 BIGINT NOT NULL,
    -- Runs a breach stopped: Σ rate (cents/s) and Σ rate × (stop − hour start) of those whose
    -- incident nobody has answered yet, and Σ cost stopped of those answered.
    stop_open_rate        DOUBLE PRECISION NOT NULL,
    stop_open_rate_offset DOUBLE PRECISION NOT NULL,
    stop_answered_cents   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, hour, agent_id, status, policy_snapshot_id)
);

-- Durations of ended runs by the hour they started, in the bins of gov_insight::rollup.
CREATE TABLE run_duration_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    hour      BIGINT NOT NULL,
    agent_id  TEXT NOT NULL,
    bin       INTEGER NOT NULL,
    runs      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, agent_id, bin)
);

-- Cost records by the hour they were written. `runs` counts each run once (on its first
-- model); `records` once per model.
CREATE TABLE cost_rollups (
    tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id),
    hour       BIGINT NOT NULL,
    agent_id   TEXT NOT NULL,
    model      TEXT NOT NULL,
    cost_cents DOUBLE PRECISION NOT NULL,
    tokens     BIGINT NOT NULL,
    records    BIGINT NOT NULL,
    runs       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, agent_id, model)
);

-- Per policy and hour: NEAR and BREACH signals, enforced blocks (`BLOCK`) and incidents.
CREATE TABLE policy_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    hour      BIGINT NOT NULL,
    policy_id TEXT NOT NULL,
    agent_id  TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('NEAR', 'BREACH', 'BLOCK', 'incident')),
    n         BIGINT NOT NULL,
    last_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, hour, policy_id, agent_id, kind)
);

-- Present until the server has built the rollups from the rows written before them.
CREATE TABLE rollup_backfill (name TEXT PRIMARY KEY);
INSERT INTO rollup_backfill (name) VALUES ('rollups_v1');

-- The most expensive runs of a range, read in cost order.
CREATE INDEX runs_tenant_cost ON runs (tenant_id, total_cost_cents DESC, run_id);

-- The Overview's highlights and decisions: the newest rows of each notable action.
CREATE INDEX audit_logs_tenant_action_time ON audit_logs (tenant_id, action, timestamp, log_id);

-- The Overview's health: open incidents of one severity, counted and their newest read per status.
CREATE INDEX incidents_tenant_severity_status ON incidents (tenant_id, severity, status, created_at, incident_id);
