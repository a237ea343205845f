CREATE INDEX aos_traces_tenant_started ON aos_traces (tenant_id, started_at);
CREATE INDEX audit_logs_tenant_time ON audit_logs (tenant_id, timestamp);
CREATE INDEX audit_logs_tenant_resource ON audit_logs (tenant_id, resource_id);
DROP INDEX audit_logs_tenant_resource_time;
DROP INDEX aos_traces_tenant_violation;
DROP INDEX aos_traces_tenant_incident;
