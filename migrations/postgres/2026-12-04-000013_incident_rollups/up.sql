-- Incidents by the hour they were created and their current (status, severity, type), with how
-- many were acknowledged and resolved and the summed seconds from creation to each: what
-- `/incidents/stats` sums instead of reading every incident of the range. Written in the
-- transaction that opens an incident (+1) and in each lifecycle transition (the old terms out,
-- the new ones in), so it is exact at all times.
CREATE TABLE incident_rollups (
    tenant_id         TEXT NOT NULL REFERENCES tenants (tenant_id),
    hour              BIGINT NOT NULL,
    status            TEXT NOT NULL,
    severity          TEXT NOT NULL,
    incident_type     TEXT NOT NULL,
    n                 BIGINT NOT NULL,
    acknowledged      BIGINT NOT NULL,
    resolved          BIGINT NOT NULL,
    ack_seconds       DOUBLE PRECISION NOT NULL,
    resolve_seconds   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (tenant_id, hour, status, severity, incident_type)
);

-- The server builds them from the incidents written before this migration, once.
INSERT INTO rollup_backfill (name) VALUES ('incident_rollups_v1');
