-- The Logs view's searches (issue 10): filters that name one row use an index that also keeps
-- the newest-first order, and the prefixes of the keyset indexes go (the longer index serves them).
CREATE INDEX aos_traces_tenant_incident ON aos_traces (tenant_id, incident_id, started_at, trace_id);
-- level=warning in the Logs view: the runs that hit a violation, a tenth of them or fewer.
CREATE INDEX aos_traces_tenant_violation ON aos_traces (tenant_id, started_at, trace_id)
    WHERE violation_step_index IS NOT NULL;
CREATE INDEX audit_logs_tenant_resource_time ON audit_logs (tenant_id, resource_id, timestamp, log_id);
DROP INDEX audit_logs_tenant_resource;
DROP INDEX audit_logs_tenant_time;
DROP INDEX aos_traces_tenant_started;
