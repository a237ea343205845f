-- The regression tripwire's wiring into the governed run: a run may name its business domain
-- (a tripped THROTTLE tripwire of that domain limits new runs), and a tripwire's state links the
-- incident its last trip opened and the instant from which events count (set by a reset).
ALTER TABLE runs ADD COLUMN domain TEXT;
ALTER TABLE regression_state ADD COLUMN incident_id TEXT;
ALTER TABLE regression_state ADD COLUMN counting_since TIMESTAMP;
-- An evaluation reads a metric's newest events in (created_at, id) order: one index walk.
DROP INDEX kpi_event_domain_metric_time;
CREATE INDEX kpi_event_domain_metric_time ON kpi_event (tenant_id, domain, metric, created_at, id);
