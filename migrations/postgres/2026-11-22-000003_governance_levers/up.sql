
-- The institutional governance levers (seed 004): go-live and kill switch, risk guard, sandbox
-- charter ("Heimdall"), regression tripwire. Every lever belongs to a tenant; the seed's default rows
-- are created here for existing tenants and by gov for every tenant created later.

CREATE TABLE go_live_state (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL UNIQUE REFERENCES tenants (tenant_id),
    go_live_enabled     BOOLEAN NOT NULL,
    kill_switch_engaged BOOLEAN NOT NULL,
    changed_by          TEXT NOT NULL,
    reason              TEXT NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE TABLE risk_policy (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL REFERENCES tenants (tenant_id),
    engine              TEXT NOT NULL,
    max_daily_loss      DOUBLE PRECISION,
    max_daily_exposure  DOUBLE PRECISION,
    max_open_risk       DOUBLE PRECISION,
    max_actions_per_day BIGINT,
    enabled             BOOLEAN NOT NULL,
    changed_by          TEXT NOT NULL,
    reason              TEXT NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, engine)
);

CREATE TABLE risk_ledger_day (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id),
    day                DATE NOT NULL,
    engine             TEXT NOT NULL,
    exposure_used      DOUBLE PRECISION NOT NULL DEFAULT 0,
    open_risk_reserved DOUBLE PRECISION NOT NULL DEFAULT 0,
    realized_loss      DOUBLE PRECISION NOT NULL DEFAULT 0,
    actions_count      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, day, engine)
);

CREATE TABLE risk_event (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    engine         TEXT NOT NULL,
    action         TEXT NOT NULL,
    amount         DOUBLE PRECISION NOT NULL,
    ok             BOOLEAN NOT NULL,
    reason         TEXT NOT NULL,
    actor          TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    metadata_json  TEXT NOT NULL DEFAULT '{}',
    created_at     TIMESTAMP NOT NULL
);
-- One decision (RESERVE or DENY), one RELEASE and one SETTLE per correlation id.
CREATE UNIQUE INDEX risk_event_correlation ON risk_event (tenant_id, correlation_id, action);
CREATE INDEX risk_event_tenant_time ON risk_event (tenant_id, created_at);

CREATE TABLE heimdall_policy (
    id                       TEXT PRIMARY KEY NOT NULL,
    tenant_id                TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain                   TEXT NOT NULL,
    min_confidence_prod      DOUBLE PRECISION NOT NULL,
    min_sandbox_trials       BIGINT NOT NULL,
    min_sandbox_success_rate DOUBLE PRECISION NOT NULL,
    prod_use_enabled         BOOLEAN NOT NULL,
    changed_by               TEXT NOT NULL,
    reason                   TEXT NOT NULL,
    updated_at               TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, domain)
);

CREATE TABLE heimdall_scorecard_day (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
    day             DATE NOT NULL,
    domain          TEXT NOT NULL,
    trials          BIGINT NOT NULL DEFAULT 0,
    successes       BIGINT NOT NULL DEFAULT 0,
    success_rate    DOUBLE PRECISION NOT NULL DEFAULT 0,
    avg_confidence  DOUBLE PRECISION NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, day, domain)
);

CREATE TABLE heimdall_recommendation (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain              TEXT NOT NULL,
    confidence          DOUBLE PRECISION NOT NULL,
    recommendation_json TEXT NOT NULL,
    evidence_json       TEXT NOT NULL,
    prod_eligible       BOOLEAN NOT NULL,
    gate_reason         TEXT NOT NULL,
    actor               TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX heimdall_recommendation_tenant ON heimdall_recommendation (tenant_id, domain, created_at);

CREATE TABLE heimdall_event (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain            TEXT NOT NULL,
    event             TEXT NOT NULL,
    ok                BOOLEAN NOT NULL,
    confidence        DOUBLE PRECISION,
    recommendation_id TEXT,
    actor             TEXT NOT NULL,
    detail            TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX heimdall_event_tenant ON heimdall_event (tenant_id, created_at);

CREATE TABLE kpi_event (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain         TEXT NOT NULL,
    metric         TEXT NOT NULL,
    success        BOOLEAN NOT NULL,
    value          DOUBLE PRECISION,
    actor          TEXT NOT NULL,
    correlation_id TEXT,
    detail         TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX kpi_event_domain_metric_time ON kpi_event (tenant_id, domain, metric, created_at);

CREATE TABLE regression_policy (
    id                    TEXT PRIMARY KEY NOT NULL,
    tenant_id             TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain                TEXT NOT NULL,
    metric                TEXT NOT NULL,
    window_events         BIGINT NOT NULL,
    baseline_events       BIGINT NOT NULL,
    min_events_to_enforce BIGINT NOT NULL,
    max_drop_fraction     DOUBLE PRECISION NOT NULL,
    action                TEXT NOT NULL,
    enabled               BOOLEAN NOT NULL,
    changed_by            TEXT NOT NULL,
    reason                TEXT NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, domain, metric)
);

CREATE TABLE regression_state (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (tenant_id),
    domain            TEXT NOT NULL,
    metric            TEXT NOT NULL,
    triggered         BOOLEAN NOT NULL DEFAULT FALSE,
    baseline          DOUBLE PRECISION,
    current           DOUBLE PRECISION,
    drop_fraction     DOUBLE PRECISION,
    last_checked_at   TIMESTAMP,
    last_triggered_at TIMESTAMP,
    note              TEXT NOT NULL DEFAULT '',
    UNIQUE (tenant_id, domain, metric)
);

-- The seed rows (seed 004 "SEED DATA") for every existing tenant. Money is in dollars.
INSERT INTO go_live_state (id, tenant_id, go_live_enabled, kill_switch_engaged, changed_by, reason, updated_at)
    SELECT tenant_id || ':go_live', tenant_id, FALSE, FALSE, 'migration', 'seed: disabled is safest', (now() AT TIME ZONE 'UTC') FROM tenants;

INSERT INTO risk_policy (id, tenant_id, engine, max_daily_loss, max_daily_exposure, max_open_risk, max_actions_per_day, enabled, changed_by, reason, updated_at)
    SELECT tenant_id || ':GLOBAL', tenant_id, 'GLOBAL', 250::DOUBLE PRECISION, 1500::DOUBLE PRECISION, NULL::DOUBLE PRECISION, NULL::BIGINT, TRUE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':WHOLESALE', tenant_id, 'WHOLESALE', 200, 1000, 500, NULL::BIGINT, TRUE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':CAPITAL', tenant_id, 'CAPITAL', 150, 750, 300, NULL::BIGINT, TRUE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':NOTIFY', tenant_id, 'NOTIFY', NULL::DOUBLE PRECISION, NULL::DOUBLE PRECISION, NULL::DOUBLE PRECISION, NULL::BIGINT, FALSE, 'migration', 'seed: disabled (logs only)', (now() AT TIME ZONE 'UTC') FROM tenants;

INSERT INTO heimdall_policy (id, tenant_id, domain, min_confidence_prod, min_sandbox_trials, min_sandbox_success_rate, prod_use_enabled, changed_by, reason, updated_at)
    SELECT tenant_id || ':WHOLESALE_OFFER', tenant_id, 'WHOLESALE_OFFER', 0.92, 75, 0.82, FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':BUYER_MATCH', tenant_id, 'BUYER_MATCH', 0.90, 50, 0.80, FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':CAPITAL_ROUTE', tenant_id, 'CAPITAL_ROUTE', 0.95, 100, 0.85, FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':FOLLOWUP_ACTION', tenant_id, 'FOLLOWUP_ACTION', 0.90, 60, 0.80, FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants;

INSERT INTO regression_policy (id, tenant_id, domain, metric, window_events, baseline_events, min_events_to_enforce, max_drop_fraction, action, enabled, changed_by, reason, updated_at)
    SELECT tenant_id || ':WHOLESALE/contract_rate', tenant_id, 'WHOLESALE', 'contract_rate', 50, 200, 250, 0.20, 'THROTTLE', FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':WHOLESALE/offer_accept_rate', tenant_id, 'WHOLESALE', 'offer_accept_rate', 50, 200, 250, 0.15, 'THROTTLE', FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':BUYER_MATCH/match_success', tenant_id, 'BUYER_MATCH', 'match_success', 50, 200, 250, 0.25, 'THROTTLE', FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants
    UNION ALL SELECT tenant_id || ':CAPITAL/roi_event', tenant_id, 'CAPITAL', 'roi_event', 50, 200, 250, 0.30, 'KILL_SWITCH', FALSE, 'migration', 'seed', (now() AT TIME ZONE 'UTC') FROM tenants;

INSERT INTO regression_state (id, tenant_id, domain, metric, triggered, note)
    SELECT id, tenant_id, domain, metric, FALSE, '' FROM regression_policy;

-- Event logs are append-only.
CREATE TRIGGER risk_event_append_only BEFORE UPDATE OR DELETE ON risk_event
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER heimdall_event_append_only BEFORE UPDATE OR DELETE ON heimdall_event
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
CREATE TRIGGER kpi_event_append_only BEFORE UPDATE OR DELETE ON kpi_event
    FOR EACH ROW EXECUTE FUNCTION gov_refuse_mutation();
