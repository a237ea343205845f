DROP INDEX kpi_event_domain_metric_time;
CREATE INDEX kpi_event_domain_metric_time ON kpi_event (tenant_id, domain, metric, created_at);
ALTER TABLE regression_state DROP COLUMN counting_since;
ALTER TABLE regression_state DROP COLUMN incident_id;
ALTER TABLE runs DROP COLUMN domain;
